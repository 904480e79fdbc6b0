//! One job instance (a job, or one combination of its matrix) on this machine: its environment
//! gate, its directories and runner, its steps in order, then its outputs and environment url.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::graph::JobStatus;
use super::matrix::{self, Combination};
use super::model::{Job, JobKind, Permissions, Step, Workflow};
use super::run::{Frame, Instance, Run, effective_permissions, github_value, seconds};
use super::{Approval, JobReport, gate};
use crate::commands::AnnotationLevel;
use crate::error::ActError;
use crate::expr::eval::string_map;
use crate::expr::{Scope, Value};
use crate::runner::{self, JobSetup, StepRun, StepStatus, StepsSoFar, truthy_text};

/// What an instance is, before anything of it runs.
struct Plan<'j> {
    job: &'j Job,
    label: String,
    runs_on: Option<String>,
    name: String,
    permissions: Permissions,
    combo: Option<Combination>,
    started: Instant,
}

impl Plan<'_> {
    fn report(&self, status: JobStatus, environment: Option<String>) -> JobReport {
        JobReport {
            id: self.label.clone(),
            name: self.name.clone(),
            result: status,
            duration: self.started.elapsed(),
            outputs: IndexMap::new(),
            steps: Vec::new(),
            runs_on: self.runs_on.clone(),
            environment,
            url: None,
            permissions: self.permissions.describe(),
            concurrency: None,
            matrix: self
                .combo
                .clone()
                .map(|c| Json::Object(c.into_iter().collect())),
        }
    }
}

/// What the steps left: whether one failed, and their record.
struct StepsEnd {
    failed: bool,
    steps: StepsSoFar,
}

/// The `matrix` context of an instance (empty without a matrix).
pub(super) fn matrix_value(combo: Option<&Combination>) -> Value {
    combo.map_or_else(Value::object, |c| {
        Value::from_json(&Json::Object(c.clone().into_iter().collect()))
    })
}

/// The name an instance is shown by: `name:` (or the id), with its matrix values appended
/// unless the name reads them, as on GitHub. `scope` has the instance's `matrix`.
pub(super) fn display_name(job: &Job, scope: &Scope, combo: Option<&Combination>) -> String {
    let base = job
        .name
        .as_ref()
        .and_then(|n| n.eval_string(scope).ok())
        .unwrap_or_else(|| job.id.clone());
    match (combo, &job.name) {
        (Some(_), Some(n)) if n.mentions("matrix") => base,
        (Some(c), _) => matrix::instance_name(&base, c),
        (None, _) => base,
    }
}

fn job_context(failed: bool) -> Value {
    [(
        "status".to_owned(),
        Value::from(if failed { "failure" } else { "success" }),
    )]
    .into_iter()
    .collect()
}

fn minutes(text: Option<String>) -> Option<f64> {
    text.and_then(|t| t.trim().parse::<f64>().ok())
}

