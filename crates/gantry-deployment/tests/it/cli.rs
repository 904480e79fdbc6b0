//! Bad input is exit 2 with a message naming the input, and nothing is called: GITHUB_API_URL
//! points at a closed port, so a call would fail with exit 1, not 2.

use super::{TOKEN, offline, release};
use predicates::str::contains;
use serde_json::json;

fn rejected(args: &[&str], says: &str) {
    let mut c = offline();
    c.args(args)
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GITHUB_GRAPHQL_URL", "http://127.0.0.1:9/graphql")
        .env("GANTRY_GITHUB_TOKEN", TOKEN)
        .env("GANTRY_REPOSITORY", "octo-org/web-app");
    c.assert().code(2).stderr(contains(says));
}

fn start_with(release_doc: &str, says: &str) {
    rejected(
        &[
            "start",
            "--environment",
            "staging",
            "--release",
            release_doc,
        ],
        says,
    );
}

#[test]
fn an_empty_environment_is_refused() {
    let r = release(1).to_string();
    rejected(
        &["start", "--environment", "  ", "--release", &r],
        "environment: empty",
    );
    rejected(&["start", "--release", &r], "environment: empty");
    rejected(&["last-good", "--environment", ""], "environment: empty");
    rejected(
        &["start", "--environment", "a\nb", "--release", &r],
        "is not an environment name",
    );
}

#[test]
fn a_non_numeric_deployment_id_is_refused() {
    for id in ["abc", "12abc", "-4", "0", "1.5"] {
        let flag = format!("--deployment-id={id}");
        rejected(
            &["finish", &flag, "--state", "success"],
            &format!("deployment-id: `{id}` is not a deployment id"),
        );
        rejected(
            &["mark", &flag, "--bad", "--reason", "x"],
            "is not a deployment id",
        );
    }
    rejected(&["finish", "--state", "success"], "deployment-id: required");
    rejected(
        &["last-good", "--environment", "prod", "--to", "newest"],
        "to: `newest` is not last-good, previous or a deployment id",
    );
}

#[test]
fn an_invalid_payload_is_refused_naming_the_field() {
    let with = |k: &str, v: serde_json::Value| {
        let mut d = release(1);
        d[k] = v;
        d.to_string()
    };
    start_with(
        &with("image", json!("app:latest")),
        "release: field `image`",
    );
    start_with(&with("sha", json!("abc")), "release: field `sha`");
    start_with(
        &with("schema", json!("gantry.release/v2")),
        "release: field `schema`",
    );
    start_with(
        &with("colour", json!("blue")),
        "release: field `colour`: is not a field of gantry.release/v1",
    );
    start_with(
        &with("site", json!({"bucket": "b"})),
        "release: field `site.release-id`: missing",
    );
    start_with(
        &with(
            "task-definition-arn",
            json!("arn:aws:ecs:us-east-1:1:task-definition/app:1"),
        ),
        "release: field `task-definition-arn`",
    );
    start_with("{not json", "release: not JSON");
    start_with(
        "@/nonexistent/release.json",
        "release: cannot read `/nonexistent/release.json`",
    );
    start_with(
        "@/dev/zero",
        "release: cannot read `/dev/zero`: it is larger than 1.0 MiB",
    );
    rejected(&["start", "--environment", "staging"], "release: required");
}

#[test]
fn a_release_file_is_read() {
    // A valid file passes validation; the call then fails (closed port), so exit 1, not 2.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("release.json");
    std::fs::write(&f, release(1).to_string()).unwrap();
    let mut c = offline();
    c.args(["start", "--environment", "staging", "--release"])
        .arg(format!("@{}", f.display()))
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GANTRY_GITHUB_TOKEN", TOKEN)
        .env("GANTRY_REPOSITORY", "octo-org/web-app")
        .env("GANTRY_TIMEOUT", "1s");
    c.assert()
        .code(1)
        .stderr(contains("could not reach GitHub"));
}

