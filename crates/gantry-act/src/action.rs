//! The `action.yml` model: parsed with `serde_yaml_ng`, then checked and compiled (every
//! expression parsed) so that a broken action is refused before any step runs.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::ActError;
use crate::expr::{Condition, ExprError, Template};

/// File names the runner looks for in an action directory, in order.
pub const ACTION_FILES: [&str; 2] = ["action.yml", "action.yaml"];

/// Composite actions may nest this deep (the runner's limit).
pub const MAX_DEPTH: usize = 9;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "metadata only")]
    author: Option<String>,
    #[serde(default)]
    inputs: IndexMap<String, Option<RawInput>>,
    #[serde(default)]
    outputs: IndexMap<String, Option<RawOutput>>,
    runs: serde_yaml_ng::Value,
    #[serde(default)]
    #[allow(dead_code, reason = "marketplace metadata only")]
    branding: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawInput {
    description: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    required: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    default: Option<String>,
    #[allow(dead_code, reason = "metadata only")]
    deprecation_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    description: Option<String>,
    #[serde(default, deserialize_with = "scalar")]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComposite {
    #[allow(dead_code, reason = "checked before this is parsed")]
    using: String,
    steps: Vec<RawStep>,
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
    uses: Option<String>,
    #[serde(default)]
    with: Option<IndexMap<String, Scalar>>,
}

/// A YAML scalar read as the text the runner sees (`true`, `3`, `x`); `null` reads as empty.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct Scalar(#[serde(deserialize_with = "scalar_required")] pub(crate) String);

pub(crate) fn scalar_text(v: serde_yaml_ng::Value) -> Result<String, String> {
    match v {
        serde_yaml_ng::Value::Null => Ok(String::new()),
        serde_yaml_ng::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml_ng::Value::Number(n) => Ok(n.to_string()),
        serde_yaml_ng::Value::String(s) => Ok(s),
        other => Err(format!("expected a string, found {other:?}")),
    }
}

pub(crate) fn scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_yaml_ng::Value>::deserialize(d)?;
    v.map(scalar_text)
        .transpose()
        .map_err(serde::de::Error::custom)
}

fn scalar_required<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar_text(serde_yaml_ng::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// A parsed, checked composite action.
#[derive(Debug)]
pub struct Action {
    /// The action's directory, absolute (`GITHUB_ACTION_PATH`).
    pub dir: PathBuf,
    /// The `action.yml` (or `action.yaml`) file.
    pub file: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub inputs: IndexMap<String, Input>,
    pub outputs: IndexMap<String, Output>,
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub struct Input {
    pub description: Option<String>,
    pub required: bool,
    pub default: Option<Template>,
}

#[derive(Debug)]
pub struct Output {
    pub description: Option<String>,
    pub value: Template,
}

/// How a `run:` step's script is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    /// What the author wrote (`bash`, `perl {0}`).
    pub spec: String,
    /// Program and arguments; `{0}` is replaced by the script file.
    pub argv: Vec<String>,
    /// Script file extension (the runner uses it for some interpreters).
    pub extension: &'static str,
}

impl Shell {
    /// GitHub's built-in shells on Linux, or a custom command line containing `{0}`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let builtin = |argv: &[&str], extension| Shell {
            spec: spec.to_owned(),
            argv: argv.iter().map(|&a| a.to_owned()).collect(),
            extension,
        };
        match spec.trim() {
            "bash" => Ok(builtin(
                &["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
                ".sh",
            )),
            "sh" => Ok(builtin(&["sh", "-e", "{0}"], ".sh")),
            // GitHub runs `python`; most Linux hosts only have `python3`.
            "python" => Ok(builtin(&["python3", "{0}"], ".py")),
            "pwsh" | "powershell" | "cmd" => Err(format!(
                "shell '{spec}' is not supported by gantry-act (use bash, sh, python or a command with {{0}})"
            )),
            custom if custom.contains("{0}") => Ok(Shell {
                spec: spec.to_owned(),
                argv: split_command_line(custom)?,
                extension: "",
            }),
            _ => Err(format!(
                "Invalid shell option '{spec}'. Shell must be a valid built-in (bash, sh, python) \
                 or a format string containing '{{0}}'"
            )),
        }
    }
}

