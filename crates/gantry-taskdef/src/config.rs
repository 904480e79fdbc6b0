//! Flags → validated configs: `--task-definition` and the overrides ([`SourceConfig`]), prune's
//! inputs ([`PruneConfig`]). This is the one place an input is rejected (exit 2, naming it),
//! including a file or registered task definition found wanting once read.

use crate::cli::{PruneArgs, SourceArgs};
use crate::load::{self, LoadError};
use crate::render::{self, Invalid, Overrides};
use gantry_kit::Error;
use gantry_kit::arn::TaskDefinitionRef;
use gantry_kit::cli::{split_list, split_unique};
use std::path::{Path, PathBuf};

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    File(PathBuf),
    /// An ARN or `family[:revision]` to describe.
    Registered(String),
}

/// Validated source and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceConfig {
    pub(crate) origin: Origin,
    pub(crate) overrides: Overrides,
}

/// The most an `--env-files` file may hold: ECS refuses a task definition over 64 KiB, whatever
/// its variables are.
const MAX_ENV_FILE: u64 = 64 * 1024;

fn is_family(s: &str) -> bool {
    render::family_problem(s).is_none()
}

/// What a path that exists but is neither a file nor a directory is (`/dev/null`).
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// `--task-definition`: an existing file wins; else `arn:…` or `family[:revision]`.
pub(crate) fn origin(raw: Option<&str>) -> Result<Origin, Error> {
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
    if let Ok(meta) = std::fs::metadata(path) {
        return Err(Error::input(format!(
            "task-definition: `{raw}` is {}, not a regular file",
            special_kind(&meta)
        ))
        .with_hint("give a JSON/YAML file, a task definition ARN, or family[:revision]"));
    }
    // An ARN is held to the one grammar the rollout action accepts (docs/contracts.md).
    if raw.starts_with("arn:") {
        let arn: TaskDefinitionRef = raw.parse().map_err(|e| {
            Error::input(format!("task-definition: {e}")).with_hint(
                "give an existing JSON/YAML file, a task definition ARN, or family[:revision]",
            )
        })?;
        return Ok(Origin::Registered(arn.to_string()));
    }
    let (family, rev) = raw
        .split_once(':')
        .map_or((raw, None), |(f, r)| (f, Some(r)));
    let rev_ok = rev.is_none_or(|r| r.parse::<u32>().is_ok_and(|n| n > 0));
    if is_family(family) && rev_ok {
        return Ok(Origin::Registered(raw.to_owned()));
    }
    // Only family characters but too long: the length is what is wrong, not a missing file.
    if rev_ok
        && family.chars().count() > 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        let why = render::family_problem(family).unwrap_or_default();
        return Err(Error::input(format!("task-definition: {why}")).with_hint(render::FAMILY_RULE));
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
pub(crate) fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
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

/// Why a value is refused, or None (the pure checks of `render`).
type ValueCheck = fn(&str) -> Option<String>;

/// Checks `--task-definition` and every override before anything is called. Errors are exit 2.
pub(crate) fn validate_source(a: &SourceArgs) -> Result<SourceConfig, Error> {
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
        let text = gantry_kit::cli::read_input_file(Path::new(file), MAX_ENV_FILE).map_err(|e| {
            Error::input(format!("env-files: cannot read `{file}`: {e}"))
                .with_hint("give a readable file of KEY=VALUE lines; a task definition holds at most 64 KiB in all")
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
    let checks: [(&str, &Option<String>, ValueCheck, &str); 5] = [
        (
            "family",
            &o.family,
            render::family_problem,
            render::FAMILY_RULE,
        ),
        (
            "cpu",
            &o.cpu,
            render::task_cpu_problem,
            "CPU units from 128 to 196608 (`256`, `1024`) or vCPUs (`1 vCPU`)",
        ),
        (
            "memory",
            &o.memory,
            render::task_memory_problem,
            "a whole number of MiB (`512`) or GB (`2 GB`), more than 0",
        ),
        (
            "task-role-arn",
            &o.task_role_arn,
            render::role_arn_problem,
            "the role's full ARN, e.g. `arn:aws:iam::123456789012:role/web-task`",
        ),
        (
            "execution-role-arn",
            &o.execution_role_arn,
            render::role_arn_problem,
            "the role's full ARN, e.g. `arn:aws:iam::123456789012:role/web-exec`",
        ),
    ];
    for (input, value, problem, accepted) in checks {
        if let Some(why) = value.as_deref().and_then(problem) {
            return Err(
                Error::input(format!("{input}: {why}")).with_hint(format!("use {accepted}"))
            );
        }
    }
    Ok(SourceConfig {
        origin,
        overrides: o,
    })
}

/// A problem the renderer found in the task definition or an override: exit 2, naming the input.
pub(crate) fn invalid(e: Invalid) -> Error {
    let err = Error::input(format!("{}: {}", e.input, e.message));
    match e.hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// A task definition that cannot be read as one: exit 2.
pub(crate) fn load_error(e: LoadError) -> Error {
    let hint = match &e {
        LoadError::Syntax { .. } => "fix the syntax at the line and column given",
        LoadError::Shape { .. } => {
            "keys and types follow ECS RegisterTaskDefinition (describe-task-definition output is accepted too)"
        }
    };
    Error::input(format!("task-definition: {e}")).with_hint(hint)
}

/// Reads a task definition file (YAML when it ends in `.yml`/`.yaml`).
pub(crate) fn load_file(path: &Path) -> Result<load::Loaded, Error> {
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

/// `--task-definition` named something that is neither a file nor registered.
pub(crate) fn not_registered(r: &str) -> Error {
    Error::input(format!(
        "task-definition: `{r}` is neither a file nor a registered task definition"
    ))
    .with_hint("give an existing file path, a task definition ARN, or family[:revision]")
}

/// Validated prune inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PruneConfig {
    pub(crate) family: String,
    pub(crate) keep: usize,
    pub(crate) clusters: Vec<String>,
}

pub(crate) fn validate_prune(a: &PruneArgs) -> Result<PruneConfig, Error> {
    let family = a.family.as_deref().map(str::trim).unwrap_or("").to_owned();
    if let Some(why) = render::family_problem(&family) {
        return Err(Error::input(format!("family: {why}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_kit::aws::AwsArgs;
    use gantry_kit::cli::OutputArgs;

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
    fn an_arn_is_held_to_the_one_task_definition_grammar() {
        let short_account = "arn:aws:ecs:us-east-1:12345:task-definition/web:3";
        let e = origin(Some(short_account)).unwrap_err();
        assert_eq!(e.exit_code(), gantry_kit::ExitCode::InputRejected);
        assert!(
            e.message().starts_with(&format!(
                "task-definition: `{short_account}` is not a task definition ARN"
            )),
            "{}",
            e.message()
        );
        assert!(origin(Some("arn:aws:ecs:us-east-1:123456789012:service/web")).is_err());
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
            output: OutputArgs::default(),
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