impl Run<'_> {
    /// Runs one instance of a steps job; `combo` is its matrix combination.
    #[allow(clippy::too_many_arguments, reason = "the parts of one job instance")]
    pub(super) fn instance(
        &mut self,
        wf: &Workflow,
        job: &Job,
        frame: &Frame,
        needs: &Value,
        label: &str,
        combo: Option<Combination>,
        strategy: Value,
    ) -> Result<Instance, ActError> {
        let JobKind::Steps(steps) = &job.kind else {
            return Ok(Instance {
                status: JobStatus::Failure,
                outputs: IndexMap::new(),
            });
        };
        let mut scope = self.job_scope(job, frame, needs);
        scope.set("matrix", matrix_value(combo.as_ref()));
        scope.set("strategy", strategy);
        let name = display_name(job, &scope, combo.as_ref());
        let plan = Plan {
            job,
            label: label.to_owned(),
            runs_on: job
                .runs_on
                .as_ref()
                .and_then(|r| r.eval_string(&scope).ok()),
            name,
            permissions: effective_permissions(job, wf, frame.cap.as_ref()),
            combo,
            started: Instant::now(),
        };
        let failed_instance = Instance {
            status: JobStatus::Failure,
            outputs: IndexMap::new(),
        };

        // The environment gate comes first: nothing of the job runs before it is approved.
        let environment = match self.gate(&plan, &scope) {
            Ok(e) => e,
            Err(environment) => {
                self.reports
                    .push(plan.report(JobStatus::Failure, environment));
                return Ok(failed_instance);
            }
        };
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
        let concurrency = self.announce(&plan, &scope);

        let mut runner = self.open_runner(job, &secrets, &mut scope)?;
        let (base_env, env_error) = job_env(wf, job, &mut scope);
        if let Some(m) = &env_error {
            runner.annotate(AnnotationLevel::Error, m);
        }
        // Only a timeout the workflow sets is enforced: GitHub's default (360 minutes) is never
        // reached here, and a step killed on a timeout runs in its own process group, which a
        // Ctrl-C on the terminal does not reach.
        let timeout = minutes(
            job.timeout_minutes
                .as_ref()
                .and_then(|t| t.eval_string(&scope).ok()),
        );
        let deadline = timeout.map(|t| plan.started + Duration::from_secs_f64((t * 60.0).max(0.0)));
        let mut end = self.steps(
            wf,
            frame,
            &plan,
            &mut runner,
            steps,
            &scope,
            &base_env,
            deadline,
            env_error.is_some(),
        );
        if let (Some(deadline), Some(timeout)) = (deadline, timeout)
            && Instant::now() >= deadline
        {
            runner.annotate(
                AnnotationLevel::Error,
                &format!(
                    "The job running on runner gantry-act has exceeded the maximum execution time of {} minutes.",
                    crate::expr::value::number_to_string(timeout)
                ),
            );
            end.failed = true;
        }

        // Outputs and the environment url are evaluated after the last step.
        let mut env = runner.exports.clone();
        env.extend(base_env);
        scope.set("steps", Value::Object(Rc::new(end.steps.context)));
        scope.set("env", string_map(&env));
        scope.set("job", job_context(end.failed));
        let outputs = job_outputs(job, &runner, &scope);
        let url = environment_url(job, &runner, &scope);
        let tolerated = job
            .continue_on_error
            .as_ref()
            .and_then(|t| t.eval(&scope).ok())
            .is_some_and(|v| truthy_text(&v));
        self.close_runner(runner);

        let status = match (end.failed, tolerated) {
            (false, _) => JobStatus::Success,
            (true, true) => {
                self.say(&format!(
                    "gantry-act: job '{label}' failed; continue-on-error makes it a success"
                ));
                JobStatus::Success
            }
            (true, false) => JobStatus::Failure,
        };
        if let (Some(env), Some(u)) = (&environment, &url) {
            self.say(&format!("gantry-act: environment '{env}' url: {u}"));
        }
        let took = plan.started.elapsed();
        self.say(&format!(
            "gantry-act: job '{label}' ({}) {} in {}",
            plan.name,
            if end.failed { "failure" } else { "success" },
            seconds(took)
        ));
        let mut r = plan.report(status, environment);
        r.duration = took;
        r.outputs = outputs.clone();
        r.steps = end.steps.results;
        r.url = url;
        r.concurrency = concurrency;
        self.reports.push(r);
        Ok(Instance { status, outputs })
    }

    /// The environment gate: `Ok(environment)` when the job may run (`None`: it has none),
    /// `Err(environment)` when it may not.
    fn gate(&mut self, plan: &Plan<'_>, scope: &Scope) -> Result<Option<String>, Option<String>> {
        let job = plan.job;
        let label = plan.label.as_str();
        let environment = match job.environment.as_ref().map(|e| e.name.eval_string(scope)) {
            None => return Ok(None),
            Some(Ok(e)) if e.is_empty() => return Ok(None),
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                self.annotate(
                    AnnotationLevel::Error,
                    &format!(
                        "jobs.{}: the environment could not be evaluated: {e}",
                        job.id
                    ),
                );
                return Err(None);
            }
        };
        self.say(&format!(
            "gantry-act: job '{label}' waits for approval of environment '{environment}'"
        ));
        let (approve, reject) = (self.opts.approve.clone(), self.opts.reject.clone());
        let decision = if self.opts.interactive {
            let mut ask = |e: &str| self.ask(label, e);
            gate::decide(&environment, &approve, &reject, Some(&mut ask))
        } else {
            gate::decide(&environment, &approve, &reject, None)
        };
        self.say(&format!(
            "gantry-act: environment '{environment}' for job '{label}': {}",
            decision.describe(&environment)
        ));
        self.approvals.push(Approval {
            job: label.to_owned(),
            environment: environment.clone(),
            decision: decision.clone(),
        });
        if decision.approved() {
            return Ok(Some(environment));
        }
        self.annotate(
            AnnotationLevel::Error,
            &format!(
                "Job '{}' was not run: the deployment to environment '{environment}' was {}",
                plan.name,
                decision.describe(&environment)
            ),
        );
        Err(Some(environment))
    }

    fn ask(&mut self, label: &str, environment: &str) -> bool {
        self.say(&format!(
            "gantry-act: approve job '{label}' for environment '{environment}'? [y/N]"
        ));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }

    /// The start line, the concurrency group (returned), and the job's log group.
    fn announce(&mut self, plan: &Plan<'_>, scope: &Scope) -> Option<String> {
        let label = &plan.label;
        let runs_on = plan
            .runs_on
            .as_ref()
            .map(|r| format!(", runs-on {r} (run here)"))
            .unwrap_or_default();
        self.say(&format!(
            "gantry-act: job '{label}' ({}) started{runs_on}, permissions: {}",
            plan.name,
            plan.permissions.describe()
        ));
        let concurrency = plan
            .job
            .concurrency
            .as_ref()
            .and_then(|c| c.group.eval_string(scope).ok());
        if let Some(group) = &concurrency {
            self.say(&format!(
                "gantry-act: job '{label}' concurrency group '{group}': recorded; runs here never overlap"
            ));
        }
        let _ = writeln!(self.log, "::group::{}", plan.name);
        concurrency
    }

    /// The job's directories (a fresh workspace unless one is shared) and its runner, with the
    /// run's and the job's secrets masked; sets `github`, `runner` and the workspace in `scope`.
    fn open_runner(
        &mut self,
        job: &Job,
        secrets: &IndexMap<String, String>,
        scope: &mut Scope,
    ) -> Result<runner::Job, ActError> {
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
        let runner = runner::Job::new(JobSetup {
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
        scope.workspace = Some(workspace);
        Ok(runner)
    }

    /// Takes the runner's annotations, masks and summary into the run; ends the log group.
    fn close_runner(&mut self, runner: runner::Job) {
        let end = runner.finish();
        for m in &end.masks {
            self.masker.add(m);
        }
        self.annotations.extend(end.annotations);
        self.summary.push_str(&end.summary);
        let _ = writeln!(self.log, "::endgroup::");
    }

    /// The steps in order, each with its `if:`, `--skip-step`, `continue-on-error` and time left.
    #[allow(clippy::too_many_arguments, reason = "the parts of one job instance")]
    fn steps(
        &mut self,
        wf: &Workflow,
        frame: &Frame,
        plan: &Plan<'_>,
        runner: &mut runner::Job,
        steps: &[Step],
        scope: &Scope,
        base_env: &IndexMap<String, String>,
        deadline: Option<Instant>,
        already_failed: bool,
    ) -> StepsEnd {
        let mut end = StepsEnd {
            failed: already_failed,
            steps: StepsSoFar::default(),
        };
        for (index, step) in steps.iter().enumerate() {
            let mut env = runner.exports.clone();
            env.extend(base_env.clone());
            let mut s = scope.clone();
            s.set("steps", Value::Object(Rc::new(end.steps.context.clone())));
            s.set("env", string_map(&env));
            s.set("job", job_context(end.failed));
            s.failed = end.failed;
            let name = step
                .name
                .as_ref()
                .and_then(|n| n.eval_string(&s).ok())
                .unwrap_or_else(|| step.default_name.clone());
            let skipped_by = self
                .skips
                .iter()
                .find(|k| k.matches(&plan.job.id, index, step))
                .map(|k| k.text.clone());
            let run_it = if let Some(selector) = &skipped_by {
                runner.line(&format!("> {name} (skipped: --skip-step {selector})"));
                Some(false)
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                runner.line(&format!("> {name} (not run: the job timed out)"));
                Some(false)
            } else {
                match step.condition.eval(&s) {
                    Ok(true) => {
                        runner.line(&format!("> {name}"));
                        Some(true)
                    }
                    Ok(false) => {
                        runner.line(&format!("> {name} (skipped)"));
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
                    let limit = minutes(
                        step.timeout_minutes
                            .as_ref()
                            .and_then(|t| t.eval_string(&s).ok()),
                    )
                    .map(|m| Duration::from_secs_f64((m * 60.0).max(0.0)));
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    runner.timeout = match (limit, left) {
                        (Some(l), Some(left)) => Some(l.min(left)),
                        (l, left) => l.or(left),
                    };
                    let run = match &tolerate {
                        Ok(_) => self.step(
                            wf,
                            plan.job,
                            frame,
                            &plan.permissions,
                            runner,
                            step,
                            &s,
                            &env,
                            end.failed,
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
            let conclusion =
                end.steps
                    .record(&step.id, step.has_id, name, outcome, outputs, tolerate);
            if conclusion == StepStatus::Failure {
                end.failed = true;
            }
        }
        end
    }
}

/// The workflow's env, then the job's, each seeing what is above it; the first error, if any.
fn job_env(
    wf: &Workflow,
    job: &Job,
    scope: &mut Scope,
) -> (IndexMap<String, String>, Option<String>) {
    let mut env = IndexMap::new();
    let mut error = None;
    for (k, t) in wf.env.iter().chain(job.env.iter()) {
        scope.set("env", string_map(&env));
        match t.eval_string(scope) {
            Ok(v) => {
                env.insert(k.clone(), v);
            }
            Err(e) => {
                error.get_or_insert(format!("env.{k} could not be evaluated: {e}"));
            }
        }
    }
    (env, error)
}

/// `jobs.<id>.outputs`; one holding a secret is left out, as on GitHub.
fn job_outputs(job: &Job, runner: &runner::Job, scope: &Scope) -> IndexMap<String, String> {
    let mut outputs = IndexMap::new();
    for (k, t) in &job.outputs {
        match t.eval_string(scope) {
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
    outputs
}

fn environment_url(job: &Job, runner: &runner::Job, scope: &Scope) -> Option<String> {
    let url = job.environment.as_ref()?.url.as_ref()?;
    match url.eval_string(scope) {
        Ok(u) if !u.is_empty() => Some(u),
        Ok(_) => None,
        Err(e) => {
            runner.annotate(
                AnnotationLevel::Warning,
                &format!("the environment url could not be evaluated: {e}"),
            );
            None
        }
    }
}
