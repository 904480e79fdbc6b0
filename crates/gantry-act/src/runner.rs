//! Running a composite action: inputs, steps, file and workflow commands, outputs.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use indexmap::IndexMap;
use serde::Serialize;

use crate::action::{self, Action, Shell, StepKind};
use crate::commands::{
    Annotation, AnnotationLevel, Masker, WorkflowCommand, parse_key_value_file, parse_path_file,
};
use crate::env_vars as ev;
use crate::error::ActError;
use crate::expr::eval::string_map;
use crate::expr::{Scope, Template, Value};

/// How a step ended, as in the `steps.<id>.outcome` and `.conclusion` contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Success,
    Failure,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Success => "success",
            StepStatus::Failure => "failure",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// One top-level step of the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The step's `id`, or the generated `__run`, `__run_2`, … when it has none.
    pub id: String,
    /// The displayed name (`name:`, or `Run <first line>`).
    pub name: String,
    /// The result before `continue-on-error` is applied.
    pub outcome: StepStatus,
    /// The result after `continue-on-error`: a tolerated failure concludes `success`.
    pub conclusion: StepStatus,
    /// What the step wrote to `GITHUB_OUTPUT` (or, for `uses:`, the nested action's outputs).
    pub outputs: IndexMap<String, String>,
}

/// The steps run so far: their results and the `steps` context later steps read. A composite
/// action's steps and a workflow job's steps keep the same record.
#[derive(Debug, Default)]
pub(crate) struct StepsSoFar {
    pub(crate) results: Vec<StepResult>,
    pub(crate) context: IndexMap<String, Value>,
}

impl StepsSoFar {
    /// Records a finished step and returns its conclusion: `continue-on-error` (`tolerate`) turns
    /// a failure into success, and a step with an `id` gets its `steps.<id>` entry.
    pub(crate) fn record(
        &mut self,
        step_id: &str,
        has_id: bool,
        name: String,
        outcome: StepStatus,
        outputs: IndexMap<String, String>,
        tolerate: bool,
    ) -> StepStatus {
        let conclusion = if outcome == StepStatus::Failure && tolerate {
            StepStatus::Success
        } else {
            outcome
        };
        if has_id {
            let entry: Value = [
                ("outputs".to_owned(), string_map(&outputs)),
                ("outcome".to_owned(), Value::from(outcome.as_str())),
                ("conclusion".to_owned(), Value::from(conclusion.as_str())),
            ]
            .into_iter()
            .collect();
            self.context.insert(step_id.to_owned(), entry);
        }
        self.results.push(StepResult {
            id: step_id.to_owned(),
            name,
            outcome,
            conclusion,
            outputs,
        });
        conclusion
    }
}

