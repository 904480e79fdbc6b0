//! Flags → validated configs: every input is checked here, before anything is called; the one
//! place exit-2 errors are made, including the refusals only the bucket's state can show (the
//! tree, the plan's limits, the release to roll back to).

use crate::aws::s3::{Multipart, SiteLocation};
use crate::cli::{DeployArgs, PublishArgs, RollbackArgs, SiteArgs};
use crate::manifest;
use crate::plan::{MaxDelete, PlanError, RollbackError};
use crate::rules::{self, Rules};
use crate::scan::ScanError;
use gantry_kit::Error;
use gantry_kit::github::RunIdentity;
use gantry_kit::pace::{Auto, Concurrency};
use std::path::PathBuf;
use std::time::Duration;

/// Invalidation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cdn {
    pub(crate) distribution_id: String,
    pub(crate) wait: bool,
    pub(crate) timeout: Duration,
    pub(crate) poll_interval: Duration,
}

/// What deploy and rollback share, validated.
#[derive(Debug, Clone)]
pub(crate) struct PublishConfig {
    pub(crate) location: SiteLocation,
    pub(crate) cdn: Option<Cdn>,
    pub(crate) dry_run: bool,
    pub(crate) concurrency: Concurrency,
    /// Keys per listing range ([`crate::plan::LIST_RANGE`]).
    pub(crate) list_range: usize,
}

/// A validated deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub(crate) publish: PublishConfig,
    pub(crate) dir: PathBuf,
    pub(crate) rules: Rules,
    pub(crate) keep_releases: usize,
    pub(crate) max_delete: MaxDelete,
    pub(crate) release_id: Option<String>,
    pub(crate) multipart: Multipart,
}

impl DeployConfig {
    /// The same deploy, its listing split after every `keys` keys instead of
    /// [`crate::plan::LIST_RANGE`]: a small tree listed in several ranges, for tests.
    pub fn with_list_range(mut self, keys: usize) -> Self {
        self.publish.list_range = keys.max(1);
        self
    }
}

/// A validated rollback.
#[derive(Debug, Clone)]
pub struct RollbackConfig {
    pub(crate) publish: PublishConfig,
    pub(crate) to: Option<String>,
    /// In Actions, the step doing this rollback (`repository/run-id/job/step`; not the attempt),
    /// recorded in the pointer so "Re-run failed jobs" finds the rollback done.
    pub run: Option<String>,
}

impl RollbackConfig {
    /// The same rollback, its listing split after every `keys` keys (see
    /// [`DeployConfig::with_list_range`]).
    pub fn with_list_range(mut self, keys: usize) -> Self {
        self.publish.list_range = keys.max(1);
        self
    }
}

/// The Actions step this process runs as, stable across re-runs; `None` outside Actions.
fn run_key() -> Option<String> {
    let id = RunIdentity::from_env();
    let run = id.run_id?;
    Some(format!(
        "{}/{run}/{}/{}",
        id.repository.unwrap_or_default(),
        id.job.unwrap_or_default(),
        id.step.unwrap_or_default()
    ))
}

/// Checks a bucket name against S3's rules (exit 2).
fn validate_bucket(bucket: Option<&str>) -> Result<String, Error> {
    let b = bucket
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            Error::input("bucket: required")
                .with_hint("pass --bucket (input `bucket`), e.g. `my-site-prod`")
        })?;
    let chars_ok = b
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric());
    let ip_like = b.split('.').count() == 4 && b.split('.').all(|p| p.parse::<u8>().is_ok());
    if !(3..=63).contains(&b.len()) || !chars_ok || !ends_ok || b.contains("..") || ip_like {
        return Err(Error::input(format!("bucket: `{b}` is not a valid S3 bucket name"))
            .with_hint("3–63 characters: lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit (the name, not an ARN or s3:// URL)"));
    }
    Ok(b.to_owned())
}

/// Normalises a prefix: no leading/trailing `/`; no `.`/`..`/empty segments (exit 2).
fn validate_prefix(prefix: &str) -> Result<String, Error> {
    let p = prefix.trim().trim_matches('/');
    if p.is_empty() {
        return Ok(String::new());
    }
    if p.split('/')
        .any(|s| s.is_empty() || s == "." || s == ".." || s == manifest::STATE_DIR)
        || p.chars().any(char::is_control)
    {
        return Err(Error::input(format!(
            "prefix: `{prefix}` has an empty, `.`, `..` or `.gantry` segment"
        ))
        .with_hint("use a plain key prefix such as `site` or `apps/shop`"));
    }
    Ok(p.to_owned())
}

/// The bucket and prefix every subcommand starts from (exit 2 when either is refused).
pub(crate) fn validate_location(a: &SiteArgs) -> Result<SiteLocation, Error> {
    Ok(SiteLocation {
        bucket: validate_bucket(a.bucket.as_deref())?,
        prefix: validate_prefix(&a.prefix)?,
    })
}

fn validate_publish(a: &PublishArgs) -> Result<PublishConfig, Error> {
    let location = validate_location(&a.site)?;
    let cdn = match a.distribution_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => {
            gantry_invalidate::check_distribution_id(d)?;
            Some(Cdn {
                distribution_id: d.to_owned(),
                wait: a.wait,
                timeout: a.timeout,
                poll_interval: a.poll.poll_interval,
            })
        }
    };
    let concurrency = parse_concurrency(&a.concurrency)?;
    a.poll.checked()?;
    Ok(PublishConfig {
        location,
        cdn,
        dry_run: a.dry_run,
        concurrency,
        list_range: crate::plan::LIST_RANGE,
    })
}

