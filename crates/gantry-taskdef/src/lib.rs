//! gantry-taskdef: ECS task definitions — render many containers in one step, validate strictly
//! against AWS's own ECS model, register only when changed, diff, and prune safely.
//!
//! Pure parts: [`model`] (the vendored ECS model and the strict check), [`load`] (accepted file
//! shapes), [`render`] (overrides and semantic checks), [`compare`] (normal form and diff),
//! [`prune`] (which revisions go). [`ecs`] is the AWS edge; [`run`] glues flags to both.

pub mod compare;
pub mod ecs;
#[cfg(test)]
mod fixtures;
pub mod load;
pub mod model;
pub mod prune;
pub mod render;

use aws_sdk_ecs::Client;
use clap::{Parser, Subcommand};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{split_list, split_unique};
use gantry_kit::github::{Actions, Annotation, Level, write_annotation};
use gantry_kit::{Error, Outputs, Report};
use render::{Invalid, Overrides};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// ECS task definitions: render, validate against the ECS model, register only when changed,
/// diff against what is live, prune old revisions.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-taskdef", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Render a task definition (images, environment, secrets, overrides) and validate it.
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Render(RenderArgs),
    /// Render, validate, and register unless the latest ACTIVE revision is the same (the action).
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Register(RegisterArgs),
    /// Show what would change against the live revision or a service's task definition.
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Diff(DiffArgs),
    /// Deregister old ACTIVE revisions of a family, never the newest or one in use.
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Prune(PruneArgs),
}

impl Cli {
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Render(a) => a.json,
            Command::Register(a) => a.json,
            Command::Diff(a) => a.json,
            Command::Prune(a) => a.json,
        }
    }

    pub fn title(&self) -> &'static str {
        match &self.command {
            Command::Render(_) => "Task definition render",
            Command::Register(_) => "Task definition",
            Command::Diff(_) => "Task definition diff",
            Command::Prune(_) => "Task definition prune",
        }
    }
}

/// Where the task definition comes from, and what to change in it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SourceArgs {
    /// A task definition file (JSON or YAML; register-shaped or describe-task-definition output),
    /// or `arn:…` / `family[:revision]` to start from what is registered. An existing file wins.
    #[arg(
        long,
        env = "GANTRY_TASK_DEFINITION",
        value_name = "FILE|ARN|FAMILY[:REV]"
    )]
    pub task_definition: Option<String>,

    /// `CONTAINER=IMAGE` pairs: the image for each named container. Repeatable.
    #[arg(
        long = "images",
        alias = "image",
        env = "GANTRY_IMAGES",
        value_name = "NAME=URI"
    )]
    pub images: Vec<String>,

    /// `CONTAINER:KEY=VALUE`: set an environment variable (replaced in place, else appended).
    #[arg(
        long = "env-vars",
        alias = "env-var",
        env = "GANTRY_ENV_VARS",
        value_name = "NAME:KEY=VALUE"
    )]
    pub env_vars: Vec<String>,

    /// `CONTAINER:KEY=ARN`: a secret from Secrets Manager or SSM Parameter Store.
    #[arg(
        long = "secrets",
        alias = "secret",
        env = "GANTRY_SECRETS",
        value_name = "NAME:KEY=ARN"
    )]
    pub secrets: Vec<String>,

    /// `CONTAINER:FILE`: `KEY=VALUE` lines (`#` comments) added to the container's environment
    /// before `--env-var`.
    #[arg(
        long = "env-files",
        alias = "env-file",
        env = "GANTRY_ENV_FILES",
        value_name = "NAME:FILE"
    )]
    pub env_files: Vec<String>,

    /// Family to register under (replaces the file's).
    #[arg(long, env = "GANTRY_FAMILY")]
    pub family: Option<String>,

    /// Task-level cpu (`256`, `1 vCPU`).
    #[arg(long, env = "GANTRY_CPU")]
    pub cpu: Option<String>,

    /// Task-level memory (`512`, `2 GB`).
    #[arg(long, env = "GANTRY_MEMORY")]
    pub memory: Option<String>,

    /// IAM role ARN the containers assume.
    #[arg(long, env = "GANTRY_TASK_ROLE_ARN")]
    pub task_role_arn: Option<String>,

    /// IAM role ARN the ECS agent uses (image pulls, secrets, logs).
    #[arg(long, env = "GANTRY_EXECUTION_ROLE_ARN")]
    pub execution_role_arn: Option<String>,

    /// `KEY=VALUE` tags for the revision. Repeatable.
    #[arg(
        long = "tags",
        alias = "tag",
        env = "GANTRY_TAGS",
        value_name = "KEY=VALUE"
    )]
    pub tags: Vec<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where to write the rendered task definition (default: `$RUNNER_TEMP` or the temp dir).
    #[arg(long, env = "GANTRY_OUT", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where to write the rendered task definition (default: `$RUNNER_TEMP` or the temp dir).
    #[arg(long, env = "GANTRY_OUT", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Register a new revision even when the latest ACTIVE one is the same.
    #[arg(long, env = "GANTRY_FORCE")]
    pub force: bool,
    /// Compare and print the plan; register nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,
    /// Print one JSON object on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Compare with the task definition this service runs (with `--cluster`) instead of the
    /// family's latest ACTIVE revision.
    #[arg(
        long,
        env = "GANTRY_SERVICE",
        requires = "cluster",
        conflicts_with = "family"
    )]
    pub service: Option<String>,
    /// The service's cluster (with `--service`).
    #[arg(long, env = "GANTRY_CLUSTER", requires = "service")]
    pub cluster: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PruneArgs {
    /// The family whose old revisions go.
    #[arg(long, env = "GANTRY_FAMILY")]
    pub family: Option<String>,
    /// How many of the newest ACTIVE revisions to keep (at least 1).
    #[arg(long, env = "GANTRY_KEEP", default_value = "10")]
    pub keep: String,
    /// Clusters whose services' revisions (running or in a deployment) are never pruned.
    #[arg(long = "clusters", alias = "cluster", env = "GANTRY_CLUSTERS")]
    pub clusters: Vec<String>,
    /// List what would be deregistered; deregister nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,
    /// Print one JSON object on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// An ARN or `family[:revision]` to describe.
    Registered(String),
}

