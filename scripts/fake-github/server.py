"""A small, stateful fake of the GitHub API endpoints gantry uses, on 127.0.0.1.

    server.py --port 5001

`scripts/local-aws up` starts it beside moto; `scripts/local-aws env` exports its URL as
GITHUB_API_URL and GITHUB_GRAPHQL_URL. Python stdlib only. Its response bodies are checked against
GitHub's own OpenAPI description and GraphQL schema by check.py (docs/development.md, "The fake
GitHub"). What it reproduces, as GitHub documents it (docs.github.com/rest/deployments):

- POST/GET /repos/{owner}/{repo}/deployments, GET …/deployments/{id}, POST/GET
  …/deployments/{id}/statuses: the documented fields; lists newest first, `per_page` (default 30,
  at most 100) and `page`, with a `Link` header (first/prev/next/last) as GitHub writes it.
- create-deployment: 422 without `ref`; 409 when the repository has failing commit checks and
  `required_contexts` is not `[]`; 202 "Auto-merged …" when the default branch is ahead and
  `auto_merge` is not false; `production_environment` defaults to true for `production`.
- create-deployment-status: 422 for an unknown state or a description over 140 characters;
  `log_url` also sets `target_url`; `auto_inactive` (default true): a `success` adds an `inactive`
  status to every other non-transient, non-production deployment of the same environment whose
  latest status is `success`.
- POST /graphql: `repository(owner, name) { deployments(environments: [...], orderBy: {field:
  CREATED_AT, direction: DESC|ASC}, first, after) { pageInfo nodes { databaseId createdAt
  environment payload latestStatus statuses(first) } } }` — the one query gantry makes; `first`
  above 100 is refused as GitHub refuses it; `payload` is a JSON string, as GitHub returns it.
- GET/POST /repos/{owner}/{repo}/issues/{number}/comments, GET/PATCH
  …/issues/comments/{comment_id} (docs.github.com/rest/issues/comments): the documented
  `issue-comment` fields; lists oldest first, paginated as above; 422 for a body that is missing or
  over GitHub's 65,536 characters; PATCH keeps the id and `created_at` and moves `updated_at`.
  Every issue number is an open pull request of the repository.
- 401 without a token; 404 for an unknown deployment or comment; `x-ratelimit-*` headers on every
  answer.
- Faults a test asks for (control API below): the primary rate limit used up until a reset time
  (403, `x-ratelimit-remaining: 0`), a secondary rate limit (403 with `retry-after`), 5xx answers,
  403 "Resource not accessible by integration" with `x-accepted-github-permissions` (for a write:
  `deployments=write`; on comments `issues=write; pull_requests=write`).

What it does not do: no git (a ref that is not a full SHA gets a made-up one), no environments
API, protection rules or approvals, no reactions, deletion or minimising of comments, no other
endpoint or GraphQL query, no real token check (any non-empty token is accepted), one rate-limit
budget per repository instead of per token.

Control API (tests and the demo; state is per repository, created on first use, so tests that
use their own repository names do not disturb each other):

    GET  /_fake/health
    POST /_fake/reset                                   forget everything
    POST /_fake/repos/{owner}/{repo}/faults             {"kind": "primary", "reset_in": 2}
                                                        {"kind": "secondary", "count": 1, "retry_after": 1}
                                                        {"kind": "server", "count": 2, "status": 502}
    POST /_fake/repos/{owner}/{repo}/settings           {"failing_contexts": ["ci/test"],
                                                         "default_branch_ahead": true, "read_only": true}
    GET  /_fake/repos/{owner}/{repo}/requests           [{"method", "path", "status"}, …]
"""

import argparse
import base64
import datetime
import hashlib
import json
import re
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCS = "https://docs.github.com/rest"
STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]
# GitHub's limit for an issue comment body, in characters.
MAX_COMMENT_CHARS = 65536
RATE_LIMIT = 5000
WINDOW = 3600


def now_iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(int(t), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, n: int) -> str:
    return prefix + base64.b64encode(f"gantry-fake:{n}".encode()).decode().rstrip("=")


def user(base: str) -> dict:
    """The token's user, as a `simple-user`."""
    login = "github-actions[bot]"
    api = f"{base}/users/{urllib.parse.quote(login)}"
    return {
        "login": login,
        "id": 41898282,
        "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": "https://github.com/apps/github-actions",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot",
        "site_admin": False,
    }


