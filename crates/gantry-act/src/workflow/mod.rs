//! Workflow mode: runs a whole workflow file the way GitHub does — jobs in `needs` order with
//! GitHub's skip and failure propagation, matrices, reusable workflows, environments behind an
//! approval gate, vars and secrets — on this machine, one job after another.
//!
//! [`model`] parses and checks the file, [`graph`] orders the jobs, [`matrix`] expands
//! strategies, [`inputs`] checks dispatch and call inputs, [`gate`] decides approvals, [`vars`]
//! reads the vars/secrets files, [`reusable`] finds called workflows, [`shims`] stands in for
//! the marketplace actions, [`run`] runs it all (one job instance in `instance`, one step in
//! `step`) and [`report`] prints and serialises the result.
//!
//! ```no_run
//! let result = gantry_act::workflow::run(
//!     &gantry_act::WorkflowRun::new(".github/workflows/deploy.yml")
//!         .event("workflow_dispatch")
//!         .input("environment", "staging")
//!         .approve("staging"),
//! )?;
//! assert!(result.success);
//! # Ok::<(), gantry_act::ActError>(())
//! ```

mod context;
pub mod gate;
pub mod graph;
pub mod inputs;
mod instance;
pub mod matrix;
pub mod model;
pub mod report;
pub mod reusable;
mod run;
pub mod shims;
mod skip;
mod step;
pub mod vars;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

pub use gate::Decision;
pub use graph::JobStatus;
pub use run::run;

use crate::commands::Annotation;
use crate::runner::StepResult;

/// Where the run's log goes; cloned into every job.
#[derive(Clone)]
pub struct LogSink(Arc<Mutex<Box<dyn Write + Send>>>);

impl LogSink {
    pub fn new(w: impl Write + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(w))))
    }

    pub fn stderr() -> Self {
        Self::new(std::io::stderr())
    }
}

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .flush()
    }
}

/// What to run and with what: the command line of `gantry-act workflow`, as a value.
#[derive(Clone)]
pub struct WorkflowRun {
    /// The workflow file.
    pub file: PathBuf,
    /// `push`, `pull_request`, `workflow_dispatch` or `workflow_call`; `None`: the workflow's
    /// first event among those.
    pub event: Option<String>,
    /// `--input NAME=VALUE`: dispatch inputs, or the inputs of a workflow run as if called.
    pub inputs: IndexMap<String, String>,
    /// `--vars FILE` (variables only) and `--secrets FILE` (both), merged in order.
    pub vars_files: Vec<PathBuf>,
    pub secrets_files: Vec<PathBuf>,
    /// `--approve NAME` / `--reject NAME`: environment gates decided up front.
    pub approve: Vec<String>,
    pub reject: Vec<String>,
    /// Ask on the terminal for gates no flag decides (the CLI sets it when stdin is a TTY).
    pub interactive: bool,
    /// The repository the workflow belongs to (what `actions/checkout` checks out and
    /// `./.github/workflows/…` resolves in); default: the git top level above the file.
    pub repo_root: Option<PathBuf>,
    /// `--repo OWNER/REPO=DIR`: local checkouts for `OWNER/REPO/…@REF` and checkouts of them.
    pub repos: Vec<(String, PathBuf)>,
    /// `--skip-step [JOB:]STEP`: steps not run (by id, name, `uses:` action or 1-based number).
    pub skip_steps: Vec<String>,
    /// One workspace for every job; default: a fresh directory per job, as on GitHub.
    pub workspace: Option<PathBuf>,
    /// Overrides of `github` context values (`sha`, `ref`, `run_id`, `token`, …).
    pub github: IndexMap<String, String>,
    /// Only check (the file, the inputs, every called workflow, shims, permissions) as GitHub
    /// does before a run starts, and run no job.
    pub check_only: bool,
    /// Where the log goes (default: stderr).
    pub log: Option<LogSink>,
}