/// Validated source and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    pub origin: Origin,
    pub overrides: Overrides,
}

fn invalid(e: Invalid) -> Error {
    let err = Error::input(format!("{}: {}", e.input, e.message));
    match e.hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

fn is_family(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `--task-definition`: an existing file wins; else `arn:…` or `family[:revision]`.
pub fn origin(raw: Option<&str>) -> Result<Origin, Error> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::input("task-definition: required").with_hint(
            "pass --task-definition (input `task-definition`): a file, an ARN, or family[:revision]",
        )
    })?;
    let path = Path::new(raw);
    if path.is_file() {
        return Ok(Origin::File(path.to_path_buf()));
    }
    if path.is_dir() {
        return Err(
            Error::input(format!("task-definition: `{raw}` is a directory"))
                .with_hint("give the task definition JSON file inside it"),
        );
    }
    if raw.starts_with("arn:") && raw.contains(":task-definition/") {
        return Ok(Origin::Registered(raw.to_owned()));
    }
    let (family, rev) = raw
        .split_once(':')
        .map_or((raw, None), |(f, r)| (f, Some(r)));
    if is_family(family) && rev.is_none_or(|r| r.parse::<u32>().is_ok_and(|n| n > 0)) {
        return Ok(Origin::Registered(raw.to_owned()));
    }
    Err(
        Error::input(format!("task-definition: file `{raw}` not found")).with_hint(
            "give an existing JSON/YAML file, a task definition ARN, or family[:revision]",
        ),
    )
}

fn pair<'a>(
    input: &'static str,
    v: &'a str,
    sep: char,
    form: &str,
) -> Result<(&'a str, &'a str), Error> {
    match v.split_once(sep) {
        Some((a, b)) if !a.trim().is_empty() => Ok((a.trim(), b)),
        _ => Err(
            Error::input(format!("{input}: `{v}` is not {form}")).with_hint(format!(
                "write each as {form}, one per line or whitespace-separated"
            )),
        ),
    }
}

/// Parses an env file: `KEY=VALUE` lines; blank lines, `#` comments and `export ` are ignored.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v);
                out.push((k.trim().to_owned(), v.to_owned()));
            }
            _ => return Err(format!("line {}: `{l}` is not KEY=VALUE", i + 1)),
        }
    }
    Ok(out)
}

fn is_secret_arn(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() >= 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && (parts[2] == "secretsmanager" || parts[2] == "ssm")
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
}

