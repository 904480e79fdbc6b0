//! Running a workflow: checks before any job starts, then the jobs in `needs` order, each with
//! its gate, matrix, steps and outputs; called workflows run nested under their caller job.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::graph::{self, JobStatus, Upstream};
use super::inputs;
use super::matrix::{self, Combination};
use super::model::{self, CallSecrets, Job, JobKind, Permissions, StepKind, Workflow};
use super::reusable;
use super::shims::{self, ShimContext};
use super::vars::Settings;
use super::{Approval, JobReport, LogSink, WorkflowResult, WorkflowRun, gate};
use crate::action::{self, Shell};
use crate::commands::{Annotation, AnnotationLevel, Masker};
use crate::error::ActError;
use crate::expr::eval::string_map;
use crate::expr::{Scope, Template, Value};
use crate::runner::{self, JobSetup, StepResult, StepRun, StepStatus};

/// The events `--event` accepts.
pub const EVENTS: [&str; 4] = ["push", "pull_request", "workflow_dispatch", "workflow_call"];

/// GitHub's default job timeout, in minutes.
const DEFAULT_TIMEOUT_MINUTES: f64 = 360.0;

/// GitHub's limit on distinct reusable workflows a run may call.
const MAX_CALLED_WORKFLOWS: usize = 20;

/// Runs a workflow. Errors are what GitHub refuses before a run starts (an invalid file, a
/// missing input, a cycle in `needs`, a remote action without a shim); a failing job is not an
/// error but a result with `success` false.
pub fn run(opts: &WorkflowRun) -> Result<WorkflowResult, ActError> {
    let wf = Rc::new(model::load(&opts.file)?);
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| ActError::Io { what, source }
    };
    let repo_root = match &opts.repo_root {
        Some(r) => std::path::absolute(r).map_err(io("resolving --repo-root"))?,
        None => default_repo_root(&wf.file),
    };
    let event = match &opts.event {
        Some(e) if !EVENTS.contains(&e.as_str()) => {
            return Err(ActError::BadInput(format!(
                "--event '{e}' is not supported; accepted: {}",
                EVENTS.join(", ")
            )));
        }
        Some(e) => e.clone(),
        None => EVENTS
            .iter()
            .find(|e| wf.on.events.iter().any(|w| w == *e))
            .map(|e| (*e).to_owned())
            .ok_or_else(|| {
                ActError::BadInput(format!(
                    "{}: the workflow runs on {}; gantry-act runs {} (pass --event)",
                    wf.file.display(),
                    wf.on.events.join(", "),
                    EVENTS.join(", ")
                ))
            })?,
    };
    if !wf.on.events.contains(&event) {
        return Err(ActError::BadInput(format!(
            "{}: the workflow does not run on {event} (its events: {})",
            wf.file.display(),
            wf.on.events.join(", ")
        )));
    }
    let mut settings = Settings::default();
    for f in &opts.vars_files {
        settings.merge(Settings::read(f, false)?);
    }
    for f in &opts.secrets_files {
        settings.merge(Settings::read(f, true)?);
    }
    if let Some(env) = gate::conflict(&opts.approve, &opts.reject) {
        return Err(ActError::BadInput(format!(
            "environment '{env}' is given to both --approve and --reject"
        )));
    }
    for (name, dir) in &opts.repos {
        if name.split('/').count() != 2 || !dir.is_dir() {
            return Err(ActError::BadInput(format!(
                "--repo {name}={}: expected OWNER/REPO=DIR with an existing directory",
                dir.display()
            )));
        }
    }
    let private = tempfile::Builder::new()
        .prefix("gantry-act-workflow-")
        .tempdir()
        .map_err(io("creating a temporary directory"))?;
    let github = github_base(opts, &repo_root, &event, &wf.name);

    // Inputs, checked as GitHub checks them before a run starts.
    let given: IndexMap<String, Json> = opts
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let environments: Vec<String> = settings.environments.keys().cloned().collect();
    let run_inputs = match event.as_str() {
        "workflow_dispatch" => {
            let specs = wf.on.dispatch.clone().unwrap_or_default();
            let defaults = specs
                .iter()
                .filter_map(|(k, s)| Some((k.clone(), s.default.clone()?)))
                .collect();
            let envs = (!environments.is_empty()).then_some(environments.as_slice());
            inputs::check("workflow_dispatch", &specs, &given, &defaults, envs)
                .map_err(ActError::BadInput)?
        }
        "workflow_call" => {
            let specs = wf
                .on
                .call
                .as_ref()
                .map(|c| c.inputs.clone())
                .unwrap_or_default();
            let scope = Scope::new().with("github", github_value(&github, &Json::Null));
            let defaults = eval_defaults(&wf.file, &specs, &scope)?;
            inputs::check("workflow_call", &specs, &given, &defaults, None)
                .map_err(ActError::BadInput)?
        }
        _ => {
            if let Some(name) = opts.inputs.keys().next() {
                return Err(ActError::BadInput(format!(
                    "--input {name}: inputs are for workflow_dispatch and workflow_call, not {event}"
                )));
            }
            IndexMap::new()
        }
    };
    let payload = event_payload(&event, &github, &run_inputs, &wf.file, &repo_root);
    let event_path = private.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).map_err(io("writing the event file"))?;
    let mut github = github;
    github.insert("event_path".into(), event_path.display().to_string());

    let artifacts = private.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).map_err(io("creating the artifact store"))?;
    let mut masker = Masker::default();
    for s in settings.all_secrets() {
        masker.add(&s);
    }
    if let Some(t) = github.get("token") {
        masker.add(t);
    }
    let skips = opts
        .skip_steps
        .iter()
        .map(|s| SkipStep::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut r = Run {
        opts,
        settings,
        log: opts.log.clone().unwrap_or_else(LogSink::stderr),
        masker,
        github,
        event: payload,
        repo_root,
        private: private.path().to_owned(),
        artifacts,
        skips,
        called: HashMap::new(),
        reports: Vec::new(),
        approvals: Vec::new(),
        annotations: Vec::new(),
        summary: String::new(),
        counter: 0,
    };

    // Everything GitHub checks before the run starts, in this workflow and those it calls.
    let root = r.repo_root.clone();
    r.preflight(&wf, &root, 1, None)?;
    if let Some(unused) = r.skips.iter().find(|s| !s.used) {
        return Err(ActError::BadInput(format!(
            "--skip-step '{}' matches no step of the workflow (a step is named by its id, its name, its 'uses' action or its 1-based number, optionally after JOB:)",
            unused.text
        )));
    }

    let secrets = r.repository_secrets();
    r.say(&format!(
        "gantry-act: workflow '{}' on {event} ({})",
        wf.name,
        wf.file.display()
    ));
    let top_scope = r.top_scope(&run_inputs);
    if let Some(t) = &wf.run_name
        && let Ok(name) = t.eval_string(&top_scope)
    {
        r.say(&format!("gantry-act: run name: {name}"));
    }
    let concurrency = wf.concurrency.as_ref().and_then(|c| {
        let group = c.group.eval_string(&top_scope).ok()?;
        let cancel = c
            .cancel_in_progress
            .as_ref()
            .and_then(|t| t.eval_string(&top_scope).ok())
            .unwrap_or_else(|| "false".to_owned());
        r.say(&format!(
            "gantry-act: concurrency group '{group}' (cancel-in-progress: {cancel}): recorded; runs here never overlap"
        ));
        Some(group)
    });
    let frame = Frame {
        prefix: String::new(),
        inputs: run_inputs,
        secrets,
        depth: 1,
        cap: None,
        repo_dir: root,
    };
    let outcome = r.workflow(&wf, &frame)?;
    let outputs = if event == "workflow_call" {
        r.call_outputs(&wf, &frame, &outcome)
    } else {
        IndexMap::new()
    };
    let success = !outcome
        .statuses
        .values()
        .any(|s| matches!(s, JobStatus::Failure | JobStatus::Cancelled));
    let result = WorkflowResult {
        success,
        name: wf.name.clone(),
        event,
        jobs: r.reports,
        outputs,
        approvals: r.approvals,
        annotations: r.annotations,
        concurrency,
        summary: r.summary,
        masks: r.masker.values().to_vec(),
    };
    drop(private);
    Ok(result)
}