/// Whether a `continue-on-error` value holds: the text `true`, or a truthy non-string value.
pub(crate) fn truthy_text(v: &Value) -> bool {
    match v {
        Value::String(s) => s.trim() == "true",
        v => v.is_truthy(),
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunResult {
    /// False when any step concluded `failure` or an output could not be evaluated.
    pub success: bool,
    /// The action's `outputs:`, each `value:` evaluated after the last step (unmasked).
    pub outputs: IndexMap<String, String>,
    /// The top-level steps, in order, including skipped ones.
    pub steps: Vec<StepResult>,
    /// Annotations from `::error::`/`::warning::`/`::notice::` and those the runner raised
    /// (failed processes, unexpected inputs), with masked values as `***`.
    pub annotations: Vec<Annotation>,
    /// Values registered with `::add-mask::` (and the `github.token`).
    pub masks: Vec<String>,
    /// Every step's `GITHUB_STEP_SUMMARY`, concatenated in order (masked).
    pub summary: String,
}

impl RunResult {
    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Replaces masked values by `***` in `text`, as the runner does in what it prints.
    pub fn mask(&self, text: &str) -> String {
        Masker::with_values(&self.masks).mask(text)
    }
}

/// Runs a composite action the way the GitHub runner does.
///
/// ```no_run
/// let result = gantry_act::Runner::new("actions/site")
///     .input("paths", "/a /b")
///     .env("AWS_REGION", "eu-west-1")
///     .workspace("examples/app")
///     .run()?;
/// assert!(result.success);
/// # Ok::<(), gantry_act::ActError>(())
/// ```
pub struct Runner {
    action_dir: PathBuf,
    inputs: IndexMap<String, String>,
    env: IndexMap<String, String>,
    workspace: Option<PathBuf>,
    github: IndexMap<String, String>,
    log: Box<dyn Write + Send>,
}

impl Runner {
    /// A runner for the action in `action_dir` (the directory holding `action.yml`).
    pub fn new(action_dir: impl Into<PathBuf>) -> Self {
        Self {
            action_dir: action_dir.into(),
            inputs: IndexMap::new(),
            env: IndexMap::new(),
            workspace: None,
            github: IndexMap::new(),
            log: Box::new(std::io::stderr()),
        }
    }

    /// Sets an input, as `with:` does.
    pub fn input(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inputs.insert(name.into(), value.into());
        self
    }

    /// Sets an environment variable as the calling step's `env:` does: in the `env` context and
    /// in every step's environment.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    /// `GITHUB_WORKSPACE`; default: `$GITHUB_WORKSPACE`, else the current directory.
    pub fn workspace(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workspace = Some(dir.into());
        self
    }

    /// Overrides a `github` context value (`run_id`, `sha`, `token`, …), which otherwise comes
    /// from `GITHUB_*` in the process environment or a fixed fake. Also sets the matching
    /// `GITHUB_*` variable in the steps' environment.
    pub fn github(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.github.insert(key.into(), value.into());
        self
    }

    /// Where step output and the runner's own lines go (default: stderr).
    pub fn log_to(mut self, log: impl Write + Send + 'static) -> Self {
        self.log = Box::new(log);
        self
    }

    /// Loads the action, checks it, and runs it.
    ///
    /// A failing step is not an error: it is in [`RunResult::success`]. Errors are what GitHub
    /// reports as an invalid action, a missing required input, or what gantry-act refuses.
    pub fn run(self) -> Result<RunResult, ActError> {
        let action = action::load(&self.action_dir)?;
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| ActError::Io { what, source }
        };
        let private = tempfile::Builder::new()
            .prefix("gantry-act-")
            .tempdir()
            .map_err(io("creating a temporary directory"))?;
        let workspace = match self
            .workspace
            .or_else(|| std::env::var_os(ev::GITHUB_WORKSPACE).map(PathBuf::from))
        {
            Some(w) => w,
            None => std::env::current_dir().map_err(io("reading the current directory"))?,
        };
        let workspace = std::path::absolute(&workspace).map_err(io("resolving the workspace"))?;
        let inherited_dir = |var: &str, fallback: &str| -> Result<PathBuf, ActError> {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(dir) => Ok(PathBuf::from(dir)),
                None => {
                    let dir = private.path().join(fallback);
                    std::fs::create_dir_all(&dir).map_err(io("creating a runner directory"))?;
                    Ok(dir)
                }
            }
        };
        let temp = inherited_dir(ev::RUNNER_TEMP, "temp")?;
        let tool_cache = inherited_dir(ev::RUNNER_TOOL_CACHE, "tool-cache")?;
        let internal = private.path().join("internal");
        std::fs::create_dir_all(&internal).map_err(io("creating a runner directory"))?;

        let mut github = github_defaults(&workspace);
        github.extend(self.github);
        if github.get("event_path").is_none_or(String::is_empty) {
            let path = internal.join("event.json");
            std::fs::write(&path, "{}").map_err(io("writing the event file"))?;
            github.insert("event_path".into(), path.display().to_string());
        }

        let mut job = Job::new(JobSetup {
            log: self.log,
            workspace,
            temp,
            tool_cache,
            internal,
            github,
            masks: Vec::new(),
        });
        let run = job.run_action(&action, &self.inputs, &self.env, 1, false)?;
        let done = job.finish();
        Ok(RunResult {
            success: run.success,
            outputs: run.outputs,
            steps: run.steps,
            annotations: done.annotations,
            masks: done.masks,
            summary: done.summary,
        })
    }
}

