//! The `gantry-act` binary's contract: arguments, `--json`, exit codes.

use std::process::{Command, Output};

use crate::fixture;

fn gantry_act(args: &[&str]) -> Output {
    let workspace = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gantry-act"))
        .args(args)
        .arg("--workspace")
        .arg(workspace.path())
        .env("GITHUB_TOKEN", "ghs_clitoken")
        .env("GITHUB_RUN_ID", "31")
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one JSON line: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn json_reports_a_successful_run_on_stdout_only() {
    let dir = fixture("outputs");
    let out = gantry_act(&[dir.to_str().unwrap(), "--input", "name=Ada", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_json_snapshot!(stdout_json(&out), @r####"
    {
      "success": true,
      "outputs": {
        "greeting": "Hello, Ada!",
        "letter": "Dear Ada,\n\na=b and c<<d stay as they are.",
        "mixed": "Ada from run 31: success",
        "has-token": "true"
      },
      "steps": [
        {
          "id": "greet",
          "outcome": "success",
          "conclusion": "success"
        },
        {
          "id": "__run",
          "outcome": "success",
          "conclusion": "success"
        }
      ],
      "annotations": [],
      "summary": "### Greeted Ada\n| second | summary |\n"
    }
    "####);
    // Step output went to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("> Run echo \"text=Hello, $NAME!\""),
        "{stderr}"
    );
}

#[test]
fn failed_action_exits_1_with_annotations() {
    let dir = fixture("status");
    let out = gantry_act(&[dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = stdout_json(&out);
    assert_eq!(json["success"], false);
    assert_eq!(
        json["annotations"][0],
        serde_json::json!({"level": "error", "title": null, "file": null, "line": null, "message": "Process completed with exit code 3."})
    );
}

#[test]
fn invalid_action_and_missing_input_exit_2_naming_the_problem() {
    let dir = fixture("missing-input");
    let out = gantry_act(&[dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Input required and not supplied: paths"),
        "{stderr}"
    );

    let dir = fixture("remote");
    let out = gantry_act(&[dir.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let json = stdout_json(&out);
    assert_eq!(json["success"], false);
    assert_eq!(json["exit-code"], 2);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1")
    );
}

#[test]
fn env_flag_and_human_report() {
    let dir = fixture("env-path");
    let out = gantry_act(&[dir.to_str().unwrap(), "--env", "CALLER=from the caller"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gantry-act: the action succeeded"),
        "{stderr}"
    );
    assert!(stderr.contains("output caller=from the caller"), "{stderr}");
}

#[test]
fn masked_values_are_masked_in_json() {
    let dir = fixture("mask");
    let out = gantry_act(&[dir.to_str().unwrap(), "--json"]);
    let json = stdout_json(&out);
    assert_eq!(json["outputs"]["secret"], "***");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = gantry_act(&["x", "--input", "novalue"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `gantry-act workflow FILE ARGS…` in a fixture repository (tests/it/workflows.rs).
fn gantry_act_workflow(repo: &crate::workflows::Repo, file: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gantry-act"))
        .arg("workflow")
        .arg(repo.workflow(file))
        .args(args)
        .env("GITHUB_TOKEN", "ghs_clitoken")
        .current_dir(repo.path())
        .output()
        .unwrap()
}

#[test]
fn workflow_json_reports_jobs_and_exit_codes() {
    let repo = crate::workflows::Repo::init();
    let out = gantry_act_workflow(&repo, "basic.yml", &["--workspace", ".", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = stdout_json(&out);
    assert_eq!(json["success"], true);
    assert_eq!(json["event"], "push");
    let jobs: Vec<String> = json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            format!(
                "{} {}",
                j["id"].as_str().unwrap(),
                j["result"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        jobs,
        ["build success", "test success", "on-pull-request skipped"]
    );
    assert_eq!(json["jobs"][1]["outputs"]["got"], "hello, push (success)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gantry-act: job 'build' (build) started"),
        "{stderr}"
    );

    let out = gantry_act_workflow(
        &repo,
        "environments.yml",
        &["--workspace", ".", "--reject", "prod"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gantry-act: workflow 'environments' failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("approval: job 'deploy', environment 'prod': rejected (--reject prod)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "without --json, stdout stays empty");
}

#[test]
fn workflow_refusals_exit_2_with_the_error_in_json() {
    let repo = crate::workflows::Repo::init();
    let out = gantry_act_workflow(&repo, "dispatch.yml", &["--input", "target=dev", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_json_snapshot!(stdout_json(&out), @r#"
    {
      "success": false,
      "jobs": [],
      "outputs": {},
      "error": "workflow_dispatch input 'target' (choice): 'dev' is not one of its choices: staging, prod",
      "exit-code": 2
    }
    "#);
    let out = gantry_act_workflow(&repo, "no-shim.yml", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no shim"));
    let out = gantry_act_workflow(&repo, "basic.yml", &["--input", "nonsense"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed flag is a usage error"
    );
}