class Repo:
    def __init__(self, full_name: str) -> None:
        self.full_name = full_name
        self.deployments: list[dict] = []  # oldest first
        self.statuses: dict[int, list[dict]] = {}  # oldest first
        self.comments: list[dict] = []  # oldest first, every issue
        self.faults: list[dict] = []
        self.exhausted_until = 0.0
        self.settings = {"failing_contexts": [], "default_branch_ahead": False, "read_only": False}
        self.requests: list[dict] = []
        self.used = 0
        self.window_reset = int(time.time()) + WINDOW


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.next_id = 1000

    def repo(self, owner: str, name: str) -> Repo:
        key = f"{owner}/{name}".lower()
        if key not in self.repos:
            self.repos[key] = Repo(f"{owner}/{name}")
        return self.repos[key]

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


STATE = State()


class Answer(Exception):
    """An HTTP answer raised from deep inside a handler."""

    def __init__(self, status: int, body, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(status: int, message: str, doc: str, **extra) -> Answer:
    body = {"message": message, "documentation_url": doc, "status": str(status)}
    body.update(extra)
    return Answer(status, body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "GitHub.com"

    def log_message(self, fmt, *args) -> None:  # quiet: tests read the request log instead
        pass

    # --- plumbing ---------------------------------------------------------------------------
    def base(self) -> str:
        return f"http://{self.headers.get('Host') or '127.0.0.1'}"

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise error(400, "Problems parsing JSON", DOCS)

    def send(self, status: int, body, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def dispatch(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path.startswith("/_fake/"):
            try:
                status, body = self.control(method, path)
            except Answer as a:
                status, body = a.status, a.body
            self.send(status, body)
            return
        repo = None
        headers: dict = {}
        try:
            body = self.body_json() if method in ("POST", "PATCH") else None
            repo, route = self.route(method, path, body)
            with STATE.lock:
                headers = self.limits(repo, "graphql" if path == "/graphql" else "core")
                self.fault(repo, headers)
                self.authorize(repo, method, path)
                status, answer, extra = route(repo, query, body)
                headers.update(extra)
        except Answer as a:
            status, answer = a.status, a.body
            headers.update(a.headers)
        if repo is not None:
            with STATE.lock:
                repo.requests.append({"method": method, "path": self.path, "status": status})
        self.send(status, answer, headers)

    def route(self, method: str, path: str, body):
        if path == "/graphql" and method == "POST":
            variables = (body or {}).get("variables") or {}
            owner, name = variables.get("owner"), variables.get("name")
            if not isinstance(owner, str) or not isinstance(name, str):
                raise Answer(200, {"errors": [{"message": "the fake GitHub answers only gantry's deployments query, with $owner and $name"}]})
            with STATE.lock:
                repo = STATE.repo(owner, name)
            return repo, self.graphql
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(?:(\d+)/comments|comments/(\d+))", path)
        if m:
            return self.route_comments(method, m.groups())
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/deployments(?:/(\d+)(/statuses)?)?", path)
        if not m or method not in ("GET", "POST"):
            raise error(404, "Not Found", DOCS)
        owner, name, dep, statuses = m.groups()
        with STATE.lock:
            repo = STATE.repo(urllib.parse.unquote(owner), urllib.parse.unquote(name))
        if dep is None:
            return repo, self.list_deployments if method == "GET" else self.create_deployment
        dep_id = int(dep)
        if statuses is None:
            if method != "GET":
                raise error(404, "Not Found", DOCS)
            return repo, lambda r, q, b: (200, self.deployment(r, dep_id, "get-a-deployment"), {})
        if method == "GET":
            return repo, lambda r, q, b: self.list_statuses(r, dep_id, q)
        return repo, lambda r, q, b: self.create_status(r, dep_id, b)

    def route_comments(self, method: str, groups):
        owner, name, issue, comment = groups
        with STATE.lock:
            repo = STATE.repo(urllib.parse.unquote(owner), urllib.parse.unquote(name))
        if issue is not None:
            number = int(issue)
            if method == "GET":
                return repo, lambda r, q, b: self.list_comments(r, number, q)
            if method == "POST":
                return repo, lambda r, q, b: self.create_comment(r, number, b)
        else:
            cid = int(comment)
            if method == "GET":
                return repo, lambda r, q, b: (200, self.public(self.comment(r, cid, "get-an-issue-comment")), {})
            if method == "PATCH":
                return repo, lambda r, q, b: self.update_comment(r, cid, b)
        raise error(404, "Not Found", DOCS)

    # --- rate limits, faults, auth ----------------------------------------------------------
    def limits(self, repo: Repo, resource: str) -> dict:
        t = time.time()
        if t >= repo.window_reset:
            repo.used, repo.window_reset = 0, int(t) + WINDOW
        repo.used += 1
        return {
            "x-ratelimit-limit": RATE_LIMIT,
            "x-ratelimit-remaining": max(RATE_LIMIT - repo.used, 0),
            "x-ratelimit-used": repo.used,
            "x-ratelimit-reset": repo.window_reset,
            "x-ratelimit-resource": resource,
        }

    def fault(self, repo: Repo, headers: dict) -> None:
        t = time.time()
        if t < repo.exhausted_until:
            headers.update({"x-ratelimit-remaining": 0, "x-ratelimit-used": RATE_LIMIT,
                            "x-ratelimit-reset": int(repo.exhausted_until)})
            raise error(403, "API rate limit exceeded for installation ID 1.",
                        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
        if not repo.faults:
            return
        f = repo.faults[0]
        kind = f.get("kind")
        if kind == "primary":
            repo.faults.pop(0)
            # GitHub's reset is a whole second; round up so the wait is never shorter than asked.
            repo.exhausted_until = float(int(t + float(f.get("reset_in", 2))) + 1)
            return self.fault(repo, headers)
        f["count"] = int(f.get("count", 1)) - 1
        if f["count"] <= 0:
            repo.faults.pop(0)
        if kind == "secondary":
            a = error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                      "If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                      "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
            a.headers["retry-after"] = int(f.get("retry_after", 1))
            raise a
        if kind == "server":
            status = int(f.get("status", 502))
            raise Answer(status, {"message": "Server Error"} if status != 503 else {"message": "Service Unavailable"})
        raise error(500, f"unknown fault kind {kind!r}", DOCS)

    def authorize(self, repo: Repo, method: str, path: str) -> None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            raise error(401, "Requires authentication", DOCS)
        if repo.settings.get("read_only") and method in ("POST", "PATCH") and path != "/graphql":
            comments = "/issues/" in path
            a = error(403, "Resource not accessible by integration",
                      "https://docs.github.com/rest/issues/comments#create-an-issue-comment" if comments
                      else "https://docs.github.com/rest/deployments/deployments#create-a-deployment")
            a.headers["x-accepted-github-permissions"] = "issues=write; pull_requests=write" if comments \
                else "deployments=write"
            raise a

    # --- REST -------------------------------------------------------------------------------
    def deployment(self, repo: Repo, dep_id: int, doc: str) -> dict:
        for d in repo.deployments:
            if d["id"] == dep_id:
                return d
        raise error(404, "Not Found", f"https://docs.github.com/rest/deployments/deployments#{doc}")

    def page(self, items: list, query: dict, path: str) -> tuple[list, dict]:
        try:
            per_page = min(max(int(query.get("per_page", 30)), 1), 100)
            page = max(int(query.get("page", 1)), 1)
        except ValueError:
            per_page, page = 30, 1
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(p: int, rel: str) -> None:
            q = dict(query, per_page=str(per_page), page=str(p))
            links.append(f'<{self.base()}{path}?{urllib.parse.urlencode(q)}>; rel="{rel}"')

        if page > 1:
            link(page - 1, "prev")
        if page < last:
            link(page + 1, "next")
            link(last, "last")
        if page > 1:
            link(1, "first")
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def list_deployments(self, repo: Repo, query: dict, body):
        items = [d for d in reversed(repo.deployments)
                 if all(query.get(k) in (None, "", "none") or d[k] == query[k]
                        for k in ("environment", "task", "ref", "sha"))]
        chunk, headers = self.page(items, query, urllib.parse.urlsplit(self.path).path)
        return 200, chunk, headers

    def create_deployment(self, repo: Repo, query: dict, body):
        doc = "https://docs.github.com/rest/deployments/deployments#create-a-deployment"
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str) or not body["ref"]:
            raise error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.', doc)
        ref = body["ref"]
        contexts = body.get("required_contexts")
        failing = repo.settings.get("failing_contexts") or []
        if failing and contexts != []:
            checked = failing if contexts is None else [c for c in failing if c in contexts]
            if checked:
                raise error(409, f"Conflict: Commit status checks failed for {ref}.", doc, errors=[
                    {"contexts": [{"context": c, "state": "failure"} for c in checked],
                     "resource": "Deployment", "field": "required_contexts", "code": "invalid"}])
        if repo.settings.get("default_branch_ahead") and body.get("auto_merge", True) is not False:
            return 202, {"message": f"Auto-merged main into {ref} on deployment."}, {}
        environment = body.get("environment", "production")
        payload = body.get("payload", "")
        if isinstance(payload, str) and payload:
            try:
                payload = json.loads(payload)
            except ValueError:
                pass
        sha = ref if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref) else hashlib.sha1(f"ref:{ref}".encode()).hexdigest()
        dep_id = STATE.new_id()
        t = now_iso(time.time())
        base = self.base()
        repo_url = f"{base}/repos/{repo.full_name}"
        d = {
            "url": f"{repo_url}/deployments/{dep_id}",
            "id": dep_id,
            "node_id": node_id("DE_", dep_id),
            "task": body.get("task", "deploy"),
            "original_environment": environment,
            "environment": environment,
            "description": body.get("description", ""),
            "created_at": t,
            "updated_at": t,
            "statuses_url": f"{repo_url}/deployments/{dep_id}/statuses",
            "repository_url": repo_url,
            "creator": user(base),
            "sha": sha,
            "ref": ref,
            "payload": payload,
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(body.get("production_environment", environment == "production")),
            "performed_via_github_app": None,
        }
        repo.deployments.append(d)
        repo.statuses[dep_id] = []
        return 201, d, {}

    def list_statuses(self, repo: Repo, dep_id: int, query: dict):
        self.deployment(repo, dep_id, "list-deployment-statuses")
        items = list(reversed(repo.statuses[dep_id]))
        chunk, headers = self.page(items, query, urllib.parse.urlsplit(self.path).path)
        return 200, chunk, headers

    def add_status(self, repo: Repo, d: dict, state: str, description: str, environment: str,
                   log_url: str = "", environment_url: str = "") -> dict:
        sid = STATE.new_id()
        t = now_iso(time.time())
        s = {
            "url": f"{d['url']}/statuses/{sid}",
            "id": sid,
            "node_id": node_id("DES_", sid),
            "state": state,
            "description": description,
            "environment": environment,
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": environment_url,
            "created_at": t,
            "updated_at": t,
            "deployment_url": d["url"],
            "repository_url": d["repository_url"],
            "creator": user(self.base()),
            "performed_via_github_app": None,
        }
        repo.statuses[d["id"]].append(s)
        d["updated_at"] = t
        d["environment"] = environment
        return s

    def create_status(self, repo: Repo, dep_id: int, body):
        doc = "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status"
        d = self.deployment(repo, dep_id, "create-a-deployment-status")
        if not isinstance(body, dict) or body.get("state") not in STATES:
            raise error(422, "Validation Failed", doc, errors=[
                {"resource": "DeploymentStatus", "code": "custom", "field": "state",
                 "message": f"state is not included in the list"}])
        description = body.get("description") or ""
        if len(description) > 140:
            raise error(422, "Validation Failed", doc, errors=[
                {"resource": "DeploymentStatus", "code": "custom", "field": "description",
                 "message": "description is too long (maximum is 140 characters)"}])
        log_url = body.get("log_url") or body.get("target_url") or ""
        environment = body.get("environment") or d["environment"]
        s = self.add_status(repo, d, body["state"], description, environment, log_url,
                            body.get("environment_url") or "")
        if body["state"] == "success" and body.get("auto_inactive", True) is not False:
            for other in repo.deployments:
                history = repo.statuses[other["id"]]
                if (other["id"] != dep_id and other["environment"] == environment
                        and not other["transient_environment"] and not other["production_environment"]
                        and history and history[-1]["state"] == "success"):
                    self.add_status(repo, other, "inactive", "", environment)
        return 201, s, {"Location": s["url"]}

    # --- issue comments (a pull request's conversation) ------------------------------------
    def comment(self, repo: Repo, cid: int, doc: str) -> dict:
        for c in repo.comments:
            if c["id"] == cid:
                return c
        raise error(404, "Not Found", f"https://docs.github.com/rest/issues/comments#{doc}")

    def comment_body(self, body, doc: str) -> str:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise error(422, "Invalid request.\n\nFor 'properties/body', nil is not a string.", doc)
        if len(text) > MAX_COMMENT_CHARS:
            raise error(422, "Validation Failed", doc, errors=[
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": f"body is too long (maximum is {MAX_COMMENT_CHARS} characters)"}])
        return text

    def list_comments(self, repo: Repo, number: int, query: dict):
        items = [c for c in repo.comments if c["_issue"] == number]
        chunk, headers = self.page(items, query, urllib.parse.urlsplit(self.path).path)
        return 200, [self.public(c) for c in chunk], headers

    def create_comment(self, repo: Repo, number: int, body):
        text = self.comment_body(body, "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
        cid = STATE.new_id()
        t = now_iso(time.time())
        base = self.base()
        repo_url = f"{base}/repos/{repo.full_name}"
        c = {
            "_issue": number,
            "id": cid,
            "node_id": node_id("IC_", cid),
            "url": f"{repo_url}/issues/comments/{cid}",
            "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-{cid}",
            "body": text,
            "user": user(base),
            "created_at": t,
            "updated_at": t,
            "issue_url": f"{repo_url}/issues/{number}",
            "author_association": "NONE",
            "performed_via_github_app": None,
        }
        repo.comments.append(c)
        return 201, self.public(c), {"Location": c["url"]}

    def update_comment(self, repo: Repo, cid: int, body):
        doc = "https://docs.github.com/rest/issues/comments#update-an-issue-comment"
        c = self.comment(repo, cid, "update-an-issue-comment")
        c["body"] = self.comment_body(body, doc)
        c["updated_at"] = now_iso(time.time())
        return 200, self.public(c), {}

    @staticmethod
    def public(c: dict) -> dict:
        return {k: v for k, v in c.items() if not k.startswith("_")}

    # --- GraphQL ----------------------------------------------------------------------------
    def graphql(self, repo: Repo, query: dict, body):
        q = body.get("query") or ""
        v = body.get("variables") or {}
        if "deployments(" not in q:
            return 200, {"errors": [{"message": "the fake GitHub answers only gantry's deployments query"}]}, {}
        first = v.get("first")
        if not isinstance(first, int) or first < 1:
            return 200, {"errors": [{"type": "MISSING_PAGINATION_BOUNDARIES",
                                     "message": "You must provide a `first` or `last` value to properly paginate the `deployments` connection."}]}, {}
        if first > 100:
            return 200, {"errors": [{"type": "EXCESSIVE_PAGINATION",
                                     "message": f"Requesting {first} records on the `deployments` connection exceeds the `first` limit of 100 records."}]}, {}
        envs = v.get("environments") or ([v["environment"]] if v.get("environment") else None)
        items = [d for d in repo.deployments if envs is None or d["environment"] in envs]
        if "direction: ASC" not in q:
            items = list(reversed(items))
        start = 0
        if v.get("after"):
            try:
                start = int(base64.b64decode(v["after"]).decode().rsplit(":", 1)[1])
            except (ValueError, IndexError):
                return 200, {"errors": [{"message": f"`{v['after']}` does not appear to be a valid cursor."}]}, {}
        chunk = items[start:start + first]
        end = start + len(chunk)

        def status_node(s: dict) -> dict:
            return {"state": s["state"].upper(), "description": s["description"], "createdAt": s["created_at"]}

        nodes = []
        for d in chunk:
            history = repo.statuses[d["id"]]
            payload = d["payload"]
            nodes.append({
                "databaseId": d["id"],
                "createdAt": d["created_at"],
                "environment": d["environment"],
                "payload": payload if isinstance(payload, str) else json.dumps(payload),
                "latestStatus": status_node(history[-1]) if history else None,
                "statuses": {"nodes": [status_node(s) for s in history[:100]]},
            })
        cursor = base64.b64encode(f"cursor:v2:{end}".encode()).decode() if chunk else None
        data = {"repository": {"deployments": {
            "pageInfo": {"hasNextPage": end < len(items), "endCursor": cursor},
            "nodes": nodes,
        }}}
        return 200, {"data": data}, {}

    # --- control API ------------------------------------------------------------------------
    def control(self, method: str, path: str):
        if path == "/_fake/health":
            return 200, {"ok": True}
        if path == "/_fake/reset" and method == "POST":
            with STATE.lock:
                STATE.reset()
            return 200, {"ok": True}
        m = re.fullmatch(r"/_fake/repos/([^/]+)/([^/]+)/(faults|settings|requests)", path)
        if not m:
            raise Answer(404, {"message": f"no control endpoint {method} {path}"})
        owner, name, what = m.groups()
        body = self.body_json() if method == "POST" else None
        with STATE.lock:
            repo = STATE.repo(urllib.parse.unquote(owner), urllib.parse.unquote(name))
            if what == "requests":
                return 200, repo.requests
            if what == "faults" and isinstance(body, dict):
                repo.faults.append(body)
                return 200, {"faults": repo.faults}
            if what == "settings" and isinstance(body, dict):
                repo.settings.update(body)
                return 200, repo.settings
        raise Answer(400, {"message": "expected a JSON object"})


def serve(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = serve(args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