/// The `github` context from `GITHUB_*` variables, with stable fakes for what is not set (so
/// that values derived from the run id are the same from one local run to the next).
fn github_defaults(workspace: &Path) -> IndexMap<String, String> {
    let var = |name: &str, fake: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| fake.to_owned())
    };
    let repository = var("GITHUB_REPOSITORY", "gantry-actions/gantry");
    let git_ref = var("GITHUB_REF", "refs/heads/main");
    let owner = repository.split('/').next().unwrap_or_default().to_owned();
    let ref_name = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(&git_ref)
        .to_owned();
    let ref_type = if git_ref.starts_with("refs/tags/") {
        "tag"
    } else {
        "branch"
    };
    let mut g = IndexMap::new();
    let mut put = |k: &str, v: String| {
        g.insert(k.to_owned(), v);
    };
    put("workspace", workspace.display().to_string());
    put("run_id", var("GITHUB_RUN_ID", "1"));
    put("run_number", var("GITHUB_RUN_NUMBER", "1"));
    put("run_attempt", var("GITHUB_RUN_ATTEMPT", "1"));
    put("job", var("GITHUB_JOB", "gantry-act"));
    put("token", var("GITHUB_TOKEN", "ghs_gantryActLocalFakeToken"));
    put("repository", repository);
    put("repository_owner", var("GITHUB_REPOSITORY_OWNER", &owner));
    put("sha", var("GITHUB_SHA", &"0".repeat(40)));
    put("ref", git_ref.clone());
    put("ref_name", var("GITHUB_REF_NAME", &ref_name));
    put("ref_type", var("GITHUB_REF_TYPE", ref_type));
    put("server_url", var("GITHUB_SERVER_URL", "https://github.com"));
    put("api_url", var("GITHUB_API_URL", "https://api.github.com"));
    put(
        "graphql_url",
        var("GITHUB_GRAPHQL_URL", "https://api.github.com/graphql"),
    );
    put("event_name", var("GITHUB_EVENT_NAME", "workflow_dispatch"));
    put("actor", var("GITHUB_ACTOR", "gantry-act"));
    put(
        "triggering_actor",
        var("GITHUB_TRIGGERING_ACTOR", "gantry-act"),
    );
    put("workflow", var("GITHUB_WORKFLOW", "gantry-act"));
    put("event_path", var("GITHUB_EVENT_PATH", ""));
    g
}

/// State shared with the threads that read a step's stdout and stderr.
struct Shared {
    log: Box<dyn Write + Send>,
    masker: Masker,
    annotations: Vec<Annotation>,
}

impl Shared {
    /// Writes a line of the runner's own (masked).
    fn line(&mut self, text: &str) {
        let masked = self.masker.mask(text);
        let _ = writeln!(self.log, "{masked}");
    }

    /// Records an annotation the runner raises and prints it in workflow-command form.
    fn annotate(&mut self, level: AnnotationLevel, message: &str) {
        let a = self
            .masker
            .mask_annotation(&Annotation::new(level, message));
        let escaped = a
            .message
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let _ = writeln!(self.log, "::{}::{escaped}", level.as_str());
        self.annotations.push(a);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a job starts with.
pub(crate) struct JobSetup {
    pub log: Box<dyn Write + Send>,
    pub workspace: PathBuf,
    pub temp: PathBuf,
    pub tool_cache: PathBuf,
    /// Private: scripts and file-command files.
    pub internal: PathBuf,
    pub github: IndexMap<String, String>,
    /// Values masked from the start (secrets); the `github.token` is added.
    pub masks: Vec<String>,
}

/// What a job leaves behind once its steps ran.
pub(crate) struct JobEnd {
    pub annotations: Vec<Annotation>,
    pub masks: Vec<String>,
    /// Step summaries, masked.
    pub summary: String,
}

/// The job-wide state: what persists from step to step, across nested actions.
pub(crate) struct Job {
    shared: Mutex<Shared>,
    pub(crate) workspace: PathBuf,
    temp: PathBuf,
    tool_cache: PathBuf,
    /// Scripts and file-command files (private; removed after the run).
    pub(crate) internal: PathBuf,
    pub(crate) github: IndexMap<String, String>,
    /// `GITHUB_ENV` exports so far.
    pub(crate) exports: IndexMap<String, String>,
    /// `GITHUB_PATH` additions so far, most recent first.
    path_prepend: Vec<String>,
    summary: String,
    file_counter: usize,
    /// How long the next `run:` process may take (`timeout-minutes`); `None`: no limit.
    pub(crate) timeout: Option<std::time::Duration>,
}

pub(crate) struct ActionRun {
    pub success: bool,
    pub outputs: IndexMap<String, String>,
    pub steps: Vec<StepResult>,
}

/// What one executed step produced, before `continue-on-error`.
pub(crate) struct StepRun {
    pub success: bool,
    pub outputs: IndexMap<String, String>,
}

impl StepRun {
    pub(crate) fn failed() -> Self {
        Self {
            success: false,
            outputs: IndexMap::new(),
        }
    }
}

/// Per-step state the output readers update.
#[derive(Default)]
struct Capture {
    set_outputs: IndexMap<String, String>,
    disabled: Vec<String>,
    stop_token: Option<String>,
}

fn host_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "macOS",
        "windows" => "Windows",
        _ => "Linux",
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        "arm" => "ARM",
        "x86" => "X86",
        _ => "X64",
    }
}

