//! What the runner refuses, before any step runs.

use gantry_act::ActError;

use crate::{Log, fixture, run_fixture};

fn refusal(name: &str) -> (ActError, String) {
    let (result, log) = run_fixture(name, |r| r);
    (result.unwrap_err(), log)
}

/// The error message with the fixture directory replaced, for snapshots.
fn message(e: &ActError) -> String {
    e.to_string()
        .replace(&fixture("").display().to_string(), "<fixtures>/")
}

#[test]
fn missing_required_input_is_named() {
    let (e, log) = refusal("missing-input");
    assert!(matches!(&e, ActError::MissingInput { name, .. } if name == "paths"));
    assert_eq!(e.exit_code(), 2);
    insta::assert_snapshot!(message(&e), @"<fixtures>/missing-input/action.yml: Input required and not supplied: paths");
    assert!(!log.contains("must not run"), "{log}");

    let (result, _) = run_fixture("missing-input", |r| r.input("paths", "/a"));
    assert!(result.unwrap().success);
}

#[test]
fn run_step_without_shell_is_refused() {
    let (e, _) = refusal("no-shell");
    insta::assert_snapshot!(message(&e), @"<fixtures>/no-shell/action.yml: step 'Forgot the shell': Required property is missing: shell (composite actions need a 'shell' on every 'run' step)");
}

#[test]
fn remote_uses_is_refused_before_any_step_runs() {
    let (e, log) = refusal("remote");
    assert!(
        matches!(&e, ActError::RemoteAction { uses, .. } if uses == "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1")
    );
    assert_eq!(e.exit_code(), 2);
    insta::assert_snapshot!(message(&e), @"<fixtures>/remote/action.yml: 'uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1' is not supported: gantry-act runs local composite actions ('./path') only");
    assert!(log.is_empty(), "{log}");

    let (e, _) = refusal("docker");
    assert!(matches!(&e, ActError::RemoteAction { uses, .. } if uses == "docker://alpine:3"));
}

#[test]
fn other_runs_using_is_refused() {
    let (e, _) = refusal("not-composite");
    insta::assert_snapshot!(message(&e), @"<fixtures>/not-composite/action.yml: runs.using 'node20' is not supported: gantry-act runs composite actions only");
}

#[test]
fn unknown_context_is_refused_at_load() {
    let (e, _) = refusal("bad-expression");
    insta::assert_snapshot!(message(&e), @"<fixtures>/bad-expression/action.yml: step 1 run: Unrecognized named-value: 'secrets'. Located at position 1 within expression: secrets.TOKEN");
}

#[test]
fn nested_uses_does_not_resolve_against_the_action_path() {
    // With a workspace that does not hold `inner/`, `./inner` is not found, even though it sits
    // next to the calling action.
    let log = Log::default();
    let workspace = tempfile::tempdir().unwrap();
    let e = gantry_act::Runner::new(fixture("nested/outer"))
        .workspace(workspace.path())
        .log_to(log)
        .run()
        .unwrap_err();
    assert!(
        matches!(e, ActError::LocalActionNotFound { ref uses, .. } if uses == "./inner"),
        "{e}"
    );
}

#[test]
fn missing_action_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = gantry_act::Runner::new(dir.path()).run().unwrap_err();
    assert!(matches!(e, ActError::ActionNotFound { .. }), "{e}");
}
