"""Validate infra/environments/*.json against infra/templates/*.yaml.

Run by scripts/lint-infra with the project venv's Python (it uses cfn-lint's YAML decoder, which
understands CloudFormation short-form tags). Checks, per environment file:
  - well-formed JSON with exactly the documented top-level keys; Environment matches the file name;
  - the four cost tags (Project, Environment, Owner, CostCenter) present and consistent;
  - every layer of infra/templates/ deployed exactly once, each parameter named in the file exists in
    the template it targets, values are strings that satisfy AllowedValues / AllowedPattern /
    MinValue / MaxValue;
  - every template parameter without a default is given by the file, injected by infra/deploy
    (ProjectName, EnvironmentName) or produced as an output of an EARLIER stack (deploy order).
Across the files: every environment has its own AccountId, the VpcCidr ranges do not overlap, and
each recovery layer is in another region than its environment.
And the task definition contract (infra/README.md, "One owner of the task definition"), per
environment as it deploys: with TaskDefinitionArn set - what infra/deploy and the stack action pass
after a release - the service runs exactly that revision and the stack registers none of its own;
with it empty, the bootstrap definition. The application's task definition file
(examples/app/task-definition.json) carries what the stack no longer does: the container health
check, logging on every container, the ADOT sidecar and the execution role.
Exit 0 when clean, 1 with one line per problem.
"""

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import render_templates  # noqa: E402

TOP_KEYS = {"Project", "Environment", "Region", "AccountId", "TerminationProtection", "Tags", "Stacks"}
STACK_KEYS = {"Layer", "Region", "Parameters"}
REQUIRED_TAGS = ("Project", "Environment", "Owner", "CostCenter")
INJECTED = {"ProjectName", "EnvironmentName"}


def load_templates(directory):
    templates = {}
    problems = []
    for path in sorted(directory.glob("*.yaml")):
        template, errors = decode(str(path))
        if errors or template is None:
            problems.append(f"{path}: cannot be parsed: {errors}")
            continue
        templates[path.stem] = template
    return templates, problems