/// Splits a custom shell line on whitespace, honouring single and double quotes.
fn split_command_line(line: &str) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => argv.extend(current.take()),
            (None, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("unbalanced quote in shell '{line}'"));
    }
    argv.extend(current);
    Ok(argv)
}

#[derive(Debug)]
pub enum StepKind {
    Run {
        script: Template,
        shell: Shell,
        working_directory: Option<Template>,
    },
    /// `uses: ./path`: a local action, resolved against the workspace when the step runs; or
    /// `uses: $/path`, resolved in the calling action's own repository (its git top level).
    Uses {
        path: String,
        with: IndexMap<String, Template>,
    },
}

#[derive(Debug)]
pub struct Step {
    /// The author's `id`, or a generated `__run`, `__run_2`, … like the runner's.
    pub id: String,
    /// Whether `id` was written by the author (generated ids are not in the `steps` context).
    pub has_id: bool,
    pub name: Option<Template>,
    /// The name shown when `name:` is absent: `Run <first line>` or `Run <uses>`.
    pub default_name: String,
    pub condition: Condition,
    pub env: IndexMap<String, Template>,
    pub continue_on_error: Option<Template>,
    pub kind: StepKind,
}

/// Whether `id` is a valid job or step id: a letter or `_`, then letters, digits, `-` and `_`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// How a step is named in messages: by its `id`, else its `name:`, else its 1-based number.
pub(crate) fn step_label(id: Option<&str>, name: Option<&str>, index: usize) -> String {
    match (id, name) {
        (Some(id), _) => format!("step '{id}'"),
        (None, Some(name)) => format!("step '{name}'"),
        (None, None) => format!("step {}", index + 1),
    }
}

/// The id of a step: the author's, checked and not used by an `earlier` step (ignoring case),
/// or one generated like the runner's: `__run`, `__run_2`, … (`__uses…` for a `uses:` step),
/// numbered by `generated`, the count of ids generated so far. The error is the message
/// without the step's label.
pub(crate) fn step_id<'a>(
    id: Option<String>,
    uses: bool,
    generated: &mut usize,
    mut earlier: impl Iterator<Item = &'a str>,
) -> Result<String, String> {
    match id {
        Some(id) => {
            if !is_valid_id(&id) || id.starts_with("__") {
                return Err(
                    "the id must start with a letter or '_' and contain only letters, \
                     digits, '-' and '_' (ids starting with '__' are reserved)"
                        .to_owned(),
                );
            }
            if earlier.any(|e| e.eq_ignore_ascii_case(&id)) {
                return Err("the id is used twice".to_owned());
            }
            Ok(id)
        }
        None => {
            *generated += 1;
            let base = if uses { "__uses" } else { "__run" };
            if *generated == 1 {
                Ok(base.to_owned())
            } else {
                Ok(format!("{base}_{generated}"))
            }
        }
    }
}

/// The name a step shows when `name:` is absent: `Run <first non-blank line>` or `Run <uses>`.
pub(crate) fn default_step_name(run: Option<&str>, uses: Option<&str>) -> String {
    match (run, uses) {
        (Some(run), _) => format!(
            "Run {}",
            run.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
        ),
        (None, Some(uses)) => format!("Run {}", uses.trim()),
        (None, None) => String::new(),
    }
}

/// What a step runs, by its keys: a `run:` script or a `uses:` reference (trimmed).
pub(crate) enum StepBody {
    Run(String),
    Uses(String),
}