/// The git top level above the workflow file, else the directory above `.github/workflows`.
fn default_repo_root(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("."));
    let top = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    top.unwrap_or_else(|| {
        dir.ancestors()
            .nth(2)
            .filter(|_| dir.ends_with(".github/workflows"))
            .unwrap_or(dir)
            .to_owned()
    })
}

fn git_out(dir: &Path, args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The run's `github` context as strings: the runner's defaults, this checkout's commit and
/// branch, then the caller's overrides.
fn github_base(
    opts: &WorkflowRun,
    repo_root: &Path,
    event: &str,
    workflow: &str,
) -> IndexMap<String, String> {
    let mut g = runner::github_defaults(repo_root);
    let env_set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    if !env_set("GITHUB_SHA")
        && let Some(sha) = git_out(repo_root, &["rev-parse", "HEAD"])
    {
        g.insert("sha".into(), sha);
    }
    if !env_set("GITHUB_REF")
        && let Some(r) = git_out(repo_root, &["symbolic-ref", "-q", "HEAD"])
    {
        g.insert("ref".into(), r);
    }
    g.insert("event_name".into(), event.to_owned());
    g.insert("workflow".into(), workflow.to_owned());
    g.extend(opts.github.clone());
    if !opts.github.contains_key("ref_name") {
        let r = g.get("ref").cloned().unwrap_or_default();
        let name = r
            .strip_prefix("refs/heads/")
            .or_else(|| r.strip_prefix("refs/tags/"))
            .unwrap_or(&r)
            .to_owned();
        g.insert("ref_name".into(), name);
        let kind = if r.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        };
        g.insert("ref_type".into(), kind.into());
    }
    g
}

/// The event payload (`github.event`, `GITHUB_EVENT_PATH`): the fields our workflows read.
fn event_payload(
    event: &str,
    github: &IndexMap<String, String>,
    inputs: &IndexMap<String, Json>,
    file: &Path,
    repo_root: &Path,
) -> Json {
    let g = |k: &str| github.get(k).cloned().unwrap_or_default();
    let repo = g("repository");
    let repository = json!({
        "full_name": repo,
        "name": repo.split('/').nth(1).unwrap_or_default(),
        "owner": {"login": g("repository_owner")},
        "default_branch": "main",
    });
    let sender = json!({"login": g("actor")});
    let workflow = file
        .strip_prefix(repo_root)
        .unwrap_or(file)
        .display()
        .to_string();
    match event {
        "workflow_dispatch" => json!({
            "inputs": inputs::as_event_strings(inputs),
            "ref": g("ref"),
            "repository": repository,
            "sender": sender,
            "workflow": workflow,
        }),
        "push" => json!({
            "ref": g("ref"),
            "before": "0".repeat(40),
            "after": g("sha"),
            "repository": repository,
            "sender": sender,
            "head_commit": {"id": g("sha")},
        }),
        "pull_request" => json!({
            "action": "opened",
            "number": 1,
            "pull_request": {
                "number": 1,
                "head": {"ref": g("ref_name"), "sha": g("sha")},
                "base": {"ref": "main"},
            },
            "repository": repository,
            "sender": sender,
        }),
        _ => json!({"inputs": inputs, "repository": repository, "sender": sender}),
    }
}

/// The `github` context as a value, with the event payload.
fn github_value(github: &IndexMap<String, String>, event: &Json) -> Value {
    let mut map: IndexMap<String, Value> = github
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    map.insert("event".into(), Value::from_json(event));
    Value::Object(Rc::new(map))
}

fn json_map(map: &IndexMap<String, Json>) -> Value {
    Value::from_json(&Json::Object(
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    ))
}

/// `workflow_call` input defaults, evaluated (they may read `github`).
fn eval_defaults(
    file: &Path,
    specs: &IndexMap<String, model::InputSpec>,
    scope: &Scope,
) -> Result<IndexMap<String, String>, ActError> {
    let mut out = IndexMap::new();
    for (name, spec) in specs {
        if let Some(d) = &spec.default {
            let place = format!("on.workflow_call.inputs.{name}.default");
            let value = Template::parse_in(d, crate::expr::Dialect::WORKFLOW)
                .and_then(|t| t.eval_string(scope))
                .map_err(|source| ActError::Expression {
                    file: file.to_owned(),
                    place,
                    source,
                })?;
            out.insert(name.clone(), value);
        }
    }
    Ok(out)
}

/// A `--skip-step [JOB:]STEP` selector.
struct SkipStep {
    text: String,
    job: Option<String>,
    step: String,
    used: bool,
}

