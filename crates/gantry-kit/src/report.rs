//! How a command ends: outputs to `$GITHUB_OUTPUT`, the summary table, the `--json` object on
//! stdout, the `::error` annotation, and the exit code — in one place, the same for every action.

use crate::error::Error;
use crate::exit::ExitCode;
use crate::github::{self, Actions, Annotation, Level};
use crate::outputs::Outputs;
use serde_json::{Map, Value};
use std::io::Write;

/// What a command produced when it succeeded.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub outputs: Outputs,
    /// With `--dry-run`: the full plan (the `plan` key of `--json`).
    pub plan: Option<Value>,
    /// Extra markdown for the step summary, after the outputs table.
    pub summary: Option<String>,
}

impl Report {
    pub fn new(outputs: Outputs) -> Self {
        Self {
            outputs,
            ..Self::default()
        }
    }
}

/// The `--json` object: outputs, `plan` on dry runs, `error` and `exit-code` on failure.
pub fn json_object(result: &Result<Report, Error>) -> Map<String, Value> {
    match result {
        Ok(r) => {
            let mut m = r.outputs.to_json();
            if let Some(p) = &r.plan {
                m.insert("plan".into(), p.clone());
            }
            m
        }
        Err(e) => {
            let mut m = e.outputs().map(Outputs::to_json).unwrap_or_default();
            m.insert("error".into(), Value::String(e.message().to_owned()));
            m.insert("exit-code".into(), Value::from(e.exit_code().code()));
            m
        }
    }
}

