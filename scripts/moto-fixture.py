"""Test fixtures in the local moto (boto3 against AWS_ENDPOINT_URL). Prints one JSON object.

    moto-fixture.py ecs --name NAME               VPC, subnet, security group and ECS cluster NAME
    moto-fixture.py describe-cluster --name NAME  the cluster, and the subnets/groups tagged NAME

Everything a fixture creates is tagged `gantry-fixture=NAME`, so tests share one emulator.
"""

import argparse
import json
import os
import sys

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("ecs", "describe-cluster"):
        sub.add_parser(command).add_argument("--name", required=True)
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("moto-fixture: AWS_ENDPOINT_URL is not set (eval \"$(scripts/local-aws env)\")")
    result = ecs(args.name) if args.command == "ecs" else describe_cluster(args.name)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