impl SkipStep {
    fn parse(text: &str) -> Result<Self, ActError> {
        let (job, step) = match text.split_once(':') {
            Some((job, step))
                if !job.is_empty()
                    && job
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                (Some(job.to_owned()), step.to_owned())
            }
            _ => (None, text.to_owned()),
        };
        if step.trim().is_empty() {
            return Err(ActError::BadInput(format!(
                "--skip-step '{text}': expected [JOB:]STEP (a step id, name, 'uses' action or 1-based number)"
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            job,
            step,
            used: false,
        })
    }

    fn matches(&self, job: &str, index: usize, step: &model::Step) -> bool {
        if self.job.as_deref().is_some_and(|j| j != job) {
            return false;
        }
        let s = self.step.as_str();
        (step.has_id && step.id == s)
            || step.name_text.as_deref() == Some(s)
            || step
                .uses
                .as_deref()
                .and_then(|u| u.split('@').next())
                .is_some_and(|u| u.eq_ignore_ascii_case(s))
            || s.parse::<usize>().is_ok_and(|n| n == index + 1)
    }
}

/// Where a workflow runs: at the top, or called by a job.
struct Frame {
    /// `caller/` for the jobs of a called workflow.
    prefix: String,
    inputs: IndexMap<String, Json>,
    /// The `secrets` context (without environment secrets).
    secrets: IndexMap<String, String>,
    depth: usize,
    /// The calling job's permissions: a called workflow's jobs get at most these.
    cap: Option<Permissions>,
    /// The workflow's repository: where `$/…` and local reusable workflows resolve.
    repo_dir: PathBuf,
}

struct Outcome {
    statuses: IndexMap<String, JobStatus>,
    outputs: IndexMap<String, IndexMap<String, String>>,
}

struct Run<'a> {
    opts: &'a WorkflowRun,
    settings: Settings,
    log: LogSink,
    /// Every secret and mask, for the run's own lines and the result.
    masker: Masker,
    github: IndexMap<String, String>,
    event: Json,
    repo_root: PathBuf,
    private: PathBuf,
    artifacts: PathBuf,
    skips: Vec<SkipStep>,
    /// Called workflows by their repository and `uses:`, loaded once, with their repository.
    called: HashMap<(PathBuf, String), (Rc<Workflow>, PathBuf)>,
    reports: Vec<JobReport>,
    approvals: Vec<Approval>,
    annotations: Vec<Annotation>,
    summary: String,
    counter: usize,
}

/// What one job instance produced.
struct Instance {
    status: JobStatus,
    outputs: IndexMap<String, String>,
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn effective_permissions(job: &Job, wf: &Workflow, cap: Option<&Permissions>) -> Permissions {
    job.permissions
        .clone()
        .or_else(|| wf.permissions.clone())
        .or_else(|| cap.cloned())
        .unwrap_or_else(Permissions::restricted_default)
}

fn truthy_text(v: &Value) -> bool {
    match v {
        Value::String(s) => s.trim() == "true",
        v => v.is_truthy(),
    }
}

impl Run<'_> {
    /// A line of the run's own, masked.
    fn say(&mut self, text: &str) {
        let masked = self.masker.mask(text);
        let _ = writeln!(self.log, "{masked}");
    }

    fn repository_secrets(&self) -> IndexMap<String, String> {
        let mut s = self.settings.repository.secrets.clone();
        if let Some(t) = self.github.get("token") {
            s.insert("GITHUB_TOKEN".into(), t.clone());
        }
        s
    }

    fn github_for(&self, job: Option<&str>) -> Value {
        let mut g = self.github.clone();
        if let Some(j) = job {
            g.insert("job".into(), j.to_owned());
        }
        github_value(&g, &self.event)
    }

    fn top_scope(&self, inputs: &IndexMap<String, Json>) -> Scope {
        Scope::new()
            .with("github", self.github_for(None))
            .with("inputs", json_map(inputs))
            .with("vars", string_map(&self.settings.repository.vars))
    }

    fn invalid(file: &Path, message: String) -> ActError {
        ActError::InvalidWorkflow {
            file: file.to_owned(),
            message,
        }
    }

    /// Loads (once) the workflow a job calls, with the directory of its repository.
    fn called_workflow(
        &mut self,
        wf: &Workflow,
        job: &Job,
        uses: &str,
        repo_dir: &Path,
    ) -> Result<(Rc<Workflow>, PathBuf), ActError> {
        let key = (repo_dir.to_owned(), uses.to_owned());
        if let Some((w, dir)) = self.called.get(&key) {
            return Ok((Rc::clone(w), dir.clone()));
        }
        let at = |m: String| Self::invalid(&wf.file, format!("jobs.{}: {m}", job.id));
        let target = reusable::parse_uses(uses).map_err(at)?;
        let (file, text) = reusable::read(&target, repo_dir, &self.opts.repos).map_err(at)?;
        let dir = reusable::repository_dir(&target, repo_dir, &self.opts.repos);
        let callee = Rc::new(model::parse(&text, file)?);
        if self.called.len() >= MAX_CALLED_WORKFLOWS {
            return Err(Self::invalid(
                &wf.file,
                format!(
                    "a run may call at most {MAX_CALLED_WORKFLOWS} distinct reusable workflows"
                ),
            ));
        }
        self.called.insert(key, (Rc::clone(&callee), dir.clone()));
        Ok((callee, dir))
    }

