//! Running a workflow: checks before any job starts, then the jobs in `needs` order, each with
//! its gate, matrix, steps and outputs; called workflows run nested under their caller job.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::context::{default_repo_root, event_payload, github_base};
pub(super) use super::context::{github_value, json_map};
use super::graph::{self, JobStatus, Upstream};
use super::inputs;
use super::instance::{display_name, matrix_value};
use super::matrix;
use super::model::{self, CallSecrets, Job, JobKind, Permissions, StepKind, Workflow};
use super::reusable;
use super::shims;
use super::skip::SkipStep;
use super::vars::Settings;
use super::{Approval, JobReport, LogSink, WorkflowResult, WorkflowRun, gate};
use crate::commands::{Annotation, AnnotationLevel, Masker};
use crate::error::ActError;
use crate::expr::eval::string_map;
use crate::expr::{Scope, Template, Value};
use crate::runner::truthy_text;

/// The events `--event` accepts.
pub(super) const EVENTS: [&str; 4] = ["push", "pull_request", "workflow_dispatch", "workflow_call"];

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
    let event = chosen_event(opts, &wf)?;
    let settings = read_settings(opts)?;
    let private = tempfile::Builder::new()
        .prefix("gantry-act-workflow-")
        .tempdir()
        .map_err(io("creating a temporary directory"))?;
    let github = github_base(opts, &repo_root, &event, &wf.name);

    let run_inputs = run_inputs(opts, &wf, &event, &settings, &github)?;
    let payload = event_payload(&event, &github, &run_inputs, &wf.file, &repo_root);
    let event_path = private.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).map_err(io("writing the event file"))?;
    let mut github = github;
    github.insert("event_path".into(), event_path.display().to_string());

    let artifacts = private.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).map_err(io("creating the artifact store"))?;
    let mut masker = Masker::with_values(settings.all_secrets());
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
            "--skip-step '{}' matches no step of the workflow (a step is named by its id, its name (or the 'Run …' name shown for it), its 'uses' action or its 1-based number, optionally after JOB:)",
            unused.text
        )));
    }

    if opts.check_only {
        r.say(&format!(
            "gantry-act: {} checked ({} job(s), {} called workflow(s)): nothing run (--check)",
            wf.file.display(),
            wf.jobs.len(),
            r.called.len()
        ));
        return Ok(WorkflowResult {
            success: true,
            name: wf.name.clone(),
            event,
            jobs: Vec::new(),
            outputs: IndexMap::new(),
            approvals: Vec::new(),
            annotations: Vec::new(),
            concurrency: None,
            summary: String::new(),
            masks: r.masker.values().to_vec(),
        });
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

/// The event to run: `--event` (one the workflow lists), else the workflow's first of
/// [`EVENTS`].
fn chosen_event(opts: &WorkflowRun, wf: &Workflow) -> Result<String, ActError> {
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
    Ok(event)
}

/// The vars and secrets files merged, and the flags checked against each other.
fn read_settings(opts: &WorkflowRun) -> Result<Settings, ActError> {
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
        reusable::check_mapping(name, dir).map_err(ActError::BadInput)?;
    }
    Ok(settings)
}

/// The run's inputs, checked and typed as GitHub does before a run starts.
fn run_inputs(
    opts: &WorkflowRun,
    wf: &Workflow,
    event: &str,
    settings: &Settings,
    github: &IndexMap<String, String>,
) -> Result<IndexMap<String, Json>, ActError> {
    // Inputs, checked as GitHub checks them before a run starts.
    let given: IndexMap<String, Json> = opts
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let environments: Vec<String> = settings.environments.keys().cloned().collect();
    Ok(match event {
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
            let scope = Scope::new().with("github", github_value(github, &Json::Null));
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
    })
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

/// Where a workflow runs: at the top, or called by a job.
pub(super) struct Frame {
    /// `caller/` for the jobs of a called workflow.
    pub(super) prefix: String,
    pub(super) inputs: IndexMap<String, Json>,
    /// The `secrets` context (without environment secrets).
    pub(super) secrets: IndexMap<String, String>,
    pub(super) depth: usize,
    /// The calling job's permissions: a called workflow's jobs get at most these.
    pub(super) cap: Option<Permissions>,
    /// The workflow's repository: where `$/…` and local reusable workflows resolve.
    pub(super) repo_dir: PathBuf,
}

struct Outcome {
    statuses: IndexMap<String, JobStatus>,
    outputs: IndexMap<String, IndexMap<String, String>>,
}

pub(super) struct Run<'a> {
    pub(super) opts: &'a WorkflowRun,
    pub(super) settings: Settings,
    pub(super) log: LogSink,
    /// Every secret and mask, for the run's own lines and the result.
    pub(super) masker: Masker,
    pub(super) github: IndexMap<String, String>,
    pub(super) event: Json,
    pub(super) repo_root: PathBuf,
    pub(super) private: PathBuf,
    pub(super) artifacts: PathBuf,
    pub(super) skips: Vec<SkipStep>,
    /// Called workflows by their repository and `uses:`, loaded once, with their repository.
    pub(super) called: HashMap<(PathBuf, String), (Rc<Workflow>, PathBuf)>,
    pub(super) reports: Vec<JobReport>,
    pub(super) approvals: Vec<Approval>,
    pub(super) annotations: Vec<Annotation>,
    pub(super) summary: String,
    pub(super) counter: usize,
}

