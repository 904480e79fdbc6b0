//! The binary's contract: bad input is exit 2 with a message naming the input, and nothing is
//! called (AWS_ENDPOINT_URL points at a closed port: a call would fail with exit 1, not 2).

use super::write;
use assert_cmd::Command;
use predicates::str::contains;

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-stack"),
    ))
}

fn rejected(args: &[&str], says: &str) {
    cmd().args(args).assert().code(2).stderr(contains(says));
}

const T: &str = "Parameters:\n  Name: {Type: String}\n  Size: {Type: Number, Default: 1}\nResources:\n  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref Name}}\nOutputs:\n  BucketName: {Value: !Ref Bucket}\n";

#[test]
fn bad_inputs_are_exit_2_naming_the_input() {
    let d = tempfile::tempdir().unwrap();
    let t = write(d.path(), "t.yaml", T);
    let t = t.to_str().unwrap();
    let envs = d.path().join("environments");
    write(
        &envs,
        "dev.json",
        r#"{"Project": "p", "Environment": "dev", "Region": "eu-west-1", "Stacks": [{"Layer": "t", "Parameters": {"Name": "x", "Typo": "y"}}]}"#,
    );
    write(d.path(), "templates/t.yaml", T);
    let envs_dir = envs.to_str().unwrap();

    rejected(
        &[
            "plan",
            "--environment",
            "nope",
            "--environments-dir",
            envs_dir,
        ],
        "environment: cannot read",
    );
    rejected(
        &[
            "plan",
            "--environment",
            "nope",
            "--environments-dir",
            envs_dir,
        ],
        "environments in",
    );
    rejected(
        &[
            "plan",
            "--environment",
            "dev",
            "--environments-dir",
            envs_dir,
        ],
        "sets parameter `Typo`, which its template does not declare",
    );
    rejected(
        &[
            "plan",
            "--stack-name",
            "s",
            "--template",
            t,
            "--parameter",
            "Name=a",
            "--parameter",
            "Nope=1",
        ],
        "parameters: `Nope` is not a parameter",
    );
    rejected(
        &["plan", "--stack-name", "s", "--template", t],
        "needs `Name` (no default)",
    );
    rejected(
        &[
            "plan",
            "--stack-name",
            "s",
            "--template",
            t,
            "--parameter",
            "Name=a",
            "--allow-replacement",
            "Db",
        ],
        "allow-replacement: `Db` is not a resource",
    );
    rejected(
        &[
            "plan",
            "--stack-name",
            "1s",
            "--template",
            t,
            "--parameter",
            "Name=a",
        ],
        "stack-name: `1s` is not a stack name",
    );
    rejected(&["plan"], "environment or stack-name: one is required");
    rejected(
        &[
            "plan",
            "--stack-name",
            "s",
            "--template",
            t,
            "--parameter",
            "Name=a",
            "--poll-interval",
            "100ms",
        ],
        "poll-interval",
    );
    rejected(
        &[
            "apply",
            "--change-set-ids",
            "arn:aws:cloudformation:eu-west-1:1:changeSet/c/1",
        ],
        "template-digest: required",
    );
    rejected(
        &[
            "apply",
            "--change-set-ids",
            "c1",
            "--template-digest",
            &format!("sha256:{}", "0".repeat(64)),
        ],
        "`c1` is not a change set ARN",
    );
    rejected(&["status"], "environment or stack-name: one is required");

    // Over 51,200 bytes without template-bucket.
    let big = format!("{T}Metadata:\n  Pad: \"{}\"\n", "x".repeat(52_000));
    let big = write(d.path(), "big.yaml", &big);
    rejected(
        &[
            "plan",
            "--stack-name",
            "s",
            "--template",
            big.to_str().unwrap(),
            "--parameter",
            "Name=a",
        ],
        "template-bucket: required: the template of s is",
    );

    // A missing required parameter in an environment with no earlier output of that name.
    write(
        &envs,
        "two.json",
        r#"{"Project": "p", "Environment": "two", "Region": "eu-west-1", "Stacks": [{"Layer": "t"}]}"#,
    );
    rejected(
        &[
            "plan",
            "--environment",
            "two",
            "--environments-dir",
            envs_dir,
        ],
        "needs parameter `Name` (no default)",
    );
}

#[test]
fn help_lists_the_subcommands_and_exit_codes() {
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("plan"))
        .stdout(contains("apply"))
        .stdout(contains("Exit codes"));
}