    fn preflight(
        &mut self,
        wf: &Workflow,
        repo_dir: &Path,
        depth: usize,
        cap: Option<&Permissions>,
    ) -> Result<(), ActError> {
        let needs: IndexMap<String, Vec<String>> = wf
            .jobs
            .iter()
            .map(|(id, j)| (id.clone(), j.needs.clone()))
            .collect();
        graph::order(&needs).map_err(|m| Self::invalid(&wf.file, m))?;
        for job in wf.jobs.values() {
            let perms = effective_permissions(job, wf, cap);
            if let Some(cap) = cap
                && let Some((scope, asked, allowed)) = reusable::exceeds(&perms, cap)
            {
                return Err(Self::invalid(
                    &wf.file,
                    format!(
                        "The nested job '{}' is requesting '{scope}: {}', but is only allowed '{scope}: {}'.",
                        job.id,
                        asked.as_str(),
                        allowed.as_str()
                    ),
                ));
            }
            match &job.kind {
                JobKind::Steps(steps) => {
                    for (i, step) in steps.iter().enumerate() {
                        let mut skipped = false;
                        for s in &mut self.skips {
                            if s.matches(&job.id, i, step) {
                                s.used = true;
                                skipped = true;
                            }
                        }
                        if let (
                            StepKind::Remote {
                                action, git_ref, ..
                            },
                            false,
                        ) = (&step.kind, skipped)
                        {
                            shims::find(action, git_ref).map_err(|_| ActError::NoShim {
                                file: wf.file.clone(),
                                step: format!("jobs.{} step {}", job.id, i + 1),
                                uses: step.uses.clone().unwrap_or_default(),
                            })?;
                        }
                    }
                }
                JobKind::Call {
                    uses,
                    with,
                    secrets,
                } => {
                    if depth + 1 > reusable::MAX_DEPTH {
                        return Err(Self::invalid(
                            &wf.file,
                            format!(
                                "jobs.{}: '{uses}' would nest workflows {} levels deep; GitHub connects at most {}",
                                job.id,
                                depth + 1,
                                reusable::MAX_DEPTH
                            ),
                        ));
                    }
                    let (callee, dir) = self.called_workflow(wf, job, uses, repo_dir)?;
                    let keys: Vec<&String> = with.keys().collect();
                    reusable::check_call(&callee, &keys, secrets)
                        .map_err(|m| Self::invalid(&wf.file, format!("jobs.{}: {m}", job.id)))?;
                    self.preflight(&callee, &dir, depth + 1, Some(&perms))?;
                }
            }
        }
        Ok(())
    }

    fn workflow(&mut self, wf: &Workflow, frame: &Frame) -> Result<Outcome, ActError> {
        let needs: IndexMap<String, Vec<String>> = wf
            .jobs
            .iter()
            .map(|(id, j)| (id.clone(), j.needs.clone()))
            .collect();
        let order = graph::order(&needs).map_err(|m| Self::invalid(&wf.file, m))?;
        let mut outcome = Outcome {
            statuses: IndexMap::new(),
            outputs: IndexMap::new(),
        };
        for id in order {
            let job = &wf.jobs[&id];
            let up = graph::upstream(&needs, &outcome.statuses, &id);
            let needs_ctx: Value = job
                .needs
                .iter()
                .map(|n| {
                    let result = outcome
                        .statuses
                        .get(n)
                        .copied()
                        .unwrap_or(JobStatus::Skipped);
                    let outputs = outcome.outputs.get(n).cloned().unwrap_or_default();
                    let entry: Value = [
                        ("result".to_owned(), Value::from(result.as_str())),
                        ("outputs".to_owned(), string_map(&outputs)),
                    ]
                    .into_iter()
                    .collect();
                    (n.clone(), entry)
                })
                .collect();
            let (status, outputs) = self.job(wf, job, frame, &needs_ctx, up)?;
            outcome.statuses.insert(id.clone(), status);
            outcome.outputs.insert(id, outputs);
        }
        Ok(outcome)
    }

    /// The contexts of a job outside its steps: `github`, `needs`, `vars`, `inputs`.
    fn job_scope(
        &self,
        job: &Job,
        frame: &Frame,
        needs: &Value,
        vars: &IndexMap<String, String>,
    ) -> Scope {
        Scope::new()
            .with("github", self.github_for(Some(&job.id)))
            .with("needs", needs.clone())
            .with("vars", string_map(vars))
            .with("inputs", json_map(&frame.inputs))
    }

    fn skipped_report(&mut self, label: &str, name: String, job: &Job, status: JobStatus) {
        self.reports.push(JobReport {
            id: label.to_owned(),
            name,
            result: status,
            duration: Duration::ZERO,
            outputs: IndexMap::new(),
            steps: Vec::new(),
            runs_on: job.runs_on.clone(),
            environment: None,
            url: None,
            permissions: String::new(),
            concurrency: None,
            matrix: None,
        });
    }

    fn annotate(&mut self, level: AnnotationLevel, message: &str) {
        let a = self
            .masker
            .mask_annotation(&Annotation::new(level, message));
        self.say(&format!("::{}::{}", level.as_str(), a.message));
        self.annotations.push(a);
    }