def check_value(where, name, value, spec):
    problems = []
    if not isinstance(value, str):
        return [f"{where}: {name} must be a JSON string (CloudFormation parameters are strings), got {value!r}"]
    kind = spec.get("Type", "String")
    values = [v.strip() for v in value.split(",")] if "List" in kind and value else [value]
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        problems.append(f"{where}: {name}={value!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None:
        for v in values:
            if re.fullmatch(pattern, v) is None:
                problems.append(f"{where}: {name}={v!r} does not match {pattern}")
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            return problems + [f"{where}: {name}={value!r} is not a number"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{where}: {name}={value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{where}: {name}={value} is above MaxValue {spec['MaxValue']}")
    return problems


def check_environment(path, templates):
    problems = []
    try:
        env = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        return [f"{path}: not valid JSON: {error}"]
    if not isinstance(env, dict):
        return [f"{path}: top level must be an object"]
    unknown = set(env) - TOP_KEYS
    missing = TOP_KEYS - set(env)
    if unknown:
        problems.append(f"{path}: unknown keys {sorted(unknown)}")
    if missing:
        return problems + [f"{path}: missing keys {sorted(missing)}"]
    if env["Environment"] != path.stem:
        problems.append(f"{path}: Environment {env['Environment']!r} does not match the file name")
    if not re.fullmatch(r"[0-9]{12}", str(env["AccountId"])):
        problems.append(f"{path}: AccountId must be 12 digits")
    if not isinstance(env["TerminationProtection"], bool):
        problems.append(f"{path}: TerminationProtection must be true or false")
    tags = env["Tags"]
    for tag in REQUIRED_TAGS:
        if not isinstance(tags.get(tag), str) or not tags.get(tag):
            problems.append(f"{path}: tag {tag} missing or empty")
    if tags.get("Environment") != env["Environment"] or tags.get("Project") != env["Project"]:
        problems.append(f"{path}: tags Project/Environment must equal Project/Environment")

    seen = []
    outputs_so_far = set()
    for index, stack in enumerate(env["Stacks"]):
        where = f"{path}: Stacks[{index}]"
        if not isinstance(stack, dict) or set(stack) - STACK_KEYS or "Layer" not in stack:
            problems.append(f"{where}: needs Layer and optional Region, Parameters only")
            continue
        layer = stack["Layer"]
        where = f"{path}: {layer}"
        if layer in seen:
            problems.append(f"{where}: deployed twice")
        seen.append(layer)
        template = templates.get(layer)
        if template is None:
            problems.append(f"{where}: no template infra/templates/{layer}.yaml")
            continue
        declared = template.get("Parameters", {})
        given = stack.get("Parameters", {})
        for name, value in given.items():
            if name not in declared:
                problems.append(f"{where}: parameter {name} does not exist in {layer}.yaml")
            elif name in INJECTED:
                problems.append(f"{where}: {name} is set by infra/deploy from the top-level keys")
            else:
                problems.extend(check_value(where, name, value, declared[name]))
        for name in INJECTED:
            if name not in declared:
                problems.append(f"{where}: {layer}.yaml must declare {name}")
        for name, spec in declared.items():
            if name in given or name in INJECTED or "Default" in spec:
                continue
            if name not in outputs_so_far:
                problems.append(
                    f"{where}: parameter {name} has no default, is not given, and no earlier stack outputs it"
                )
        outputs_so_far.update(template.get("Outputs", {}).keys())
    for layer in sorted(set(templates) - set(seen)):
        problems.append(f"{path}: layer {layer} is never deployed")
    return problems


def check_isolation(paths):
    """The environments are apart: each in its own account, their VPC ranges disjoint (peering, VPN
    and Transit Gateway routing need that), and the recovery region never the application's."""
    import ipaddress
    problems = []
    seen_accounts, networks = {}, {}
    for path in paths:
        try:
            env = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # reported by check_environment
        name = env.get("Environment", path.stem)
        account = str(env.get("AccountId"))
        if account in seen_accounts:
            problems.append(f"{path}: AccountId {account} is also {seen_accounts[account]}'s: every environment needs its own account")
        seen_accounts.setdefault(account, name)
        for stack in env.get("Stacks", []):
            parameters = stack.get("Parameters", {})
            if stack.get("Layer") == "network" and "VpcCidr" in parameters:
                try:
                    networks[name] = (path, ipaddress.ip_network(parameters["VpcCidr"]))
                except ValueError as error:
                    problems.append(f"{path}: network: VpcCidr {parameters['VpcCidr']!r}: {error}")
            if stack.get("Layer") == "recovery" and stack.get("Region", env.get("Region")) == env.get("Region"):
                problems.append(f"{path}: recovery: its Region must differ from the environment's Region {env.get('Region')}")
    names = sorted(networks)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            (path, a), (_, b) = networks[first], networks[second]
            if a.overlaps(b):
                problems.append(f"{path}: network: VpcCidr {a} overlaps {second}'s {b}")
    return problems


def rendered_layer(path, layer, overrides, out_dir):
    """The environment's LAYER template as infra/deploy would deploy it with OVERRIDES in the file."""
    env = json.loads(path.read_text())
    for stack in env["Stacks"]:
        if stack["Layer"] == layer:
            stack.setdefault("Parameters", {}).update(overrides)
    edited = out_dir / path.name
    edited.write_text(json.dumps(env))
    templates = render_templates.load_templates(path.parents[1] / "templates")
    render_templates.render_environment(edited, templates, out_dir)
    return json.loads((out_dir / f"{env['Environment']}-{layer}.json").read_text())


def check_task_definition_contract(path):
    """A stack update after a release keeps the service on the release's task definition."""
    import tempfile
    env = json.loads(path.read_text())
    release = (f"arn:aws:ecs:{env['Region']}:{env['AccountId']}:task-definition/"
               f"{env['Project']}-{env['Environment']}-api:42")
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for given in (release, ""):
            try:
                service = rendered_layer(path, "service", {"TaskDefinitionArn": given}, Path(tmp))
            except render_templates.RenderError as error:
                return [f"{path}: service: {error}"]
            resources = service.get("Resources", {})
            registered = sorted(n for n, r in resources.items() if r["Type"] == "AWS::ECS::TaskDefinition")
            services = [r for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
            running = [s["Properties"].get("TaskDefinition") for s in services]
            where = f"{path}: service with TaskDefinitionArn={given!r}"
            if given:
                if running != [release]:
                    problems.append(f"{where}: the service would run {running}, not the live revision")
                if registered:
                    problems.append(f"{where}: the stack still registers {registered}")
            elif running != [{"Ref": "TaskDefinition"}] or registered != ["TaskDefinition"]:
                problems.append(f"{where}: needs the bootstrap TaskDefinition, runs {running}")
    return problems


def check_app_task_definition(path):
    """The application's task definition carries health check, logging, sidecar and execution role."""
    try:
        definition = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return [f"{path}: {error}"]
    problems = []
    containers = definition.get("containerDefinitions", [])
    if not definition.get("executionRoleArn"):
        problems.append(f"{path}: executionRoleArn missing (ECS pulls the image and writes logs with it)")
    essential = [c for c in containers if c.get("essential", True)]
    for container in essential:
        if not container.get("healthCheck", {}).get("command"):
            problems.append(f"{path}: essential container {container.get('name')} has no healthCheck")
    for container in containers:
        name = container.get("name")
        if container.get("logConfiguration", {}).get("logDriver") != "awslogs":
            problems.append(f"{path}: container {name} has no awslogs logConfiguration")
        if container.get("readonlyRootFilesystem") is not True or container.get("privileged"):
            problems.append(f"{path}: container {name} needs readonlyRootFilesystem true, not privileged")
    if not any("aws-otel-collector" in c.get("image", "") for c in containers):
        problems.append(f"{path}: no ADOT collector sidecar (aws-otel-collector) for X-Ray")
    return problems


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    templates, problems = load_templates(root / "templates")
    environments = sorted((root / "environments").glob("*.json"))
    if not environments:
        problems.append(f"{root / 'environments'}: no environment files")
    problems.extend(check_isolation(environments))
    for path in environments:
        problems.extend(check_environment(path, templates))
        if not problems:
            problems.extend(check_task_definition_contract(path))
    problems.extend(check_app_task_definition(root.parent / "examples" / "app" / "task-definition.json"))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"environments: {len(environments)} files, {len(templates)} templates: ok; a stack update keeps "
          f"the live task definition; the application's task definition carries sidecar, health check, "
          f"logging, execution role", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