impl Job {
    pub(crate) fn new(setup: JobSetup) -> Self {
        let mut masker = Masker::with_values(&setup.masks);
        // The runner registers the job token as a secret.
        if let Some(token) = setup.github.get("token") {
            masker.add(token);
        }
        Job {
            shared: Mutex::new(Shared {
                log: setup.log,
                masker,
                annotations: Vec::new(),
            }),
            workspace: setup.workspace,
            temp: setup.temp,
            tool_cache: setup.tool_cache,
            internal: setup.internal,
            github: setup.github,
            exports: IndexMap::new(),
            path_prepend: Vec::new(),
            summary: String::new(),
            file_counter: 0,
            timeout: None,
        }
    }

    pub(crate) fn finish(self) -> JobEnd {
        let shared = self
            .shared
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        JobEnd {
            summary: shared.masker.mask(&self.summary),
            annotations: shared.annotations,
            masks: shared.masker.values().to_vec(),
        }
    }

    /// Prints a line of the runner's own (masked).
    pub(crate) fn line(&self, text: &str) {
        lock(&self.shared).line(text);
    }

    /// Raises an annotation and prints it.
    pub(crate) fn annotate(&self, level: AnnotationLevel, message: &str) {
        lock(&self.shared).annotate(level, message);
    }

    /// Registers a value to be masked from now on.
    pub(crate) fn add_mask(&self, value: &str) {
        lock(&self.shared).masker.add(value);
    }

    /// Masks `text` with the values registered so far.
    pub(crate) fn mask(&self, text: &str) -> String {
        lock(&self.shared).masker.mask(text)
    }

    /// Whether `text` holds a registered value.
    pub(crate) fn holds_secret(&self, text: &str) -> bool {
        self.mask(text) != text
    }

    /// Exports a variable as `GITHUB_ENV` does (the shims use it).
    pub(crate) fn export(&mut self, name: &str, value: &str) {
        self.exports.insert(name.to_owned(), value.to_owned());
    }