    fn job(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        needs: &Value,
        up: Upstream,
    ) -> Result<(JobStatus, IndexMap<String, String>), ActError> {
        let label = format!("{}{}", frame.prefix, job.id);
        let vars = self.settings.repository.vars.clone();
        let mut scope = self.job_scope(job, frame, needs, &vars);
        scope.failed = up.failed;
        scope.blocked = up.blocked;
        let plain_name = job
            .name
            .as_ref()
            .and_then(|n| n.eval_string(&scope).ok())
            .filter(|n| !n.contains("${{"))
            .unwrap_or_else(|| job.id.clone());
        match job.condition.eval(&scope) {
            Ok(true) => {}
            Ok(false) => {
                self.say(&format!("gantry-act: job '{label}' skipped (if: not met)"));
                self.skipped_report(&label, plain_name, job, JobStatus::Skipped);
                return Ok((JobStatus::Skipped, IndexMap::new()));
            }
            Err(e) => {
                self.annotate(
                    AnnotationLevel::Error,
                    &format!("jobs.{}: the 'if' could not be evaluated: {e}", job.id),
                );
                self.skipped_report(&label, plain_name, job, JobStatus::Failure);
                return Ok((JobStatus::Failure, IndexMap::new()));
            }
        }
        match &job.kind {
            JobKind::Call {
                uses,
                with,
                secrets,
            } => self.call_job(wf, job, frame, &scope, &label, uses, with, secrets),
            JobKind::Steps(_) => self.steps_job(wf, job, frame, needs, &label),
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the parts of a calling job"
    )]
    fn call_job(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        scope: &Scope,
        label: &str,
        uses: &str,
        with: &IndexMap<String, Template>,
        secrets: &CallSecrets,
    ) -> Result<(JobStatus, IndexMap<String, String>), ActError> {
        let started = Instant::now();
        let (callee, callee_dir) = self.called_workflow(wf, job, uses, &frame.repo_dir)?;
        self.say(&format!("gantry-act: job '{label}' calls {uses}"));
        let mut scope = scope.clone();
        scope.set("secrets", string_map(&frame.secrets));
        let fail = |r: &mut Self, message: String| {
            r.annotate(
                AnnotationLevel::Error,
                &format!("jobs.{}: {message}", job.id),
            );
            r.skipped_report(label, job.id.clone(), job, JobStatus::Failure);
            Ok((JobStatus::Failure, IndexMap::new()))
        };
        let mut given = IndexMap::new();
        for (k, t) in with {
            match t.eval(&scope) {
                Ok(v) => {
                    given.insert(k.clone(), v.to_json());
                }
                Err(e) => return fail(self, format!("with.{k} could not be evaluated: {e}")),
            }
        }
        let call = callee.on.call.as_ref();
        let specs = call.map(|c| c.inputs.clone()).unwrap_or_default();
        let defaults = eval_defaults(&callee.file, &specs, &scope)?;
        let inputs = match inputs::check("workflow_call", &specs, &given, &defaults, None) {
            Ok(i) => i,
            Err(m) => return fail(self, m),
        };
        let mut evaluated = IndexMap::new();
        if let CallSecrets::Map(map) = secrets {
            for (k, t) in map {
                match t.eval_string(&scope) {
                    Ok(v) => {
                        evaluated.insert(k.clone(), v);
                    }
                    Err(e) => {
                        return fail(self, format!("secrets.{k} could not be evaluated: {e}"));
                    }
                }
            }
        }
        let mut passed = reusable::passed_secrets(secrets, &frame.secrets, evaluated);
        if let Some(t) = self.github.get("token") {
            passed.insert("GITHUB_TOKEN".into(), t.clone());
        }
        let perms = effective_permissions(job, wf, frame.cap.as_ref());
        let inner = Frame {
            prefix: format!("{label}/"),
            inputs,
            secrets: passed,
            depth: frame.depth + 1,
            cap: Some(perms.clone()),
            repo_dir: callee_dir,
        };
        let outcome = self.workflow(&callee, &inner)?;
        let outputs = self.call_outputs(&callee, &inner, &outcome);
        let failed = outcome
            .statuses
            .values()
            .any(|s| matches!(s, JobStatus::Failure | JobStatus::Cancelled));
        let status = if failed {
            JobStatus::Failure
        } else {
            JobStatus::Success
        };
        let took = started.elapsed();
        self.say(&format!(
            "gantry-act: job '{label}' {} in {}",
            status.as_str(),
            seconds(took)
        ));
        self.reports.push(JobReport {
            id: label.to_owned(),
            name: job.id.clone(),
            result: status,
            duration: took,
            outputs: outputs.clone(),
            steps: Vec::new(),
            runs_on: None,
            environment: None,
            url: None,
            permissions: perms.describe(),
            concurrency: None,
            matrix: None,
        });
        Ok((status, outputs))
    }