impl WorkflowRun {
    pub fn new(file: impl Into<PathBuf>) -> Self {
        Self {
            file: file.into(),
            event: None,
            inputs: IndexMap::new(),
            vars_files: Vec::new(),
            secrets_files: Vec::new(),
            approve: Vec::new(),
            reject: Vec::new(),
            interactive: false,
            repo_root: None,
            repos: Vec::new(),
            skip_steps: Vec::new(),
            workspace: None,
            github: IndexMap::new(),
            check_only: false,
            log: None,
        }
    }

    pub fn check_only(mut self) -> Self {
        self.check_only = true;
        self
    }

    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    pub fn input(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inputs.insert(name.into(), value.into());
        self
    }

    pub fn vars_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.vars_files.push(path.into());
        self
    }

    pub fn secrets_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.secrets_files.push(path.into());
        self
    }

    pub fn approve(mut self, environment: impl Into<String>) -> Self {
        self.approve.push(environment.into());
        self
    }

    pub fn reject(mut self, environment: impl Into<String>) -> Self {
        self.reject.push(environment.into());
        self
    }

    pub fn repo_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.repo_root = Some(dir.into());
        self
    }

    pub fn repo(mut self, name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        self.repos.push((name.into(), dir.into()));
        self
    }

    pub fn skip_step(mut self, selector: impl Into<String>) -> Self {
        self.skip_steps.push(selector.into());
        self
    }

    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = Some(dir.into());
        self
    }

    pub fn github(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.github.insert(key.into(), value.into());
        self
    }

    pub fn log_to(mut self, log: impl Write + Send + 'static) -> Self {
        self.log = Some(LogSink::new(log));
        self
    }
}

/// One job (or one matrix instance) as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// The job id; a called workflow's jobs are `caller/callee`.
    pub id: String,
    /// The displayed name (`name:`, or the id; matrix instances add their values).
    pub name: String,
    pub result: JobStatus,
    #[serde(serialize_with = "millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The job's `outputs:` (unmasked; outputs holding a secret are left out, as on GitHub).
    pub outputs: IndexMap<String, String>,
    pub steps: Vec<StepResult>,
    pub runs_on: Option<String>,
    pub environment: Option<String>,
    /// The environment's `url`, evaluated after the job.
    pub url: Option<String>,
    /// The token permissions the job had, as `scope: access` pairs.
    pub permissions: String,
    /// The job's concurrency group, evaluated (recorded only).
    pub concurrency: Option<String>,
    /// The matrix combination of an instance.
    pub matrix: Option<serde_json::Value>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An environment gate and how it was decided.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub job: String,
    pub environment: String,
    pub decision: Decision,
}

/// What a workflow run produced.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowResult {
    /// False when a job failed (after `continue-on-error`).
    pub success: bool,
    /// The workflow's `name:` (or its path).
    pub name: String,
    pub event: String,
    /// Every job and matrix instance, in the order they ran (skipped ones included).
    pub jobs: Vec<JobReport>,
    /// `on.workflow_call.outputs`, when the workflow was run as called.
    pub outputs: IndexMap<String, String>,
    pub approvals: Vec<Approval>,
    /// Annotations of every job (masked).
    pub annotations: Vec<Annotation>,
    /// The workflow's concurrency group, evaluated (recorded only).
    pub concurrency: Option<String>,
    /// Step summaries of every job, in order (masked).
    pub summary: String,
    /// Secrets and `::add-mask::` values: what [`WorkflowResult::mask`] hides.
    #[serde(skip)]
    pub masks: Vec<String>,
}

impl WorkflowResult {
    /// The report of the job (or first instance) with this id.
    pub fn job(&self, id: &str) -> Option<&JobReport> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// Replaces secrets and masked values by `***`.
    pub fn mask(&self, text: &str) -> String {
        crate::commands::Masker::with_values(&self.masks).mask(text)
    }
}