/// Checks `--task-definition` and every override before anything is called. Errors are exit 2.
pub fn validate_source(a: &SourceArgs) -> Result<SourceConfig, Error> {
    let origin = origin(a.task_definition.as_deref())?;
    let mut o = Overrides::default();
    for v in split_list(&a.images) {
        let (name, uri) = pair("images", &v, '=', "NAME=URI (container name = image)")?;
        render::check_image_reference(uri).map_err(|why| {
            Error::input(format!("images: `{uri}` is not an image reference: {why}")).with_hint(
                "use [registry/]repository[:tag][@sha256:digest], e.g. \
                 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:…",
            )
        })?;
        o.images.push((name.to_owned(), uri.to_owned()));
    }
    for v in split_list(&a.env_files) {
        let (name, file) = pair("env-files", &v, ':', "NAME:FILE")?;
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::input(format!("env-files: cannot read `{file}`: {e}"))
                .with_hint("give a readable file of KEY=VALUE lines")
        })?;
        let vars =
            parse_env_file(&text).map_err(|e| Error::input(format!("env-files: `{file}` {e}")))?;
        o.env_files
            .extend(vars.into_iter().map(|(k, v)| (name.to_owned(), k, v)));
    }
    for v in split_list(&a.env_vars) {
        let (name, kv) = pair("env-vars", &v, ':', "NAME:KEY=VALUE")?;
        let (k, val) = pair("env-vars", kv, '=', "NAME:KEY=VALUE").map_err(|_| {
            Error::input(format!("env-vars: `{v}` has no `=`"))
                .with_hint("write NAME:KEY=VALUE, e.g. `web:LOG_LEVEL=debug`")
        })?;
        o.env.push((name.to_owned(), k.to_owned(), val.to_owned()));
    }
    for v in split_list(&a.secrets) {
        let (name, kv) = pair("secrets", &v, ':', "NAME:KEY=ARN")?;
        let (k, arn) = pair("secrets", kv, '=', "NAME:KEY=ARN")?;
        if !is_secret_arn(arn) {
            return Err(Error::input(format!(
                "secrets: `{arn}` (for `{name}:{k}`) is not a Secrets Manager or SSM parameter ARN"
            ))
            .with_hint(
                "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or \
                 arn:aws:ssm:REGION:ACCOUNT:parameter/NAME; plain values go to env-vars",
            ));
        }
        o.secrets
            .push((name.to_owned(), k.to_owned(), arn.to_owned()));
    }
    for v in split_list(&a.tags) {
        let (k, val) = pair("tags", &v, '=', "KEY=VALUE")?;
        o.tags.push((k.to_owned(), val.to_owned()));
    }
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    o.family = opt(&a.family);
    o.cpu = opt(&a.cpu);
    o.memory = opt(&a.memory);
    o.task_role_arn = opt(&a.task_role_arn);
    o.execution_role_arn = opt(&a.execution_role_arn);
    Ok(SourceConfig {
        origin,
        overrides: o,
    })
}

/// A rendered, validated task definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub def: Map<String, Value>,
    pub warnings: Vec<String>,
    pub dropped: Vec<String>,
}

impl Rendered {
    pub fn family(&self) -> &str {
        self.def.get("family").and_then(Value::as_str).unwrap_or("")
    }
}

/// Loads (from `text` or a live description), renders and checks. Pure.
pub fn prepare(loaded: load::Loaded, o: &Overrides) -> Result<Rendered, Error> {
    let def = render::render(loaded.def, o).map_err(invalid)?;
    let warnings = render::check(&def).map_err(invalid)?;
    Ok(Rendered {
        def,
        warnings,
        dropped: loaded.dropped,
    })
}

fn load_error(e: load::LoadError) -> Error {
    let hint = match &e {
        load::LoadError::Syntax { .. } => "fix the syntax at the line and column given",
        load::LoadError::Shape { .. } => {
            "keys and types follow ECS RegisterTaskDefinition (describe-task-definition output is accepted too)"
        }
    };
    Error::input(format!("task-definition: {e}")).with_hint(hint)
}

