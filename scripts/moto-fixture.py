"""Test fixtures in the local moto (boto3 against AWS_ENDPOINT_URL). Prints one JSON object.

    moto-fixture.py ecs --name NAME               VPC, subnet, security group and ECS cluster NAME
    moto-fixture.py describe-cluster --name NAME  the cluster, and the subnets/groups tagged NAME
    moto-fixture.py environment --name NAME --project P --environment E --environments-dir DIR
        one environment as the pipeline deploys into it (docs/workflows.md): an ECS service on
        Fargate, guard alarms (OK), an ECR repository, a versioned site bucket, a CloudFront
        distribution, and the stacks P-E-foundation, P-E-service and P-E-frontend whose outputs name
        them as infra/templates' do; writes DIR/E.json naming those stacks

Everything a fixture creates is tagged `gantry-fixture=NAME`, so tests share one emulator.
"""

import argparse
import json
import os
import sys
import time

import boto3

TAG = "gantry-fixture"


def tags(name: str, resource: str) -> list:
    return [{"ResourceType": resource, "Tags": [{"Key": TAG, "Value": name}]}]


def ecs(name: str) -> dict:
    ec2 = boto3.client("ec2")
    region = ec2.meta.region_name
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tags(name, "vpc"))["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.1.0/24",
        AvailabilityZone=f"{region}a",
        TagSpecifications=tags(name, "subnet"),
    )["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(
        GroupName=name,
        Description=f"gantry test fixture {name}",
        VpcId=vpc_id,
        TagSpecifications=tags(name, "security-group"),
    )["GroupId"]
    cluster = boto3.client("ecs").create_cluster(clusterName=name, tags=[{"key": TAG, "value": name}])["cluster"]
    return {
        "vpc_id": vpc_id,
        "subnet_id": subnet_id,
        "security_group_id": group_id,
        "cluster_name": cluster["clusterName"],
        "cluster_arn": cluster["clusterArn"],
    }


def describe_cluster(name: str) -> dict:
    ec2 = boto3.client("ec2")
    tagged = [{"Name": f"tag:{TAG}", "Values": [name]}]
    clusters = boto3.client("ecs").describe_clusters(clusters=[name])["clusters"]
    return {
        "cluster_arn": clusters[0]["clusterArn"] if clusters else None,
        "cluster_status": clusters[0]["status"] if clusters else None,
        "subnets": {s["SubnetId"]: s["VpcId"] for s in ec2.describe_subnets(Filters=tagged)["Subnets"]},
        "security_groups": {
            g["GroupId"]: g["VpcId"] for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]
        },
    }


# A stack whose outputs are its parameters: moto's CloudFormation skips CloudFront and alarms
# (docs/development.md), so the resources are made directly and the stacks only carry the outputs
# the pipeline discovers, under the names infra/templates export.
OUTPUTS_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters: {params}
Resources:
  Marker:
    Type: AWS::SNS::Topic
Outputs: {outputs}
"""


def outputs_stack(cfn, name: str, values: dict) -> str:
    params = {k: {"Type": "String"} for k in values}
    outputs = {k: {"Value": {"Ref": k}} for k in values}
    body = OUTPUTS_TEMPLATE.format(params=json.dumps(params), outputs=json.dumps(outputs))
    cfn.create_stack(
        StackName=name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Tags=[{"Key": TAG, "Value": name}],
    )
    return name


def environment(name: str, project: str, env: str, environments_dir: str) -> dict:
    net = ecs(name)
    region = boto3.client("ecs").meta.region_name
    account = boto3.client("sts").get_caller_identity()["Account"]
    ecs_client = boto3.client("ecs")
    family = f"{name}-api"
    execution_role = f"arn:aws:iam::{account}:role/{name}-execution"
    task_role = f"arn:aws:iam::{account}:role/{name}-task"
    baseline = ecs_client.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        executionRoleArn=execution_role,
        taskRoleArn=task_role,
        containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/docker/library/busybox:stable", "essential": True,
             "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    service = "api"
    ecs_client.create_service(
        cluster=net["cluster_name"],
        serviceName=service,
        taskDefinition=baseline,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": [net["subnet_id"]], "securityGroups": [net["security_group_id"]], "assignPublicIp": "DISABLED"}},
    )
    # An environment a pipeline deploys into has been running: its first deployment has settled
    # (the launcher completes a deployment after its period; a deploy that starts earlier finds
    # the service busy, as it would on AWS).
    deadline = time.monotonic() + 60
    while True:
        deployments = ecs_client.describe_services(
            cluster=net["cluster_name"], services=[service])["services"][0]["deployments"]
        if all(d.get("rolloutState") == "COMPLETED" for d in deployments):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"moto-fixture: service {service} of {name} did not settle: {deployments}")
        time.sleep(0.25)
    cw = boto3.client("cloudwatch")
    alarms = [f"{name}-5xx", f"{name}-p99"]
    for alarm in alarms:
        cw.put_metric_alarm(
            AlarmName=alarm, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5.0,
            ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fixture: healthy")
    repository = f"{name}/api"
    repo = boto3.client("ecr").create_repository(repositoryName=repository)["repository"]
    s3 = boto3.client("s3")
    bucket = f"{name}-site"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    cf = boto3.client("cloudfront")
    distribution = cf.create_distribution(DistributionConfig={
        "CallerReference": name,
        "Comment": f"gantry fixture {name}",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site", "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0}, "MinTTL": 0},
    })["Distribution"]
    site_url = f"https://{distribution['DomainName']}/"
    cfn = boto3.client("cloudformation")
    stacks = {
        "foundation": {"RepositoryName": repository, "RepositoryUri": repo["repositoryUri"],
                       "RepositoryArn": repo["repositoryArn"]},
        "service": {"ClusterName": net["cluster_name"], "ServiceName": service,
                    "GuardAlarmNames": " ".join(alarms), "TaskFamily": family,
                    "BaselineTaskDefinitionArn": baseline, "TaskExecutionRoleArn": execution_role,
                    "TaskRoleArn": task_role},
        "frontend": {"SiteBucketName": bucket, "DistributionId": distribution["Id"], "SiteUrl": site_url},
    }
    for layer, values in stacks.items():
        outputs_stack(cfn, f"{project}-{env}-{layer}", values)
    os.makedirs(environments_dir, exist_ok=True)
    with open(os.path.join(environments_dir, f"{env}.json"), "w") as f:
        json.dump({"Project": project, "Environment": env, "Region": region, "AccountId": account,
                   "TerminationProtection": False, "Tags": {"Project": project, "Environment": env},
                   "Stacks": [{"Layer": layer, "Parameters": {}} for layer in stacks]}, f, indent=2)
    return {
        "cluster": net["cluster_name"], "service": service, "family": family, "baseline": baseline,
        "alarms": alarms, "repository": repository, "bucket": bucket,
        "distribution_id": distribution["Id"], "site_url": site_url,
        "stacks": [f"{project}-{env}-{layer}" for layer in stacks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("ecs", "describe-cluster"):
        sub.add_parser(command).add_argument("--name", required=True)
    env = sub.add_parser("environment")
    for flag in ("--name", "--project", "--environment", "--environments-dir"):
        env.add_argument(flag, required=True)
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("moto-fixture: AWS_ENDPOINT_URL is not set (eval \"$(scripts/local-aws env)\")")
    if args.command == "environment":
        result = environment(args.name, args.project, args.environment, args.environments_dir)
    else:
        result = ecs(args.name) if args.command == "ecs" else describe_cluster(args.name)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
