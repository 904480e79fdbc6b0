"""Checks that the fake GitHub (server.py) answers in GitHub's own shapes, so it cannot drift.

    check.py [--openapi FILE] [--graphql-check check-graphql.mjs]

Starts the fake in-process on a free 127.0.0.1 port, drives every endpoint and every answer it can
give (success, 202, 401, 403 by permission, 403 primary and secondary rate limits, 404, 409,
422, 5xx, paginated lists; deployments, their statuses and pull-request comments), and validates each body against GitHub's OpenAPI description (npm
@octokit/openapi, pinned in package.json): the operation's own response schema for its status,
else GitHub's `basic-error`. A list must carry a `Link` header when there is another page. The
GraphQL answer is executed against GitHub's published GraphQL schema (npm @octokit/graphql-schema)
by check-graphql.mjs, which also validates gantry's query document. Exit 1 on any mismatch.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import server  # noqa: E402

OPENAPI = os.path.join(HERE, "node_modules/@octokit/openapi/generated/api.github.com.json")
QUERY = os.path.join(HERE, "../../crates/gantry-deployment/src/api/deployments.graphql")
# Answers GitHub gives on any route (and documents in general, not per operation).
GENERIC_ERRORS = {401, 403, 404, 429, 500, 502, 503, 504}


def openapi_to_jsonschema(node, doc, seen=()):
    """OpenAPI 3.0 schema → JSON Schema: `$ref`s inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(n, doc, seen) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:  # a recursive schema: accept any object below this depth
            return {}
        target = doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return openapi_to_jsonschema(target, doc, seen + (ref,))
    out = {k: openapi_to_jsonschema(v, doc, seen) for k, v in node.items()
           if k not in ("nullable", "example", "examples", "description", "x-github")}
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def is_date_time(v) -> bool:
    return not isinstance(v, str) or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", v) is not None


@FORMATS.checks("uri")
def is_uri(v) -> bool:
    # GitHub answers "" for an unset URL (the description's default), so "" passes.
    if not isinstance(v, str) or v == "":
        return True
    u = urllib.parse.urlsplit(v)
    return bool(u.scheme and u.netloc)


