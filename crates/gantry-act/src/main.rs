//! `gantry-act <ACTION_DIR> [--input NAME=VALUE]... [--env NAME=VALUE]... [--workspace DIR] [--json]`
//! `gantry-act workflow FILE [--event E] [--input K=V]... [--vars F] [--secrets F] [--approve ENV]...`
//!
//! Exit codes: 0 the action (workflow) succeeded · 1 it failed · 2 the file is invalid, a
//! required input is missing, or gantry-act refuses something in it (a remote `uses:`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gantry_act::cli::{Cli, Mode, WorkflowArgs};
use gantry_act::workflow::report;
use gantry_act::{ActError, RunResult, Runner, WorkflowRun};
use serde_json::json;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Mode::Workflow(args)) = cli.command {
        return workflow(args);
    }
    let json_mode = cli.json;
    let mut runner = Runner::new(cli.action_dir.unwrap_or_default());
    for (k, v) in cli.inputs {
        runner = runner.input(k, v);
    }
    for (k, v) in cli.envs {
        runner = runner.env(k, v);
    }
    if let Some(w) = cli.workspace {
        runner = runner.workspace(w);
    }
    match runner.run() {
        Ok(result) => {
            if json_mode {
                print_json(&result_json(&result));
            } else {
                report(&result);
            }
            ExitCode::from(if result.success { 0 } else { 1 })
        }
        Err(e) => {
            report_error(&e);
            if json_mode {
                print_json(&error_json(&e));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn workflow(args: WorkflowArgs) -> ExitCode {
    use std::io::IsTerminal;
    let json_mode = args.json;
    let mut run = WorkflowRun::new(args.file);
    run.event = args.event;
    run.inputs = args.inputs.into_iter().collect();
    run.vars_files = args.vars;
    run.secrets_files = args.secrets;
    run.approve = args.approve;
    run.reject = args.reject;
    run.interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    run.repo_root = args.repo_root;
    run.repos = args
        .repos
        .into_iter()
        .map(|(k, v)| (k, PathBuf::from(v)))
        .collect();
    run.skip_steps = args.skip_steps;
    run.workspace = args.workspace;
    run.check_only = args.check;
    match gantry_act::workflow::run(&run) {
        Ok(result) => {
            if json_mode {
                print_json(&report::json(&result));
            } else if !run.check_only {
                eprint_text(&report::table(&result));
            }
            ExitCode::from(if result.success { 0 } else { 1 })
        }
        Err(e) => {
            report_error(&e);
            if json_mode {
                print_json(&report::error_json(&e));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

#[allow(
    clippy::print_stderr,
    reason = "the human report goes to stderr so stdout stays clean"
)]
fn eprint_text(text: &str) {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
}

/// The `--json` object. Values are masked: everything gantry-act prints is.
fn result_json(r: &RunResult) -> serde_json::Value {
    json!({
        "success": r.success,
        "outputs": r.outputs.iter().map(|(k, v)| (k.clone(), json!(r.mask(v)))).collect::<serde_json::Map<_, _>>(),
        "steps": r.steps.iter().map(|s| json!({
            "id": s.id,
            "outcome": s.outcome,
            "conclusion": s.conclusion,
        })).collect::<Vec<_>>(),
        "annotations": r.annotations.iter().map(|a| json!({
            "level": a.level,
            "title": a.title,
            "file": a.file,
            "line": a.line,
            "message": a.message,
        })).collect::<Vec<_>>(),
        "summary": r.summary,
    })
}

fn error_json(e: &ActError) -> serde_json::Value {
    json!({
        "success": false,
        "outputs": {},
        "steps": [],
        "annotations": [],
        "summary": "",
        "error": e.to_string(),
        "exit-code": e.exit_code(),
    })
}

#[allow(
    clippy::print_stdout,
    reason = "the single stdout writer: the --json object"
)]
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

#[allow(
    clippy::print_stderr,
    reason = "the human report goes to stderr so stdout stays clean"
)]
fn report(r: &RunResult) {
    let verdict = if r.success { "succeeded" } else { "failed" };
    let mut text = format!("gantry-act: the action {verdict}\n");
    for s in &r.steps {
        text.push_str(&format!(
            "  step {}: {} (outcome {})\n",
            s.id,
            s.conclusion.as_str(),
            s.outcome.as_str()
        ));
    }
    for (k, v) in &r.outputs {
        text.push_str(&format!("  output {k}={}\n", r.mask(v)));
    }
    for a in &r.annotations {
        text.push_str(&format!("  {}: {}\n", a.level.as_str(), a.message));
    }
    eprint!("{text}");
    let _ = std::io::stderr().flush();
}

#[allow(
    clippy::print_stderr,
    reason = "the error report goes to stderr so stdout stays clean"
)]
fn report_error(e: &ActError) {
    eprintln!("gantry-act: error: {e}");
}