#[test]
fn other_bad_inputs_are_refused() {
    let r = release(1).to_string();
    rejected(
        &["finish", "--deployment-id", "7", "--state", "done"],
        "state: `done` is not success, failure or error",
    );
    rejected(&["finish", "--deployment-id", "7"], "state: required");
    rejected(
        &[
            "finish",
            "--deployment-id",
            "7",
            "--state",
            "success",
            "--environment-url",
            "staging.example.com",
        ],
        "environment-url: `staging.example.com` is not an http(s) URL",
    );
    rejected(
        &["mark", "--deployment-id", "7", "--reason", "x"],
        "bad: required",
    );
    rejected(&["mark", "--deployment-id", "7", "--bad"], "reason: empty");
    rejected(
        &["last-good", "--environment", "prod", "--sha", "xyz"],
        "sha: `xyz` is not a commit id",
    );
    rejected(
        &["last-good", "--environment", "prod", "--max-scan", "0"],
        "max-scan: `0`",
    );
    rejected(
        &["last-good", "--environment", "prod", "--min-age", "soon"],
        "`soon` is not a duration",
    );
    rejected(
        &[
            "start",
            "--environment",
            "s",
            "--release",
            &r,
            "--production-environment",
            "yes",
        ],
        "production-environment: `yes` is not `true` or `false`",
    );
    rejected(
        &[
            "start",
            "--environment",
            "s",
            "--release",
            &r,
            "--repository",
            "just-a-name",
        ],
        "repository: `just-a-name` is not OWNER/NAME",
    );
    let mut c = offline();
    c.args(["last-good", "--environment", "prod"])
        .env("GANTRY_REPOSITORY", "octo-org/web-app");
    c.assert().code(2).stderr(contains("github-token: empty"));
    let mut c = offline();
    c.args(["last-good", "--environment", "prod"])
        .env("GANTRY_GITHUB_TOKEN", TOKEN)
        .env("GANTRY_REPOSITORY", "octo-org/web-app")
        .env("GITHUB_API_URL", "ftp://example.com");
    c.assert()
        .code(2)
        .stderr(contains("GITHUB_API_URL: `ftp://example.com`"));
}

#[test]
fn release_assembles_a_valid_manifest() {
    let sha = "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d";
    let digest = "0".repeat(64);
    let image = format!("r.example/app@sha256:{digest}");
    let out = offline()
        .args([
            "release", "--json", "--ref", "main", "--sha", sha, "--image", &image,
        ])
        .args([
            "--service",
            "main/web main/worker",
            "--site-bucket",
            "b",
            "--site-release-id",
            "r1",
        ])
        .args([
            "--stack",
            "app=arn:aws:cloudformation:us-east-1:123456789012:changeSet/c/1",
        ])
        .env("GITHUB_REPOSITORY", "octo-org/web-app")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_ACTOR", "octocat")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_snapshot!(v["release"].to_string(), @r#"{"schema":"gantry.release/v1","ref":"main","sha":"a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d","image":"r.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000","services":[{"cluster":"main","service":"web"},{"cluster":"main","service":"worker"}],"site":{"bucket":"b","prefix":"","release-id":"r1"},"stacks":[{"name":"app","change-set-id":"arn:aws:cloudformation:us-east-1:123456789012:changeSet/c/1"}],"run-url":"https://github.com/octo-org/web-app/actions/runs/99","actor":"octocat"}"#);
    let mut c = offline();
    c.args([
        "release",
        "--ref",
        "main",
        "--sha",
        sha,
        "--image",
        "app:latest",
    ]);
    c.assert()
        .code(2)
        .stderr(contains("image: `app:latest` is not `repository@sha256:"));
    let mut c = offline();
    c.args(["release", "--ref", "main", "--sha", sha, "--service", "web"]);
    c.assert()
        .code(2)
        .stderr(contains("services: `web` is not CLUSTER/SERVICE"));
    let mut c = offline();
    c.args([
        "release",
        "--ref",
        "main",
        "--sha",
        sha,
        "--site-bucket",
        "b",
    ]);
    c.assert()
        .code(2)
        .stderr(contains("site-release-id: required with site-bucket"));
    let mut c = offline();
    c.args(["release", "--sha", sha]);
    c.assert()
        .code(2)
        .stderr(contains("ref: not given and GITHUB_REF is not set"));
}
