"""Start moto's server on 127.0.0.1 and keep it running until SIGTERM/SIGINT.

This is the one place where the local emulator is launched, so patches to moto's behaviour
(e.g. an ECS deployment lifecycle) go here, before the server starts.

    moto-launcher.py --port 5000 [--env MOTO_ECS_SERVICE_RUNNING=1]...
                     [--ecs-deployment-seconds 3] [--ecs-fail-marker gantry-fail] [--no-ecs-lifecycle]

ECS deployment lifecycle (on unless --no-ecs-lifecycle): moto 5.2.5's UpdateService keeps the one
PRIMARY deployment (same id, old task definition), so nothing can follow a deployment there. The
patch makes deployments follow the documented lifecycle instead; every rule below cites the ECS
API reference (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/):

1. API_UpdateService.html — "If the task definition ... or forceNewDeployment ... changes, a new
   deployment is started": a new PRIMARY deployment IN_PROGRESS; the previous PRIMARY turns ACTIVE.
2. API_Deployment.html — status PRIMARY ("the most recent deployment"), ACTIVE ("still running
   tasks but being replaced"), rolloutState IN_PROGRESS -> COMPLETED "when the service reaches a
   steady state"; the replaced ACTIVE deployment then goes. Here: after --ecs-deployment-seconds
   (env GANTRY_MOTO_ECS_DEPLOYMENT_SECONDS) measured from the deployment's createdAt.
3. API_DeploymentCircuitBreaker.html — "the deployment transitions to a FAILED state" and, with
   rollback, "ECS rolls back to the last completed deployment": a task definition whose container
   image contains --ecs-fail-marker (env GANTRY_MOTO_ECS_FAIL_MARKER) ends FAILED (ACTIVE) and a new
   PRIMARY deployment of the last COMPLETED task definition is COMPLETED; the FAILED one goes after
   another period.
4. API_ServiceEvent.html — each transition adds a service event (newest first), as ECS does.

Transitions are computed from createdAt whenever a service is read, so `updatedAt` is the moment a
deployment turned (what the rollout benchmark measures against), not the moment it was looked at.

CloudWatch over Smithy RPC v2 CBOR (on unless --no-cloudwatch-cbor): the Rust aws-sdk-cloudwatch
speaks only that protocol (POST /service/GraniteServiceVersion20100801/operation/<Operation>,
https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html), which moto 5.2.5 does not
serve (404). The shim decodes the request with botocore's CBOR parser and the service model, runs
the operation through moto's own JSON endpoint, and encodes the answer with botocore's CBOR
serializer (errors as the protocol's `__type`/`message` map).

CloudFormation (on unless --no-cloudformation-patches): what moto 5.2.5 lacks for infra/templates and
for gantry-stack's reviewed-change-set check, each as AWS documents it
(https://docs.aws.amazon.com/AWSCloudFormation/latest/):

1. UserGuide/intrinsic-function-reference-cidr.html — `Fn::Cidr [ipBlock, count, cidrBits]`
   "returns an array of CIDR address blocks", `count` of them, each with `cidrBits` host bits
   (a /(32 - cidrBits) for IPv4), in order from the start of `ipBlock`. moto: HTTP 500.
2. UserGuide/intrinsic-function-reference-getavailabilityzones.html — `Fn::GetAZs ""` is
   "equivalent to specifying AWS::Region": the zones of the stack's region, in order. moto
   answers us-east-1's zones whatever the region.
3. APIReference/API_GetTemplate.html — `ChangeSetName`: "CloudFormation returns the associated
   template" of that change set. moto ignores it and answers the stack's template.
4. APIReference/API_UpdateTerminationProtection.html — sets EnableTerminationProtection of a
   stack (DescribeStacks reports it). moto does not implement the action.
5. APIReference/API_ExecuteChangeSet.html ("updates a stack using the input information that
   was provided when the specified change set was created") and API_Stack.html (`Outputs`,
   `Parameters`): after an execution the stack reports the outputs and parameters of the change
   set's template. moto keeps those of the stack before (none for a stack created by a change set).
6. A resource of a type moto does not model is silently not created; a `Ref` or `Fn::GetAtt` of
   it then fails the whole stack (DescribeStacks answers HTTP 500). AWS answers the resource's id
   or attribute (UserGuide/intrinsic-function-reference-ref.html, -getatt.html); here the answer
   is the placeholder `moto-skipped:<Type>:<LogicalId>[.<Attribute>]`, which names what was
   skipped so no check can mistake it for a real resource (docs/actions/stack.md lists them).
7. UserGuide/aws-resource-rds-dbparametergroup.html, "Return values": `Ref` returns the DB
   parameter group's name. moto's model has no physical id, so `Ref` answers the Python object
   and the DB instance that uses it fails (HTTP 500).
8. UserGuide/intrinsic-function-reference-getatt.html: the short form is
   `!GetAtt logicalNameOfResource.attributeName`, and attribute names contain dots
   (`Endpoint.Address`). moto splits at every dot, so `!GetAtt Db.Endpoint.Address` asks for
   attribute `Endpoint` and fails. Here only the first dot separates. And
   UserGuide/intrinsic-function-reference-conditions.html: a condition that uses another is
   written `{"Condition": NAME}` (short form `!Condition NAME`); moto reads the short form as an
   unknown `Fn::Condition` and evaluates it false (`!And [!Condition A, !Condition B]` never holds).
9. UserGuide/aws-resource-rds-dbinstance.html, "Return values": `Fn::GetAtt` of a DB instance
   also answers `DbiResourceId` and `MasterUserSecret.SecretArn`; moto answers only the
   endpoint's address and port. Its CloudFormation path creates no master user secret, so that
   attribute is a rule-6 placeholder.
10. UserGuide/pseudo-parameter-reference.html (`AWS::NoValue`: "Removes the corresponding
   resource property when specified as a return value in the Fn::If intrinsic function"), which
   in a list removes the item. moto leaves a `None` in the list (a container definition list
   then fails with HTTP 500).
11. UserGuide/aws-resource-certificatemanager-certificate.html: `Ref` returns the certificate's
   ARN. moto's CloudFormation skips the type, so the HTTPS listener that uses it fails
   (CertificateNotFound). Here the certificate is requested from moto's ACM (RequestCertificate
   with DomainName and SubjectAlternativeNames; it stays PENDING_VALIDATION, as a DNS-validated
   certificate does until its records exist).
12. UserGuide/aws-resource-elasticloadbalancingv2-loadbalancer.html and -targetgroup.html,
   "Return values": `LoadBalancerFullName` is the part of the ARN after `loadbalancer/`
   (`app/NAME/ID`), `TargetGroupFullName` the part from `targetgroup/` on
   (`targetgroup/NAME/ID`), `CanonicalHostedZoneID` the load balancer's hosted zone. moto
   answers none of them (and a target group no attribute at all), so every output of the stack
   is lost. The hosted zone is ELB's published one for the region where known, else a
   rule-6 placeholder.
13. UserGuide/aws-resource-s3-bucket.html: `PublicAccessBlockConfiguration` and
   `VersioningConfiguration` configure the bucket as PutPublicAccessBlock and PutBucketVersioning
   do. moto's CloudFormation applies only BucketEncryption and Tags and drops the rest.
14. UserGuide/aws-resource-ec2-subnetroutetableassociation.html: "Associates a subnet with a
   route table" (as AssociateRouteTable does; DescribeRouteTables then lists it). moto records
   the resource but never associates, so every subnet stays on the main route table.
15. UserGuide/aws-resource-ec2-eip.html, "Return values": `Fn::GetAtt` of an Elastic IP answers
   `AllocationId` and `PublicIp`. moto answers only `AllocationId`, so a security-group rule or a
   WAF IP set built from the NAT gateways' addresses fails the stack.
16. UserGuide/aws-resource-ecs-taskdefinition.html, "Return values": `Ref` returns the task
   definition's ARN, one revision; and aws-resource-ecs-service.html, `TaskDefinition`: "The
   family and revision (family:revision) or full ARN of the task definition to run". moto hands
   the service only the referenced definition's family, so the service runs the family's newest
   revision — a revision registered outside the stack (a release) looks kept by a stack update
   that in fact points the service back at the stack's own. Here the service gets the ARN.
17. APIReference/API_ListStackResources.html ("Returns descriptions of all resources of the
   specified stack") and API_DescribeStackResources.html: the resources the stack has. moto lists
   every resource the template declares and, reading one it did not create (a type it skips, a
   condition that is false), tries to create it there and then; some of those attempts fail the
   request (HTTP 500). Here only the resources the stack created are listed.
18. APIReference/API_CreateChangeSet.html (`ChangeSetType`: CREATE "for a new stack") and
   API_Stack.html (`REVIEW_IN_PROGRESS`): a change set created for a new stack leaves the stack
   REVIEW_IN_PROGRESS, and a later CREATE change set of that name is one more change set of the
   same stack (same StackId). moto creates a second stack of the same name for it; executing that
   one leaves the stack DescribeStacks answers by name REVIEW_IN_PROGRESS for ever. Here the
   change set joins the stack under review.
"""