    pub(crate) fn runner_context(&self) -> Value {
        [
            ("os", host_os().to_owned()),
            ("arch", host_arch().to_owned()),
            ("temp", self.temp.display().to_string()),
            ("tool_cache", self.tool_cache.display().to_string()),
            (
                "name",
                std::env::var(ev::RUNNER_NAME).unwrap_or_else(|_| "gantry-act".to_owned()),
            ),
            ("environment", "self-hosted".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect()
    }

    fn github_context(&self, action: &Action, step_id: Option<&str>) -> Value {
        let mut map: IndexMap<String, Value> = self
            .github
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        map.insert(
            "action_path".into(),
            Value::String(action.dir.display().to_string()),
        );
        map.insert(
            "action".into(),
            Value::String(step_id.unwrap_or_default().to_owned()),
        );
        let event = self
            .github
            .get("event_path")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or_else(Value::object, |j| Value::from_json(&j));
        map.insert("event".into(), event);
        Value::Object(Rc::new(map))
    }

    /// The `env` context: `GITHUB_ENV` exports, overridden by the calling step's env.
    fn env_context(&self, caller_env: &IndexMap<String, String>) -> IndexMap<String, String> {
        let mut env = self.exports.clone();
        env.extend(caller_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        env
    }

    pub(crate) fn run_action(
        &mut self,
        action: &Action,
        given: &IndexMap<String, String>,
        caller_env: &IndexMap<String, String>,
        depth: usize,
        already_failed: bool,
    ) -> Result<ActionRun, ActError> {
        let inputs = self.resolve_inputs(action, given, caller_env)?;
        let inputs_ctx = string_map(&inputs);
        let runner_ctx = self.runner_context();
        // `failed` drives success()/failure(); `own_failure` whether this action failed.
        let mut failed = already_failed;
        let mut own_failure = false;
        let mut so_far = StepsSoFar::default();

        for step in &action.steps {
            let env_ctx = self.env_context(caller_env);
            let mut scope = Scope::new()
                .with("github", self.github_context(action, Some(&step.id)))
                .with("runner", runner_ctx.clone())
                .with("inputs", inputs_ctx.clone())
                .with("steps", Value::Object(Rc::new(so_far.context.clone())))
                .with("env", string_map(&env_ctx));
            scope.failed = failed;
            let name = step
                .name
                .as_ref()
                .and_then(|n| n.eval_string(&scope).ok())
                .unwrap_or_else(|| step.default_name.clone());

            let run_it = match step.condition.eval(&scope) {
                Ok(run_it) => Some(run_it),
                Err(e) => {
                    lock(&self.shared).annotate(
                        AnnotationLevel::Error,
                        &format!("The step's 'if' could not be evaluated: {e}"),
                    );
                    None
                }
            };
            let (outcome, outputs, tolerate) = match run_it {
                Some(false) => {
                    lock(&self.shared).line(&format!("> {name} (skipped)"));
                    (StepStatus::Skipped, IndexMap::new(), false)
                }
                None => (StepStatus::Failure, IndexMap::new(), false),
                Some(true) => {
                    lock(&self.shared).line(&format!("> {name}"));
                    let tolerate = step
                        .continue_on_error
                        .as_ref()
                        .map_or(Ok(false), |t| t.eval(&scope).map(|v| truthy_text(&v)));
                    let run = match tolerate {
                        Ok(_) => self.run_step(action, step, &scope, &env_ctx, depth, failed)?,
                        Err(ref e) => {
                            lock(&self.shared).annotate(
                                AnnotationLevel::Error,
                                &format!("'continue-on-error' could not be evaluated: {e}"),
                            );
                            StepRun::failed()
                        }
                    };
                    let outcome = if run.success {
                        StepStatus::Success
                    } else {
                        StepStatus::Failure
                    };
                    (outcome, run.outputs, tolerate.unwrap_or(false))
                }
            };
            let conclusion = so_far.record(&step.id, step.has_id, name, outcome, outputs, tolerate);
            if conclusion == StepStatus::Failure {
                failed = true;
                own_failure = true;
            }
        }

        let env_ctx = self.env_context(caller_env);
        let scope = Scope::new()
            .with("github", self.github_context(action, None))
            .with("runner", runner_ctx)
            .with("inputs", inputs_ctx)
            .with("steps", Value::Object(Rc::new(so_far.context)))
            .with("env", string_map(&env_ctx));
        let mut outputs = IndexMap::new();
        for (name, output) in &action.outputs {
            match output.value.eval_string(&scope) {
                Ok(v) => {
                    outputs.insert(name.clone(), v);
                }
                Err(e) => {
                    own_failure = true;
                    lock(&self.shared).annotate(
                        AnnotationLevel::Error,
                        &format!("Output '{name}' could not be evaluated: {e}"),
                    );
                }
            }
        }
        Ok(ActionRun {
            success: !own_failure,
            outputs,
            steps: so_far.results,
        })
    }

    fn resolve_inputs(
        &mut self,
        action: &Action,
        given: &IndexMap<String, String>,
        caller_env: &IndexMap<String, String>,
    ) -> Result<IndexMap<String, String>, ActError> {
        let scope = Scope::new()
            .with("github", self.github_context(action, None))
            .with("runner", self.runner_context())
            .with("env", string_map(&self.env_context(caller_env)));
        let find = |name: &str| {
            given
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let mut inputs = IndexMap::new();
        for (name, input) in &action.inputs {
            let value = match (find(name), &input.default) {
                (Some(v), _) => v,
                (None, Some(default)) => {
                    default
                        .eval_string(&scope)
                        .map_err(|source| ActError::Expression {
                            file: action.file.clone(),
                            place: format!("inputs.{name}.default"),
                            source,
                        })?
                }
                (None, None) if input.required => {
                    return Err(ActError::MissingInput {
                        file: action.file.clone(),
                        name: name.clone(),
                    });
                }
                (None, None) => String::new(),
            };
            inputs.insert(name.clone(), value);
        }
        let unexpected: Vec<&String> = given
            .keys()
            .filter(|k| !action.inputs.keys().any(|d| d.eq_ignore_ascii_case(k)))
            .collect();
        if !unexpected.is_empty() {
            let quote = |names: Vec<&String>| {
                names
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let message = format!(
                "Unexpected input(s) {}, valid inputs are [{}]",
                quote(unexpected.clone()),
                quote(action.inputs.keys().collect())
            );
            lock(&self.shared).annotate(AnnotationLevel::Warning, &message);
            // The runner still passes them on.
            for k in unexpected {
                inputs.insert(k.clone(), given[k].clone());
            }
        }
        Ok(inputs)
    }

    fn run_step(
        &mut self,
        action: &Action,
        step: &action::Step,
        scope: &Scope,
        env_ctx: &IndexMap<String, String>,
        depth: usize,
        failed: bool,
    ) -> Result<StepRun, ActError> {
        // The step's own env is evaluated first, then visible to its other fields.
        let mut step_env = IndexMap::new();
        for (k, t) in &step.env {
            match t.eval_string(scope) {
                Ok(v) => {
                    step_env.insert(k.clone(), v);
                }
                Err(e) => return Ok(self.eval_failed(&format!("env.{k}"), &e)),
            }
        }
        let mut env_with_step = env_ctx.clone();
        env_with_step.extend(step_env.clone());
        let mut scope = scope.clone();
        scope.set("env", string_map(&env_with_step));

        match &step.kind {
            StepKind::Run {
                script,
                shell,
                working_directory,
            } => {
                let script = match script.eval_string(&scope) {
                    Ok(s) => s,
                    Err(e) => return Ok(self.eval_failed("run", &e)),
                };
                let cwd = match self.working_dir(working_directory.as_ref(), &scope) {
                    Ok(dir) => dir,
                    Err(failed) => return Ok(failed),
                };
                Ok(self.exec(
                    Some(&action.dir),
                    &step.id,
                    shell,
                    &script,
                    &cwd,
                    &env_with_step,
                ))
            }
            StepKind::Uses { path, with } => {
                let mut inputs = IndexMap::new();
                for (k, t) in with {
                    match t.eval_string(&scope) {
                        Ok(v) => {
                            inputs.insert(k.clone(), v);
                        }
                        Err(e) => return Ok(self.eval_failed(&format!("with.{k}"), &e)),
                    }
                }
                if depth >= action::MAX_DEPTH {
                    return Err(ActError::TooDeep {
                        file: action.file.clone(),
                        max: action::MAX_DEPTH,
                    });
                }
                // GitHub resolves `./` against the workspace, not the calling action, and `$/`
                // in the calling action's repository.
                let dir = match path.strip_prefix("$/") {
                    Some(rest) => action::repository_of(&action.dir)
                        .unwrap_or_else(|| action.dir.clone())
                        .join(rest),
                    None => self.workspace.join(path),
                };
                if action::find_action_file(&dir).is_err() {
                    return Err(ActError::LocalActionNotFound {
                        file: action.file.clone(),
                        uses: path.clone(),
                        path: dir,
                    });
                }
                let nested = action::load(&dir)?;
                let run = self.run_action(&nested, &inputs, &env_with_step, depth + 1, failed)?;
                Ok(StepRun {
                    success: run.success,
                    outputs: run.outputs,
                })
            }
        }
    }

    /// Where a `run:` step runs: its `working-directory` evaluated, under the workspace (the
    /// workspace itself without one). An error fails the step, as [`Job::eval_failed`] does.
    pub(crate) fn working_dir(
        &self,
        working_directory: Option<&Template>,
        scope: &Scope,
    ) -> Result<PathBuf, StepRun> {
        match working_directory.map(|w| w.eval_string(scope)) {
            None => Ok(self.workspace.clone()),
            Some(Ok(w)) => Ok(self.workspace.join(w)),
            Some(Err(e)) => Err(self.eval_failed("working-directory", &e)),
        }
    }

    /// Raises the error of a step field (`run`, `env.X`, …) that could not be evaluated, and
    /// fails the step.
    pub(crate) fn eval_failed(&self, field: &str, e: &crate::expr::ExprError) -> StepRun {
        lock(&self.shared).annotate(
            AnnotationLevel::Error,
            &format!("The step's '{field}' could not be evaluated: {e}"),
        );
        StepRun::failed()
    }

    /// Runs a script like the runner: written to a file, run by the shell with per-step
    /// file-command files, output echoed and scanned for workflow commands.
    pub(crate) fn exec(
        &mut self,
        action_path: Option<&Path>,
        step_id: &str,
        shell: &Shell,
        script: &str,
        cwd: &Path,
        step_env: &IndexMap<String, String>,
    ) -> StepRun {
        self.file_counter += 1;
        let n = self.file_counter;
        let file = |name: &str| self.internal.join(format!("{name}_{n}"));
        let files = [
            (ev::GITHUB_OUTPUT, file("set_output")),
            (ev::GITHUB_ENV, file("set_env")),
            (ev::GITHUB_PATH, file("add_path")),
            (ev::GITHUB_STEP_SUMMARY, file("step_summary")),
            (ev::GITHUB_STATE, file("save_state")),
        ];
        let script_path = self.internal.join(format!("{n}{}", shell.extension));
        let prepared = files
            .iter()
            .try_for_each(|(_, p)| std::fs::write(p, ""))
            .and_then(|()| std::fs::write(&script_path, script));
        if let Err(e) = prepared {
            lock(&self.shared).annotate(
                AnnotationLevel::Error,
                &format!("Could not prepare the step: {e}"),
            );
            return StepRun::failed();
        }
        if !cwd.is_dir() {
            lock(&self.shared).annotate(
                AnnotationLevel::Error,
                &format!(
                    "An error occurred trying to start process '{}' with working directory '{}'. No such file or directory",
                    shell.argv.first().map_or("", String::as_str),
                    cwd.display()
                ),
            );
            return StepRun::failed();
        }

        let env = self.process_env(action_path, step_id, step_env, &files);
        let script_arg = script_path.display().to_string();
        let argv: Vec<String> = shell
            .argv
            .iter()
            .map(|a| a.replace("{0}", &script_arg))
            .collect();
        let Some((program, args)) = argv.split_first() else {
            return StepRun::failed();
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.timeout.is_some() {
            // Its own process group, so that a timeout stops the script's children too.
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
        }
        let child = command.spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                lock(&self.shared).annotate(
                    AnnotationLevel::Error,
                    &format!(
                        "Could not start '{program}' for shell '{}': {e}",
                        shell.spec
                    ),
                );
                return StepRun::failed();
            }
        };
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog = self.timeout.map(|limit| {
            let group = format!("-{}", child.id());
            std::thread::spawn(move || {
                let expired = matches!(
                    finished.recv_timeout(limit),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                );
                if expired {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &group])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
                expired
            })
        });
        let capture = Mutex::new(Capture::default());
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let this = &*self;
        let capture_ref = &capture;
        std::thread::scope(|s| {
            if let Some(out) = stdout {
                s.spawn(move || this.pump(out, capture_ref));
            }
            if let Some(err) = stderr {
                s.spawn(move || this.pump(err, capture_ref));
            }
        });
        let status = child.wait();
        drop(done);
        let timed_out = watchdog.is_some_and(|w| w.join().unwrap_or(false));
        let capture = capture.into_inner().unwrap_or_else(PoisonError::into_inner);

        let mut success = true;
        let mut shared = lock(&self.shared);
        match status {
            _ if timed_out => {
                success = false;
                let minutes = self.timeout.map_or(0.0, |t| t.as_secs_f64() / 60.0);
                shared.annotate(
                    AnnotationLevel::Error,
                    &format!(
                        "The step '{step_id}' has timed out after {} minutes.",
                        crate::expr::value::number_to_string(minutes)
                    ),
                );
            }
            Ok(s) if s.success() => {}
            Ok(s) => {
                success = false;
                let message = match s.code() {
                    Some(code) => format!("Process completed with exit code {code}."),
                    None => format!("Process was terminated: {s}."),
                };
                shared.annotate(AnnotationLevel::Error, &message);
            }
            Err(e) => {
                success = false;
                shared.annotate(
                    AnnotationLevel::Error,
                    &format!("Waiting for the process failed: {e}"),
                );
            }
        }
        for name in &capture.disabled {
            success = false;
            shared.annotate(
                AnnotationLevel::Error,
                &format!(
                    "Unable to process command '::{name}::' successfully. The `{name}` command is disabled. Please upgrade to using Environment Files."
                ),
            );
        }

        // File commands are processed even after a failure, as the runner does.
        let read = |var: &str| {
            files
                .iter()
                .find(|(v, _)| *v == var)
                .and_then(|(_, p)| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let mut outputs = capture.set_outputs;
        match parse_key_value_file(&read(ev::GITHUB_OUTPUT)) {
            Ok(pairs) => outputs.extend(pairs),
            Err(e) => {
                success = false;
                shared.annotate(AnnotationLevel::Error, &format!("GITHUB_OUTPUT: {e}"));
            }
        }
        match parse_key_value_file(&read(ev::GITHUB_ENV)) {
            Ok(pairs) => self.exports.extend(pairs),
            Err(e) => {
                success = false;
                shared.annotate(AnnotationLevel::Error, &format!("GITHUB_ENV: {e}"));
            }
        }
        for dir in parse_path_file(&read(ev::GITHUB_PATH)) {
            self.path_prepend.retain(|d| d != &dir);
            self.path_prepend.insert(0, dir);
        }
        self.summary.push_str(&read(ev::GITHUB_STEP_SUMMARY));
        drop(shared);
        StepRun { success, outputs }
    }

    /// The environment a step's process gets.
    fn process_env(
        &self,
        action_path: Option<&Path>,
        step_id: &str,
        step_env: &IndexMap<String, String>,
        files: &[(&str, PathBuf)],
    ) -> IndexMap<String, String> {
        let mut env: IndexMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        set(ev::CI, "true".into());
        set(ev::GITHUB_ACTIONS, "true".into());
        set(ev::RUNNER_OS, host_os().into());
        set(ev::RUNNER_ARCH, host_arch().into());
        set(ev::RUNNER_TEMP, self.temp.display().to_string());
        set(ev::RUNNER_TOOL_CACHE, self.tool_cache.display().to_string());
        for (key, value) in &self.github {
            // The token is a context value only; the runner does not export it.
            if key != "token" {
                set(
                    &format!("GITHUB_{}", key.to_ascii_uppercase()),
                    value.clone(),
                );
            }
        }
        env.extend(self.exports.clone());
        // `step_env` already holds the caller's env and the step's own, over the exports.
        env.extend(step_env.clone());
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        if let Some(dir) = action_path {
            set(ev::GITHUB_ACTION_PATH, dir.display().to_string());
        }
        set(ev::GITHUB_ACTION, step_id.to_owned());
        for (var, path) in files {
            set(var, path.display().to_string());
        }
        if !self.path_prepend.is_empty() {
            let mut path = self.path_prepend.join(":");
            if let Some(old) = env.get(ev::PATH).filter(|p| !p.is_empty()) {
                path = format!("{path}:{old}");
            }
            env.insert(ev::PATH.to_owned(), path);
        }
        env
    }

    /// Echoes a stream line by line, acting on workflow commands.
    fn pump(&self, stream: impl Read, capture: &Mutex<Capture>) {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf);
            let line = text.trim_end_matches(['\n', '\r']);
            let mut cap = lock(capture);
            let mut shared = lock(&self.shared);
            if let Some(token) = &cap.stop_token {
                if line.trim() == format!("::{token}::") {
                    cap.stop_token = None;
                }
            } else if let Some(cmd) = WorkflowCommand::parse(line) {
                match cmd.name.as_str() {
                    "add-mask" => shared.masker.add(&cmd.data),
                    "set-output" => {
                        if let Some(name) = cmd.properties.get("name") {
                            cap.set_outputs.insert(name.clone(), cmd.data.clone());
                        }
                    }
                    "set-env" | "add-path" => cap.disabled.push(cmd.name.clone()),
                    "stop-commands" => cap.stop_token = Some(cmd.data.clone()),
                    _ => {
                        if let Some(a) = cmd.annotation() {
                            let a = shared.masker.mask_annotation(&a);
                            shared.annotations.push(a);
                        }
                    }
                }
            }
            shared.line(line);
        }
    }
}
