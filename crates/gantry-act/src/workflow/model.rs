//! The workflow file model: parsed with `serde_yaml_ng` (unknown keys refused, as GitHub's schema
//! refuses them), then compiled — every expression parsed — so that a broken workflow is refused
//! before any job runs.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use crate::action::{
    Scalar, Shell, StepBody, absolute, default_step_name, is_valid_id, read_text, scalar,
    scalar_text, step_body, step_id, step_label,
};
use crate::error::ActError;
use crate::expr::{Condition, Dialect, ExprError, Template};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawWorkflow {
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    run_name: Option<String>,
    on: Yaml,
    #[serde(default)]
    permissions: Option<Yaml>,
    #[serde(default)]
    env: IndexMap<String, Scalar>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    #[serde(default)]
    concurrency: Option<Yaml>,
    jobs: IndexMap<String, RawJob>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    run: Option<RawRunDefaults>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRunDefaults {
    #[serde(default, deserialize_with = "scalar")]
    shell: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    working_directory: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawJob {
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(default)]
    needs: Option<Yaml>,
    #[serde(rename = "if", default, deserialize_with = "scalar")]
    condition: Option<String>,
    #[serde(default)]
    runs_on: Option<Yaml>,
    #[serde(default)]
    environment: Option<Yaml>,
    #[serde(default)]
    permissions: Option<Yaml>,
    #[serde(default)]
    concurrency: Option<Yaml>,
    #[serde(default)]
    env: IndexMap<String, Scalar>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    #[serde(default)]
    outputs: IndexMap<String, Scalar>,
    #[serde(default)]
    strategy: Option<RawStrategy>,
    #[serde(default, deserialize_with = "scalar")]
    timeout_minutes: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    continue_on_error: Option<String>,
    #[serde(default)]
    steps: Option<Vec<RawStep>>,
    #[serde(default)]
    uses: Option<String>,
    #[serde(default)]
    with: Option<IndexMap<String, Scalar>>,
    #[serde(default)]
    secrets: Option<Yaml>,
    #[serde(default)]
    container: Option<Yaml>,
    #[serde(default)]
    services: Option<Yaml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStrategy {
    matrix: Yaml,
    #[serde(default, deserialize_with = "scalar")]
    fail_fast: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    max_parallel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    id: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    name: Option<String>,
    #[serde(rename = "if", default, deserialize_with = "scalar")]
    condition: Option<String>,
    run: Option<String>,
    shell: Option<String>,
    #[serde(default)]
    env: IndexMap<String, Scalar>,
    #[serde(default, deserialize_with = "scalar")]
    working_directory: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    continue_on_error: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    timeout_minutes: Option<String>,
    uses: Option<String>,
    #[serde(default)]
    with: Option<IndexMap<String, Scalar>>,
}

/// A parsed, checked workflow.
#[derive(Debug)]
pub struct Workflow {
    pub file: PathBuf,
    /// `name:`, or the file's path as GitHub shows it.
    pub name: String,
    pub run_name: Option<Template>,
    pub on: Triggers,
    pub permissions: Option<Permissions>,
    pub env: IndexMap<String, Template>,
    pub defaults: RunDefaults,
    pub concurrency: Option<Concurrency>,
    pub jobs: IndexMap<String, Job>,
}

/// The events of `on:`, with the inputs of the two that take them.
#[derive(Debug, Default)]
pub struct Triggers {
    pub events: Vec<String>,
    pub dispatch: Option<IndexMap<String, InputSpec>>,
    pub call: Option<CallSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    String,
    Boolean,
    Number,
    Choice(Vec<String>),
    Environment,
}

impl InputKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            InputKind::String => "string",
            InputKind::Boolean => "boolean",
            InputKind::Number => "number",
            InputKind::Choice(_) => "choice",
            InputKind::Environment => "environment",
        }
    }
}

#[derive(Debug, Clone)]
pub struct InputSpec {
    pub description: Option<String>,
    pub kind: InputKind,
    pub required: bool,
    /// The default as written (`true`, `3`, `main`); a `workflow_call` default may be an
    /// expression over `github`.
    pub default: Option<String>,
}

/// `on.workflow_call`.
#[derive(Debug, Default)]
pub struct CallSpec {
    pub inputs: IndexMap<String, InputSpec>,
    /// Secret names and whether each is required.
    pub secrets: IndexMap<String, bool>,
    /// Output names and their `value:` (over the `jobs` context).
    pub outputs: IndexMap<String, Template>,
}

