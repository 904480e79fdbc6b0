//! `gantry-act <ACTION_DIR> [--input NAME=VALUE]... [--env NAME=VALUE]... [--workspace DIR] [--json]`
//!
//! Exit codes: 0 the action succeeded · 1 it failed · 2 the action file is invalid, a required
//! input is missing, or gantry-act refuses something in it (a remote `uses:`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gantry_act::{ActError, RunResult, Runner};
use serde_json::json;

/// Runs a composite action locally the way the GitHub runner does.
#[derive(Debug, Parser)]
#[command(
    name = "gantry-act",
    version,
    after_help = "Exit codes: 0 succeeded, 1 failed, 2 invalid action, missing required input or unsupported feature."
)]
struct Cli {
    /// Directory holding the action.yml.
    action_dir: PathBuf,
    /// An input, as `with:` gives it (repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = pair)]
    inputs: Vec<(String, String)>,
    /// An environment variable, as the calling step's `env:` gives it (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = pair)]
    envs: Vec<(String, String)>,
    /// GITHUB_WORKSPACE (default: $GITHUB_WORKSPACE, else the current directory).
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    json: bool,
}

fn pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got '{s}'")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_mode = cli.json;
    let mut runner = Runner::new(&cli.action_dir);
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