/// Where `concurrency: auto` starts and the bounds it moves within (docs/actions/site.md, "How
/// many in flight").
pub(crate) const AUTO: Auto = Auto {
    // Twice the 32 that was fixed before it adapted (timed by hand against the site
    // benchmark's server, docs/benchmarks.md: ~6 % faster at a 20 ms round trip, the same on
    // loopback).
    start: 64,
    // s5cmd's default worker count.
    max: 256,
    min: 4,
};

/// `auto`, or a number from 1 to 512 that pins the concurrency.
fn parse_concurrency(v: &str) -> Result<Concurrency, Error> {
    Concurrency::parse(v, AUTO, 512).map_err(|why| {
        Error::input(format!("concurrency: {why}"))
            .with_hint("use `auto` (the default: adapts to the link) or a number to pin it")
    })
}

/// Reads the rules: a file path (TOML when its name ends in `.toml`, YAML otherwise), or
/// inline YAML when the value has several lines.
pub fn load_rules(value: Option<&str>) -> Result<Rules, Error> {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(Rules::default());
    };
    let (text, what, format) = if v.contains('\n') {
        (v.to_owned(), "inline rules".to_owned(), rules::Format::Yaml)
    } else {
        let path = v.trim();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(format!("cache-rules: cannot read `{path}`: {e}")).with_hint(
                "give a readable YAML file (a `.toml` name for TOML), or the rules themselves as a multi-line YAML value",
            )
        })?;
        (text, format!("`{path}`"), rules::Format::of_path(path))
    };
    Rules::parse_as(&text, format)
        .map_err(|e| Error::input(format!("cache-rules: {what}: {e}")).with_hint(format.example()))
}

/// Checks every deploy input before anything is called. Errors are exit 2 and name the input.
pub fn validate_deploy(a: &DeployArgs) -> Result<DeployConfig, Error> {
    let dir = a
        .dir
        .clone()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| {
            Error::input("dir: required")
                .with_hint("pass --dir (input `dir`): the built site, e.g. `dist`")
        })?;
    let publish = validate_publish(&a.publish)?;
    let rules = load_rules(a.cache_rules.as_deref())?;
    if a.keep_releases == 0 {
        return Err(
            Error::input("keep-releases: `0` would delete the live release's files").with_hint(
                "keep at least 1 release; 3 lets clients with cached HTML load their assets",
            ),
        );
    }
    let max_delete =
        MaxDelete::parse(&a.max_delete).map_err(|e| Error::input(format!("max-delete: {e}")))?;
    let release_id = match a.release_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r)
            if r.len() <= 128
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !r.starts_with('.') =>
        {
            Some(r.to_owned())
        }
        Some(r) => {
            return Err(Error::input(format!("release-id: `{r}` is not a valid release id"))
                .with_hint("use letters, digits, `-`, `_` and `.` (at most 128), e.g. a commit SHA or `v1.4.2`"));
        }
    };
    Ok(DeployConfig {
        publish,
        dir,
        rules,
        keep_releases: a.keep_releases,
        max_delete,
        release_id,
        multipart: Multipart {
            threshold: a.multipart_threshold.max(1),
            ..Multipart::default()
        },
    })
}

/// Checks every rollback input before anything is called (exit 2).
pub fn validate_rollback(a: &RollbackArgs) -> Result<RollbackConfig, Error> {
    Ok(RollbackConfig {
        publish: validate_publish(&a.publish)?,
        to: a
            .to
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        run: run_key(),
    })
}

/// `dir` refused while walking or hashing the tree.
pub(crate) fn dir_refused(e: ScanError) -> Error {
    let hint = e.hint();
    Error::input(format!("dir: {e}")).with_hint(hint)
}

/// A deploy plan refused against the live release: too many deletes, a taken release id.
pub(crate) fn plan_refused(e: PlanError) -> Error {
    match e {
        PlanError::TooManyDeletes { .. } => Error::input(format!("max-delete: {e}")).with_hint(
            "check `dir` is the right build output; raise `max-delete` (e.g. `100%`) if the deletes are intended",
        ),
        PlanError::ReleaseIdTaken { .. } => Error::input(e.to_string()).with_hint(
            "a release id names one content for good: a rollback to it restores those files, and prune keeps them",
        ),
    }
}

/// A rollback with no live release to go back from.
pub(crate) fn nothing_live(location: &SiteLocation) -> Error {
    Error::input(format!(
        "no release is live under s3://{}/{}",
        location.bucket, location.prefix
    ))
    .with_hint("deploy first; check `bucket` and `prefix`")
}

/// `to` names no release a rollback can go to (not kept, or nothing before the live one).
pub(crate) fn to_refused(e: RollbackError) -> Error {
    Error::input(format!("to: {e}"))
        .with_hint("list the releases with `gantry-site releases`; pass one of them as `to`")
}

/// `to` names a kept release whose manifest is gone.
pub(crate) fn to_manifest_gone(release: &str) -> Error {
    Error::input(format!("to: the manifest of release `{release}` is gone"))
        .with_hint("pick a release `gantry-site releases` lists")
}