#[derive(Debug, Default, Clone)]
pub struct RunDefaults {
    pub shell: Option<String>,
    pub working_directory: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct Concurrency {
    pub group: Template,
    pub cancel_in_progress: Option<Template>,
}

/// `read`, `write` or `none` for one scope of the `GITHUB_TOKEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    None,
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// The scopes GitHub's schema knows for `permissions:`.
pub const SCOPES: [&str; 16] = [
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
    "artifact-metadata",
];

/// The token's permissions: every scope with its access (absent scopes are `none`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    pub scopes: IndexMap<String, Access>,
}

impl Permissions {
    pub fn get(&self, scope: &str) -> Access {
        self.scopes.get(scope).copied().unwrap_or(Access::None)
    }

    /// What a job gets when neither it nor its workflow says: GitHub's restricted default for
    /// the `GITHUB_TOKEN` (`contents: read`, `packages: read`, `metadata: read`).
    pub fn restricted_default() -> Self {
        let mut scopes = IndexMap::new();
        scopes.insert("contents".to_owned(), Access::Read);
        scopes.insert("packages".to_owned(), Access::Read);
        Self { scopes }
    }

    fn all(access: Access) -> Self {
        Self {
            scopes: SCOPES
                .iter()
                .map(|s| {
                    let a = if *s == "id-token" && access == Access::Read {
                        Access::None
                    } else {
                        access
                    };
                    ((*s).to_owned(), a)
                })
                .collect(),
        }
    }

    /// `scope: access` pairs, the granted ones only, for printing.
    pub fn describe(&self) -> String {
        let granted: Vec<String> = self
            .scopes
            .iter()
            .filter(|(_, a)| **a != Access::None)
            .map(|(s, a)| format!("{s}: {}", a.as_str()))
            .collect();
        if granted.is_empty() {
            "none".to_owned()
        } else {
            granted.join(", ")
        }
    }
}

#[derive(Debug)]
pub struct EnvironmentSpec {
    pub name: Template,
    pub url: Option<Template>,
}

#[derive(Debug)]
pub struct Strategy {
    /// The matrix as written (YAML converted to JSON); strings may hold expressions.
    pub matrix: serde_json::Value,
    pub fail_fast: Option<Template>,
    pub max_parallel: Option<Template>,
}

/// `secrets:` of a job that calls a reusable workflow.
#[derive(Debug)]
pub enum CallSecrets {
    Inherit,
    Map(IndexMap<String, Template>),
}

#[derive(Debug)]
pub enum JobKind {
    Steps(Vec<Step>),
    /// `uses:` a reusable workflow.
    Call {
        uses: String,
        with: IndexMap<String, Template>,
        secrets: CallSecrets,
    },
}

#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub name: Option<Template>,
    pub needs: Vec<String>,
    pub condition: Condition,
    /// `runs-on` (a label, or a list or group as JSON text), recorded: every job runs on this
    /// machine.
    pub runs_on: Option<Template>,
    pub environment: Option<EnvironmentSpec>,
    pub permissions: Option<Permissions>,
    pub concurrency: Option<Concurrency>,
    pub env: IndexMap<String, Template>,
    pub defaults: RunDefaults,
    pub outputs: IndexMap<String, Template>,
    pub strategy: Option<Strategy>,
    pub timeout_minutes: Option<Template>,
    pub continue_on_error: Option<Template>,
    pub kind: JobKind,
}

#[derive(Debug)]
pub enum StepKind {
    Run {
        script: Template,
        /// `shell:` of the step; `None`: the defaults, else `bash -e {0}`.
        shell: Option<Shell>,
        working_directory: Option<Template>,
    },
    /// `uses: ./path`: a local composite action, resolved against the workspace; or
    /// `uses: $/path`, resolved in the workflow's own repository (GitHub's self-repository
    /// reference), checked out or not.
    Local {
        path: String,
        self_repo: bool,
        with: IndexMap<String, Template>,
    },
    /// `uses: owner/repo[/path]@ref`: run through a shim, or refused.
    Remote {
        /// `owner/repo[/path]`.
        action: String,
        git_ref: String,
        with: IndexMap<String, Template>,
    },
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub has_id: bool,
    pub name: Option<Template>,
    /// `name:` as written, for `--skip-step`.
    pub name_text: Option<String>,
    /// `Run <first line>` or `Run <uses>`, when `name:` is absent.
    pub default_name: String,
    /// `uses:` as written, for `--skip-step` and messages.
    pub uses: Option<String>,
    pub condition: Condition,
    pub env: IndexMap<String, Template>,
    pub continue_on_error: Option<Template>,
    pub timeout_minutes: Option<Template>,
    pub kind: StepKind,
}