/// Reads a task definition file (YAML when it ends in `.yml`/`.yaml`).
pub fn load_file(path: &Path) -> Result<load::Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(format!(
            "task-definition: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    load::parse(&text, &path.display().to_string(), yaml).map_err(load_error)
}

async fn client(aws: &AwsArgs) -> Client {
    let sdk = gantry_kit::aws::sdk_config(aws, None).await;
    Client::new(&sdk)
}

async fn load_source(cfg: &SourceConfig, aws: &AwsArgs) -> Result<Rendered, Error> {
    let loaded = match &cfg.origin {
        Origin::File(p) => load_file(p)?,
        Origin::Registered(r) => {
            let c = client(aws).await;
            let live = ecs::describe(&c, r).await?.ok_or_else(|| {
                Error::input(format!(
                    "task-definition: `{r}` is neither a file nor a registered task definition"
                ))
                .with_hint(
                    "give an existing file path, a task definition ARN, or family[:revision]",
                )
            })?;
            load::from_value(Value::Object(live.def), r).map_err(load_error)?
        }
    };
    let r = prepare(loaded, &cfg.overrides)?;
    if !r.dropped.is_empty() {
        tracing::debug!("dropped describe-only keys: {}", r.dropped.join(", "));
    }
    let actions = Actions::from_env();
    for w in &r.warnings {
        let _ = write_annotation(
            &mut std::io::stderr().lock(),
            &Annotation::new(Level::Warning, w.clone()).title("gantry: task definition"),
            actions.github,
        );
    }
    Ok(r)
}

/// Writes the rendered task definition; returns its path.
fn write_rendered(r: &Rendered, out: Option<&Path>) -> Result<PathBuf, Error> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("RUNNER_TEMP")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("gantry-taskdef-{}.json", r.family())),
    };
    let mut text = serde_json::to_string_pretty(&r.def)
        .map_err(|e| Error::failed(format!("internal: {e}")))?;
    text.push('\n');
    std::fs::write(&path, text)
        .map_err(|e| Error::failed(format!("could not write {}: {e}", path.display())))?;
    Ok(path)
}

/// The diff of the rendered definition against a live one, normalised on both sides.
pub fn changes(live: Option<&Map<String, Value>>, rendered: &Map<String, Value>) -> Vec<String> {
    // Against nothing there is no diff to read: the whole definition is new.
    let Some(live) = live else {
        return Vec::new();
    };
    compare::diff(&compare::normalise(live), &compare::normalise(rendered))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn diff_summary(lines: &[String], against: &str, live: bool) -> String {
    if !live {
        return format!("Nothing to compare with: {against}.\n");
    }
    if lines.is_empty() {
        return format!("No change against {against}.\n");
    }
    format!(
        "Changes against {against} (JSON path: old → new):\n\n```\n{}\n```\n",
        lines.join("\n")
    )
}

async fn run_render(a: RenderArgs) -> Result<Report, Error> {
    let cfg = validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let path = write_rendered(&r, a.out.as_deref())?;
    let mut o = Outputs::new();
    o.set("family", r.family())
        .set("rendered-file", path.display().to_string())
        .set_list("containers", render::container_names(&r.def))
        .set_list("warnings", r.warnings.clone())
        .set("task-definition", Value::Object(r.def));
    Ok(Report::new(o))
}

/// Decides register vs reuse: `Some(live)` is reused when equal and not forced.
pub fn decide(live: Option<&ecs::Live>, changes: &[String], force: bool) -> bool {
    force || live.is_none() || !changes.is_empty()
}

async fn run_register(a: RegisterArgs) -> Result<Report, Error> {
    let cfg = validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let path = write_rendered(&r, a.out.as_deref())?;
    let family = r.family().to_owned();
    let c = client(&a.aws).await;
    let live = ecs::latest_active(&c, &family).await?;
    let lines = changes(live.as_ref().map(|l| &l.def), &r.def);
    let against = live
        .as_ref()
        .map(|l| format!("revision {} (`{}`)", l.revision, l.arn))
        .unwrap_or_else(|| format!("family `{family}` has no ACTIVE revision yet"));
    let register = decide(live.as_ref(), &lines, a.force);
    let mut o = Outputs::new();
    o.set("family", family.as_str())
        .set("rendered-file", path.display().to_string());
    let summary_diff = diff_summary(&lines, &against, live.is_some());
    {
        let _g = gantry_kit::report::group("Diff");
        if live.is_none() {
            tracing::info!("nothing to compare with: {against}");
        } else if lines.is_empty() {
            tracing::info!("no change against {against}");
        }
        for l in &lines {
            tracing::info!("{l}");
        }
    }
    if a.dry_run {
        let would = if register {
            "register a new revision"
        } else {
            "reuse the live revision"
        };
        tracing::info!("dry run: would {would}; nothing registered");
        let (arn, rev) = match (&live, register) {
            (Some(l), false) => (l.arn.clone(), Value::from(l.revision)),
            _ => (String::new(), Value::Null),
        };
        o.set("task-definition-arn", arn)
            .set("revision", rev)
            .set("changed", register)
            .set_list("diff", lines.clone());
        return Ok(Report {
            outputs: o,
            plan: Some(json!({
                "action": if register { "register" } else { "reuse" },
                "family": family,
                "against": live.as_ref().map(|l| l.arn.clone()),
                "diff": lines,
                "task-definition": r.def,
            })),
            summary: Some(format!(
                "Dry run: nothing was registered; it would {would}.\n\n{summary_diff}"
            )),
        });
    }
    let (arn, revision) = match (&live, register) {
        (Some(l), false) => {
            tracing::info!("unchanged: reusing {}", l.arn);
            (l.arn.clone(), l.revision)
        }
        _ => {
            if a.force && live.is_some() && lines.is_empty() {
                tracing::info!("unchanged, but --force: registering a new revision");
            }
            let (arn, rev) = ecs::register(&c, &r.def).await?;
            tracing::info!("registered {arn}");
            (arn, rev)
        }
    };
    o.set("task-definition-arn", arn)
        .set("revision", revision)
        .set("changed", register)
        .set_list("diff", lines);
    Ok(Report {
        outputs: o,
        plan: None,
        summary: Some(summary_diff),
    })
}

async fn run_diff(a: DiffArgs) -> Result<Report, Error> {
    let cfg = validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let c = client(&a.aws).await;
    let live = match (&a.service, &a.cluster) {
        (Some(s), Some(cl)) => {
            let arn = ecs::service_task_definition(&c, cl, s).await?;
            ecs::describe(&c, &arn).await?
        }
        _ => ecs::latest_active(&c, r.family()).await?,
    };
    let lines = changes(live.as_ref().map(|l| &l.def), &r.def);
    let against = live
        .as_ref()
        .map(|l| format!("`{}`", l.arn))
        .unwrap_or_else(|| format!("family `{}` has no ACTIVE revision yet", r.family()));
    for l in &lines {
        tracing::info!("{l}");
    }
    let mut o = Outputs::new();
    o.set("family", r.family())
        .set(
            "live-task-definition-arn",
            live.as_ref().map(|l| l.arn.clone()).unwrap_or_default(),
        )
        // With nothing live, registering would create the family's first revision.
        .set("changed", live.is_none() || !lines.is_empty())
        .set_list("diff", lines.clone());
    Ok(Report {
        outputs: o,
        plan: None,
        summary: Some(diff_summary(&lines, &against, live.is_some())),
    })
}

/// Validated prune inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneConfig {
    pub family: String,
    pub keep: usize,
    pub clusters: Vec<String>,
}

