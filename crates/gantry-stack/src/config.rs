//! Args → Config: files read and parsed, every input checked. The one place exit-2 errors are
//! made; nothing has called AWS yet.

use crate::cli::{
    ApplyArgs, CommentArgs, DeployArgs, GateArgs, PlanArgs, StackArgs, StatusArgs, WaitArgs,
};
use crate::comment::pull_request_number;
use crate::environment::{self, EnvironmentFile, StackSpec};
use crate::gate::Allow;
use crate::github::PullRequest;
use crate::template::{self, MAX_BODY_BYTES, Template};
use gantry_kit::Error;
use gantry_kit::cli::split_unique;
use gantry_kit::github_api::{ApiSettings, Token};
use gantry_kit::poll::Schedule;
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The stacks a command works on, with what every change set of them gets.
#[derive(Debug, Clone)]
pub struct StacksConfig {
    /// Every stack, in order (an environment's unselected layers too: their outputs feed later
    /// stacks).
    pub stacks: Vec<StackSpec>,
    /// Layers to plan (`None`: all).
    pub only: Option<Vec<String>>,
    /// The environment (its name marks the PR comment); `None` for a single stack.
    pub environment: Option<EnvironmentInfo>,
    pub capabilities: Vec<String>,
    pub role_arn: Option<String>,
    pub role_exempt_layers: Vec<String>,
    pub template_bucket: Option<String>,
}

/// What an environment file says beyond its stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    pub name: String,
    pub account_id: Option<String>,
    pub termination_protection: bool,
}

impl StacksConfig {
    /// Whether `spec` is planned (not only read for its outputs).
    pub fn selected(&self, spec: &StackSpec) -> bool {
        match (&self.only, &spec.layer) {
            (Some(only), Some(layer)) => only.contains(layer),
            _ => true,
        }
    }

    /// The service role for `spec`'s change sets.
    pub fn role_for(&self, spec: &StackSpec) -> Option<&str> {
        let exempt = spec
            .layer
            .as_ref()
            .is_some_and(|l| self.role_exempt_layers.contains(l));
        self.role_arn.as_deref().filter(|_| !exempt)
    }
}

#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub stacks: StacksConfig,
    pub allow: Allow,
    pub schedule: Schedule,
    pub comment: Option<CommentConfig>,
}

/// Where the sticky comment goes. `pull_request: None`: not a pull request run, no comment.
#[derive(Debug, Clone)]
pub struct CommentConfig {
    pub settings: ApiSettings,
    pub pull_request: Option<PullRequest>,
    /// The marker's name: the environment, else the stack.
    pub name: String,
}

/// One change set to execute, as the plan named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetRef {
    /// The stack (known from a JSON object; otherwise read from the change set).
    pub stack: Option<String>,
    /// `None`: the stack had no change set because it is to be re-created (ROLLBACK_COMPLETE).
    pub id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApplyConfig {
    pub change_sets: Vec<ChangeSetRef>,
    pub template_digest: String,
    pub replace_failed: bool,
    /// The plan's stacks, when given (needed for re-creation and termination protection).
    pub stacks: Option<StacksConfig>,
    pub allow: Allow,
    pub schedule: Schedule,
}

#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub stacks: StacksConfig,
    pub allow: Allow,
    pub schedule: Schedule,
    pub replace_failed: bool,
}

#[derive(Debug, Clone)]
pub struct StatusConfig {
    /// (stack name, region) in order.
    pub stacks: Vec<(String, Option<String>)>,
}

pub fn plan(args: &PlanArgs) -> Result<PlanConfig, Error> {
    plan_from(args, |k| std::env::var(k).ok())
}

