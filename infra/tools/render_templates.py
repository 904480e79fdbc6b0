"""Render every template of every environment as that environment deploys it.

    render_templates.py INFRA_DIR OUT_DIR

For each infra/environments/ENV.json and each stack it lists, writes OUT_DIR/ENV-LAYER.json: the
template with this environment's parameter values (the file's, else the template's defaults;
ProjectName and EnvironmentName from the top-level keys as infra/deploy sets them) and pseudo
parameters (AWS::Region of the stack, AWS::AccountId, AWS::Partition) resolved:

  - `Conditions` are evaluated (Fn::Equals/And/Or/Not, Condition, Ref);
  - resources and outputs whose `Condition` is false are dropped;
  - Fn::If takes its branch; AWS::NoValue removes the key or list item;
  - Ref to a known parameter becomes its value (a List/CommaDelimitedList parameter a list);
  - Fn::Sub whose variables are all known parameters becomes the string.

Parameters wired from an earlier stack's outputs (infra/deploy passes each output to the later
parameter of the same name) take that output's rendered value when it is a plain string (e.g. the
service's ApiOriginDomainName, from the environment file); otherwise they have no value here: a Ref
to one stays a Ref, and a condition that depends on one is an error (nothing is guessed) - except
that an output which is a resource's Ref or attribute (the ALB's DNS name) is known to be non-empty,
so `Fn::Equals [that, ""]` is false.
Other intrinsic functions (Fn::Sub, Fn::GetAtt, ...) are kept as they are.

The rendered template also carries `Metadata.Gantry: {Environment, Layer, Region}` so that guard
rules scoped to an environment (e.g. prod-only controls) can test it, and keeps only the parameters
it still refers to (so that cfn-lint, which scripts/lint-infra also runs on the rendered templates,
sees no unused ones). VARIANTS adds choices no committed file makes (prod with blue/green).

cfn-guard does not evaluate conditions: validating the raw templates would check both branches of
every Fn::If, or neither. Rendering first makes every guard rule judge exactly what each environment
deploys. Exit 0 with one line per file on stderr, 1 with the problems.
"""

import json
import re
import sys
from pathlib import Path

from cfnlint.decode import decode

SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class RenderError(Exception):
    pass


class _NoValue:
    pass


NO_VALUE = _NoValue()


class _NonEmpty:
    """A wired output that is a resource's Ref or attribute: unknown here, but never the empty string."""


NON_EMPTY = _NonEmpty()


def _is_resource_value(value):
    function, _ = _single(value)
    return function in ("Ref", "Fn::GetAtt")