/// Writes everything a finished command owes the runner and the user. `err` receives logs and
/// workflow commands (stderr), `out` only the JSON object (stdout). Returns the exit code.
pub fn finish_to(
    actions: &Actions,
    title: &str,
    json: bool,
    result: &Result<Report, Error>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> ExitCode {
    let (outputs, code) = match result {
        Ok(r) => (Some(&r.outputs), ExitCode::Success),
        Err(e) => (e.outputs(), e.exit_code()),
    };
    let mut code = code;
    if let Some(o) = outputs.filter(|o| !o.is_empty()) {
        match actions.set_outputs(o.github_pairs()) {
            Ok(true) => {}
            Ok(false) if !json => {
                let _ = err.write_all(o.human_lines().as_bytes());
            }
            Ok(false) => {}
            Err(e) => {
                let _ = writeln!(err, "error: could not write outputs: {e}");
                code = ExitCode::Failed;
            }
        }
    }
    let mut summary = outputs.map(|o| o.summary_table(title)).unwrap_or_default();
    match result {
        Ok(r) => {
            if let Some(extra) = &r.summary {
                summary.push('\n');
                summary.push_str(extra);
            }
        }
        Err(e) => {
            if summary.is_empty() {
                summary = format!("### {title}\n\n");
            }
            // A failure's own summary (the rollout's timeline) comes first, as it did when the
            // rollout wrote it itself.
            if let Some(own) = e.summary() {
                let mut first = own.to_owned();
                if !first.ends_with('\n') {
                    first.push('\n');
                }
                summary.insert_str(0, &first);
            }
            summary.push_str(&format!(
                "\n**{}** (exit {}): {}\n",
                e.title(),
                e.exit_code().code(),
                e.message().replace('\n', " ")
            ));
            let mut message = e.message().to_owned();
            for h in e.hints() {
                message.push_str("\nhelp: ");
                message.push_str(h);
            }
            if actions.github {
                let a = Annotation::new(Level::Error, message).title(e.title());
                let _ = github::write_annotation(err, &a, true);
            } else {
                let _ = writeln!(err, "{}", e.render());
            }
        }
    }
    if let Err(e) = actions.append_summary(&summary) {
        let _ = writeln!(err, "warning: could not write the step summary: {e}");
    }
    if json {
        let obj = Value::Object(json_object(result));
        let _ = writeln!(out, "{obj}");
    }
    code
}

/// [`finish_to`] on the real streams, with the runner's environment.
pub fn finish(title: &str, json: bool, result: Result<Report, Error>) -> std::process::ExitCode {
    let actions = Actions::from_env();
    // The kit owns the one stdout writer: stdout carries only the `--json` object.
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    finish_to(&actions, title, json, &result, &mut out, &mut err).into()
}

/// Registers a secret with the runner (`::add-mask::`) before anything could print it.
pub fn mask(secret: &str) {
    let actions_on = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let _ = github::write_mask(&mut std::io::stderr().lock(), secret, actions_on);
}

/// Opens a log group; it ends when the guard drops.
pub fn group(name: &str) -> GroupGuard {
    let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let _ = github::write_group(&mut std::io::stderr().lock(), name, github);
    GroupGuard { github }
}

/// Ends a `::group::` on drop.
#[must_use = "the group ends when this guard drops"]
pub struct GroupGuard {
    github: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = github::write_endgroup(&mut std::io::stderr().lock(), self.github);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> Outputs {
        let mut o = Outputs::new();
        o.set("invalidation-id", "I1").set("path-count", 1);
        o
    }

    fn run(actions: &Actions, json: bool, r: &Result<Report, Error>) -> (ExitCode, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = finish_to(actions, "Invalidation", json, r, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn success_in_actions_writes_files_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let a = Actions {
            github: true,
            output: Some(dir.path().join("o")),
            summary: Some(dir.path().join("s")),
            ..Actions::default()
        };
        let (code, out, err) = run(&a, true, &Ok(Report::new(outputs())));
        assert_eq!(code, ExitCode::Success);
        insta::assert_snapshot!(out, @r#"{"invalidation-id":"I1","path-count":1}"#);
        assert_eq!(err, "");
        let o = std::fs::read_to_string(dir.path().join("o")).unwrap();
        assert!(
            o.starts_with("invalidation-id<<ghadelimiter_") && o.contains("\nI1\n"),
            "{o}"
        );
        let s = std::fs::read_to_string(dir.path().join("s")).unwrap();
        assert!(s.contains("| invalidation-id | I1 |"), "{s}");
    }

    #[test]
    fn failure_keeps_partial_outputs_and_annotates() {
        let dir = tempfile::tempdir().unwrap();
        let a = Actions {
            github: true,
            output: Some(dir.path().join("o")),
            ..Actions::default()
        };
        let e = Error::deadline("invalidation I1 still InProgress after 15m")
            .with_hint("re-run to keep waiting")
            .with_outputs(outputs());
        let (code, out, err) = run(&a, true, &Err(e));
        assert_eq!(code, ExitCode::DeadlineExceeded);
        insta::assert_snapshot!(out, @r#"{"invalidation-id":"I1","path-count":1,"error":"invalidation I1 still InProgress after 15m","exit-code":4}"#);
        insta::assert_snapshot!(err, @"::error title=gantry%3A deadline passed::invalidation I1 still InProgress after 15m%0Ahelp: re-run to keep waiting");
        assert!(
            std::fs::read_to_string(dir.path().join("o"))
                .unwrap()
                .contains("I1")
        );
    }

    #[test]
    fn outside_actions_prints_plain_text() {
        let (code, out, err) = run(&Actions::default(), false, &Ok(Report::new(outputs())));
        assert_eq!(code, ExitCode::Success);
        assert_eq!(out, "", "stdout stays empty without --json");
        insta::assert_snapshot!(err, @r"
        invalidation-id: I1
        path-count: 1
        ");
        let (code, out, err) = run(
            &Actions::default(),
            false,
            &Err(Error::input("--paths: empty").with_hint("give at least one path")),
        );
        assert_eq!(code, ExitCode::InputRejected);
        assert_eq!(out, "");
        insta::assert_snapshot!(err, @r"
        error: --paths: empty
          help: give at least one path
        ");
    }

    #[test]
    fn a_failure_carries_its_summary() {
        let dir = tempfile::tempdir().unwrap();
        let a = Actions {
            summary: Some(dir.path().join("s")),
            ..Actions::default()
        };
        let e = Error::rolled_back("alarm web-5xx fired")
            .with_summary("| rollout | |\n| --- | --- |")
            .with_outputs(outputs());
        let (code, _, _) = run(&a, false, &Err(e));
        assert_eq!(code, ExitCode::RolledBack);
        let s = std::fs::read_to_string(dir.path().join("s")).unwrap();
        insta::assert_snapshot!(s, @r"
        | rollout | |
        | --- | --- |
        ### Invalidation

        | output | value |
        | --- | --- |
        | invalidation-id | I1 |
        | path-count | 1 |

        **gantry: rolled back** (exit 3): alarm web-5xx fired
        ");
    }

    #[test]
    fn dry_run_json_has_plan() {
        let r = Report {
            outputs: outputs(),
            plan: Some(serde_json::json!({"batches": 1})),
            summary: None,
        };
        let (_, out, _) = run(&Actions::default(), true, &Ok(r));
        insta::assert_snapshot!(out, @r#"{"invalidation-id":"I1","path-count":1,"plan":{"batches":1}}"#);
    }
}