    /// `on.workflow_call.outputs`, evaluated over the `jobs` context.
    fn call_outputs(
        &mut self,
        wf: &Workflow,
        frame: &Frame,
        outcome: &Outcome,
    ) -> IndexMap<String, String> {
        let Some(call) = &wf.on.call else {
            return IndexMap::new();
        };
        let jobs: Value = outcome
            .statuses
            .iter()
            .map(|(id, status)| {
                let outputs = outcome.outputs.get(id).cloned().unwrap_or_default();
                let entry: Value = [
                    ("result".to_owned(), Value::from(status.as_str())),
                    ("outputs".to_owned(), string_map(&outputs)),
                ]
                .into_iter()
                .collect();
                (id.clone(), entry)
            })
            .collect();
        let scope = Scope::new()
            .with("github", self.github_for(None))
            .with("inputs", json_map(&frame.inputs))
            .with("vars", string_map(&self.settings.repository.vars))
            .with("jobs", jobs);
        let mut out = IndexMap::new();
        for (name, t) in &call.outputs {
            match t.eval_string(&scope) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(e) => self.annotate(
                    AnnotationLevel::Error,
                    &format!("on.workflow_call.outputs.{name} could not be evaluated: {e}"),
                ),
            }
        }
        out
    }

    fn steps_job(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        needs: &Value,
        label: &str,
    ) -> Result<(JobStatus, IndexMap<String, String>), ActError> {
        let vars = self.settings.repository.vars.clone();
        let scope = self.job_scope(job, frame, needs, &vars);
        let Some(strategy) = &job.strategy else {
            let i = self.instance(wf, job, frame, needs, label, None, Value::object())?;
            return Ok((i.status, i.outputs));
        };
        let fail = |r: &mut Self, message: String| {
            r.annotate(
                AnnotationLevel::Error,
                &format!("jobs.{}: {message}", job.id),
            );
            r.skipped_report(label, job.id.clone(), job, JobStatus::Failure);
            Ok((JobStatus::Failure, IndexMap::new()))
        };
        let definition = match eval_json(&strategy.matrix, &scope) {
            Ok(d) => d,
            Err(e) => return fail(self, format!("strategy.matrix could not be evaluated: {e}")),
        };
        let combos = match matrix::expand(&definition) {
            Ok(c) => c,
            Err(m) => return fail(self, format!("strategy.matrix: {m}")),
        };
        let flag = |t: &Option<Template>, default: bool| {
            t.as_ref()
                .and_then(|t| t.eval(&scope).ok())
                .map_or(default, |v| truthy_text(&v))
        };
        let fail_fast = flag(&strategy.fail_fast, true);
        let max_parallel = strategy
            .max_parallel
            .as_ref()
            .and_then(|t| t.eval_string(&scope).ok())
            .unwrap_or_else(|| combos.len().to_string());
        let total = combos.len();
        let mut failed = false;
        let mut status = JobStatus::Success;
        let mut outputs = IndexMap::new();
        for (index, combo) in combos.into_iter().enumerate() {
            let strategy_ctx: Value = [
                ("fail-fast".to_owned(), Value::Bool(fail_fast)),
                ("job-index".to_owned(), Value::Number(index as f64)),
                ("job-total".to_owned(), Value::Number(total as f64)),
                (
                    "max-parallel".to_owned(),
                    Value::Number(max_parallel.parse().unwrap_or(total as f64)),
                ),
            ]
            .into_iter()
            .collect();
            if failed && fail_fast {
                let name = matrix::instance_name(&job.id, &combo);
                self.say(&format!(
                    "gantry-act: job '{label}' instance '{name}' cancelled (fail-fast: another instance failed)"
                ));
                self.skipped_report(label, name, job, JobStatus::Cancelled);
                if let Some(r) = self.reports.last_mut() {
                    r.matrix = Some(Json::Object(combo.into_iter().collect()));
                }
                status = JobStatus::Failure;
                continue;
            }
            let i = self.instance(wf, job, frame, needs, label, Some(combo), strategy_ctx)?;
            if i.status == JobStatus::Failure {
                failed = true;
                status = JobStatus::Failure;
            }
            // As on GitHub, the outputs of a matrix job are those of the last instance that set them.
            for (k, v) in i.outputs {
                if !v.is_empty() {
                    outputs.insert(k, v);
                }
            }
        }
        Ok((status, outputs))
    }

    fn ask(&mut self, label: &str, environment: &str) -> bool {
        self.say(&format!(
            "gantry-act: approve job '{label}' for environment '{environment}'? [y/N]"
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }

    #[allow(clippy::too_many_arguments, reason = "the parts of one job instance")]
    fn instance(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        needs: &Value,
        label: &str,
        combo: Option<Combination>,
        strategy_ctx: Value,
    ) -> Result<Instance, ActError> {
        let started = Instant::now();
        let JobKind::Steps(steps) = &job.kind else {
            return Ok(Instance {
                status: JobStatus::Failure,
                outputs: IndexMap::new(),
            });
        };
        let matrix_ctx = combo.as_ref().map_or_else(Value::object, |c| {
            Value::from_json(&Json::Object(c.clone().into_iter().collect()))
        });
        let repo_vars = self.settings.repository.vars.clone();
        let mut scope = self.job_scope(job, frame, needs, &repo_vars);
        scope.set("matrix", matrix_ctx.clone());
        scope.set("strategy", strategy_ctx.clone());
        let name = match (&job.name, &combo) {
            (Some(n), _) => n.eval_string(&scope).unwrap_or_else(|_| job.id.clone()),
            (None, Some(c)) => matrix::instance_name(&job.id, c),
            (None, None) => job.id.clone(),
        };
        let perms = effective_permissions(job, wf, frame.cap.as_ref());
        let report = |status: JobStatus, environment: Option<String>| JobReport {
            id: label.to_owned(),
            name: name.clone(),
            result: status,
            duration: started.elapsed(),
            outputs: IndexMap::new(),
            steps: Vec::new(),
            runs_on: job.runs_on.clone(),
            environment,
            url: None,
            permissions: perms.describe(),
            concurrency: None,
            matrix: combo.clone().map(|c| Json::Object(c.into_iter().collect())),
        };

        // The environment gate comes first: nothing of the job runs before it is approved.
        let environment = match job.environment.as_ref().map(|e| e.name.eval_string(&scope)) {
            None => None,
            Some(Ok(e)) if e.is_empty() => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                self.annotate(
                    AnnotationLevel::Error,
                    &format!(
                        "jobs.{}: the environment could not be evaluated: {e}",
                        job.id
                    ),
                );
                self.reports.push(report(JobStatus::Failure, None));
                return Ok(Instance {
                    status: JobStatus::Failure,
                    outputs: IndexMap::new(),
                });
            }
        };
        if let Some(env) = &environment {
            self.say(&format!(
                "gantry-act: job '{label}' waits for approval of environment '{env}'"
            ));
            let (approve, reject) = (self.opts.approve.clone(), self.opts.reject.clone());
            let decision = if self.opts.interactive {
                let mut ask = |e: &str| self.ask(label, e);
                gate::decide(env, &approve, &reject, Some(&mut ask))
            } else {
                gate::decide(env, &approve, &reject, None)
            };
            self.say(&format!(
                "gantry-act: environment '{env}' for job '{label}': {}",
                decision.describe(env)
            ));
            self.approvals.push(Approval {
                job: label.to_owned(),
                environment: env.clone(),
                decision: decision.clone(),
            });
            if !decision.approved() {
                self.annotate(
                    AnnotationLevel::Error,
                    &format!(
                        "Job '{name}' was not run: the deployment to environment '{env}' was {}",
                        decision.describe(env)
                    ),
                );
                self.reports
                    .push(report(JobStatus::Failure, Some(env.clone())));
                return Ok(Instance {
                    status: JobStatus::Failure,
                    outputs: IndexMap::new(),
                });
            }
        }
        let scoped = self.settings.for_environment(environment.as_deref());
        let mut secrets = frame.secrets.clone();
        if let Some(env) = &environment
            && let Some((_, e)) = self
                .settings
                .environments
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(env))
        {
            secrets.extend(e.secrets.clone());
        }
        scope.set("vars", string_map(&scoped.vars));
        scope.set("secrets", string_map(&secrets));

        self.say(&format!(
            "gantry-act: job '{label}' ({name}) started{}{}",
            job.runs_on
                .as_ref()
                .map(|r| format!(", runs-on {r} (run here)"))
                .unwrap_or_default(),
            format_args!(", permissions: {}", perms.describe())
        ));
        let concurrency = job
            .concurrency
            .as_ref()
            .and_then(|c| c.group.eval_string(&scope).ok());
        if let Some(group) = &concurrency {
            self.say(&format!(
                "gantry-act: job '{label}' concurrency group '{group}': recorded; runs here never overlap"
            ));
        }
        let _ = writeln!(self.log, "::group::{name}");

        self.counter += 1;
        let n = self.counter;
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| ActError::Io { what, source }
        };
        let workspace = match &self.opts.workspace {
            Some(w) => std::path::absolute(w).map_err(io("resolving the workspace"))?,
            None => self.private.join(format!("work/{n}-{}", job.id)),
        };
        let temp = self.private.join(format!("temp/{n}"));
        let internal = self.private.join(format!("internal/{n}"));
        let tool_cache = std::env::var_os("RUNNER_TOOL_CACHE")
            .filter(|v| !v.is_empty())
            .map_or_else(|| self.private.join("tool-cache"), PathBuf::from);
        for d in [&workspace, &temp, &internal, &tool_cache] {
            std::fs::create_dir_all(d).map_err(io("creating a job directory"))?;
        }
        let mut github = self.github.clone();
        github.insert("job".into(), job.id.clone());
        github.insert("workspace".into(), workspace.display().to_string());
        let mut masks: Vec<String> = self.masker.values().to_vec();
        masks.extend(secrets.values().cloned());
        let mut runner = runner::Job::new(JobSetup {
            log: Box::new(self.log.clone()),
            workspace: workspace.clone(),
            temp,
            tool_cache,
            internal,
            github: github.clone(),
            masks,
        });
        scope.set("github", github_value(&github, &self.event));
        scope.set("runner", runner.runner_context());
        scope.workspace = Some(workspace.clone());

        // env: the workflow's, then the job's (each sees what is above it).
        let mut base_env = IndexMap::new();
        let mut env_failed = None;
        for (k, t) in wf.env.iter().chain(job.env.iter()) {
            scope.set("env", string_map(&base_env));
            match t.eval_string(&scope) {
                Ok(v) => {
                    base_env.insert(k.clone(), v);
                }
                Err(e) => env_failed = Some(format!("env.{k} could not be evaluated: {e}")),
            }
        }

        let timeout = job
            .timeout_minutes
            .as_ref()
            .and_then(|t| t.eval_string(&scope).ok())
            .and_then(|t| t.trim().parse::<f64>().ok())
            .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
        let deadline = started + Duration::from_secs_f64((timeout * 60.0).max(0.0));

        let mut failed = false;
        let mut results: Vec<StepResult> = Vec::new();
        let mut steps_ctx: IndexMap<String, Value> = IndexMap::new();
        if let Some(m) = env_failed {
            runner.annotate(AnnotationLevel::Error, &m);
            failed = true;
        }
        let job_ctx = |failed: bool| -> Value {
            [(
                "status".to_owned(),
                Value::from(if failed { "failure" } else { "success" }),
            )]
            .into_iter()
            .collect()
        };
        for (index, step) in steps.iter().enumerate() {
            let mut env_ctx = runner.exports.clone();
            env_ctx.extend(base_env.clone());
            let mut s = scope.clone();
            s.set("steps", Value::Object(Rc::new(steps_ctx.clone())));
            s.set("env", string_map(&env_ctx));
            s.set("job", job_ctx(failed));
            s.failed = failed;
            let step_name = step
                .name
                .as_ref()
                .and_then(|n| n.eval_string(&s).ok())
                .unwrap_or_else(|| step.default_name.clone());
            let skip_flag = self
                .skips
                .iter()
                .find(|k| k.matches(&job.id, index, step))
                .map(|k| k.text.clone());
            let timed_out = Instant::now() >= deadline;
            let run_it = if let Some(sel) = &skip_flag {
                runner.line(&format!("> {step_name} (skipped: --skip-step {sel})"));
                Some(false)
            } else if timed_out {
                runner.line(&format!("> {step_name} (not run: the job timed out)"));
                Some(false)
            } else {
                match step.condition.eval(&s) {
                    Ok(true) => {
                        runner.line(&format!("> {step_name}"));
                        Some(true)
                    }
                    Ok(false) => {
                        runner.line(&format!("> {step_name} (skipped)"));
                        Some(false)
                    }
                    Err(e) => {
                        runner.annotate(
                            AnnotationLevel::Error,
                            &format!("The step's 'if' could not be evaluated: {e}"),
                        );
                        None
                    }
                }
            };
            let (outcome, outputs, tolerate) = match run_it {
                Some(false) => (StepStatus::Skipped, IndexMap::new(), false),
                None => (StepStatus::Failure, IndexMap::new(), false),
                Some(true) => {
                    let tolerate = step
                        .continue_on_error
                        .as_ref()
                        .map_or(Ok(false), |t| t.eval(&s).map(|v| truthy_text(&v)));
                    let step_limit = step
                        .timeout_minutes
                        .as_ref()
                        .and_then(|t| t.eval_string(&s).ok())
                        .and_then(|t| t.trim().parse::<f64>().ok())
                        .map(|m| Duration::from_secs_f64((m * 60.0).max(0.0)));
                    let left = deadline.saturating_duration_since(Instant::now());
                    runner.timeout = Some(step_limit.map_or(left, |l| l.min(left)));
                    let run = match &tolerate {
                        Ok(_) => self.step(
                            wf,
                            job,
                            frame,
                            &perms,
                            &mut runner,
                            step,
                            &s,
                            &env_ctx,
                            failed,
                        ),
                        Err(e) => {
                            runner.annotate(
                                AnnotationLevel::Error,
                                &format!("'continue-on-error' could not be evaluated: {e}"),
                            );
                            StepRun::failed()
                        }
                    };
                    runner.timeout = None;
                    let outcome = if run.success {
                        StepStatus::Success
                    } else {
                        StepStatus::Failure
                    };
                    (outcome, run.outputs, tolerate.unwrap_or(false))
                }
            };
            let conclusion = if outcome == StepStatus::Failure && tolerate {
                StepStatus::Success
            } else {
                outcome
            };
            if conclusion == StepStatus::Failure {
                failed = true;
            }
            if step.has_id {
                let entry: Value = [
                    ("outputs".to_owned(), string_map(&outputs)),
                    ("outcome".to_owned(), Value::from(outcome.as_str())),
                    ("conclusion".to_owned(), Value::from(conclusion.as_str())),
                ]
                .into_iter()
                .collect();
                steps_ctx.insert(step.id.clone(), entry);
            }
            results.push(StepResult {
                id: step.id.clone(),
                name: step_name,
                outcome,
                conclusion,
                outputs,
            });
        }
        if Instant::now() >= deadline {
            runner.annotate(
                AnnotationLevel::Error,
                &format!(
                    "The job running on runner gantry-act has exceeded the maximum execution time of {} minutes.",
                    crate::expr::value::number_to_string(timeout)
                ),
            );
            failed = true;
        }

        // Outputs and the environment URL are evaluated after the last step.
        let mut env_ctx = runner.exports.clone();
        env_ctx.extend(base_env);
        scope.set("steps", Value::Object(Rc::new(steps_ctx)));
        scope.set("env", string_map(&env_ctx));
        scope.set("job", job_ctx(failed));
        let mut outputs = IndexMap::new();
        for (k, t) in &job.outputs {
            match t.eval_string(&scope) {
                Ok(v) if runner.holds_secret(&v) => runner.annotate(
                    AnnotationLevel::Warning,
                    &format!("Skip output '{k}' since it may contain secret."),
                ),
                Ok(v) => {
                    outputs.insert(k.clone(), v);
                }
                Err(e) => runner.annotate(
                    AnnotationLevel::Error,
                    &format!("jobs.{}.outputs.{k} could not be evaluated: {e}", job.id),
                ),
            }
        }
        let url = job
            .environment
            .as_ref()
            .and_then(|e| e.url.as_ref())
            .and_then(|u| match u.eval_string(&scope) {
                Ok(u) => Some(u),
                Err(e) => {
                    runner.annotate(
                        AnnotationLevel::Warning,
                        &format!("the environment url could not be evaluated: {e}"),
                    );
                    None
                }
            })
            .filter(|u| !u.is_empty());
        let tolerated = job
            .continue_on_error
            .as_ref()
            .and_then(|t| t.eval(&scope).ok())
            .is_some_and(|v| truthy_text(&v));
        let end = runner.finish();
        for m in &end.masks {
            self.masker.add(m);
        }
        self.annotations.extend(end.annotations);
        self.summary.push_str(&end.summary);
        let _ = writeln!(self.log, "::endgroup::");
        let status = if !failed {
            JobStatus::Success
        } else if tolerated {
            self.say(&format!(
                "gantry-act: job '{label}' failed; continue-on-error makes it a success"
            ));
            JobStatus::Success
        } else {
            JobStatus::Failure
        };
        if let (Some(env), Some(u)) = (&environment, &url) {
            self.say(&format!("gantry-act: environment '{env}' url: {u}"));
        }
        let took = started.elapsed();
        self.say(&format!(
            "gantry-act: job '{label}' ({name}) {} in {}",
            if failed { "failure" } else { "success" },
            seconds(took)
        ));
        let mut r = report(status, environment);
        r.duration = took;
        r.outputs = outputs.clone();
        r.steps = results;
        r.url = url;
        r.concurrency = concurrency;
        self.reports.push(r);
        Ok(Instance { status, outputs })
    }

    #[allow(clippy::too_many_arguments, reason = "the parts of one step")]
    fn step(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        perms: &Permissions,
        runner: &mut runner::Job,
        step: &model::Step,
        scope: &Scope,
        env_ctx: &IndexMap<String, String>,
        failed: bool,
    ) -> StepRun {
        let mut step_env = env_ctx.clone();
        let mut scope = scope.clone();
        for (k, t) in &step.env {
            scope.set("env", string_map(&step_env));
            match t.eval_string(&scope) {
                Ok(v) => {
                    step_env.insert(k.clone(), v);
                }
                Err(e) => return eval_failed(runner, &format!("env.{k}"), &e),
            }
        }
        scope.set("env", string_map(&step_env));
        let mut with = IndexMap::new();
        let with_templates = match &step.kind {
            StepKind::Local { with, .. } | StepKind::Remote { with, .. } => Some(with),
            StepKind::Run { .. } => None,
        };
        for (k, t) in with_templates.into_iter().flatten() {
            match t.eval_string(&scope) {
                Ok(v) => {
                    with.insert(k.clone(), v);
                }
                Err(e) => return eval_failed(runner, &format!("with.{k}"), &e),
            }
        }
        match &step.kind {
            StepKind::Run {
                script,
                shell,
                working_directory,
            } => {
                let script = match script.eval_string(&scope) {
                    Ok(s) => s,
                    Err(e) => return eval_failed(runner, "run", &e),
                };
                let shell = match shell_for(shell.as_ref(), job, wf) {
                    Ok(s) => s,
                    Err(m) => {
                        runner.annotate(AnnotationLevel::Error, &m);
                        return StepRun::failed();
                    }
                };
                let wd = working_directory
                    .as_ref()
                    .or(job.defaults.working_directory.as_ref())
                    .or(wf.defaults.working_directory.as_ref());
                let cwd = match wd.map(|w| w.eval_string(&scope)) {
                    None => runner.workspace.clone(),
                    Some(Ok(w)) => runner.workspace.join(w),
                    Some(Err(e)) => return eval_failed(runner, "working-directory", &e),
                };
                runner.exec(None, &step.id, &shell, &script, &cwd, &step_env)
            }
            StepKind::Local {
                path, self_repo, ..
            } => {
                let dir = if *self_repo {
                    frame.repo_dir.join(path)
                } else {
                    runner.workspace.join(path)
                };
                let loaded = action::load(&dir)
                    .and_then(|nested| runner.run_action(&nested, &with, &step_env, 1, failed));
                match loaded {
                    Ok(run) => StepRun {
                        success: run.success,
                        outputs: run.outputs,
                    },
                    Err(e) => {
                        runner.annotate(AnnotationLevel::Error, &e.to_string());
                        StepRun::failed()
                    }
                }
            }
            StepKind::Remote {
                action, git_ref, ..
            } => match shims::find(action, git_ref) {
                Ok(shim) => {
                    let mut env: IndexMap<String, String> = std::env::vars().collect();
                    env.extend(step_env);
                    let cx = ShimContext {
                        with: &with,
                        env: &env,
                        permissions: perms,
                        repo_root: &self.repo_root,
                        repos: &self.opts.repos,
                        artifacts: &self.artifacts,
                    };
                    shims::run(shim, runner, &cx)
                }
                Err(m) => {
                    runner.annotate(AnnotationLevel::Error, &m);
                    StepRun::failed()
                }
            },
        }
    }
}