def _plain(value):
    """cfn-lint's decoder returns str/dict/list subclasses that carry line marks: make plain ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _single(value):
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.items()))
    return None, None


class Renderer:
    def __init__(self, template, parameters, pseudo, where, unknown=(), nonempty=()):
        self.template = template
        self.nonempty = set(nonempty)
        self.pseudo = pseudo
        self.where = where
        self.values = {}
        for name, spec in template.get("Parameters", {}).items():
            value = None if name in unknown else parameters.get(name, spec.get("Default"))
            if value is None:
                continue  # wired from an earlier stack: unknown here
            value = str(value)
            if "List" in str(spec.get("Type", "String")):
                value = [v.strip() for v in value.split(",")] if value else [""]
            self.values[name] = value
        self.conditions = template.get("Conditions", {})
        self.evaluated = {}

    def fail(self, message):
        raise RenderError(f"{self.where}: {message}")

    def condition(self, name):
        if name not in self.evaluated:
            if name not in self.conditions:
                self.fail(f"no condition {name}")
            self.evaluated[name] = self.boolean(self.conditions[name])
        return self.evaluated[name]

    def boolean(self, expression):
        if isinstance(expression, bool):
            return expression
        function, args = _single(expression)
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = self.scalar(args[0]), self.scalar(args[1])
            if NON_EMPTY in (left, right):
                other = right if left is NON_EMPTY else left
                if other == "":
                    return False
                self.fail(f"a condition compares a resource value from an earlier stack with {other!r}")
            return left == right
        if function == "Fn::And":
            return all(self.boolean(a) for a in args)
        if function == "Fn::Or":
            return any(self.boolean(a) for a in args)
        if function == "Fn::Not":
            return not self.boolean(args[0])
        self.fail(f"unsupported condition expression {expression!r}")

    def scalar(self, value):
        resolved = self.resolve(value)
        function, args = _single(resolved)
        if function == "Fn::Join" and isinstance(args, list) and len(args) == 2:
            parts = args[1] if isinstance(args[1], list) else [args[1]]
            if all(isinstance(p, (str, int, float)) for p in parts):
                return str(args[0]).join(str(p) for p in parts)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (str, int, float)):
            return str(resolved)
        if function == "Ref" and args in self.nonempty:
            return NON_EMPTY
        if function == "Ref":
            self.fail(f"a condition depends on {args}, which comes from an earlier stack's outputs")
        self.fail(f"cannot evaluate {value!r} in a condition")

    def reference(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.values:
            value = self.values[name]
            return list(value) if isinstance(value, list) else value
        return {"Ref": name}

    def resolve(self, value):
        function, args = _single(value)
        if function == "Ref" and isinstance(args, str):
            return self.reference(args)
        if function == "Fn::Sub":
            return self.substitute(value, args)
        if function == "Fn::If":
            if not (isinstance(args, list) and len(args) == 3):
                self.fail(f"Fn::If needs three items: {args!r}")
            return self.resolve(args[1] if self.condition(args[0]) else args[2])
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self.resolve(item) for item in value) if r is not NO_VALUE]
        return value

    def substitute(self, original, args):
        """Fn::Sub with only known parameters and pseudo parameters becomes the string itself."""
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def lookup(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            value = variables[name] if name in variables else self.reference(name)
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise KeyError(name)
            return str(value)

        try:
            return SUB_VARIABLE.sub(lookup, text)
        except KeyError:
            return {"Fn::Sub": [text, variables] if variables else text}

    def active(self, entry):
        name = entry.get("Condition") if isinstance(entry, dict) else None
        return True if name is None else self.condition(name)

    def render(self):
        out = {}
        for section, content in self.template.items():
            if section in ("Conditions", "Rules"):
                continue
            if section in ("Resources", "Outputs"):
                kept = {}
                for name, entry in content.items():
                    if not self.active(entry):
                        continue
                    entry = {k: v for k, v in entry.items() if k != "Condition"}
                    kept[name] = self.resolve(entry)
                out[section] = kept
            elif section == "Parameters":
                continue
            else:
                out[section] = self.resolve(content)
        # Only the parameters the rendered template still refers to (a wired output, unknown here):
        # the others have been substituted.
        used = _referenced(out)
        kept = {name: spec for name, spec in self.template.get("Parameters", {}).items() if name in used}
        if kept:
            out["Parameters"] = kept
        return out


def _referenced(value, found=None):
    """Names used by Ref or by ${NAME} / ${NAME.Attr} in Fn::Sub anywhere in VALUE."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found.update(name.split(".")[0] for name in SUB_VARIABLE.findall(text) if not name.startswith("!"))
                if not isinstance(item, str):
                    _referenced(item[1], found)
            else:
                _referenced(item, found)
    elif isinstance(value, list):
        for item in value:
            _referenced(item, found)
    return found


# Choices no committed environment file makes, rendered on top of one so that the checks judge them
# too: (environment, {layer: parameters}, variant name); the layers named are written as
# ENV.VARIANT-LAYER.json (the other layers are rendered for their outputs only).
DOMAIN = "example.com"
ZONE = "Z0123456789EXAMPLE"
VARIANTS = [
    ("prod", {"service": {"DeploymentStrategy": "blue-green"}}, "blue-green"),
    ("prod", {"edge": {"SiteDomainName": f"app.{DOMAIN}", "SiteHostedZoneId": ZONE},
              "service": {"AlbDomainName": f"api.app.{DOMAIN}", "AlbHostedZoneId": ZONE},
              "frontend": {"SiteDomainName": f"app.{DOMAIN}", "SiteHostedZoneId": ZONE}}, "custom-domain"),
]


def render_variants(root, templates, out_dir):
    import tempfile
    written = []
    for environment, layers, name in VARIANTS:
        env = json.loads((root / "environments" / f"{environment}.json").read_text())
        for stack in env["Stacks"]:
            stack.setdefault("Parameters", {}).update(layers.get(stack["Layer"], {}))
        with tempfile.TemporaryDirectory() as scratch:
            edited = Path(scratch) / f"{environment}.json"
            edited.write_text(json.dumps(env))
            render_environment(edited, templates, Path(scratch))
            for layer in layers:
                target = out_dir / f"{environment}.{name}-{layer}.json"
                target.write_text((Path(scratch) / f"{environment}-{layer}.json").read_text())
                written.append(target)
    return written