/// [`plan`] with an explicit env lookup for the runner's variables (tests).
pub fn plan_from(
    args: &PlanArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PlanConfig, Error> {
    let stacks = stacks(&args.stacks)?;
    let schedule = schedule(&args.wait)?;
    let comment = if args.comment.comment {
        Some(comment(&args.comment, &stacks, schedule, &env)?)
    } else {
        None
    };
    Ok(PlanConfig {
        allow: allow(&args.gate, &stacks)?,
        schedule,
        comment,
        stacks,
    })
}

fn comment(
    args: &CommentArgs,
    stacks: &StacksConfig,
    schedule: Schedule,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<CommentConfig, Error> {
    let token = args
        .github_token
        .as_deref()
        .and_then(Token::from_input)
        .ok_or_else(|| {
            Error::input("github-token: required with comment")
                .with_hint("pass the workflow's token (`github-token: ${{ github.token }}`) with `pull-requests: write`")
        })?;
    let settings = ApiSettings::from_lookup(env, token, "pull-requests: write", schedule.deadline)?;
    let event: Option<Value> = env("GITHUB_EVENT_PATH")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok());
    let number = args
        .pull_request
        .or_else(|| pull_request_number(env("GITHUB_REF").as_deref(), event.as_ref()));
    let pull_request = match number {
        None => None,
        Some(number) => {
            let repository = env("GITHUB_REPOSITORY")
                .filter(|r| r.contains('/'))
                .ok_or_else(|| {
                    Error::input("comment: GITHUB_REPOSITORY is not set").with_hint(
                        "the runner sets it (OWNER/REPO); set it when running outside Actions",
                    )
                })?;
            Some(PullRequest { repository, number })
        }
    };
    let name = match &stacks.environment {
        Some(e) => e.name.clone(),
        None => stacks
            .stacks
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
    };
    Ok(CommentConfig {
        settings,
        pull_request,
        name,
    })
}

pub fn deploy(args: &DeployArgs) -> Result<DeployConfig, Error> {
    let stacks = stacks(&args.stacks)?;
    Ok(DeployConfig {
        allow: allow(&args.gate, &stacks)?,
        schedule: schedule(&args.wait)?,
        replace_failed: args.replace_failed,
        stacks,
    })
}

pub fn apply(args: &ApplyArgs) -> Result<ApplyConfig, Error> {
    let change_sets = change_set_refs(&args.change_set_ids)?;
    let template_digest = args
        .template_digest
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Error::input("template-digest: required")
                .with_hint("pass the plan's `template-digest` output: apply executes only the templates that were reviewed")
        })?;
    if !is_digest(template_digest) {
        return Err(Error::input(format!(
            "template-digest: `{template_digest}` is not a digest"
        ))
        .with_hint(
            "use the plan's `template-digest` output verbatim: `sha256:` and 64 hex digits",
        ));
    }
    let given = args.stacks.environment.is_some() || args.stacks.stack_name.is_some();
    let stacks = if given {
        Some(stacks(&args.stacks)?)
    } else {
        None
    };
    if change_sets.iter().any(|c| c.id.is_none()) && !(args.replace_failed && stacks.is_some()) {
        let names: Vec<&str> = change_sets
            .iter()
            .filter(|c| c.id.is_none())
            .filter_map(|c| c.stack.as_deref())
            .collect();
        return Err(Error::input(format!(
            "change-set-ids: {} has no change set: the plan found it in ROLLBACK_COMPLETE",
            names.join(", ")
        ))
        .with_hint("to delete and re-create it, pass replace-failed together with the plan's environment (or stack-name and template)"));
    }
    let allow = match &stacks {
        Some(s) => allow(&args.gate, s)?,
        None => allow_unchecked(&args.gate),
    };
    Ok(ApplyConfig {
        change_sets,
        template_digest: template_digest.to_owned(),
        replace_failed: args.replace_failed,
        stacks,
        allow,
        schedule: schedule(&args.wait)?,
    })
}

pub fn status(args: &StatusArgs) -> Result<StatusConfig, Error> {
    if let Some(env) = &args.environment {
        let (file, _) = read_environment(env, &args.environments.environments_dir)?;
        let only = layers(&args.layers, &file)?;
        let stacks = file
            .stacks
            .iter()
            .filter(|s| only.as_ref().is_none_or(|o| o.contains(&s.layer)))
            .map(|s| {
                (
                    environment::stack_name(&file, &s.layer),
                    Some(s.region.clone().unwrap_or_else(|| file.region.clone())),
                )
            })
            .collect();
        return Ok(StatusConfig { stacks });
    }
    let names = split_unique(&args.stack_name);
    if names.is_empty() {
        return Err(
            Error::input("environment or stack-name: one is required").with_hint(
                "pass --environment dev (an infra/environments file) or --stack-name NAME",
            ),
        );
    }
    Ok(StatusConfig {
        stacks: names
            .into_iter()
            .map(|n| (n, args.region.clone()))
            .collect(),
    })
}

