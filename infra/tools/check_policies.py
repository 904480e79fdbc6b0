"""Security controls as code: the cfn-guard rules in infra/policies/ and the checkov baseline.

    check_policies.py --cfn-guard BIN [--checkov BIN] INFRA_DIR

Run by scripts/lint-infra. Fails (exit 1, one line per problem) unless:

  1. every guard rule passes on every template as every environment deploys it (the templates are
     rendered per environment first: render_templates.py resolves Conditions, Fn::If and parameters,
     which cfn-guard does not), and on the VARIANTS below (choices no committed file makes, e.g.
     blue/green), and every rule applies to at least one rendered template;
  2. every fixture in policies/tests/pass/ passes every rule, and every rule is evaluated (not
     skipped) and passes in at least one of them;
  3. every fixture policies/tests/fail/RULE.yaml (or RULE--CASE.yaml) fails RULE and no other rule,
     and every rule has at least one such fixture: a rule that cannot fail is not a rule;
  4. checkov (--framework cloudformation, over infra/templates) reports no failed check except those
     in policies/checkov-baseline.yaml, each with a reason; a baseline entry that no longer fails is
     an error too (stale exceptions hide regressions).

cfn-guard runs once over all data files; checkov runs at the same time in its own process.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import render_templates  # noqa: E402


def guard_results(guard, rules_dir, data_dirs):
    """{data file path: (compliant set, not-applicable set, {failed rule: [messages]})}."""
    command = [guard, "validate", "--rules", str(rules_dir), "--output-format", "json", "--structured",
               "--show-summary", "none"]
    for directory in data_dirs:
        command += ["--data", str(directory)]
    run = subprocess.run(command, capture_output=True, text=True)
    # 0: all pass, 19: some rule failed; anything else is a parse or usage error.
    if "error" in run.stderr.lower():  # e.g. a rules file that does not parse is skipped, not fatal
        raise SystemExit(f"policies: cfn-guard reported errors:\n{run.stderr}")
    if run.returncode not in (0, 19):
        raise SystemExit(f"policies: cfn-guard failed (exit {run.returncode}):\n{run.stderr}{run.stdout}")
    results = {}
    for record in json.loads(run.stdout):
        failed = {}
        for entry in record.get("not_compliant", []):
            rule = entry["Rule"]
            custom, errors = _messages(rule)
            # The rule's own message says what to fix; guard's raw errors only when there is none
            # (a `some` block reports every element that did not match).
            messages = sorted(set(custom)) or sorted(set(errors))[:3]
            resources = sorted(set(re.findall(r"/Resources/([^/\s\[\]]+)", json.dumps(rule))))
            where = f" [{', '.join(resources)}]" if resources else ""
            failed[rule["name"]] = [m + where for m in messages]
        results[Path(record["name"]).resolve()] = (
            set(record.get("compliant", [])), set(record.get("not_applicable", [])), failed)
    return results


def _messages(node):
    """(custom messages, error messages) of a failed rule's checks, one line each."""
    custom, errors = [], []
    if isinstance(node, dict):
        messages = node.get("messages")
        if isinstance(messages, dict):
            if messages.get("custom_message"):
                custom.append(" ".join(messages["custom_message"].split()))
            elif messages.get("error_message"):
                errors.append(" ".join(messages["error_message"].split()))
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        children = []
    for child in children:
        more_custom, more_errors = _messages(child)
        custom += more_custom
        errors += more_errors
    return custom, errors


def declared_rules(rules_dir):
    rules = set()
    for path in sorted(rules_dir.glob("*.guard")):
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "rule":
                rules.add(words[1])
    return rules


def check_guard(guard, root, rendered_dir, problems):
    policies = root / "policies"
    rules = declared_rules(policies)
    pass_dir, fail_dir = policies / "tests" / "pass", policies / "tests" / "fail"
    results = guard_results(guard, policies, [rendered_dir, pass_dir, fail_dir])

    def of(directory):
        return {p: r for p, r in results.items() if p.parent == directory.resolve()}

    rendered, passing, failing = of(rendered_dir), of(pass_dir), of(fail_dir)
    if not rendered:
        problems.append("policies: no rendered templates were evaluated")

    applied = set()
    for path, (compliant, _, failed) in sorted(rendered.items()):
        applied |= compliant | set(failed)
        for rule, messages in sorted(failed.items()):
            for message in messages or ["(no message)"]:
                problems.append(f"{path.stem}: {rule}: {message}")
    for rule in sorted(rules - applied):
        problems.append(f"policies: rule {rule} applies to no rendered template (nothing it checks is deployed)")

    proven_pass = set()
    for path, (compliant, _, failed) in sorted(passing.items()):
        proven_pass |= compliant
        for rule in sorted(failed):
            problems.append(f"tests/pass/{path.name}: fails {rule}: {'; '.join(failed[rule])}")
    for rule in sorted(rules - proven_pass):
        problems.append(f"policies: rule {rule} passes in no fixture of tests/pass/ (evaluated, not skipped)")

    proven_fail = set()
    for path, (_, _, failed) in sorted(failing.items()):
        target = path.stem.split("--")[0]
        if target not in rules:
            problems.append(f"tests/fail/{path.name}: no rule named {target}")
            continue
        if target in failed:
            proven_fail.add(target)
        else:
            problems.append(f"tests/fail/{path.name}: does not fail {target}")
        for other in sorted(set(failed) - {target}):
            problems.append(f"tests/fail/{path.name}: fails {other} too (a fail fixture targets one rule)")
    for rule in sorted(rules - proven_fail):
        problems.append(f"policies: rule {rule} has no fixture in tests/fail/ that fails it")

    return rules, len(rendered), len(passing), len(failing)