def render_environment(path, templates, out_dir):
    env = json.loads(path.read_text())
    written = []
    # infra/deploy passes every output of an earlier stack to the later parameter of the same name
    # (over its default). Outputs that render to a plain string (e.g. a domain name from the
    # environment file) are known here; the others (resource ids) make the parameter unknown.
    outputs = {}
    for stack in env["Stacks"]:
        layer = stack["Layer"]
        if layer not in templates:
            raise RenderError(f"{path}: no template for layer {layer}")
        region = stack.get("Region", env["Region"])
        wired = {k: v for k, v in outputs.items() if k in templates[layer].get("Parameters", {})}
        parameters = {k: v for k, v in wired.items() if isinstance(v, str)}
        parameters.update(stack.get("Parameters", {}))
        parameters.update(ProjectName=env["Project"], EnvironmentName=env["Environment"])
        unknown = {k for k, v in wired.items() if not isinstance(v, str) and k not in parameters}
        nonempty = {k for k in unknown if wired[k] is NON_EMPTY}
        pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": env["AccountId"],
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": f"{env['Project']}-{env['Environment']}-{layer}",
        }
        where = f"{path.name}: {layer}"
        rendered = Renderer(templates[layer], parameters, pseudo, where, unknown, nonempty).render()
        for name, output in rendered.get("Outputs", {}).items():
            value = output.get("Value")
            outputs[name] = value if isinstance(value, str) else (NON_EMPTY if _is_resource_value(value) else None)
        metadata = rendered.setdefault("Metadata", {})
        metadata["Gantry"] = {"Environment": env["Environment"], "Layer": layer, "Region": region}
        target = out_dir / f"{env['Environment']}-{layer}.json"
        target.write_text(json.dumps(rendered, indent=1, sort_keys=True) + "\n")
        written.append(target)
    return written


SUBJECT_KEY = "token.actions.githubusercontent.com:sub"


def _trusted_subjects(template):
    subjects = set()
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for statement in resource.get("Properties", {}).get("AssumeRolePolicyDocument", {}).get("Statement", []):
            value = statement.get("Condition", {}).get("StringEquals", {}).get(SUBJECT_KEY)
            for subject in value if isinstance(value, list) else [value]:
                if isinstance(subject, str):
                    subjects.add(subject)
    return subjects


def annotate_other_environments(out_dir):
    """Give each rendered access template the OIDC subjects the OTHER environments' roles trust
    (Metadata.Gantry.OtherEnvironmentSubjects), so that a guard rule can prove that no role of one
    environment can be assumed with another's subject."""
    access = {path: json.loads(path.read_text()) for path in sorted(out_dir.glob("*-access.json"))}
    by_environment = {}
    for template in access.values():
        environment = template["Metadata"]["Gantry"]["Environment"]
        by_environment.setdefault(environment, set()).update(_trusted_subjects(template))
    for path, template in access.items():
        mine = template["Metadata"]["Gantry"]["Environment"]
        others = set().union(*[s for env, s in by_environment.items() if env != mine])
        template["Metadata"]["Gantry"]["OtherEnvironmentSubjects"] = sorted(others)
        path.write_text(json.dumps(template, indent=1, sort_keys=True) + "\n")


def load_templates(directory):
    templates = {}
    for path in sorted(directory.glob("*.yaml")):
        template, errors = decode(str(path))
        if errors or template is None:
            raise RenderError(f"{path}: cannot be parsed: {errors}")
        templates[path.stem] = _plain(template)
    return templates


def main():
    if len(sys.argv) != 3:
        print("usage: render_templates.py INFRA_DIR OUT_DIR", file=sys.stderr)
        return 2
    root, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        templates = load_templates(root / "templates")
        written = []
        for path in sorted((root / "environments").glob("*.json")):
            written += render_environment(path, templates, out_dir)
        written += render_variants(root, templates, out_dir)
        annotate_other_environments(out_dir)
    except RenderError as error:
        print(f"render: {error}", file=sys.stderr)
        return 1
    print(f"render: {len(written)} templates rendered into {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
