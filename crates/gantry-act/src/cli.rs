//! The command line, clap only: `gantry-act ACTION_DIR …` runs a composite action,
//! `gantry-act workflow FILE …` a workflow (docs/act.md).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Runs a composite action (or, with `workflow`, a whole workflow) locally the way GitHub does.
#[derive(Debug, Parser)]
#[command(
    name = "gantry-act",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Exit codes: 0 succeeded, 1 failed, 2 invalid action, missing required input or unsupported feature."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Mode>,
    /// Directory holding the action.yml.
    #[arg(required = true)]
    pub action_dir: Option<PathBuf>,
    /// An input, as `with:` gives it (repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = pair)]
    pub inputs: Vec<(String, String)>,
    /// An environment variable, as the calling step's `env:` gives it (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = pair)]
    pub envs: Vec<(String, String)>,
    /// GITHUB_WORKSPACE (default: $GITHUB_WORKSPACE, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// Runs a workflow file: its jobs in `needs` order, with gates, matrices and reusable workflows.
    Workflow(WorkflowArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every job succeeded, 1 a job failed, 2 the workflow is invalid, an input is refused, or it uses something gantry-act refuses (a remote action without a shim)."
)]
pub struct WorkflowArgs {
    /// The workflow file (.github/workflows/X.yml).
    pub file: PathBuf,
    /// The triggering event: push, pull_request, workflow_dispatch or workflow_call (default: the
    /// workflow's first of those).
    #[arg(long)]
    pub event: Option<String>,
    /// An input of workflow_dispatch or workflow_call (repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = pair)]
    pub inputs: Vec<(String, String)>,
    /// A vars file: top-level `vars` and `environments: {NAME: {vars}}` (repeatable).
    #[arg(long = "vars", value_name = "FILE")]
    pub vars: Vec<PathBuf>,
    /// A secrets file: like a vars file, with `secrets` too (repeatable).
    #[arg(long = "secrets", value_name = "FILE")]
    pub secrets: Vec<PathBuf>,
    /// Approves the gate of an environment (repeatable).
    #[arg(long = "approve", value_name = "ENV")]
    pub approve: Vec<String>,
    /// Rejects the gate of an environment: its jobs fail, their dependants are skipped (repeatable).
    #[arg(long = "reject", value_name = "ENV")]
    pub reject: Vec<String>,
    /// The repository the workflow belongs to (default: the git top level above FILE).
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// A local checkout for OWNER/REPO (reusable workflows OWNER/REPO/...@REF, checkouts of it),
    /// read at REF; OWNER/REPO@REF=DIR makes DIR's working tree stand for that REF (repeatable).
    #[arg(long = "repo", value_name = "OWNER/REPO[@REF]=DIR", value_parser = pair)]
    pub repos: Vec<(String, String)>,
    /// A step not to run, shown as skipped: [JOB:]STEP, STEP being the step's id, name, `uses`
    /// action or 1-based number (repeatable; one that matches nothing is an error).
    #[arg(long = "skip-step", value_name = "[JOB:]STEP")]
    pub skip_steps: Vec<String>,
    /// One workspace for every job (default: a fresh directory per job, as on GitHub).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Check the workflow, its inputs and what it calls as GitHub does before a run; run no job.
    #[arg(long)]
    pub check: bool,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got '{s}'")),
    }
}