/// Loads, checks and compiles a workflow file.
pub fn load(file: &Path) -> Result<Workflow, ActError> {
    let file = absolute(file)?;
    let text = read_text(&file)?;
    parse(&text, file)
}

/// Compiles workflow text; `file` names it in errors.
pub fn parse(text: &str, file: PathBuf) -> Result<Workflow, ActError> {
    let raw: RawWorkflow = serde_yaml_ng::from_str(text).map_err(|source| ActError::Yaml {
        file: file.clone(),
        source,
    })?;
    Compiler { file }.workflow(raw)
}

struct Compiler {
    file: PathBuf,
}

fn yaml_to_json(v: &Yaml) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl Compiler {
    fn invalid(&self, message: impl Into<String>) -> ActError {
        ActError::InvalidWorkflow {
            file: self.file.clone(),
            message: message.into(),
        }
    }

    fn expr_err(&self, place: &str, source: ExprError) -> ActError {
        ActError::Expression {
            file: self.file.clone(),
            place: place.to_owned(),
            source,
        }
    }

    fn template(&self, place: &str, text: &str) -> Result<Template, ActError> {
        Template::parse_in(text, Dialect::WORKFLOW).map_err(|e| self.expr_err(place, e))
    }

    fn opt_template(
        &self,
        place: &str,
        text: Option<String>,
    ) -> Result<Option<Template>, ActError> {
        text.map(|t| self.template(place, &t)).transpose()
    }

    fn condition(&self, place: &str, text: Option<&str>) -> Result<Condition, ActError> {
        Condition::parse_in(text.unwrap_or(""), true, Dialect::WORKFLOW)
            .map_err(|e| self.expr_err(place, e))
    }

    /// A scalar as text; `place` names it in the error.
    fn scalar(&self, place: &str, v: &Yaml) -> Result<String, ActError> {
        scalar_text(v.clone()).map_err(|e| self.invalid(format!("'{place}': {e}")))
    }

    /// The scalar under `key` of the mapping at `place`, as text, if it is there.
    fn mapping_text(
        &self,
        place: &str,
        m: &serde_yaml_ng::Mapping,
        key: &str,
    ) -> Result<Option<String>, ActError> {
        m.get(key)
            .map(|v| self.scalar(&format!("{place}.{key}"), v))
            .transpose()
    }

    fn templates(
        &self,
        place: &str,
        map: IndexMap<String, Scalar>,
    ) -> Result<IndexMap<String, Template>, ActError> {
        map.into_iter()
            .map(|(k, v)| Ok((k.clone(), self.template(&format!("{place}.{k}"), &v.0)?)))
            .collect()
    }

    fn workflow(&self, raw: RawWorkflow) -> Result<Workflow, ActError> {
        if raw.jobs.is_empty() {
            return Err(self.invalid("'jobs' is empty: a workflow needs at least one job"));
        }
        let on = self.triggers(&raw.on)?;
        let permissions = raw
            .permissions
            .as_ref()
            .map(|p| self.permissions("permissions", p))
            .transpose()?;
        let env = self.templates("env", raw.env)?;
        let defaults = self.defaults("defaults", raw.defaults)?;
        let concurrency = raw
            .concurrency
            .as_ref()
            .map(|c| self.concurrency("concurrency", c))
            .transpose()?;
        let mut jobs = IndexMap::new();
        for (id, job) in raw.jobs {
            let job = self.job(&id, job)?;
            jobs.insert(id, job);
        }
        let name = raw.name.unwrap_or_else(|| self.default_name());
        Ok(Workflow {
            file: self.file.clone(),
            name,
            run_name: self.opt_template("run-name", raw.run_name)?,
            on,
            permissions,
            env,
            defaults,
            concurrency,
            jobs,
        })
    }

    /// GitHub shows a workflow without `name:` by its path in the repository.
    fn default_name(&self) -> String {
        let text = self.file.display().to_string();
        match text.find(".github/workflows/") {
            Some(i) => text[i..].to_owned(),
            None => self
                .file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        }
    }

    fn triggers(&self, on: &Yaml) -> Result<Triggers, ActError> {
        let mut t = Triggers::default();
        match on {
            Yaml::String(event) => t.events.push(event.clone()),
            Yaml::Sequence(events) => {
                for e in events {
                    let e = e
                        .as_str()
                        .ok_or_else(|| self.invalid("'on': a list of events must hold names"))?;
                    t.events.push(e.to_owned());
                }
            }
            Yaml::Mapping(map) => {
                for (event, body) in map {
                    let event = event
                        .as_str()
                        .ok_or_else(|| self.invalid("'on': event names must be strings"))?;
                    t.events.push(event.to_owned());
                    match event {
                        "workflow_dispatch" => {
                            t.dispatch = Some(self.inputs("on.workflow_dispatch", body, true)?);
                        }
                        "workflow_call" => t.call = Some(self.call(body)?),
                        _ => {}
                    }
                }
            }
            _ => return Err(self.invalid("'on' must be an event, a list or a mapping")),
        }
        if t.events.iter().any(|e| e == "workflow_dispatch") && t.dispatch.is_none() {
            t.dispatch = Some(IndexMap::new());
        }
        if t.events.iter().any(|e| e == "workflow_call") && t.call.is_none() {
            t.call = Some(CallSpec::default());
        }
        Ok(t)
    }

    fn mapping<'a>(
        &self,
        place: &str,
        v: &'a Yaml,
    ) -> Result<Option<&'a serde_yaml_ng::Mapping>, ActError> {
        match v {
            Yaml::Null => Ok(None),
            Yaml::Mapping(m) => Ok(Some(m)),
            _ => Err(self.invalid(format!("'{place}' must be a mapping"))),
        }
    }

    fn inputs(
        &self,
        place: &str,
        body: &Yaml,
        dispatch: bool,
    ) -> Result<IndexMap<String, InputSpec>, ActError> {
        let mut out = IndexMap::new();
        let Some(body) = self.mapping(place, body)? else {
            return Ok(out);
        };
        let allowed = ["inputs", "secrets", "outputs"];
        for (k, _) in body {
            let k = k.as_str().unwrap_or_default();
            if !allowed.contains(&k) || (dispatch && k != "inputs") {
                return Err(self.invalid(format!("'{place}': unknown key '{k}'")));
            }
        }
        let Some(inputs) = body.get("inputs") else {
            return Ok(out);
        };
        let Some(inputs) = self.mapping(&format!("{place}.inputs"), inputs)? else {
            return Ok(out);
        };
        for (name, spec) in inputs {
            let name = name.as_str().unwrap_or_default().to_owned();
            let at = format!("{place}.inputs.{name}");
            let spec = self.mapping(&at, spec)?;
            let get = |k: &str| spec.and_then(|m| m.get(k));
            let known = [
                "description",
                "required",
                "default",
                "type",
                "options",
                "deprecationMessage",
            ];
            for (k, _) in spec.into_iter().flatten() {
                let k = k.as_str().unwrap_or_default();
                if !known.contains(&k) {
                    return Err(self.invalid(format!("'{at}': unknown key '{k}'")));
                }
            }
            let text = |k: &str| -> Result<Option<String>, ActError> {
                get(k)
                    .map(|v| self.scalar(&format!("{at}.{k}"), v))
                    .transpose()
            };
            let required = match text("required")?.as_deref() {
                None | Some("false" | "") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(self.invalid(format!(
                        "'{at}.required' must be true or false, not '{other}'"
                    )));
                }
            };
            let kind = match (text("type")?.as_deref(), dispatch) {
                (None | Some("string"), _) => InputKind::String,
                (Some("boolean"), _) => InputKind::Boolean,
                (Some("number"), _) => InputKind::Number,
                (Some("choice"), true) => {
                    let options = get("options")
                        .and_then(Yaml::as_sequence)
                        .ok_or_else(|| {
                            self.invalid(format!("'{at}': a choice input needs 'options'"))
                        })?
                        .iter()
                        .map(|o| self.scalar(&format!("{at}.options"), o))
                        .collect::<Result<Vec<_>, _>>()?;
                    InputKind::Choice(options)
                }
                (Some("environment"), true) => InputKind::Environment,
                (Some(other), _) => {
                    let accepted = if dispatch {
                        "string, boolean, number, choice or environment"
                    } else {
                        "string, boolean or number"
                    };
                    return Err(
                        self.invalid(format!("'{at}.type' is '{other}'; accepted: {accepted}"))
                    );
                }
            };
            let default = text("default")?;
            if let (InputKind::Choice(options), Some(d)) = (&kind, &default)
                && !options.contains(d)
            {
                return Err(self.invalid(format!("'{at}.default' '{d}' is not one of its options")));
            }
            if let Some(d) = &default
                && !dispatch
            {
                self.template(&format!("{at}.default"), d)?;
            }
            out.insert(
                name,
                InputSpec {
                    description: text("description")?,
                    kind,
                    required,
                    default,
                },
            );
        }
        Ok(out)
    }

    fn call(&self, body: &Yaml) -> Result<CallSpec, ActError> {
        let place = "on.workflow_call";
        let mut spec = CallSpec {
            inputs: self.inputs(place, body, false)?,
            ..CallSpec::default()
        };
        let Some(body) = self.mapping(place, body)? else {
            return Ok(spec);
        };
        if let Some(secrets) = body.get("secrets")
            && let Some(secrets) = self.mapping(&format!("{place}.secrets"), secrets)?
        {
            for (name, s) in secrets {
                let name = name.as_str().unwrap_or_default().to_owned();
                let required = self
                    .mapping(&format!("{place}.secrets.{name}"), s)?
                    .and_then(|m| m.get("required"))
                    .is_some_and(|r| r.as_bool() == Some(true) || r.as_str() == Some("true"));
                spec.secrets.insert(name, required);
            }
        }
        if let Some(outputs) = body.get("outputs")
            && let Some(outputs) = self.mapping(&format!("{place}.outputs"), outputs)?
        {
            for (name, o) in outputs {
                let name = name.as_str().unwrap_or_default().to_owned();
                let at = format!("{place}.outputs.{name}");
                let value = self
                    .mapping(&at, o)?
                    .and_then(|m| m.get("value"))
                    .ok_or_else(|| self.invalid(format!("'{at}' has no 'value'")))?;
                let value = self.scalar(&format!("{at}.value"), value)?;
                spec.outputs
                    .insert(name, self.template(&format!("{at}.value"), &value)?);
            }
        }
        Ok(spec)
    }

    fn permissions(&self, place: &str, v: &Yaml) -> Result<Permissions, ActError> {
        match v {
            Yaml::String(s) if s == "read-all" => Ok(Permissions::all(Access::Read)),
            Yaml::String(s) if s == "write-all" => Ok(Permissions::all(Access::Write)),
            Yaml::Mapping(map) => {
                let mut p = Permissions::default();
                for (scope, access) in map {
                    let scope = scope.as_str().unwrap_or_default();
                    if !SCOPES.contains(&scope) && scope != "metadata" {
                        return Err(self.invalid(format!(
                            "'{place}': unknown scope '{scope}' (known: {})",
                            SCOPES.join(", ")
                        )));
                    }
                    let access = match access.as_str() {
                        Some("read") if scope != "id-token" => Access::Read,
                        Some("write") => Access::Write,
                        Some("none") => Access::None,
                        _ => {
                            return Err(self.invalid(format!(
                                "'{place}.{scope}' must be {}",
                                if scope == "id-token" {
                                    "write or none"
                                } else {
                                    "read, write or none"
                                }
                            )));
                        }
                    };
                    p.scopes.insert(scope.to_owned(), access);
                }
                Ok(p)
            }
            _ => Err(self.invalid(format!(
                "'{place}' must be read-all, write-all or a mapping of scopes"
            ))),
        }
    }

    fn defaults(&self, place: &str, raw: Option<RawDefaults>) -> Result<RunDefaults, ActError> {
        let Some(run) = raw.and_then(|d| d.run) else {
            return Ok(RunDefaults::default());
        };
        if let Some(shell) = &run.shell {
            Shell::parse(shell).map_err(|m| self.invalid(format!("'{place}.run.shell': {m}")))?;
        }
        Ok(RunDefaults {
            shell: run.shell,
            working_directory: self.opt_template(
                &format!("{place}.run.working-directory"),
                run.working_directory,
            )?,
        })
    }

    fn concurrency(&self, place: &str, v: &Yaml) -> Result<Concurrency, ActError> {
        match v {
            Yaml::Mapping(m) => {
                let text = |k: &str| self.mapping_text(place, m, k);
                let group = text("group")?
                    .ok_or_else(|| self.invalid(format!("'{place}' needs a 'group'")))?;
                Ok(Concurrency {
                    group: self.template(&format!("{place}.group"), &group)?,
                    cancel_in_progress: self.opt_template(
                        &format!("{place}.cancel-in-progress"),
                        text("cancel-in-progress")?,
                    )?,
                })
            }
            other => {
                let group = self.scalar(place, other)?;
                Ok(Concurrency {
                    group: self.template(place, &group)?,
                    cancel_in_progress: None,
                })
            }
        }
    }

    fn job(&self, id: &str, raw: RawJob) -> Result<Job, ActError> {
        let at = format!("jobs.{id}");
        if !is_valid_id(id) {
            return Err(self.invalid(format!(
                "job id '{id}' must start with a letter or '_' and contain only letters, digits, '-' and '_'"
            )));
        }
        if raw.container.is_some() || raw.services.is_some() {
            return Err(self.invalid(format!(
                "'{at}': 'container' and 'services' are not supported by gantry-act (jobs run on this machine)"
            )));
        }
        let needs = match &raw.needs {
            None => Vec::new(),
            Some(Yaml::String(s)) => vec![s.clone()],
            Some(Yaml::Sequence(items)) => items
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.invalid(format!("'{at}.needs' must list job ids")))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(self.invalid(format!("'{at}.needs' must be a job id or a list"))),
        };
        let runs_on = raw
            .runs_on
            .as_ref()
            .map(|r| match r {
                Yaml::String(s) => self.template(&format!("{at}.runs-on"), s),
                other => self.template(&format!("{at}.runs-on"), &yaml_to_json(other).to_string()),
            })
            .transpose()?;
        let environment = raw
            .environment
            .as_ref()
            .map(|e| self.environment(&format!("{at}.environment"), e))
            .transpose()?;
        let strategy = raw
            .strategy
            .map(|s| -> Result<Strategy, ActError> {
                let matrix = yaml_to_json(&s.matrix);
                check_matrix_expressions(&matrix)
                    .map_err(|e| self.expr_err(&format!("{at}.strategy.matrix"), e))?;
                Ok(Strategy {
                    matrix,
                    fail_fast: self
                        .opt_template(&format!("{at}.strategy.fail-fast"), s.fail_fast)?,
                    max_parallel: self
                        .opt_template(&format!("{at}.strategy.max-parallel"), s.max_parallel)?,
                })
            })
            .transpose()?;
        let kind = match (raw.steps, raw.uses) {
            (Some(_), Some(_)) => {
                return Err(self.invalid(format!("'{at}' has both 'steps' and 'uses'")));
            }
            (None, None) => return Err(self.invalid(format!("'{at}' needs 'steps' or 'uses'"))),
            (Some(steps), None) => {
                if raw.with.is_some() || raw.secrets.is_some() {
                    return Err(self.invalid(format!(
                        "'{at}': 'with' and 'secrets' are only for jobs that call a reusable workflow"
                    )));
                }
                if runs_on.is_none() {
                    return Err(
                        self.invalid(format!("'{at}': Required property is missing: runs-on"))
                    );
                }
                JobKind::Steps(self.steps(&at, steps)?)
            }
            (None, Some(uses)) => {
                let refused = [
                    ("runs-on", raw.runs_on.is_some()),
                    ("environment", raw.environment.is_some()),
                    ("env", !raw.env.is_empty()),
                    ("defaults", raw.defaults.is_some()),
                    ("outputs", !raw.outputs.is_empty()),
                    ("timeout-minutes", raw.timeout_minutes.is_some()),
                    ("continue-on-error", raw.continue_on_error.is_some()),
                ];
                if let Some((key, _)) = refused.iter().find(|(_, present)| *present) {
                    return Err(self.invalid(format!(
                        "'{at}': '{key}' is not allowed on a job that calls a reusable workflow"
                    )));
                }
                if strategy.is_some() {
                    return Err(self.invalid(format!(
                        "'{at}': 'strategy' on a job that calls a reusable workflow is not supported by gantry-act"
                    )));
                }
                let secrets = match &raw.secrets {
                    None => CallSecrets::Map(IndexMap::new()),
                    Some(Yaml::String(s)) if s == "inherit" => CallSecrets::Inherit,
                    Some(Yaml::Mapping(m)) => {
                        let mut out = IndexMap::new();
                        for (k, v) in m {
                            let k = k.as_str().unwrap_or_default().to_owned();
                            let v = self.scalar(&format!("{at}.secrets.{k}"), v)?;
                            out.insert(k.clone(), self.template(&format!("{at}.secrets.{k}"), &v)?);
                        }
                        CallSecrets::Map(out)
                    }
                    Some(_) => {
                        return Err(
                            self.invalid(format!("'{at}.secrets' must be 'inherit' or a mapping"))
                        );
                    }
                };
                JobKind::Call {
                    uses: uses.trim().to_owned(),
                    with: self.templates(&format!("{at}.with"), raw.with.unwrap_or_default())?,
                    secrets,
                }
            }
        };
        Ok(Job {
            id: id.to_owned(),
            name: self.opt_template(&format!("{at}.name"), raw.name)?,
            needs,
            condition: self.condition(&format!("{at}.if"), raw.condition.as_deref())?,
            runs_on,
            environment,
            permissions: raw
                .permissions
                .as_ref()
                .map(|p| self.permissions(&format!("{at}.permissions"), p))
                .transpose()?,
            concurrency: raw
                .concurrency
                .as_ref()
                .map(|c| self.concurrency(&format!("{at}.concurrency"), c))
                .transpose()?,
            env: self.templates(&format!("{at}.env"), raw.env)?,
            defaults: self.defaults(&format!("{at}.defaults"), raw.defaults)?,
            outputs: self.templates(&format!("{at}.outputs"), raw.outputs)?,
            strategy,
            timeout_minutes: self
                .opt_template(&format!("{at}.timeout-minutes"), raw.timeout_minutes)?,
            continue_on_error: self
                .opt_template(&format!("{at}.continue-on-error"), raw.continue_on_error)?,
            kind,
        })
    }

    fn environment(&self, place: &str, v: &Yaml) -> Result<EnvironmentSpec, ActError> {
        match v {
            Yaml::Mapping(m) => {
                for (k, _) in m {
                    let k = k.as_str().unwrap_or_default();
                    if !["name", "url", "deployment"].contains(&k) {
                        return Err(self.invalid(format!("'{place}': unknown key '{k}'")));
                    }
                }
                let text = |k: &str| self.mapping_text(place, m, k);
                let name = text("name")?
                    .ok_or_else(|| self.invalid(format!("'{place}' needs a 'name'")))?;
                Ok(EnvironmentSpec {
                    name: self.template(&format!("{place}.name"), &name)?,
                    url: self.opt_template(&format!("{place}.url"), text("url")?)?,
                })
            }
            other => {
                let name = self.scalar(place, other)?;
                Ok(EnvironmentSpec {
                    name: self.template(place, &name)?,
                    url: None,
                })
            }
        }
    }

    fn steps(&self, at: &str, raw: Vec<RawStep>) -> Result<Vec<Step>, ActError> {
        if raw.is_empty() {
            return Err(self.invalid(format!("'{at}.steps' is empty")));
        }
        let mut steps: Vec<Step> = Vec::new();
        let mut generated = 0;
        for (index, step) in raw.into_iter().enumerate() {
            let label = format!(
                "{at} {}",
                step_label(step.id.as_deref(), step.name.as_deref(), index)
            );
            let has_id = step.id.is_some();
            let id = step_id(
                step.id,
                step.uses.is_some(),
                &mut generated,
                steps.iter().map(|s| s.id.as_str()),
            )
            .map_err(|m| self.invalid(format!("{label}: {m}")))?;
            let default_name = default_step_name(step.run.as_deref(), step.uses.as_deref());
            let uses = step.uses.as_ref().map(|u| u.trim().to_owned());
            let body = step_body(
                step.run,
                step.uses,
                step.with.is_some(),
                step.shell.is_some() || step.working_directory.is_some(),
            )
            .map_err(|m| self.invalid(format!("{label}: {m}")))?;
            let kind = match body {
                StepBody::Run(run) => {
                    let shell = step
                        .shell
                        .as_deref()
                        .map(Shell::parse)
                        .transpose()
                        .map_err(|m| self.invalid(format!("{label}: {m}")))?;
                    StepKind::Run {
                        script: self.template(&format!("{label} run"), &run)?,
                        shell,
                        working_directory: self.opt_template(
                            &format!("{label} working-directory"),
                            step.working_directory,
                        )?,
                    }
                }
                StepBody::Uses(uses) => {
                    let with =
                        self.templates(&format!("{label} with"), step.with.unwrap_or_default())?;
                    if uses.starts_with("./") {
                        StepKind::Local {
                            path: uses,
                            self_repo: false,
                            with,
                        }
                    } else if let Some(path) = uses.strip_prefix("$/") {
                        StepKind::Local {
                            path: path.to_owned(),
                            self_repo: true,
                            with,
                        }
                    } else if uses.starts_with("docker://") {
                        return Err(self.invalid(format!(
                            "{label}: 'uses: {uses}' (a container action) is not supported by gantry-act"
                        )));
                    } else {
                        let (action, git_ref) = uses.split_once('@').ok_or_else(|| {
                            self.invalid(format!(
                                "{label}: 'uses: {uses}' needs a ref: owner/repo[/path]@ref"
                            ))
                        })?;
                        if action.split('/').count() < 2 || git_ref.is_empty() {
                            return Err(self.invalid(format!(
                                "{label}: 'uses: {uses}' must be ./path or owner/repo[/path]@ref"
                            )));
                        }
                        StepKind::Remote {
                            action: action.to_owned(),
                            git_ref: git_ref.to_owned(),
                            with,
                        }
                    }
                }
            };
            steps.push(Step {
                id,
                has_id,
                name_text: step.name.clone(),
                name: self.opt_template(&format!("{label} name"), step.name)?,
                default_name,
                uses,
                condition: self.condition(&format!("{label} if"), step.condition.as_deref())?,
                env: self.templates(&format!("{label} env"), step.env)?,
                continue_on_error: self.opt_template(
                    &format!("{label} continue-on-error"),
                    step.continue_on_error,
                )?,
                timeout_minutes: self
                    .opt_template(&format!("{label} timeout-minutes"), step.timeout_minutes)?,
                kind,
            });
        }
        Ok(steps)
    }
}