pub fn validate_prune(a: &PruneArgs) -> Result<PruneConfig, Error> {
    let family = a.family.as_deref().map(str::trim).unwrap_or("").to_owned();
    if !is_family(&family) {
        return Err(Error::input(format!(
            "family: `{family}` is not a task definition family"
        ))
        .with_hint("pass --family with 1–255 letters, digits, `-` and `_`"));
    }
    let keep = match a.keep.trim().parse::<usize>() {
        Ok(n) if n >= 1 => n,
        _ => {
            return Err(Error::input(format!(
                "keep: `{}` is not a number of revisions of 1 or more",
                a.keep.trim()
            ))
            .with_hint("the newest revision is always kept; use e.g. `--keep 10`"));
        }
    };
    Ok(PruneConfig {
        family,
        keep,
        clusters: split_unique(&a.clusters),
    })
}

async fn run_prune(a: PruneArgs) -> Result<Report, Error> {
    let cfg = validate_prune(&a)?;
    let c = client(&a.aws).await;
    let active = ecs::list_active(&c, &cfg.family).await?;
    let mut used = Vec::new();
    for cl in &cfg.clusters {
        used.extend(ecs::in_use(&c, cl).await?);
    }
    let plan = prune::plan(&cfg.family, &active, cfg.keep, &used);
    let kept: Vec<String> = plan
        .kept
        .iter()
        .map(|(arn, why)| format!("{arn} ({why})"))
        .collect();
    let mut o = Outputs::new();
    o.set("family", cfg.family.as_str());
    for k in &kept {
        tracing::info!("keep {k}");
    }
    if a.dry_run {
        for arn in &plan.deregister {
            tracing::info!("would deregister {arn}");
        }
        let listed: String = plan
            .deregister
            .iter()
            .map(|arn| format!("- `{arn}`\n"))
            .collect();
        o.set_list("deregistered", Vec::<String>::new())
            .set_list("kept", kept.clone());
        return Ok(Report {
            outputs: o,
            summary: Some(format!(
                "Dry run: {} revision(s) would be deregistered.\n\n{listed}",
                plan.deregister.len()
            )),
            plan: Some(json!({"deregister": plan.deregister, "kept": kept})),
        });
    }
    let mut done = Vec::new();
    for arn in &plan.deregister {
        ecs::deregister(&c, arn).await.map_err(|e| {
            let mut partial = o.clone();
            partial.set_list("deregistered", done.clone());
            e.with_outputs(partial)
        })?;
        tracing::info!("deregistered {arn}");
        done.push(arn.clone());
    }
    o.set_list("deregistered", done.clone())
        .set_list("kept", kept);
    Ok(Report {
        outputs: o,
        plan: None,
        summary: Some(format!("{} revision(s) deregistered.\n", done.len())),
    })
}