/// The stacks of `--environment` or of `--stack-name`/`--template`.
fn stacks(args: &StackArgs) -> Result<StacksConfig, Error> {
    let capabilities = split_unique(&args.capabilities);
    for c in &capabilities {
        if ![
            "CAPABILITY_IAM",
            "CAPABILITY_NAMED_IAM",
            "CAPABILITY_AUTO_EXPAND",
        ]
        .contains(&c.as_str())
        {
            return Err(
                Error::input(format!("capabilities: `{c}` is not a capability")).with_hint(
                    "use CAPABILITY_IAM, CAPABILITY_NAMED_IAM and/or CAPABILITY_AUTO_EXPAND",
                ),
            );
        }
    }
    let role_arn = nonempty(&args.role_arn);
    if let Some(r) = &role_arn
        && !(r.starts_with("arn:") && r.contains(":iam::") && r.contains(":role/"))
    {
        return Err(
            Error::input(format!("role-arn: `{r}` is not an IAM role ARN"))
                .with_hint("e.g. arn:aws:iam::111111111111:role/gantry-prod-cfn-exec"),
        );
    }
    let template_bucket = nonempty(&args.template_bucket);
    let (stacks, only, environment) = match (&args.environment, &args.stack_name) {
        (Some(env), _) => {
            let (file, path) = read_environment(env, &args.environments.environments_dir)?;
            let templates_dir = match &args.templates_dir {
                Some(d) => d.clone(),
                None => path
                    .parent()
                    .and_then(Path::parent)
                    .map(|p| p.join("templates"))
                    .unwrap_or_else(|| PathBuf::from("templates")),
            };
            let only = layers(&args.layers, &file)?;
            let mut templates = Vec::new();
            for entry in &file.stacks {
                let p = templates_dir.join(format!("{}.yaml", entry.layer));
                templates.push(read_template(&p, &format!("layer `{}`", entry.layer))?);
            }
            let specs = environment::stacks(&file, templates).map_err(|e| {
                Error::input(format!("environment {}: {e}", path.display())).with_hint(
                    "every parameter a template declares without a default must be set in the environment file or be an output of an earlier stack",
                )
            })?;
            let info = EnvironmentInfo {
                name: file.environment.clone(),
                account_id: file.account_id.clone(),
                termination_protection: file.termination_protection,
            };
            (specs, only, Some(info))
        }
        (None, Some(name)) => {
            let name = name.trim();
            check_stack_name(name)?;
            let path = args.template.as_ref().ok_or_else(|| {
                Error::input("template: required with stack-name").with_hint(
                    "pass the stack's template file, e.g. --template infra/templates/network.yaml",
                )
            })?;
            let template = read_template(path, "template")?;
            let given = key_values(&args.parameters, "parameters")?;
            for key in given.keys() {
                if !template.parameters.contains_key(key) {
                    return Err(Error::input(format!(
                        "parameters: `{key}` is not a parameter of {}",
                        path.display()
                    ))
                    .with_hint(format!("the template declares: {}", declared(&template))));
                }
            }
            let missing: Vec<&String> = template
                .parameters
                .iter()
                .filter(|(k, d)| !d.has_default && !given.contains_key(*k))
                .map(|(k, _)| k)
                .collect();
            if !missing.is_empty() {
                return Err(Error::input(format!(
                    "parameters: {} needs {} (no default)",
                    path.display(),
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .with_hint("pass --parameter KEY=VALUE for each"));
            }
            let tags: Vec<(String, String)> = key_values(&args.tags, "tags")?.into_iter().collect();
            let region = nonempty(&args.region);
            (
                vec![StackSpec::single(
                    name.to_owned(),
                    region,
                    template,
                    given,
                    tags,
                )],
                None,
                None,
            )
        }
        (None, None) => {
            return Err(Error::input("environment or stack-name: one is required").with_hint(
                "pass --environment dev (an infra/environments file), or --stack-name NAME with --template FILE",
            ));
        }
    };
    if template_bucket.is_none()
        && let Some(big) = stacks
            .iter()
            .find(|s| s.template.body.len() > MAX_BODY_BYTES)
    {
        return Err(Error::input(format!(
            "template-bucket: required: the template of {} is {} bytes, over CloudFormation's {MAX_BODY_BYTES}-byte limit for a template in the request",
            big.name,
            big.template.body.len()
        ))
        .with_hint("pass --template-bucket BUCKET (the template is uploaded there and passed by URL)"));
    }
    Ok(StacksConfig {
        stacks,
        only,
        environment,
        capabilities,
        role_arn,
        role_exempt_layers: split_unique(&args.role_exempt_layers),
        template_bucket,
    })
}

/// A flag's value, trimmed; `None` when absent or blank.
fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn declared(t: &Template) -> String {
    if t.parameters.is_empty() {
        "no parameters".into()
    } else {
        t.parameters.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Reads `--environment`: a name under `dir`, or a path to a file.
fn read_environment(env: &str, dir: &Path) -> Result<(EnvironmentFile, PathBuf), Error> {
    let env = env.trim();
    let path = if env.ends_with(".json") || env.contains('/') {
        PathBuf::from(env)
    } else {
        if env.is_empty()
            || !env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(
                Error::input(format!("environment: `{env}` is not an environment name")).with_hint(
                    "use the name of a file in infra/environments (e.g. `dev`), or a path to one",
                ),
            );
        }
        dir.join(format!("{env}.json"))
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let known = std::fs::read_dir(dir)
            .map(|rd| {
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()?
                            .strip_suffix(".json")
                            .map(str::to_owned)
                    })
                    .collect();
                names.sort();
                names.join(", ")
            })
            .unwrap_or_default();
        Error::input(format!("environment: cannot read {}: {e}", path.display())).with_hint(
            if known.is_empty() {
                format!("no environment files in {}", dir.display())
            } else {
                format!("environments in {}: {known}", dir.display())
            },
        )
    })?;
    let file: EnvironmentFile = serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "environment {}: not an environment file: {e}",
            path.display()
        ))
        .with_hint("it needs Project, Environment, Region and Stacks (infra/README.md)")
    })?;
    Ok((file, path))
}

