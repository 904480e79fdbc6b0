//! The binary's contract: bad input is exit 2 with a message naming the input, and nothing is
//! called. AWS_ENDPOINT_URL points at a closed port: a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;

const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-rollout"),
    ))
}

fn rejected(args: &[&str], says: &str) {
    cmd().args(args).assert().code(2).stderr(contains(says));
}

fn deploy<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["deploy", "--cluster", "prod", "--service", "web"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn bad_inputs_are_exit_2_naming_the_input() {
    rejected(&deploy(&[]), "task-definition: required");
    rejected(
        &deploy(&["--task-definition", "web"]),
        "`web` is not a task definition ARN",
    );
    rejected(
        &deploy(&[
            "--task-definition",
            "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        ]),
        "is not a task definition ARN",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--bake-time", "soon"]),
        "`soon` is not a duration",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--timeout", "forever"]),
        "`forever` is not a duration",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--poll-interval", "500ms"]),
        "poll-interval: `500ms` is too short",
    );
    rejected(
        &deploy(&[
            "--task-definition",
            TD,
            "--poll-interval",
            "10m",
            "--timeout",
            "5m",
        ]),
        "poll-interval: `10m` is longer than the timeout `5m`",
    );
    rejected(
        &deploy(&[
            "--task-definition",
            TD,
            "--pre-deploy-task",
            "migrate 'open",
        ]),
        "pre-deploy-task: `migrate 'open` is not valid shell words",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--pre-deploy-task", "[1]"]),
        "pre-deploy-task: `[1]` is not a JSON array of strings",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--pre-deploy-container", "web"]),
        "pre-deploy-container: given without pre-deploy-task",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--strategy", "big-bang"]),
        "invalid value 'big-bang'",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--rollback", "always"]),
        "invalid value 'always'",
    );
    rejected(
        &deploy(&["--task-definition", TD, "--desired-count=-1"]),
        "--desired-count",
    );
    rejected(
        &["deploy", "--service", "web", "--task-definition", TD],
        "cluster: required",
    );
    rejected(
        &[
            "rollback",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--to",
            "web:latest",
        ],
        "to: `web:latest` is not a task definition ARN",
    );
    rejected(&["status", "--cluster", "prod"], "service: required");
}

#[test]
fn env_is_the_same_as_flags_and_empty_env_means_unset() {
    cmd()
        .args(["deploy", "--json"])
        .env("GANTRY_CLUSTER", "prod")
        .env("GANTRY_SERVICE", "web")
        .env("GANTRY_TASK_DEFINITION", "nope")
        .env("GANTRY_ALARMS", "")
        .assert()
        .code(2)
        .stdout(contains(r#""exit-code":2"#))
        .stdout(contains(r#""status":"failed""#))
        .stdout(contains(r#""deployment-id":"""#))
        .stdout(contains(
            "task-definition: `nope` is not a task definition ARN",
        ));
}

#[test]
fn an_unreachable_endpoint_is_exit_1_not_2() {
    cmd()
        .args(deploy(&["--task-definition", TD]))
        .assert()
        .code(1)
        .stderr(contains("ECS DescribeServices"));
}

#[test]
fn help_lists_the_exit_codes() {
    cmd()
        .args(["deploy", "--help"])
        .assert()
        .success()
        .stdout(contains("3  a deployment failed and was rolled back"));
}

#[test]
fn a_zero_timeout_names_the_timeout() {
    rejected(
        &deploy(&["--task-definition", TD, "--timeout", "0"]),
        "timeout: `0s` leaves no time to deploy",
    );
}

#[test]
fn a_stalled_endpoint_ends_at_the_deadline() {
    // ECS accepts the connection and never answers: pre-flight ends at `--timeout`, exit 1,
    // nothing changed; `rollback` the same.
    let stalled = gantry_kit::testing::StalledEndpoint::start();
    for args in [
        deploy(&[
            "--task-definition",
            TD,
            "--timeout",
            "4s",
            "--poll-interval",
            "1s",
        ]),
        vec![
            "rollback",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--timeout",
            "4s",
            "--poll-interval",
            "1s",
        ],
    ] {
        let started = std::time::Instant::now();
        let out = cmd()
            .args(&args)
            .arg("--json")
            .env("AWS_ENDPOINT_URL", stalled.url())
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            took < std::time::Duration::from_secs(10),
            "{args:?} ended near the 4 s deadline, not later: {took:?}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("did not answer within the timeout (4s); nothing was changed"),
            "{v}"
        );
        assert_eq!(v["status"], "failed", "{v}");
    }
}
