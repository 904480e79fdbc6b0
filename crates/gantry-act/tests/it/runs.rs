//! Fixture actions that run.

use gantry_act::{AnnotationLevel, Runner, StepStatus};

use crate::{Log, fixture, run_fixture, step_table};

#[test]
fn outputs_are_mapped_from_steps_including_heredocs() {
    let (result, _) = run_fixture("outputs", |r| r.input("name", "Ada"));
    let result = result.unwrap();
    assert!(result.success);
    insta::assert_json_snapshot!(result.outputs, @r#"
    {
      "greeting": "Hello, Ada!",
      "letter": "Dear Ada,\n\na=b and c<<d stay as they are.",
      "mixed": "Ada from run 4242: success",
      "has-token": "true"
    }
    "#);
    assert_eq!(result.step("greet").unwrap().outputs["text"], "Hello, Ada!");
    assert_eq!(result.summary, "### Greeted Ada\n| second | summary |\n");
    assert_eq!(
        step_table(&result),
        "greet success/success\n__run success/success"
    );
}

#[test]
fn given_inputs_win_over_defaults_and_unknown_ones_warn() {
    let (result, log) = run_fixture("outputs", |r| {
        r.input("NAME", "Bob")
            .input("run-id", "9")
            .input("colour", "blue")
    });
    let result = result.unwrap();
    assert_eq!(result.outputs["mixed"], "Bob from run 9: success");
    assert_eq!(result.annotations.len(), 1);
    let warning = &result.annotations[0];
    assert_eq!(warning.level, AnnotationLevel::Warning);
    insta::assert_snapshot!(warning.message, @"Unexpected input(s) 'colour', valid inputs are ['name', 'run-id', 'token']");
    assert!(
        log.contains("::warning::Unexpected input(s) 'colour'"),
        "{log}"
    );
}

#[test]
fn env_and_path_exports_reach_later_steps() {
    let (result, log) = run_fixture("env-path", |r| r.env("CALLER", "from the caller"));
    let result = result.unwrap();
    assert!(result.success, "{log}");
    let arch = if cfg!(target_arch = "aarch64") {
        "ARM64"
    } else {
        "X64"
    };
    assert_eq!(
        result.outputs["seen"],
        format!("tool says hi|true|true|Linux|{arch}|env-path")
    );
    assert_eq!(result.outputs["env-context"], "from step one");
    assert_eq!(result.outputs["caller"], "from the caller");
}

#[test]
fn caller_env_wins_over_a_github_env_export_of_the_same_name() {
    let (result, _) = run_fixture("env-path", |r| {
        r.env("CALLER", "from the caller")
            .env("EXPORTED", "from the caller")
    });
    let result = result.unwrap();
    assert_eq!(result.outputs["env-context"], "from the caller");
    // The check step expects the exported value, so it fails.
    assert_eq!(result.step("check").unwrap().outcome, StepStatus::Failure);
}

#[test]
fn a_failing_step_fails_the_action_and_only_failure_and_always_steps_run() {
    let (result, log) = run_fixture("status", |r| r);
    let result = result.unwrap();
    assert!(!result.success);
    insta::assert_snapshot!(step_table(&result), @r"
    first success/success
    broken failure/failure
    after skipped/skipped
    plain-condition skipped/skipped
    explicit-success skipped/skipped
    on-failure success/success
    cleanup success/success
    ");
    assert_eq!(result.outputs["cleanup"], "yes");
    assert_eq!(result.outputs["broken-outcome"], "failure");
    let errors: Vec<_> = result
        .annotations
        .iter()
        .map(|a| a.message.as_str())
        .collect();
    assert_eq!(errors, ["Process completed with exit code 3."]);
    insta::assert_snapshot!(log, @r#"
    > Run echo "fine"
    fine
    > Run echo "about to fail"
    about to fail
    ::error::Process completed with exit code 3.
    > Run echo "must not run" (skipped)
    > Run echo "must not run, implicitly" (skipped)
    > Run echo "must not run either" (skipped)
    > Run echo "handling the failure"
    handling the failure
    > Run echo "ran=yes" >> "$GITHUB_OUTPUT"
    "#);
}

#[test]
fn continue_on_error_keeps_the_action_successful() {
    let (result, _) = run_fixture("continue", |r| r);
    let result = result.unwrap();
    assert!(result.success);
    assert_eq!(result.outputs["outcome"], "failure/success");
    insta::assert_snapshot!(step_table(&result), @r"
    flaky failure/success
    next success/success
    on-failure skipped/skipped
    ");

    let (result, _) = run_fixture("continue", |r| r.input("tolerate", "false"));
    let result = result.unwrap();
    assert!(!result.success);
    assert_eq!(result.outputs["outcome"], "failure/failure");
    assert_eq!(result.step("next").unwrap().outcome, StepStatus::Skipped);
    assert_eq!(
        result.step("on-failure").unwrap().outcome,
        StepStatus::Success
    );
}

#[test]
fn nested_local_action_resolves_against_the_workspace() {
    let log = Log::default();
    let result = Runner::new(fixture("nested/outer"))
        .workspace(fixture("nested"))
        .input("who", "Grace")
        .log_to(log.clone())
        .run()
        .unwrap();
    assert!(result.success, "{}", log.text());
    assert_eq!(result.outputs["inner-says"], "hello Grace from inner");
    // GITHUB_ENV from the nested action reaches the caller's later steps; the caller's
    // GITHUB_ACTION_PATH is its own again.
    assert_eq!(result.outputs["after"], "exported|outer");
    assert_eq!(
        result.step("inner").unwrap().outputs["message"],
        "hello Grace from inner"
    );
}

#[test]
fn add_mask_hides_values_in_the_log_annotations_and_summary() {
    let (result, log) = run_fixture("mask", |r| r);
    let result = result.unwrap();
    assert!(result.success);
    // Outputs are values, not log: they stay as the step wrote them.
    assert_eq!(result.outputs["secret"], "hunter2");
    assert!(result.masks.contains(&"hunter2".to_owned()));
    assert_eq!(result.summary, "summary mentions ***\n");
    let warning = &result.annotations[0];
    assert_eq!(warning.title.as_deref(), Some("Leak ***"));
    assert_eq!(warning.message, "found *** in the logs");
    insta::assert_snapshot!(log, @r#"
    > Run echo "before masking: not-yet-a-secret"
    before masking: not-yet-a-secret
    ::add-mask::***
    ::add-mask::***
    the password is ***
    ::warning title=Leak ***::found *** in the logs
    "#);
}

#[test]
fn annotations_are_parsed_from_both_streams_and_unescaped() {
    let (result, _) = run_fixture("annotations", |r| r);
    let result = result.unwrap();
    assert!(result.success);
    let mut annotations = result.annotations.clone();
    // stdout and stderr are read concurrently, so their relative order is not fixed.
    annotations.sort_by_key(|a| a.message.clone());
    insta::assert_json_snapshot!(annotations, @r#"
    [
      {
        "level": "error",
        "title": "Build: failed, badly",
        "file": "src/main.rs",
        "line": 12,
        "end_line": null,
        "col": 5,
        "end_column": null,
        "message": "50% done\nsecond line"
      },
      {
        "level": "notice",
        "title": "Python",
        "file": null,
        "line": null,
        "end_line": null,
        "col": null,
        "end_column": null,
        "message": "from python"
      },
      {
        "level": "warning",
        "title": null,
        "file": null,
        "line": null,
        "end_line": null,
        "col": null,
        "end_column": null,
        "message": "indented, with a bad line number"
      },
      {
        "level": "notice",
        "title": null,
        "file": null,
        "line": null,
        "end_line": null,
        "col": null,
        "end_column": null,
        "message": "just so you know"
      }
    ]
    "#);
}