class Checker:
    def __init__(self, openapi: str) -> None:
        with open(openapi) as f:
            self.doc = json.load(f)
        self.checked = 0
        self.failures: list[str] = []
        self.seen: set[tuple[str, int]] = set()

    def schema_for(self, template: str, method: str, status: int):
        op = self.doc["paths"][template][method.lower()]
        resp = op["responses"].get(str(status))
        if resp is None:
            if status not in GENERIC_ERRORS:
                return None, f"{op['operationId']} documents no {status} answer"
            return openapi_to_jsonschema(self.doc["components"]["schemas"]["basic-error"], self.doc), None
        if "$ref" in resp:
            resp = openapi_to_jsonschema(resp, self.doc)
        content = (resp.get("content") or {}).get("application/json")
        if content is None:
            # Documented without a body schema (409): GitHub's error shape.
            return openapi_to_jsonschema(self.doc["components"]["schemas"]["basic-error"], self.doc), None
        return openapi_to_jsonschema(content["schema"], self.doc), None

    def check(self, label: str, template: str, method: str, status: int, body, headers) -> None:
        self.checked += 1
        self.seen.add((template, status))
        schema, problem = self.schema_for(template, method, status)
        if problem:
            self.failures.append(f"{label}: {problem}")
            return
        errors = sorted(jsonschema.Draft4Validator(schema, format_checker=FORMATS).iter_errors(body),
                        key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            path = "/".join(str(p) for p in e.absolute_path) or "(body)"
            self.failures.append(f"{label}: {method} {template} {status}: {path}: {e.message[:200]}")
        for h in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            if h not in headers:
                self.failures.append(f"{label}: no {h} header")


def call(base: str, method: str, path: str, body=None, token="t0ken", full_url=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(full_url or base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw, status, headers = r.read(), r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        raw, status, headers = e.read(), e.code, {k.lower(): v for k, v in e.headers.items()}
    return status, (json.loads(raw) if raw else None), headers


def control(base: str, path: str, body) -> None:
    call(base, "POST", path, body, token=None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openapi", default=OPENAPI)
    parser.add_argument("--graphql-check", default=os.path.join(HERE, "check-graphql.mjs"))
    args = parser.parse_args()

    c = Checker(args.openapi)
    srv = server.serve(0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    R = "/repos/{owner}/{repo}/deployments"
    D = R + "/{deployment_id}"
    S = D + "/statuses"
    repo = "/repos/octo-org/web-app"
    payload = {"schema": "gantry.release/v1", "ref": "main", "sha": "a" * 40}

    def expect(label, template, method, path, body, want, **kw):
        status, answer, headers = call(base, method, path, body, **kw)
        if status != want:
            c.failures.append(f"{label}: expected {want}, got {status}: {answer}")
        c.check(label, template, method, status, answer, headers)
        return answer, headers

    dep, _ = expect("create", R, "POST", f"{repo}/deployments",
                    {"ref": "main", "environment": "staging", "payload": payload, "description": "d",
                     "required_contexts": [], "auto_merge": False}, 201)
    dep_id = dep["id"]
    expect("create (string payload)", R, "POST", f"{repo}/deployments",
           {"ref": "a" * 40, "environment": "production", "payload": "plain"}, 201)
    expect("create without ref", R, "POST", f"{repo}/deployments", {"environment": "x"}, 422)
    expect("get", D, "GET", f"{repo}/deployments/{dep_id}", None, 200)
    expect("get unknown", D, "GET", f"{repo}/deployments/999999", None, 404)
    expect("status in_progress", S, "POST", f"{repo}/deployments/{dep_id}/statuses",
           {"state": "in_progress", "log_url": "https://github.com/o/r/actions/runs/1/attempts/1"}, 201)
    expect("status success", S, "POST", f"{repo}/deployments/{dep_id}/statuses",
           {"state": "success", "environment_url": "https://staging.example.com", "description": "ok"}, 201)
    expect("status too long", S, "POST", f"{repo}/deployments/{dep_id}/statuses",
           {"state": "success", "description": "x" * 141}, 422)
    expect("status bad state", S, "POST", f"{repo}/deployments/{dep_id}/statuses", {"state": "done"}, 422)
    expect("status unknown deployment", S, "POST", f"{repo}/deployments/999999/statuses", {"state": "success"}, 404)
    expect("list statuses", S, "GET", f"{repo}/deployments/{dep_id}/statuses", None, 200)
    expect("list statuses unknown", S, "GET", f"{repo}/deployments/999999/statuses", None, 404)
    expect("unauthenticated", R, "GET", f"{repo}/deployments", None, 401, token=None)

    # A second success in the same environment turns the first inactive (auto_inactive).
    dep2, _ = expect("create 2", R, "POST", f"{repo}/deployments",
                     {"ref": "main", "environment": "staging", "payload": payload, "required_contexts": []}, 201)
    expect("status success 2", S, "POST", f"{repo}/deployments/{dep2['id']}/statuses", {"state": "success"}, 201)
    history, _ = expect("statuses after auto_inactive", S, "GET", f"{repo}/deployments/{dep_id}/statuses", None, 200)
    if [s["state"] for s in history] != ["inactive", "success", "in_progress"]:
        c.failures.append(f"auto_inactive: statuses of the first deployment are {[s['state'] for s in history]}")

    # Pagination: 130 deployments, pages of 100, Link rel="next".
    many = "/repos/octo-org/many"
    for n in range(130):
        call(base, "POST", f"{many}/deployments", {"ref": f"r{n}", "environment": "dev", "required_contexts": []})
    page1, headers = expect("list page 1", R, "GET", f"{many}/deployments?environment=dev&per_page=100", None, 200)
    link = headers.get("link", "")
    m = re.search(r'<([^>]+)>; rel="next"', link)
    if len(page1) != 100 or not m:
        c.failures.append(f"pagination: page 1 has {len(page1)} items, Link: {link!r}")
    else:
        status, page2, h2 = call(base, "GET", "", full_url=m.group(1))
        c.check("list page 2", R, "GET", status, page2, h2)
        if len(page2) != 30 or 'rel="next"' in h2.get("link", ""):
            c.failures.append(f"pagination: page 2 has {len(page2)} items, Link: {h2.get('link')!r}")
    big, _ = expect("per_page over 100", R, "GET", f"{many}/deployments?per_page=500", None, 200)
    if len(big) != 100:
        c.failures.append(f"per_page=500 gave {len(big)} items, GitHub gives at most 100")

    # Conflicts and merges.
    control(base, "/_fake/repos/octo-org/checks/settings", {"failing_contexts": ["ci/test"], "default_branch_ahead": True})
    expect("checks failed", R, "POST", "/repos/octo-org/checks/deployments", {"ref": "topic"}, 409)
    expect("auto-merge", R, "POST", "/repos/octo-org/checks/deployments", {"ref": "topic", "required_contexts": []}, 202)
    expect("no checks, no merge", R, "POST", "/repos/octo-org/checks/deployments",
           {"ref": "topic", "required_contexts": [], "auto_merge": False}, 201)

    # Permission, rate limits, server errors.
    control(base, "/_fake/repos/octo-org/ro/settings", {"read_only": True})
    _, h = expect("read-only token", R, "POST", "/repos/octo-org/ro/deployments", {"ref": "main"}, 403)
    if h.get("x-accepted-github-permissions") != "deployments=write":
        c.failures.append("403 by permission: no x-accepted-github-permissions header")
    control(base, "/_fake/repos/octo-org/limited/faults", {"kind": "secondary", "count": 1, "retry_after": 3})
    _, h = expect("secondary limit", R, "GET", "/repos/octo-org/limited/deployments", None, 403)
    if h.get("retry-after") != "3":
        c.failures.append(f"secondary limit: retry-after is {h.get('retry-after')!r}")
    control(base, "/_fake/repos/octo-org/limited/faults", {"kind": "primary", "reset_in": 60})
    _, h = expect("primary limit", R, "GET", "/repos/octo-org/limited/deployments", None, 403)
    if h.get("x-ratelimit-remaining") != "0" or int(h.get("x-ratelimit-reset", 0)) <= datetime.datetime.now().timestamp():
        c.failures.append(f"primary limit: headers {h}")
    control(base, "/_fake/repos/octo-org/flaky/faults", {"kind": "server", "count": 1, "status": 502})
    expect("server error", R, "GET", "/repos/octo-org/flaky/deployments", None, 502)
    expect("after the server error", R, "GET", "/repos/octo-org/flaky/deployments", None, 200)

    # Pull-request comments (the sticky plan comment): list, create, get, update in place.
    L = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    C = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
    pr = f"{repo}/issues/7/comments"
    empty, _ = expect("no comments", L, "GET", pr, None, 200)
    if empty != []:
        c.failures.append(f"comments: a new pull request has {empty}")
    first, h = expect("create comment", L, "POST", pr, {"body": "<!-- m -->\nplan 1"}, 201)
    if h.get("location") != first["url"]:
        c.failures.append(f"create comment: Location {h.get('location')!r}, url {first['url']!r}")
    expect("create comment without body", L, "POST", pr, {}, 422)
    expect("create comment over 65,536 characters", L, "POST", pr, {"body": "x" * 65537}, 422)
    expect("create comment of 65,536 characters", L, "POST", f"{repo}/issues/8/comments", {"body": "→" * 65536}, 201)
    got, _ = expect("get comment", C, "GET", f"{repo}/issues/comments/{first['id']}", None, 200)
    expect("get unknown comment", C, "GET", f"{repo}/issues/comments/999999", None, 404)
    updated, _ = expect("update comment", C, "PATCH", f"{repo}/issues/comments/{first['id']}",
                        {"body": "<!-- m -->\nplan 2"}, 200)
    if (updated["id"], updated["created_at"], updated["body"]) != (first["id"], first["created_at"], "<!-- m -->\nplan 2"):
        c.failures.append(f"update comment: {updated}")
    expect("update comment over 65,536 characters", C, "PATCH", f"{repo}/issues/comments/{first['id']}",
           {"body": "x" * 65537}, 422)
    listed, _ = expect("list comments", L, "GET", pr, None, 200)
    if [x["id"] for x in listed] != [first["id"]] or listed[0]["body"] != "<!-- m -->\nplan 2":
        c.failures.append(f"comments: after an update the pull request has {listed}")
    for n in range(3):
        call(base, "POST", f"{many}/issues/1/comments", {"body": f"c{n}"})
    p1, h = expect("list comments page 1", L, "GET", f"{many}/issues/1/comments?per_page=2", None, 200)
    m = re.search(r'<([^>]+)>; rel="next"', h.get("link", ""))
    if [x["body"] for x in p1] != ["c0", "c1"] or not m:
        c.failures.append(f"comments pagination: page 1 {[x['body'] for x in p1]}, Link {h.get('link')!r}")
    else:
        status, p2, h2 = call(base, "GET", "", full_url=m.group(1))
        c.check("list comments page 2", L, "GET", status, p2, h2)
        if [x["body"] for x in p2] != ["c2"]:
            c.failures.append(f"comments pagination: page 2 {[x['body'] for x in p2]}")
    _, h = expect("comment with a read-only token", L, "POST", "/repos/octo-org/ro/issues/1/comments", {"body": "x"}, 403)
    if "pull_requests=write" not in h.get("x-accepted-github-permissions", ""):
        c.failures.append(f"403 on a comment: x-accepted-github-permissions {h.get('x-accepted-github-permissions')!r}")

    # GraphQL: gantry's own query, answered and executed against GitHub's schema.
    with open(QUERY) as f:
        query = f.read()
    gql = []
    for variables in ({"owner": "octo-org", "name": "web-app", "environment": "staging", "first": 100},
                      {"owner": "octo-org", "name": "many", "environment": "dev", "first": 100}):
        status, answer, headers = call(base, "POST", "/graphql", {"query": query, "variables": variables})
        if status != 200 or "errors" in answer:
            c.failures.append(f"graphql: {status} {answer}")
        gql.append({"variables": variables, "response": answer})
    nodes = gql[0]["response"]["data"]["repository"]["deployments"]["nodes"]
    if [n["latestStatus"]["state"] for n in nodes] != ["SUCCESS", "INACTIVE"]:
        c.failures.append(f"graphql: latest states {[n['latestStatus'] for n in nodes]}")
    page = gql[1]["response"]["data"]["repository"]["deployments"]
    if len(page["nodes"]) != 100 or not page["pageInfo"]["hasNextPage"]:
        c.failures.append("graphql: 130 deployments did not give a full first page with a next page")
    status, answer, _ = call(base, "POST", "/graphql", {"query": query, "variables": dict(gql[1]["variables"], first=101)})
    if "errors" not in answer:
        c.failures.append("graphql: first: 101 was not refused")
    srv.shutdown()

    node = subprocess.run(["node", args.graphql_check, QUERY], input=json.dumps(gql), text=True,
                          capture_output=True)
    sys.stdout.write(node.stdout)
    if node.returncode != 0:
        c.failures.append(f"graphql schema check failed: {node.stderr.strip() or node.stdout.strip()}")

    for f in c.failures:
        print(f"fake-github: {f}", file=sys.stderr)
    statuses = sorted({f"{t.rsplit('/', 1)[-1]} {s}" for t, s in c.seen})
    print(f"fake-github: {c.checked} answers checked against GitHub's OpenAPI description "
          f"({', '.join(statuses)}); {len(c.failures)} mismatches")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