/// Picks a step's body, refusing one with both `run:` and `uses:` or neither, `with:` on a
/// `run:` step, and `shell:` or `working-directory:` on a `uses:` step. The error is the
/// message without the step's label.
pub(crate) fn step_body(
    run: Option<String>,
    uses: Option<String>,
    has_with: bool,
    has_shell_or_working_directory: bool,
) -> Result<StepBody, String> {
    match (run, uses) {
        (Some(_), Some(_)) => Err("has both 'run' and 'uses'".to_owned()),
        (None, None) => Err("needs 'run' or 'uses'".to_owned()),
        (Some(_), None) if has_with => Err("'with' is only for 'uses' steps".to_owned()),
        (Some(run), None) => Ok(StepBody::Run(run)),
        (None, Some(_)) if has_shell_or_working_directory => {
            Err("'shell' and 'working-directory' are only for 'run' steps".to_owned())
        }
        (None, Some(uses)) => Ok(StepBody::Uses(uses.trim().to_owned())),
    }
}

/// The repository a `$/path` reference resolves in: the git top level above `dir`.
pub fn repository_of(dir: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let top = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !top.is_empty()).then(|| PathBuf::from(top))
}

/// Finds the action file in `dir`.
pub fn find_action_file(dir: &Path) -> Result<PathBuf, ActError> {
    ACTION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| ActError::ActionNotFound {
            dir: dir.to_owned(),
        })
}

/// `path` made absolute (against the current directory, links left as they are).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, ActError> {
    std::path::absolute(path).map_err(|source| ActError::Io {
        what: format!("resolving {}", path.display()),
        source,
    })
}

/// The text of `file`.
pub(crate) fn read_text(file: &Path) -> Result<String, ActError> {
    std::fs::read_to_string(file).map_err(|source| ActError::Io {
        what: format!("reading {}", file.display()),
        source,
    })
}

/// Loads, checks and compiles the composite action in `dir`.
pub fn load(dir: &Path) -> Result<Action, ActError> {
    let dir = absolute(dir)?;
    let file = find_action_file(&dir)?;
    let text = read_text(&file)?;
    let raw: RawAction = serde_yaml_ng::from_str(&text).map_err(|source| ActError::Yaml {
        file: file.clone(),
        source,
    })?;
    compile(raw, dir, file)
}

