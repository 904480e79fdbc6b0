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