import argparse
import copy
import datetime
import os
import signal
import threading


def patch_ecs_deployments(seconds: float, fail_marker: str) -> None:
    """Patches moto's ECS backend so deployments follow the lifecycle in the module docstring."""
    from moto.core.utils import utcnow
    from moto.ecs import models
    from moto.moto_api._internal import mock_random

    backend_cls = models.EC2ContainerServiceBackend
    period = datetime.timedelta(seconds=seconds)
    original_update = backend_cls.update_service
    original_describe = backend_cls.describe_services
    original_create = backend_cls.create_service

    def event(service, message: str, at) -> None:
        # API_ServiceEvent.html: id, createdAt, message; DescribeServices lists newest first.
        service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": at, "message": message})

    def deployment(service, task_definition: str, state: str, at) -> dict:
        dep_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
        done = state == "COMPLETED"
        return {
            "id": dep_id,
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": 0 if done else service.desired_count,
            "runningCount": service.desired_count if done else 0,
            "failedTasks": 0,
            "createdAt": at,
            "updatedAt": at,
            "launchType": service.launch_type,
            "platformVersion": service.platform_version,
            "networkConfiguration": service.network_configuration or None,
            "rolloutState": state,
            "rolloutStateReason": f"ECS deployment {dep_id} {'completed' if done else 'in progress'}.",
        }

    def fails(backend, task_definition: str) -> bool:
        try:
            td = backend.describe_task_definition(task_definition)
        except Exception:  # noqa: BLE001 - a deregistered/unknown one simply does not fail
            return False
        return any(fail_marker in (c.get("image") or "") for c in td.container_definitions)

    def advance(backend, service) -> None:
        """Rules 2 and 3: settle deployments whose period has passed."""
        if service.deployment_controller.get("type", "ECS") != "ECS":
            return
        now = utcnow()
        for d in list(service.deployments):
            if d["rolloutState"] == "FAILED" and d["status"] == "ACTIVE" and now >= d["updatedAt"] + period:
                service.deployments.remove(d)
        primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
        if primary is None or primary["rolloutState"] != "IN_PROGRESS":
            return
        turned = primary["createdAt"] + period
        if now < turned:
            return
        name, dep_id = service.name, primary["id"]
        if fails(backend, primary["taskDefinition"]):
            reason = "ECS deployment circuit breaker: tasks failed to start."
            primary.update(status="ACTIVE", rolloutState="FAILED", rolloutStateReason=reason,
                           failedTasks=max(primary["desiredCount"], 1), runningCount=0, updatedAt=turned)
            event(service, f"(service {name}) (deployment {dep_id}) deployment failed: tasks failed to start.", turned)
            last_completed = next((d for d in service.deployments if d is not primary and d["rolloutState"] == "COMPLETED"), None)
            if last_completed is None:
                primary["status"] = "PRIMARY"  # nothing to roll back to
                return
            rollback = deployment(service, last_completed["taskDefinition"], "COMPLETED", turned)
            service.deployments = [rollback, primary]
            service.task_definition = last_completed["taskDefinition"]
            event(service, f"(service {name}) rolling back to deployment {rollback['id']}.", turned)
            event(service, f"(service {name}) has reached a steady state.", turned)
        else:
            primary.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {dep_id} completed.",
                           runningCount=primary["desiredCount"], pendingCount=0, updatedAt=turned)
            service.deployments = [primary]
            event(service, f"(service {name}) (deployment {dep_id}) deployment completed.", turned)
            event(service, f"(service {name}) has reached a steady state.", turned)

    def update_service(self, service_properties):
        props = dict(service_properties)
        service = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
        advance(self, service)
        before = copy.deepcopy(service.deployments)
        old_td = service.task_definition
        result = original_update(self, service_properties)
        if props.get("task_definition"):
            # moto stores the string as given (maybe family:revision); ECS reports the ARN.
            result.task_definition = self.describe_task_definition(props["task_definition"]).arn
        if result.deployment_controller.get("type", "ECS") != "ECS":
            return result
        if result.task_definition == old_td and not props.get("force_new_deployment"):
            result.deployments = before
            return result
        # Rule 1: a new PRIMARY deployment; the old PRIMARY turns ACTIVE.
        for d in before:
            if d["status"] == "PRIMARY":
                d["status"] = "ACTIVE"
        now = utcnow()
        new = deployment(result, result.task_definition, "IN_PROGRESS", now)
        result.deployments = [new, *before]
        event(result, f"(service {result.name}) (deployment {new['id']}) deployment started.", now)
        return result

    def describe_services(self, cluster_str, service_names_or_arns):
        services, failures = original_describe(self, cluster_str, service_names_or_arns)
        for s in services:
            advance(self, s)
        return services, failures

    def create_service(self, *args, **kwargs):
        service = original_create(self, *args, **kwargs)
        for d in service.deployments:
            d["taskDefinition"] = service.task_definition
        return service

    backend_cls.update_service = update_service
    backend_cls.describe_services = describe_services
    backend_cls.create_service = create_service