/// Parses every expression in a matrix definition, so that a broken one is refused at load.
fn check_matrix_expressions(v: &serde_json::Value) -> Result<(), ExprError> {
    match v {
        serde_json::Value::String(s) if s.contains("${{") => {
            Template::parse_in(s, Dialect::WORKFLOW).map(|_| ())
        }
        serde_json::Value::Array(items) => items.iter().try_for_each(check_matrix_expressions),
        serde_json::Value::Object(map) => map.values().try_for_each(check_matrix_expressions),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Workflow, String> {
        parse(text, PathBuf::from(".github/workflows/t.yml")).map_err(|e| e.to_string())
    }

    #[test]
    fn compiles_jobs_needs_triggers_and_inputs() {
        let w = load_text(
            r"
on:
  push:
  workflow_dispatch:
    inputs:
      target: {type: choice, options: [staging, prod], default: staging}
      dry-run: {type: boolean, default: false}
permissions: read-all
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{run: echo a}]
  b:
    needs: a
    runs-on: ubuntu-latest
    environment: {name: prod, url: 'https://x'}
    steps: [{uses: ./actions/x, with: {n: 1}}]
",
        )
        .unwrap();
        assert_eq!(w.name, ".github/workflows/t.yml");
        assert_eq!(w.on.events, ["push", "workflow_dispatch"]);
        let inputs = w.on.dispatch.as_ref().unwrap();
        assert_eq!(
            inputs["target"].kind,
            InputKind::Choice(vec!["staging".into(), "prod".into()])
        );
        assert_eq!(inputs["dry-run"].default.as_deref(), Some("false"));
        assert_eq!(w.jobs["b"].needs, ["a"]);
        assert_eq!(
            w.permissions.as_ref().unwrap().get("contents"),
            Access::Read
        );
        assert_eq!(
            w.permissions.as_ref().unwrap().get("id-token"),
            Access::None
        );
        assert!(
            matches!(&w.jobs["b"].kind, JobKind::Steps(s) if matches!(s[0].kind, StepKind::Local { .. }))
        );
    }

    #[test]
    fn refuses_what_github_refuses() {
        let err = |text: &str| load_text(text).unwrap_err();
        insta::assert_snapshot!(err("on: push\njobs:\n  a:\n    steps: [{run: x}]\n"), @".github/workflows/t.yml: 'jobs.a': Required property is missing: runs-on");
        insta::assert_snapshot!(err("on: push\njobs:\n  a:\n    runs-on: x\n    permissions: {id-token: read}\n    steps: [{run: x}]\n"), @".github/workflows/t.yml: 'jobs.a.permissions.id-token' must be write or none");
        insta::assert_snapshot!(err("on:\n  workflow_dispatch:\n    inputs:\n      e: {type: choice, options: [a], default: b}\njobs:\n  a:\n    runs-on: x\n    steps: [{run: x}]\n"), @".github/workflows/t.yml: 'on.workflow_dispatch.inputs.e.default' 'b' is not one of its options");
        insta::assert_snapshot!(err("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{uses: actions/checkout}]\n"), @".github/workflows/t.yml: jobs.a step 1: 'uses: actions/checkout' needs a ref: owner/repo[/path]@ref");
        insta::assert_snapshot!(err("on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: 'echo ${{ frob() }}'}]\n"), @".github/workflows/t.yml: jobs.a step 1 run: Unrecognized function: 'frob'. Located at position 1 within expression: frob()");
        assert!(
            err("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n")
                .contains("unknown field `stepz`")
        );
    }
}