/// The whole command.
pub async fn run(cli: Cli) -> Result<Report, Error> {
    match cli.command {
        Command::Render(a) => run_render(a).await,
        Command::Register(a) => run_register(a).await,
        Command::Diff(a) => run_diff(a).await,
        Command::Prune(a) => run_prune(a).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(td: &str) -> SourceArgs {
        SourceArgs {
            task_definition: Some(td.into()),
            ..SourceArgs::default()
        }
    }

    #[test]
    fn origin_prefers_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("web");
        std::fs::write(&f, "{}").unwrap();
        assert_eq!(origin(f.to_str()).unwrap(), Origin::File(f.clone()));
        assert_eq!(
            origin(Some("web:3")).unwrap(),
            Origin::Registered("web:3".into())
        );
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        assert_eq!(origin(Some(arn)).unwrap(), Origin::Registered(arn.into()));
        let e = origin(Some("missing.json")).unwrap_err();
        assert_eq!(
            e.message(),
            "task-definition: file `missing.json` not found"
        );
        assert!(origin(Some("web:0")).is_err());
        assert!(origin(None).is_err());
    }

    #[test]
    fn override_values_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("td.json");
        std::fs::write(&f, "{}").unwrap();
        let td = f.to_str().unwrap();
        let mut a = src(td);
        a.env_vars = vec!["web:FOO".into()];
        assert_eq!(
            validate_source(&a).unwrap_err().message(),
            "env-vars: `web:FOO` has no `=`"
        );
        let mut a = src(td);
        a.secrets = vec!["web:DB=plain-password".into()];
        assert!(
            validate_source(&a)
                .unwrap_err()
                .message()
                .contains("is not a Secrets Manager or SSM parameter ARN")
        );
        let mut a = src(td);
        a.images = vec!["web=Bad Image".into()];
        // split on whitespace: `web=Bad` then `Image`
        assert!(validate_source(&a).is_err());
        let mut a = src(td);
        a.images = vec!["web=nginx:1.27\nsidecar=envoyproxy/envoy:v1.31".into()];
        a.env_vars = vec!["web:A=1=2".into()];
        a.secrets =
            vec!["web:DB=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC".into()];
        a.tags = vec!["team=web env=prod".into()];
        let c = validate_source(&a).unwrap();
        assert_eq!(c.overrides.images.len(), 2);
        assert_eq!(
            c.overrides.env,
            vec![("web".into(), "A".into(), "1=2".into())]
        );
        assert_eq!(c.overrides.tags.len(), 2);
    }

    #[test]
    fn env_files() {
        assert_eq!(
            parse_env_file("# c\n\nA=1\nexport B=\"two words\"\nC=\n").unwrap(),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), String::new())
            ]
        );
        assert_eq!(
            parse_env_file("A=1\nnope\n").unwrap_err(),
            "line 2: `nope` is not KEY=VALUE"
        );
    }

    #[test]
    fn prune_keep_must_be_positive() {
        let a = PruneArgs {
            family: Some("web".into()),
            keep: "0".into(),
            clusters: vec![],
            dry_run: false,
            json: false,
            aws: AwsArgs::default(),
        };
        assert!(
            validate_prune(&a)
                .unwrap_err()
                .message()
                .contains("keep: `0`")
        );
        let cfg = validate_prune(&PruneArgs {
            keep: "2".into(),
            clusters: vec!["prod staging".into(), "prod".into()],
            ..a
        })
        .unwrap();
        assert_eq!(
            cfg.clusters,
            vec!["prod", "staging"],
            "a cluster given twice is scanned once"
        );
    }
}