def patch_cloudformation() -> None:
    """The CloudFormation patches of the module docstring (numbered as there)."""
    import ipaddress

    from moto.cloudformation import parsing, responses
    from moto.core.responses import ActionResult

    original_clean_json = parsing.clean_json

    def zones(resources_map) -> list:
        region = getattr(resources_map, "_region_name", "us-east-1")
        try:
            from moto.ec2.models import ec2_backends

            names = [z.name for z in ec2_backends[resources_map._account_id][region].describe_availability_zones()]
        except Exception:  # noqa: BLE001 - fall back to the a-d zones moto itself assumes
            names = []
        return sorted(names) or [f"{region}{z}" for z in "abcd"]

    def skipped(resources_map, logical_id, attribute=None):
        """The placeholder of rule 6, or None when the resource exists (or is not declared)."""
        declared = getattr(resources_map, "_resource_json_map", {}).get(logical_id)
        if not isinstance(declared, dict) or resources_map.get(logical_id) is not None:
            return None
        suffix = f".{attribute}" if attribute else ""
        return f"moto-skipped:{declared.get('Type')}:{logical_id}{suffix}"

    def no_value(v) -> bool:
        return isinstance(v, dict) and ("Fn::If" in v or v.get("Ref") == "AWS::NoValue")

    def clean_json(resource_json, resources_map):
        if isinstance(resource_json, list):  # 10
            cleaned = [(v, clean_json(v, resources_map)) for v in resource_json]
            return [c for v, c in cleaned if not (c is None and no_value(v))]
        if isinstance(resource_json, dict):
            if isinstance(resource_json.get("Ref"), str):  # 6
                placeholder = skipped(resources_map, resource_json["Ref"])
                if placeholder:
                    return placeholder
                value = original_clean_json(resource_json, resources_map)
                if type(value).__name__ == "DBParameterGroup":  # 7
                    return value.name
                return value
            if isinstance(resource_json.get("Fn::GetAtt"), list):  # 6
                placeholder = skipped(resources_map, *resource_json["Fn::GetAtt"][:2])
                if placeholder:
                    return placeholder
            if "Fn::Cidr" in resource_json:  # 1
                block, count, bits = (clean_json(v, resources_map) for v in resource_json["Fn::Cidr"])
                network = ipaddress.ip_network(str(block), strict=False)
                prefix = network.max_prefixlen - int(bits)
                return [str(n) for _, n in zip(range(int(count)), network.subnets(new_prefix=prefix))]
            if "Fn::GetAZs" in resource_json:  # 2
                region = clean_json(resource_json["Fn::GetAZs"], resources_map)
                if not region or region == getattr(resources_map, "_region_name", None):
                    return zones(resources_map)
        return original_clean_json(resource_json, resources_map)

    parsing.clean_json = clean_json

    from moto.cloudformation import models, utils

    original_constructor = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader, tag, node):  # 8
        if tag == "!GetAtt" and isinstance(node.value, str):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        if tag == "!Condition" and isinstance(node.value, str):
            return {"Condition": node.value}
        return original_constructor(loader, tag, node)

    for module in (utils, models, responses):
        module.yaml_tag_constructor = yaml_tag_constructor

    from moto.rds.models import DBInstance

    original_attribute = DBInstance.get_cfn_attribute

    def get_cfn_attribute(self, attribute_name):  # 9
        if attribute_name == "DbiResourceId":
            return self.dbi_resource_id
        secret = getattr(self, "master_user_secret", None)
        if attribute_name == "MasterUserSecret.SecretArn":
            if secret is not None:
                return secret.secret.arn
            return f"moto-skipped:AWS::RDS::DBInstance:{self.db_instance_identifier}.{attribute_name}"
        return original_attribute(self, attribute_name)

    DBInstance.get_cfn_attribute = get_cfn_attribute

    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    # https://docs.aws.amazon.com/general/latest/gr/elb.html (Application Load Balancers).
    elb_zones = {"us-east-1": "Z35SXDOTRQ7X7K", "eu-west-1": "Z32O12XQLNTSW2", "us-west-2": "Z1H1FL5HABSF5"}
    original_lb_attribute = FakeLoadBalancer.get_cfn_attribute

    def lb_attribute(self, attribute_name):  # 12
        if attribute_name == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        if attribute_name == "CanonicalHostedZoneID":
            region = self.arn.split(":")[3]
            return elb_zones.get(region, f"moto-skipped:AWS::ElasticLoadBalancingV2::LoadBalancer:{self.name}.{attribute_name}")
        return original_lb_attribute(self, attribute_name)

    def tg_attribute(self, attribute_name):  # 12
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "TargetGroupFullName":
            return self.arn.split(":", 5)[5]
        if attribute_name == "TargetGroupName":
            return self.name
        raise UnformattedGetAttTemplateException()

    from moto.s3.models import FakeBucket, s3_backends

    original_bucket_create = FakeBucket.create_from_cloudformation_json.__func__

    def bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # 13
        bucket = original_bucket_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id]["aws"]
        if props.get("PublicAccessBlockConfiguration"):
            backend.put_public_access_block(bucket.name, props["PublicAccessBlockConfiguration"])
        status = (props.get("VersioningConfiguration") or {}).get("Status")
        if status:
            backend.put_bucket_versioning(bucket.name, status)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(bucket_create)

    from moto.ec2.models import ec2_backends
    from moto.ec2.models.subnets import SubnetRouteTableAssociation

    original_association = SubnetRouteTableAssociation.create_from_cloudformation_json.__func__

    def association_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):  # 14
        association = original_association(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        ec2_backends[account_id][region_name].associate_route_table(
            association.route_table_id, subnet_id=association.subnet_id
        )
        return association

    SubnetRouteTableAssociation.create_from_cloudformation_json = classmethod(association_create)
    FakeLoadBalancer.get_cfn_attribute = lb_attribute
    FakeTargetGroup.get_cfn_attribute = tg_attribute

    cls = responses.CloudFormationResponse
    original_get_template = cls.get_template

    def get_template(self):  # 3
        name = self._get_param("ChangeSetName")
        if not name:
            return original_get_template(self)
        change_set = self.cloudformation_backend.describe_change_set(change_set_name=name)
        return ActionResult({"TemplateBody": change_set.template})

    def update_termination_protection(self):  # 4
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
        return ActionResult({"StackId": stack.stack_id})

    from moto.acm.models import acm_backends
    from moto.core.common_models import CloudFormationModel

    class AcmCertificate(CloudFormationModel):  # 11
        # moto derives a model's service from its module name (moto.<service>.models).
        __module__ = "moto.acm.models"

        def __init__(self, arn: str):
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CertificateManager::Certificate"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            props = cloudformation_json.get("Properties", {})
            arn = acm_backends[account_id][region_name].request_certificate(
                domain_name=props["DomainName"],
                idempotency_token=None,
                subject_alt_names=props.get("SubjectAlternativeNames") or [],
                tags=props.get("Tags") or [],
            )
            return cls(arn)

        def is_created(self) -> bool:
            return True

    parsing.get_model_map()[AcmCertificate.cloudformation_type()] = AcmCertificate
    parsing.get_name_type_map()[AcmCertificate.cloudformation_type()] = ""

    cls.get_template = get_template
    cls.update_termination_protection = update_termination_protection

    from moto.cloudformation.models import CloudFormationBackend

    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):  # 5
        original_execute(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack.parameters = change_set.parameters
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set

    from moto.ec2.models.elastic_ip_addresses import ElasticAddress  # 15

    original_eip_attribute = ElasticAddress.get_cfn_attribute
    ElasticAddress.has_cfn_attr = classmethod(lambda cls, attr: attr in ("AllocationId", "PublicIp"))

    def eip_attribute(self, attribute_name):
        if attribute_name == "PublicIp":
            return self.public_ip
        return original_eip_attribute(self, attribute_name)

    ElasticAddress.get_cfn_attribute = eip_attribute

    from moto.ecs.models import Service, TaskDefinition  # 16

    def exact_revision(cloudformation_json):
        props = cloudformation_json.get("Properties", {})
        if isinstance(props.get("TaskDefinition"), TaskDefinition):
            cloudformation_json = dict(cloudformation_json, Properties=dict(props, TaskDefinition=props["TaskDefinition"].arn))
        return cloudformation_json

    original_service_create = Service.create_from_cloudformation_json.__func__
    original_service_update = Service.update_from_cloudformation_json.__func__

    def service_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        return original_service_create(cls, resource_name, exact_revision(cloudformation_json), account_id,
                                       region_name, **kwargs)

    def service_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return original_service_update(cls, original_resource, new_resource_name, exact_revision(cloudformation_json),
                                       account_id, region_name)

    Service.create_from_cloudformation_json = classmethod(service_create)
    Service.update_from_cloudformation_json = classmethod(service_update)

    from moto.cloudformation.models import Stack  # 17

    def created_resources(self):
        resources = self.resource_map
        parsed = resources._parsed_resources
        return [parsed[k] for k in resources.resources
                if parsed.get(k) is not None and hasattr(parsed[k], "logical_resource_id")]

    Stack.stack_resources = property(created_resources)

    original_create_change_set = CloudFormationBackend.create_change_set

    def create_change_set(self, stack_name, change_set_name, template, parameters, description,
                          change_set_type, notification_arns=None, tags=None, role_arn=None):  # 18
        reviewed = [s for s in self.stacks.values() if s.name == stack_name and s.status == "REVIEW_IN_PROGRESS"]
        if change_set_type != "CREATE" or not reviewed:
            return original_create_change_set(self, stack_name, change_set_name, template, parameters, description,
                                              change_set_type, notification_arns, tags, role_arn)
        models.validate_create_change_set(change_set_name)
        stack = reviewed[0]
        change_set_id = models.generate_changeset_id(change_set_name, self.region_name, self.account_id)
        change_set = models.ChangeSet(
            change_set_type=change_set_type, change_set_id=change_set_id, change_set_name=change_set_name,
            stack=stack, template=template, parameters=parameters, description=description,
            notification_arns=notification_arns, tags=tags, role_arn=role_arn,
        )
        change_set.status = "CREATE_COMPLETE"
        change_set.execution_status = "AVAILABLE"
        self.change_sets[change_set_id] = change_set
        return change_set_id, stack.stack_id

    CloudFormationBackend.create_change_set = create_change_set


def patch_cloudwatch_cbor(port: int) -> None:
    """Serves CloudWatch's RPC v2 CBOR requests (see the module docstring) through moto's JSON."""
    import functools
    import re

    import boto3
    import botocore.session
    from botocore.exceptions import ClientError
    from botocore.parsers import RpcV2CBORParser
    from botocore.serialize import RpcV2CBORSerializer
    from moto.cloudwatch import urls

    model = botocore.session.get_session().get_service_model("cloudwatch")

    @functools.lru_cache(maxsize=16)
    def client(access_key: str, region: str):
        # The caller's access key selects moto's account, as it does for direct requests.
        return boto3.client(
            "cloudwatch",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key="moto",
        )

    def dispatch(request, full_url, headers):
        name = full_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        op = model.operation_model(name)
        parser = RpcV2CBORParser()
        body = request.data if hasattr(request, "data") else request.body
        node = parser._initial_body_parse(body or b"")
        params = parser._parse_shape(op.input_shape, node) if node and op.input_shape else {}
        scope = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/", headers.get("Authorization", ""))
        access_key, region = scope.groups() if scope else ("testing", "us-east-1")
        reply = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
        out = bytearray()
        try:
            result = getattr(client(access_key, region), botocore.xform_name(name))(**params)
            result.pop("ResponseMetadata", None)
            if op.output_shape is not None:
                RpcV2CBORSerializer()._serialize_data_item(out, result, op.output_shape)
            return 200, reply, bytes(out)
        except ClientError as e:
            err = e.response.get("Error", {})
            code = err.get("Code", "InternalFailure")
            _cbor_error(out, code, err.get("Message", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return status, {**reply, "x-amzn-query-error": f"{code};Sender"}, bytes(out)

    # moto's server names each route after the handler's class: a bound classmethod, as its own.
    handler = type("CloudWatchCborResponse", (), {"dispatch": classmethod(lambda cls, *a: dispatch(*a))})
    urls.url_paths["{0}/service/GraniteServiceVersion20100801/operation/(?P<operation>[A-Za-z]+)$"] = handler.dispatch


def _cbor_error(out: bytearray, code: str, message: str) -> None:
    """A CBOR map of two text strings: {"__type": code, "message": message}."""

    def text(s: str) -> None:
        b = s.encode()
        n = len(b)
        if n < 24:
            out.append(0x60 | n)
        elif n < 256:
            out.extend([0x78, n])
        else:
            out.extend([0x79, n >> 8, n & 0xFF])
        out.extend(b)

    out.append(0xA2)
    text("__type")
    text(code)
    text("message")
    text(message[:65535])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set in the server's environment before moto is imported (repeatable)",
    )
    parser.add_argument(
        "--ecs-deployment-seconds",
        type=float,
        default=float(os.environ.get("GANTRY_MOTO_ECS_DEPLOYMENT_SECONDS") or 3),
        help="how long an ECS deployment stays IN_PROGRESS (default: env GANTRY_MOTO_ECS_DEPLOYMENT_SECONDS, else 3)",
    )
    parser.add_argument(
        "--ecs-fail-marker",
        default=os.environ.get("GANTRY_MOTO_ECS_FAIL_MARKER") or "gantry-fail",
        help="a deployment whose container image contains this text fails (default: gantry-fail)",
    )
    parser.add_argument("--no-ecs-lifecycle", action="store_true", help="leave moto's ECS deployments as they are")
    parser.add_argument("--no-cloudwatch-cbor", action="store_true", help="do not serve CloudWatch's RPC v2 CBOR")
    parser.add_argument(
        "--no-cloudformation-patches", action="store_true", help="leave moto's CloudFormation as it is"
    )
    args = parser.parse_args()
    for pair in args.env:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--env expects NAME=VALUE, got {pair!r}")
        os.environ[name] = value
    if args.ecs_deployment_seconds < 0:
        parser.error("--ecs-deployment-seconds must be zero or more")

    # Imported after --env: some moto settings are read at import time.
    from moto.server import ThreadedMotoServer

    if not args.no_ecs_lifecycle:
        patch_ecs_deployments(args.ecs_deployment_seconds, args.ecs_fail_marker)
    if not args.no_cloudwatch_cbor:
        patch_cloudwatch_cbor(args.port)
    if not args.no_cloudformation_patches:
        patch_cloudformation()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"moto listening on http://127.0.0.1:{args.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