fn compile(raw: RawAction, dir: PathBuf, file: PathBuf) -> Result<Action, ActError> {
    let invalid = |message: String| ActError::InvalidAction {
        file: file.clone(),
        message,
    };
    let expr = |place: String| {
        let file = file.clone();
        move |source: ExprError| ActError::Expression {
            file: file.clone(),
            place: place.clone(),
            source,
        }
    };

    let using = raw
        .runs
        .get("using")
        .and_then(serde_yaml_ng::Value::as_str)
        .ok_or_else(|| invalid("'runs.using' is missing".to_owned()))?;
    if using != "composite" {
        return Err(ActError::UnsupportedRuns {
            file: file.clone(),
            using: using.to_owned(),
        });
    }
    let runs: RawComposite =
        serde_yaml_ng::from_value(raw.runs).map_err(|source| ActError::Yaml {
            file: file.clone(),
            source,
        })?;

    let mut inputs = IndexMap::new();
    for (name, input) in raw.inputs {
        let input = input.unwrap_or(RawInput {
            description: None,
            required: None,
            default: None,
            deprecation_message: None,
        });
        let required = match input.required.as_deref().map(str::trim) {
            None | Some("false" | "False" | "") => false,
            Some("true" | "True") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "input '{name}': 'required' must be true or false, not '{other}'"
                )));
            }
        };
        let default = input
            .default
            .map(|d| Template::parse(&d))
            .transpose()
            .map_err(expr(format!("inputs.{name}.default")))?;
        inputs.insert(
            name,
            Input {
                description: input.description,
                required,
                default,
            },
        );
    }

    let mut outputs = IndexMap::new();
    for (name, output) in raw.outputs {
        let output = output.unwrap_or(RawOutput {
            description: None,
            value: None,
        });
        let value = output
            .value
            .ok_or_else(|| invalid(format!("output '{name}' has no 'value'")))?;
        let value = Template::parse(&value).map_err(expr(format!("outputs.{name}.value")))?;
        outputs.insert(
            name,
            Output {
                description: output.description,
                value,
            },
        );
    }

    let mut steps: Vec<Step> = Vec::new();
    let mut generated = 0;
    for (index, step) in runs.steps.into_iter().enumerate() {
        let label = step_label(step.id.as_deref(), step.name.as_deref(), index);
        let has_id = step.id.is_some();
        let id = step_id(
            step.id,
            step.uses.is_some(),
            &mut generated,
            steps.iter().map(|s| s.id.as_str()),
        )
        .map_err(|m| invalid(format!("{label}: {m}")))?;
        let env = step
            .env
            .into_iter()
            .map(|(k, v)| {
                let t = Template::parse(&v.0).map_err(expr(format!("{label} env.{k}")))?;
                Ok((k, t))
            })
            .collect::<Result<IndexMap<_, _>, ActError>>()?;
        let default_name = default_step_name(step.run.as_deref(), step.uses.as_deref());
        let body = step_body(
            step.run,
            step.uses,
            step.with.is_some(),
            step.shell.is_some() || step.working_directory.is_some(),
        )
        .map_err(|m| invalid(format!("{label}: {m}")))?;
        let kind = match body {
            StepBody::Run(run) => {
                let Some(shell) = step.shell else {
                    return Err(ActError::MissingShell {
                        file: file.clone(),
                        step: label,
                    });
                };
                let shell = Shell::parse(&shell).map_err(|m| invalid(format!("{label}: {m}")))?;
                StepKind::Run {
                    script: Template::parse(&run).map_err(expr(format!("{label} run")))?,
                    shell,
                    working_directory: step
                        .working_directory
                        .map(|w| Template::parse(&w))
                        .transpose()
                        .map_err(expr(format!("{label} working-directory")))?,
                }
            }
            StepBody::Uses(uses) => {
                if !uses.starts_with("./") && !uses.starts_with("$/") {
                    return Err(ActError::RemoteAction {
                        file: file.clone(),
                        uses,
                    });
                }
                let with = step
                    .with
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let t = Template::parse(&v.0).map_err(expr(format!("{label} with.{k}")))?;
                        Ok((k, t))
                    })
                    .collect::<Result<IndexMap<_, _>, ActError>>()?;
                StepKind::Uses { path: uses, with }
            }
        };
        let name = step
            .name
            .map(|n| Template::parse(&n))
            .transpose()
            .map_err(expr(format!("{label} name")))?;
        let condition = Condition::parse(step.condition.as_deref().unwrap_or(""), true)
            .map_err(expr(format!("{label} if")))?;
        let continue_on_error = step
            .continue_on_error
            .map(|c| Template::parse(&c))
            .transpose()
            .map_err(expr(format!("{label} continue-on-error")))?;
        steps.push(Step {
            id,
            has_id,
            name,
            default_name,
            condition,
            env,
            continue_on_error,
            kind,
        });
    }

    Ok(Action {
        name: raw.name.unwrap_or_else(|| {
            dir.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        }),
        description: raw.description,
        dir,
        file,
        inputs,
        outputs,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_custom_shells() {
        assert_eq!(
            Shell::parse("bash").unwrap().argv,
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"]
        );
        assert_eq!(Shell::parse("sh").unwrap().argv, ["sh", "-e", "{0}"]);
        assert_eq!(Shell::parse("python").unwrap().argv, ["python3", "{0}"]);
        assert_eq!(
            Shell::parse("bash -c \"source '{0}'\"").unwrap().argv,
            ["bash", "-c", "source '{0}'"]
        );
        assert_eq!(
            Shell::parse("perl '' {0}").unwrap().argv,
            ["perl", "", "{0}"]
        );
        insta::assert_snapshot!(Shell::parse("pwsh").unwrap_err(), @"shell 'pwsh' is not supported by gantry-act (use bash, sh, python or a command with {0})");
        insta::assert_snapshot!(Shell::parse("zsh").unwrap_err(), @"Invalid shell option 'zsh'. Shell must be a valid built-in (bash, sh, python) or a format string containing '{0}'");
    }
}