def exceptions_in(rendered_dir):
    found = []
    for path in sorted(rendered_dir.glob("*.json")):
        for name, resource in json.loads(path.read_text()).get("Resources", {}).items():
            for rule in (resource.get("Metadata") or {}).get("GantryPolicyExceptions") or {}:
                found.append(f"{path.stem}: {name}: {rule}")
    return found


def start_checkov(checkov, templates_dir):
    if checkov is None:
        return None
    command = [checkov, "--directory", str(templates_dir), "--framework", "cloudformation", "--quiet",
               "--compact", "--output", "json", "--skip-download"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_checkov(process, baseline_path, problems):
    stdout, stderr = process.communicate()
    # checkov exits 1 when a check failed; the baseline decides.
    if process.returncode not in (0, 1):
        problems.append(f"checkov failed (exit {process.returncode}): {stderr.strip()[-2000:]}")
        return 0
    report = json.loads(stdout) if stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failed = set()
    passed = 0
    for item in reports:
        if not item:
            continue
        if item.get("summary", {}).get("parsing_errors"):
            problems.append(f"checkov: {item['summary']['parsing_errors']} templates could not be parsed")
        passed += item.get("summary", {}).get("passed", 0)
        for check in item.get("results", {}).get("failed_checks", []):
            failed.add((check["check_id"], check["resource"], Path(check["file_path"]).name))
    baseline = yaml.safe_load(baseline_path.read_text()) or []
    accepted = set()
    for entry in baseline:
        key = (entry.get("check"), entry.get("resource"), entry.get("file"))
        if not all(key) or not str(entry.get("reason", "")).strip():
            problems.append(f"{baseline_path.name}: entry {entry} needs check, resource, file and reason")
            continue
        accepted.add(key)
    for check, resource, file in sorted(failed - accepted):
        problems.append(f"checkov: {check} fails for {resource} in templates/{file} "
                        f"(fix it, or add it to policies/{baseline_path.name} with the reason)")
    for check, resource, file in sorted(accepted - failed):
        problems.append(f"{baseline_path.name}: {check} {resource} ({file}) no longer fails: remove the entry")
    return passed, len(failed & accepted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cfn-guard", required=True, help="cfn-guard 3 binary")
    parser.add_argument("--checkov", help="checkov binary (omit to skip the checkov baseline check)")
    parser.add_argument("infra", type=Path)
    args = parser.parse_args()
    root = args.infra.resolve()
    problems = []
    checkov = start_checkov(args.checkov, root / "templates")
    with tempfile.TemporaryDirectory(prefix="gantry-rendered-") as rendered:
        rendered_dir = Path(rendered)
        try:
            templates = render_templates.load_templates(root / "templates")
            for env in sorted((root / "environments").glob("*.json")):
                render_templates.render_environment(env, templates, rendered_dir)
            render_templates.render_variants(root, templates, rendered_dir)
            render_templates.annotate_other_environments(rendered_dir)
        except render_templates.RenderError as error:
            problems.append(f"render: {error}")
        rules, n_rendered, n_pass, n_fail = check_guard(args.cfn_guard, root, rendered_dir, problems)
        exceptions = exceptions_in(rendered_dir)
    if checkov is not None:
        checkov_summary = check_checkov(checkov, root / "policies" / "checkov-baseline.yaml", problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"policies: {len(rules)} guard rules pass on {n_rendered} rendered templates; "
          f"{n_pass} pass and {n_fail} fail fixtures behave", file=sys.stderr)
    for exception in exceptions:
        print(f"policies: exception {exception}", file=sys.stderr)
    if checkov is not None:
        passed, baselined = checkov_summary
        print(f"checkov: {passed} passed, {baselined} failed as in the baseline, no other failure",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
