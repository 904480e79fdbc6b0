//! The binary's contract: bad input is exit 2 with a message naming the input, and nothing is
//! called. AWS_ENDPOINT_URL points at a closed port: a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-invalidate"),
    ))
}

fn rejected(args: &[&str], env: &[(&str, &str)], says: &str) {
    let mut c = cmd();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.assert().code(2).stderr(contains(says));
}

#[test]
fn bad_inputs_are_exit_2_naming_the_input() {
    let d = ["--distribution-id", "E123"];
    rejected(&d, &[], "paths: no paths given");
    rejected(
        &[&d[..], &["--paths", "  "]].concat(),
        &[],
        "paths: no paths given",
    );
    rejected(
        &[&d[..], &["--paths", "index.html"]].concat(),
        &[],
        "did you mean `/index.html`?",
    );
    rejected(
        &[&d[..], &["--paths", "/img/*.png"]].concat(),
        &[],
        "`/img/*.png` has `*` before its end",
    );
    let long = format!("/{}", "x".repeat(4000));
    rejected(
        &[&d[..], &["--paths", &long]].concat(),
        &[],
        "over CloudFront's limit of 4000",
    );
    rejected(
        &[&d[..], &["--paths", "/a", "--timeout", "soon"]].concat(),
        &[],
        "`soon` is not a duration",
    );
    rejected(
        &[&d[..], &["--paths", "/a", "--timeout=-5m"]].concat(),
        &[],
        "is negative",
    );
    rejected(
        &[&d[..], &["--paths", "/a", "--poll-interval", "0"]].concat(),
        &[],
        "poll-interval: `0s` is too short",
    );
    rejected(&["--paths", "/a"], &[], "distribution-id: required");
    rejected(
        &["--distribution-id", "d111.cloudfront.net", "--paths", "/a"],
        &[],
        "is not a CloudFront distribution id",
    );
    rejected(
        &[&d[..], &["--paths-file", "/nonexistent/paths.txt"]].concat(),
        &[],
        "paths-file: cannot read",
    );
    rejected(
        &[&d[..], &["--paths", "/a", "--max-paths", "lots"]].concat(),
        &[],
        "max-paths: `lots`",
    );
    // The same through env, the way the composite action passes inputs.
    rejected(
        &[],
        &[
            ("GANTRY_DISTRIBUTION_ID", "E1"),
            ("GANTRY_PATHS", "/a"),
            ("GANTRY_TIMEOUT", "-1s"),
        ],
        "is negative",
    );
    rejected(
        &[],
        &[("GANTRY_DISTRIBUTION_ID", "E1"), ("GANTRY_PATHS", "/a\nb")],
        "did you mean `/b`?",
    );
}

#[test]
fn bad_input_with_json_prints_one_object() {
    let out = cmd()
        .args(["--distribution-id", "E1", "--paths", "nope", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit-code"], 2);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("does not start with `/`")
    );
}

#[test]
fn empty_env_inputs_mean_not_given() {
    // The runner sets every input; blank ones must fall back to defaults, not fail parsing.
    let out = cmd()
        .env("GANTRY_DISTRIBUTION_ID", "E1")
        .env("GANTRY_PATHS", "/a /b/*")
        .env("GANTRY_TIMEOUT", "")
        .env("GANTRY_POLL_INTERVAL", "")
        .env("GANTRY_WAIT", "")
        .env("GANTRY_CALLER_REFERENCE", "")
        .env("GANTRY_MAX_PATHS", "")
        .env("GANTRY_PATHS_FILE", "")
        .env("GANTRY_DRY_RUN", "true")
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "dry-run");
    assert_eq!(v["paths"], serde_json::json!(["/a", "/b/*"]));
    assert_eq!(v["plan"]["wait"], false);
}

/// `--dry-run --json` with `--paths-file`, as run `42`, attempt `attempt`.
fn dry_run(file: &std::path::Path, attempt: &str) -> serde_json::Value {
    let out = cmd()
        .args(["--distribution-id", "E1", "--paths", "/index.html"])
        .arg("--paths-file")
        .arg(file)
        .args(["--dry-run", "--json"])
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_JOB", "deploy")
        .env("GITHUB_RUN_ATTEMPT", attempt)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn dry_run_prints_the_plan_and_calls_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paths.txt");
    std::fs::write(
        &file,
        "# changed files\n/index.html\n/assets/app.js\n\n/assets/*\n",
    )
    .unwrap();
    let v = dry_run(&file, "1");
    assert_eq!(v["paths"], serde_json::json!(["/assets/*", "/index.html"]));
    assert_eq!(v["path-count"], 2);
    assert_eq!(v["invalidation-id"], "");
    assert_eq!(v["plan"]["dropped"][0]["reason"], "duplicate");
    let reference = v["plan"]["batches"][0]["caller-reference"]
        .as_str()
        .unwrap();
    assert!(reference.starts_with("gantry-42-"), "{reference}");
    // "Re-run failed jobs": another attempt of the same run sends the same reference.
    let again = dry_run(&file, "2");
    assert_eq!(again["plan"]["batches"][0]["caller-reference"], reference);
}

#[test]
fn help_lists_exit_codes() {
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("4  the deadline passed"));
}

#[test]
fn a_paths_file_is_read_up_to_its_bound() {
    // `/dev/zero` never ends: the read stops at the bound and says it.
    cmd()
        .args([
            "--distribution-id",
            "E2QWRUHAPOMQZL",
            "--paths-file",
            "/dev/zero",
        ])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(contains(
            "paths-file: /dev/zero is larger than 16.0 MiB, the most a paths file may hold",
        ));
}

#[test]
fn a_distribution_id_is_checked_before_any_call() {
    // Upper-case letters only, so only the length is wrong; a call would be exit 1.
    let long = "E".repeat(5000);
    cmd()
        .args(["--distribution-id", &long, "--paths", "/a"])
        .assert()
        .code(2)
        .stderr(contains(
            "is 5000 characters; a CloudFront distribution id has at most 20",
        ));
    rejected(
        &["--distribution-id", "1E2QWRUHAPOMQZL", "--paths", "/a"],
        &[],
        "distribution-id: `1E2QWRUHAPOMQZL` is not a CloudFront distribution id",
    );
}

#[test]
fn a_stalled_endpoint_ends_at_the_deadline() {
    // CloudFront accepts the connection and never answers: the run still ends at `--timeout`.
    let stalled = gantry_kit::testing::StalledEndpoint::start();
    let started = std::time::Instant::now();
    let out = cmd()
        .args([
            "--distribution-id",
            "E2QWRUHAPOMQZL",
            "--paths",
            "/a",
            "--timeout",
            "8s",
        ])
        .args(["--json"])
        .env("AWS_ENDPOINT_URL", stalled.url())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(14),
        "ended near the 8 s deadline, not later: {took:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit-code"], 4);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("CloudFront did not answer CreateInvalidation within 8s"),
        "{v}"
    );
    assert_eq!(v["invalidation-id"], "", "the outputs known so far: none");
}