/// What one job instance produced.
pub(super) struct Instance {
    pub(super) status: JobStatus,
    pub(super) outputs: IndexMap<String, String>,
}

pub(super) fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

pub(super) fn effective_permissions(
    job: &Job,
    wf: &Workflow,
    cap: Option<&Permissions>,
) -> Permissions {
    job.permissions
        .clone()
        .or_else(|| wf.permissions.clone())
        .or_else(|| cap.cloned())
        .unwrap_or_else(Permissions::restricted_default)
}

impl Run<'_> {
    /// A line of the run's own, masked.
    pub(super) fn say(&mut self, text: &str) {
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
                            shims::find(action, git_ref).map_err(|reason| ActError::NoShim {
                                file: wf.file.clone(),
                                step: format!("jobs.{} step {}", job.id, i + 1),
                                uses: step.uses.clone().unwrap_or_default(),
                                reason,
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
                    (n.clone(), job_entry(result, outcome.outputs.get(n)))
                })
                .collect();
            let (status, outputs) = self.job(wf, job, frame, &needs_ctx, up)?;
            outcome.statuses.insert(id.clone(), status);
            outcome.outputs.insert(id, outputs);
        }
        Ok(outcome)
    }

    /// The contexts of a job outside its steps: `github`, `needs`, the repository's `vars`,
    /// `inputs`.
    pub(super) fn job_scope(&self, job: &Job, frame: &Frame, needs: &Value) -> Scope {
        Scope::new()
            .with("github", self.github_for(Some(&job.id)))
            .with("needs", needs.clone())
            .with("vars", string_map(&self.settings.repository.vars))
            .with("inputs", json_map(&frame.inputs))
    }

    fn skipped_report(&mut self, label: &str, name: String, status: JobStatus) {
        self.reports.push(JobReport {
            id: label.to_owned(),
            name,
            result: status,
            duration: Duration::ZERO,
            outputs: IndexMap::new(),
            steps: Vec::new(),
            runs_on: None,
            environment: None,
            url: None,
            permissions: String::new(),
            concurrency: None,
            matrix: None,
        });
    }

    /// A job that failed before it ran anything: `message` raised as an error on `jobs.<id>`,
    /// and a report with no steps.
    fn failed_job(
        &mut self,
        job: &Job,
        label: &str,
        message: &str,
    ) -> (JobStatus, IndexMap<String, String>) {
        self.annotate(
            AnnotationLevel::Error,
            &format!("jobs.{}: {message}", job.id),
        );
        self.skipped_report(label, job.id.clone(), JobStatus::Failure);
        (JobStatus::Failure, IndexMap::new())
    }

    pub(super) fn annotate(&mut self, level: AnnotationLevel, message: &str) {
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
        let mut scope = self.job_scope(job, frame, needs);
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
                let why = if up.blocked {
                    "its if is false: a job it needs did not succeed"
                } else {
                    "its if is false"
                };
                self.say(&format!("gantry-act: job '{label}' skipped ({why})"));
                self.skipped_report(&label, plain_name, JobStatus::Skipped);
                return Ok((JobStatus::Skipped, IndexMap::new()));
            }
            Err(e) => {
                self.annotate(
                    AnnotationLevel::Error,
                    &format!("jobs.{}: the 'if' could not be evaluated: {e}", job.id),
                );
                self.skipped_report(&label, plain_name, JobStatus::Failure);
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
        let fail = |r: &mut Self, message: String| Ok(r.failed_job(job, label, &message));
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
        // With `inherit`, a required secret can only be checked now, against what is inherited.
        if let Some(missing) = call.and_then(|c| {
            c.secrets.iter().find(|(name, required)| {
                **required && !passed.keys().any(|k| k.eq_ignore_ascii_case(name))
            })
        }) {
            return fail(
                self,
                format!(
                    "Secret {} is required, but not provided while calling.",
                    missing.0
                ),
            );
        }
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
            .map(|(id, status)| (id.clone(), job_entry(*status, outcome.outputs.get(id))))
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
        let scope = self.job_scope(job, frame, needs);
        let Some(strategy) = &job.strategy else {
            let i = self.instance(wf, job, frame, needs, label, None, Value::object())?;
            return Ok((i.status, i.outputs));
        };
        let fail = |r: &mut Self, message: String| Ok(r.failed_job(job, label, &message));
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
                let mut s = scope.clone();
                s.set("matrix", matrix_value(Some(&combo)));
                let name = display_name(job, &s, Some(&combo));
                self.say(&format!(
                    "gantry-act: job '{label}' instance '{name}' cancelled (fail-fast: another instance failed)"
                ));
                self.skipped_report(label, name, JobStatus::Cancelled);
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
}

/// A job's entry in the `needs` and `jobs` contexts: its `result` and its `outputs` (empty when
/// none were recorded).
fn job_entry(result: JobStatus, outputs: Option<&IndexMap<String, String>>) -> Value {
    let outputs = outputs.cloned().unwrap_or_default();
    [
        ("result".to_owned(), Value::from(result.as_str())),
        ("outputs".to_owned(), string_map(&outputs)),
    ]
    .into_iter()
    .collect()
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