fn layers(given: &[String], file: &EnvironmentFile) -> Result<Option<Vec<String>>, Error> {
    let layers = split_unique(given);
    if layers.is_empty() {
        return Ok(None);
    }
    for l in &layers {
        if !file.stacks.iter().any(|s| s.layer == *l) {
            let known: Vec<&str> = file.stacks.iter().map(|s| s.layer.as_str()).collect();
            return Err(Error::input(format!(
                "layers: `{l}` is not a layer of {}",
                file.environment
            ))
            .with_hint(format!("its layers: {}", known.join(", "))));
        }
    }
    Ok(Some(layers))
}

fn read_template(path: &Path, what: &str) -> Result<Template, Error> {
    let body = std::fs::read_to_string(path).map_err(|e| {
        Error::input(format!("{what}: cannot read {}: {e}", path.display()))
            .with_hint("give the path of a CloudFormation template (YAML or JSON)")
    })?;
    template::parse(&body).map_err(|e| {
        Error::input(format!("{what}: {} {e}", path.display()))
            .with_hint("give a CloudFormation template (YAML or JSON) with a Resources section")
    })
}

fn check_stack_name(name: &str) -> Result<(), Error> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        return Ok(());
    }
    Err(
        Error::input(format!("stack-name: `{name}` is not a stack name"))
            .with_hint("a letter, then letters, digits and `-`, at most 128 characters"),
    )
}

/// `KEY=VALUE` items: each flag value is one item (values may contain spaces) unless it has
/// several lines, then each line is one.
fn key_values(values: &[String], input: &str) -> Result<IndexMap<String, String>, Error> {
    let mut out = IndexMap::new();
    for v in values {
        let items: Vec<&str> = if v.contains('\n') {
            v.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
        } else {
            vec![v.trim()]
        };
        for item in items.into_iter().filter(|i| !i.is_empty()) {
            let Some((k, val)) = item.split_once('=') else {
                return Err(Error::input(format!("{input}: `{item}` is not KEY=VALUE"))
                    .with_hint("write each as KEY=VALUE, e.g. `VpcCidr=10.10.0.0/16`"));
            };
            let k = k.trim();
            if k.is_empty() {
                return Err(Error::input(format!("{input}: `{item}` has no key"))
                    .with_hint("write each as KEY=VALUE"));
            }
            out.insert(k.to_owned(), val.to_owned());
        }
    }
    Ok(out)
}

/// `allow-replacement`: `all`, or logical ids each in one of the planned templates.
fn allow(gate: &GateArgs, stacks: &StacksConfig) -> Result<Allow, Error> {
    let ids = split_unique(&gate.allow_replacement);
    if ids.iter().any(|i| i == "all") {
        return Ok(Allow::All);
    }
    for id in &ids {
        let top = id.split('/').next().unwrap_or(id);
        let known = stacks
            .stacks
            .iter()
            .filter(|s| stacks.selected(s))
            .any(|s| s.template.resources.contains_key(top));
        if !known {
            return Err(Error::input(format!(
                "allow-replacement: `{id}` is not a resource of the planned template(s)"
            ))
            .with_hint("name logical ids from the templates' Resources (`Parent/Child` inside a nested stack), or `all`"));
        }
    }
    Ok(if ids.is_empty() {
        Allow::Nothing
    } else {
        Allow::Ids(ids)
    })
}