fn eval_failed(runner: &runner::Job, field: &str, e: &crate::expr::ExprError) -> StepRun {
    runner.annotate(
        AnnotationLevel::Error,
        &format!("The step's '{field}' could not be evaluated: {e}"),
    );
    StepRun::failed()
}

/// The shell of a `run:` step: its own, the job's default, the workflow's, else GitHub's
/// `bash -e {0}` for a step that names none.
fn shell_for(own: Option<&Shell>, job: &Job, wf: &Workflow) -> Result<Shell, String> {
    if let Some(s) = own {
        return Ok(s.clone());
    }
    let spec = job
        .defaults
        .shell
        .as_deref()
        .or(wf.defaults.shell.as_deref());
    match spec {
        Some(s) => Shell::parse(s),
        None => Ok(Shell {
            spec: "bash -e {0}".to_owned(),
            argv: ["bash", "-e", "{0}"].map(str::to_owned).to_vec(),
            extension: ".sh",
        }),
    }
}

/// Evaluates the expressions inside a matrix definition (a lone `${{ }}` keeps its type).
fn eval_json(v: &Json, scope: &Scope) -> Result<Json, crate::expr::ExprError> {
    Ok(match v {
        Json::String(s) if s.contains("${{") => {
            Template::parse_in(s, crate::expr::Dialect::WORKFLOW)?
                .eval(scope)?
                .to_json()
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|i| eval_json(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), eval_json(v, scope)?)))
                .collect::<Result<_, crate::expr::ExprError>>()?,
        ),
        other => other.clone(),
    })
}