fn allow_unchecked(gate: &GateArgs) -> Allow {
    let ids = split_unique(&gate.allow_replacement);
    if ids.iter().any(|i| i == "all") {
        Allow::All
    } else if ids.is_empty() {
        Allow::Nothing
    } else {
        Allow::Ids(ids)
    }
}

fn schedule(wait: &WaitArgs) -> Result<Schedule, Error> {
    Ok(Schedule {
        interval: wait.poll.checked_within(wait.timeout)?,
        deadline: wait.timeout,
    })
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_change_set_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.contains(":cloudformation:") && s.contains(":changeSet/")
}

/// `change-set-ids`: a JSON object (stack → id or null), a JSON array of ids, or ARNs.
fn change_set_refs(values: &[String]) -> Result<Vec<ChangeSetRef>, Error> {
    let joined = values.join("\n");
    let text = joined.trim();
    let bad = |what: &str| {
        Error::input(format!("change-set-ids: {what}")).with_hint(
            "pass the plan's `change-set-ids` output verbatim (a JSON object stack → change set ARN), or change set ARNs",
        )
    };
    let refs: Vec<ChangeSetRef> = if text.starts_with('{') {
        let v: IndexMap<String, Value> = serde_json::from_str(text)
            .map_err(|e| bad(&format!("not a JSON object of ids: {e}")))?;
        v.into_iter()
            .map(|(stack, id)| match id {
                Value::String(s) => Ok(ChangeSetRef {
                    stack: Some(stack),
                    id: Some(s),
                }),
                Value::Null => Ok(ChangeSetRef {
                    stack: Some(stack),
                    id: None,
                }),
                other => Err(bad(&format!(
                    "the value for `{stack}` is {other}, not an id"
                ))),
            })
            .collect::<Result<_, _>>()?
    } else if text.starts_with('[') {
        let v: Vec<String> = serde_json::from_str(text)
            .map_err(|e| bad(&format!("not a JSON array of ids: {e}")))?;
        v.into_iter()
            .map(|id| ChangeSetRef {
                stack: None,
                id: Some(id),
            })
            .collect()
    } else {
        split_unique([text])
            .into_iter()
            .map(|id| ChangeSetRef {
                stack: None,
                id: Some(id),
            })
            .collect()
    };
    for r in &refs {
        if let Some(id) = &r.id
            && !is_change_set_arn(id)
        {
            return Err(bad(&format!("`{id}` is not a change set ARN")));
        }
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_set_ids_in_three_forms() {
        let a = "arn:aws:cloudformation:eu-west-1:1:changeSet/gantry-a/1";
        let b = "arn:aws:cloudformation:us-east-1:1:changeSet/gantry-b/2";
        let obj = format!(r#"{{"app-net": "{a}", "app-data": null}}"#);
        assert_eq!(
            change_set_refs(&[obj]).unwrap(),
            [
                ChangeSetRef {
                    stack: Some("app-net".into()),
                    id: Some(a.into())
                },
                ChangeSetRef {
                    stack: Some("app-data".into()),
                    id: None
                }
            ]
        );
        assert_eq!(
            change_set_refs(&[format!(r#"["{a}","{b}"]"#)])
                .unwrap()
                .len(),
            2
        );
        assert_eq!(change_set_refs(&[format!("{a}\n{b}\n")]).unwrap().len(), 2);
        assert_eq!(change_set_refs(&[String::new()]).unwrap(), []);
        let e = change_set_refs(&["gantry-1".into()]).unwrap_err();
        assert!(
            e.message().contains("`gantry-1` is not a change set ARN"),
            "{}",
            e.message()
        );
        assert_eq!(e.exit_code().code(), 2);
    }

    #[test]
    fn key_values_keep_spaces_and_split_lines() {
        let kv = key_values(&["Name=a b".into(), "X=1\nY=2=3\n".into()], "parameters").unwrap();
        assert_eq!(kv["Name"], "a b");
        assert_eq!(kv["Y"], "2=3");
        assert!(
            key_values(&["novalue".into()], "tags")
                .unwrap_err()
                .message()
                .contains("KEY=VALUE")
        );
    }

    #[test]
    fn digests() {
        assert!(is_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest(&"a".repeat(64)));
    }
}
