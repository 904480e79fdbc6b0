//! gantry-site: a static frontend to S3, content-addressed and phased, with cache rules, safe
//! prune, instant rollback and planned invalidation.
//!
//! [`plan`] (with [`rules`], [`manifest`]) is pure; [`store`] is the S3 edge; [`deploy`],
//! [`rollback`] and [`releases`] glue a validated config to both; [`run`] parses flags.

pub mod manifest;
pub mod plan;
pub mod rules;
pub mod scan;
pub mod store;

use aws_sdk_cloudfront::Client as CloudFront;
use aws_sdk_s3::Client as S3;
use clap::{Args as ClapArgs, Parser, Subcommand};
use futures::StreamExt;
use gantry_invalidate::plan::{FREE_PATHS_PER_MONTH, Limits};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::parse_duration;
use gantry_kit::github::RunIdentity;
use gantry_kit::poll::SystemClock;
use gantry_kit::{Error, Outputs, Report};
use manifest::{Manifest, Pointer};
use plan::{Inputs, LocalFile, MaxDelete, Phase, Plan};
use rules::Rules;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use store::{Multipart, Target};

/// Publish a static site to S3: content-addressed, phased (immutable files, other files, HTML,
/// then the release record), with cache rules, deferred prune, rollback and invalidation.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-site", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Publish a directory as a new release.
    Deploy(DeployArgs),
    /// Make an earlier release live again (from stored object versions; no rebuild).
    Rollback(RollbackArgs),
    /// List the kept releases, newest first, the live one marked.
    Releases(ReleasesArgs),
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Deploy(a) => a.common.site.json,
            Command::Rollback(a) => a.common.site.json,
            Command::Releases(a) => a.site.json,
        }
    }
}

/// Where the site is.
#[derive(ClapArgs, Debug, Clone)]
pub struct SiteArgs {
    /// The S3 bucket.
    #[arg(long, env = "GANTRY_BUCKET")]
    pub bucket: Option<String>,

    /// Key prefix inside the bucket (e.g. `site`); the release records live under
    /// `<prefix>/.gantry/`.
    #[arg(long, env = "GANTRY_PREFIX", default_value = "")]
    pub prefix: String,

    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What deploy and rollback share.
#[derive(ClapArgs, Debug, Clone)]
pub struct CommonArgs {
    #[command(flatten)]
    pub site: SiteArgs,

    /// CloudFront distribution to invalidate changed paths in (paths are relative to the prefix:
    /// the distribution's origin path).
    #[arg(long, env = "GANTRY_DISTRIBUTION_ID")]
    pub distribution_id: Option<String>,

    /// Wait until the invalidation is Completed (exit 4 past `timeout`).
    #[arg(long, env = "GANTRY_WAIT")]
    pub wait: bool,

    /// Deadline for waiting on the invalidation: `90`, `90s`, `15m`.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Fixed time between invalidation status polls.
    #[arg(long, env = "GANTRY_POLL_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Compute and print the plan (reads the bucket; writes nothing).
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    /// Copies or uploads in flight at once.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value_t = 32)]
    pub concurrency: usize,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct DeployArgs {
    /// The built site, e.g. `dist`.
    #[arg(long, env = "GANTRY_DIR")]
    pub dir: Option<PathBuf>,

    /// Cache-Control / Content-Type / Content-Encoding rules per glob, first match wins: a YAML
    /// file (TOML when its name ends in `.toml`), or the YAML itself when the value has several
    /// lines.
    #[arg(long, env = "GANTRY_CACHE_RULES")]
    pub cache_rules: Option<String>,

    /// Releases whose files are kept (clients with cached HTML still load their assets).
    #[arg(long, env = "GANTRY_KEEP_RELEASES", default_value_t = 3)]
    pub keep_releases: usize,

    /// Refuse (exit 2) a deploy that would delete more objects than this: a number or a
    /// percentage of the live release's objects.
    #[arg(long, env = "GANTRY_MAX_DELETE", default_value = "50%")]
    pub max_delete: String,

    /// Release id. Default: a hash of the new manifest (the same tree gives the same id).
    #[arg(long, env = "GANTRY_RELEASE_ID")]
    pub release_id: Option<String>,

    /// Files of this many bytes or more are uploaded in parts.
    #[arg(long, env = "GANTRY_MULTIPART_THRESHOLD", default_value_t = 8 * 1024 * 1024, hide = true)]
    pub multipart_threshold: u64,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct RollbackArgs {
    /// The release to make live. Default: the one before the live release.
    #[arg(long, env = "GANTRY_TO")]
    pub to: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub site: SiteArgs,
}

/// Invalidation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdn {
    pub distribution_id: String,
    pub wait: bool,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

/// What deploy and rollback share, validated.
#[derive(Debug, Clone)]
pub struct Common {
    pub target: Target,
    pub cdn: Option<Cdn>,
    pub dry_run: bool,
    pub concurrency: usize,
}

/// A validated deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub common: Common,
    pub dir: PathBuf,
    pub rules: Rules,
    pub keep_releases: usize,
    pub max_delete: MaxDelete,
    pub release_id: Option<String>,
    pub multipart: Multipart,
}

/// A validated rollback.
#[derive(Debug, Clone)]
pub struct RollbackConfig {
    pub common: Common,
    pub to: Option<String>,
    /// In Actions, the step doing this rollback (`repository/run-id/job/step`; not the attempt),
    /// recorded in the pointer so "Re-run failed jobs" finds the rollback done.
    pub run: Option<String>,
}

/// The Actions step this process runs as, stable across re-runs; `None` outside Actions.
pub fn run_key() -> Option<String> {
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
pub fn validate_bucket(bucket: Option<&str>) -> Result<String, Error> {
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
pub fn validate_prefix(prefix: &str) -> Result<String, Error> {
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

fn validate_common(a: &CommonArgs) -> Result<Common, Error> {
    let bucket = validate_bucket(a.site.bucket.as_deref())?;
    let prefix = validate_prefix(&a.site.prefix)?;
    let cdn = match a.distribution_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => {
            gantry_invalidate::check_distribution_id(d)?;
            Some(Cdn {
                distribution_id: d.to_owned(),
                wait: a.wait,
                timeout: a.timeout,
                poll_interval: a.poll_interval,
            })
        }
    };
    if a.concurrency == 0 || a.concurrency > 512 {
        return Err(
            Error::input(format!("concurrency: `{}` is out of range", a.concurrency))
                .with_hint("use 1 to 512; 32 is a good default"),
        );
    }
    gantry_kit::cli::PollArgs {
        poll_interval: a.poll_interval,
    }
    .checked()?;
    Ok(Common {
        target: Target { bucket, prefix },
        cdn,
        dry_run: a.dry_run,
        concurrency: a.concurrency,
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
    let common = validate_common(&a.common)?;
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
        common,
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

pub fn validate_rollback(a: &RollbackArgs) -> Result<RollbackConfig, Error> {
    Ok(RollbackConfig {
        common: validate_common(&a.common)?,
        to: a
            .to
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        run: run_key(),
    })
}

fn dir_error(e: scan::ScanError) -> Error {
    let hint = e.hint();
    Error::input(format!("dir: {e}")).with_hint(hint)
}

/// The walked tree, hashed, with the rules' headers (exit 2 on an unreadable file).
async fn hash_files(
    found: Vec<scan::Found>,
    rules: &Rules,
) -> Result<Vec<(LocalFile, PathBuf)>, Error> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let hashed = scan::hash_all(found, parallel).await.map_err(dir_error)?;
    Ok(hashed
        .into_iter()
        .map(|h| {
            let hd = rules.headers(&h.found.key);
            (
                LocalFile {
                    key: h.found.key,
                    entry: manifest::Entry {
                        sha256: h.sha256,
                        size: h.found.size,
                        content_type: hd.content_type,
                        cache_control: hd.cache_control,
                        content_encoding: hd.content_encoding,
                        immutable: hd.immutable,
                        version_id: None,
                    },
                },
                h.found.path,
            )
        })
        .collect())
}

/// What a finished (or failed) deploy reports.
#[derive(Debug, Clone, Default)]
struct Tally {
    release_id: String,
    previous_release_id: String,
    uploaded: usize,
    skipped: usize,
    deleted: usize,
    bytes: u64,
    invalidation_id: String,
    invalidated: Vec<String>,
    url: Option<String>,
}

impl Tally {
    fn outputs(&self) -> Outputs {
        let mut o = Outputs::new();
        o.set("release-id", self.release_id.as_str())
            .set("previous-release-id", self.previous_release_id.as_str())
            .set("uploaded", self.uploaded)
            .set("skipped", self.skipped)
            .set("deleted", self.deleted)
            .set("bytes-uploaded", self.bytes)
            .set("invalidation-id", self.invalidation_id.as_str())
            .set_list("invalidated-paths", self.invalidated.iter().cloned());
        if let Some(u) = &self.url {
            o.set("url", u.as_str());
        }
        o
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The invalidation plan for `paths` (the invalidate crate's limits, collapse and batching).
fn invalidation_config(cdn: &Cdn, paths: &[String]) -> Result<gantry_invalidate::Config, Error> {
    let plan = gantry_invalidate::plan::plan(paths, &Limits::default())
        .map_err(|e| Error::failed(format!("internal: invalidation paths: {e}")))?;
    Ok(gantry_invalidate::Config {
        distribution_id: cdn.distribution_id.clone(),
        plan,
        wait: false,
        timeout: cdn.timeout,
        poll_interval: cdn.poll_interval,
        caller_reference: None,
        dry_run: false,
    })
}

/// The run identity for CallerReferences: the step plus the release change, so a re-run of
/// the same publish reuses its invalidation and a later publish of the same release does not.
fn identity(from: &str, to: &str) -> RunIdentity {
    RunIdentity::from_env().for_purpose(format!("{from}->{to}"))
}

/// Creates the invalidation (no wait); returns its id and the paths sent.
async fn invalidate(
    cf: &CloudFront,
    cdn: &Cdn,
    paths: &[String],
    from: &str,
    to: &str,
) -> Result<(gantry_invalidate::Config, String), Error> {
    let cfg = invalidation_config(cdn, paths)?;
    let _g = gantry_kit::report::group(&format!("Invalidate {} path(s)", cfg.plan.paths.len()));
    let created = gantry_invalidate::execute(
        cf,
        &SystemClock::new(),
        &cfg,
        &identity(from, to),
        gantry_invalidate::nonce(),
    )
    .await
    .map_err(|stopped| stopped.error)?;
    let id = created.last().map(|c| c.id.clone()).unwrap_or_default();
    Ok((cfg, id))
}

/// The distribution's `https://<domain>/` (a read: dry runs report it too); `None` without a
/// distribution.
async fn site_url(cf: Option<&CloudFront>, common: &Common) -> Result<Option<String>, Error> {
    let (Some(cf), Some(cdn)) = (cf, &common.cdn) else {
        return Ok(None);
    };
    let d = cf
        .get_distribution()
        .id(&cdn.distribution_id)
        .send()
        .await
        .map_err(|e| gantry_kit::aws::aws_error("CloudFront GetDistribution", &e))?;
    let domain = d
        .distribution()
        .map(|d| d.domain_name().to_owned())
        .unwrap_or_default();
    Ok(Some(format!("https://{domain}/")))
}

/// The invalidation a dry run plans for `paths`: none without a distribution or paths.
fn planned_invalidation(cdn: Option<&Cdn>, paths: &[String]) -> Option<gantry_invalidate::Config> {
    if paths.is_empty() {
        return None;
    }
    invalidation_config(cdn?, paths).ok()
}

/// What an invalidation of `billed` paths costs.
fn cost(billed: usize) -> String {
    format!(
        "{billed} billed path(s); the first {FREE_PATHS_PER_MONTH} a month are free, then USD 0.005 each"
    )
}

/// The planned invalidation for the dry-run plan: paths, batches and what they cost.
fn invalidation_json(inv: Option<&gantry_invalidate::Config>) -> Option<serde_json::Value> {
    let c = inv?;
    Some(json!({
        "distribution-id": c.distribution_id,
        "paths": c.plan.paths,
        "batches": c.plan.batches.len(),
        "billed-paths": c.plan.billed_paths,
        "cost": cost(c.plan.billed_paths),
    }))
}

/// The dry-run plan object, with its planned invalidation (see [`planned_invalidation`]).
pub fn plan_json(p: &Plan, inv: Option<&gantry_invalidate::Config>) -> serde_json::Value {
    let phase = |ph: Phase| {
        let ups: Vec<&plan::Upload> = p.phase(ph).collect();
        json!({
            "files": ups.len(),
            "bytes": ups.iter().map(|u| u.size).sum::<u64>(),
            "uploads": ups.iter().map(|u| json!({"key": u.key, "size": u.size, "reason": u.reason})).collect::<Vec<_>>(),
        })
    };
    json!({
        "release-id": p.release_id,
        "noop": p.noop,
        "phases": {
            "immutable": phase(Phase::Immutable),
            "other": phase(Phase::Other),
            "html": phase(Phase::Html),
        },
        "skipped": p.skipped,
        "write-manifest": p.write_manifest,
        "write-pointer": p.write_pointer,
        "history": p.history,
        "prune": p.prune,
        "expired-releases": p.expired_releases,
        "invalidation": invalidation_json(inv),
        "invalidation-paths": p.invalidation_paths,
    })
}

/// The dry-run plan for a human reader (stderr): each phase, skips, prunes, invalidation and
/// its cost. Long lists show their first 20 entries.
fn log_plan(p: &Plan, cdn: Option<&Cdn>, inv: Option<&gantry_invalidate::Config>) {
    const SHOWN: usize = 20;
    let _g = gantry_kit::report::group("Dry run: the plan");
    for ph in Phase::ALL {
        let ups: Vec<&plan::Upload> = p.phase(ph).collect();
        let bytes: u64 = ups.iter().map(|u| u.size).sum();
        tracing::info!(
            "upload {}: {} file(s), {}",
            ph.name(),
            ups.len(),
            human_bytes(bytes)
        );
        for u in ups.iter().take(SHOWN) {
            tracing::info!("  {} ({:?}, {})", u.key, u.reason, human_bytes(u.size));
        }
        if ups.len() > SHOWN {
            tracing::info!("  … and {} more", ups.len() - SHOWN);
        }
    }
    tracing::info!("skip {} unchanged file(s)", p.skipped.len());
    if p.write_manifest || p.write_pointer {
        tracing::info!(
            "then write{}{}",
            if p.write_manifest {
                format!(" {}", manifest::manifest_key(&p.release_id))
            } else {
                String::new()
            },
            if p.write_pointer {
                format!(" {}", manifest::POINTER_KEY)
            } else {
                String::new()
            }
        );
    }
    tracing::info!(
        "prune {} object(s) and {} expired release(s)",
        p.prune.len(),
        p.expired_releases.len()
    );
    for k in p.prune.iter().take(SHOWN) {
        tracing::info!("  delete {k}");
    }
    match inv {
        Some(c) => tracing::info!(
            "invalidate {} path(s) in {} ({}): {}",
            c.plan.paths.len(),
            c.distribution_id,
            cost(c.plan.billed_paths),
            c.plan.paths.join(" ")
        ),
        None => tracing::info!(
            "invalidate nothing ({} changed path(s){})",
            p.invalidation_paths.len(),
            if cdn.is_none() {
                ", no distribution-id"
            } else {
                ""
            }
        ),
    }
}

fn summary_table(p: &Plan) -> String {
    let mut s = String::from("| phase | files | bytes |\n| --- | --- | --- |\n");
    for ph in Phase::ALL {
        let ups: Vec<&plan::Upload> = p.phase(ph).collect();
        let bytes: u64 = ups.iter().map(|u| u.size).sum();
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            ph.name(),
            ups.len(),
            human_bytes(bytes)
        ));
    }
    s.push_str(&format!(
        "| unchanged (skipped) | {} | |\n| pruned | {} | |\n",
        p.skipped.len(),
        p.prune.len()
    ));
    s
}

/// Deploys: hash the tree, read the live pointer and the listing, plan, then publish phase by
/// phase, invalidate, write the manifest and the pointer, prune, and wait.
pub async fn deploy(s3: &S3, cf: Option<&CloudFront>, cfg: &DeployConfig) -> Result<Report, Error> {
    let t = &cfg.common.target;
    // The tree is checked before any call; hashing then overlaps the two reads.
    let found = scan::walk(&cfg.dir).map_err(dir_error)?;
    let (local, live, listing) = tokio::join!(
        hash_files(found, &cfg.rules),
        store::read_pointer(s3, t),
        store::list(s3, t)
    );
    let local = local?;
    let (live, listing) = (live?, listing?);
    let files: Vec<LocalFile> = local.iter().map(|(f, _)| f.clone()).collect();
    let paths: BTreeMap<&str, &PathBuf> = local.iter().map(|(f, p)| (f.key.as_str(), p)).collect();
    let empty = BTreeMap::new();
    let mut inputs = Inputs {
        local: &files,
        live: live.as_ref(),
        listing: &listing,
        release_id: cfg.release_id.as_deref(),
        keep_releases: cfg.keep_releases,
        max_delete: cfg.max_delete,
        manifests: &empty,
    };
    let mut manifests = BTreeMap::new();
    for id in plan::manifests_to_read(&inputs) {
        if let Some(m) = store::read_manifest(s3, t, &id).await? {
            manifests.insert(id, m);
        }
    }
    inputs.manifests = &manifests;
    let p = plan::plan(&inputs).map_err(|e| match e {
        plan::PlanError::TooManyDeletes { .. } => Error::input(format!("max-delete: {e}")).with_hint(
            "check `dir` is the right build output; raise `max-delete` (e.g. `100%`) if the deletes are intended",
        ),
        plan::PlanError::ReleaseIdTaken { .. } => Error::input(e.to_string()).with_hint(
            "a release id names one content for good: a rollback to it restores those files, and prune keeps them",
        ),
    })?;

    let mut tally = Tally {
        release_id: p.release_id.clone(),
        previous_release_id: p.previous_release_id.clone().unwrap_or_default(),
        skipped: p.skipped.len(),
        ..Tally::default()
    };
    {
        let _g = gantry_kit::report::group("Plan");
        tracing::info!(
            "release {}: {} to upload ({}), {} unchanged, {} to prune, {} path(s) to invalidate{}",
            p.release_id,
            p.uploads.len(),
            human_bytes(p.bytes_to_upload()),
            p.skipped.len(),
            p.prune.len(),
            p.invalidation_paths.len(),
            if p.noop { " — nothing to do" } else { "" }
        );
    }
    // The URL is a read: a dry run reports it too.
    tally.url = site_url(cf, &cfg.common).await?;
    if cfg.common.dry_run {
        let inv = planned_invalidation(cfg.common.cdn.as_ref(), &p.invalidation_paths);
        log_plan(&p, cfg.common.cdn.as_ref(), inv.as_ref());
        let mut outputs = tally.outputs();
        outputs
            .set("uploaded", p.uploads.len())
            .set("deleted", p.prune.len())
            .set("bytes-uploaded", p.bytes_to_upload())
            .set_list("invalidated-paths", p.invalidation_paths.iter().cloned());
        return Ok(Report {
            outputs,
            plan: Some(plan_json(&p, inv.as_ref())),
            summary: Some(format!(
                "Dry run: nothing was written.\n\n{}",
                summary_table(&p)
            )),
        });
    }
    if p.noop {
        return Ok(Report {
            outputs: tally.outputs(),
            plan: None,
            summary: Some(format!(
                "Release `{}` is already live: nothing was written.",
                p.release_id
            )),
        });
    }

    // Publish phase by phase; a phase starts only when the one before it is complete.
    let mut manifest = p.manifest.clone();
    let mut unversioned = false;
    for ph in Phase::ALL {
        let mut ups: Vec<&plan::Upload> = p.phase(ph).collect();
        if ups.is_empty() {
            continue;
        }
        // Largest first: a big file does not start last and hold the phase open alone.
        ups.sort_by_key(|u| std::cmp::Reverse(u.size));
        let bytes: u64 = ups.iter().map(|u| u.size).sum();
        let _g = gantry_kit::report::group(&format!(
            "Upload {}: {} file(s), {}",
            ph.name(),
            ups.len(),
            human_bytes(bytes)
        ));
        let (mut files_done, mut bytes_done) = (0usize, 0u64);
        let mut stream = futures::stream::iter(ups)
            .map(|u| {
                let e = &p.manifest.files[&u.key];
                let path = paths[u.key.as_str()];
                async move {
                    let v = store::upload(s3, t, &u.key, path, e, cfg.multipart).await?;
                    Ok::<_, Error>((u, v))
                }
            })
            .buffer_unordered(cfg.common.concurrency);
        while let Some(r) = stream.next().await {
            let (u, version) = r.map_err(|e| e.with_outputs(tally.outputs()))?;
            tracing::debug!("uploaded {} ({:?})", u.key, u.reason);
            unversioned |= version.is_none();
            if let Some(e) = manifest.files.get_mut(&u.key) {
                e.version_id = version;
            }
            tally.uploaded += 1;
            tally.bytes += u.size;
            files_done += 1;
            bytes_done += u.size;
        }
        tracing::info!(
            "{}: {files_done} file(s), {} uploaded",
            ph.name(),
            human_bytes(bytes_done)
        );
    }
    if unversioned {
        tracing::warn!(
            "bucket {} does not keep object versions: files overwritten by later releases cannot be rolled back to; enable versioning on the bucket",
            t.bucket
        );
    }

    // Invalidate once the HTML is in place, before the release is recorded: a re-run after a
    // stop here sends the same CallerReference and CloudFront returns the same invalidation.
    let mut pending = None;
    if let (Some(cf), Some(cdn)) = (cf, &cfg.common.cdn)
        && !p.invalidation_paths.is_empty()
    {
        let from = live.as_ref().map(|l| l.release.as_str()).unwrap_or("");
        let (icfg, id) = invalidate(cf, cdn, &p.invalidation_paths, from, &p.release_id)
            .await
            .map_err(|e| e.with_outputs(tally.outputs()))?;
        tally.invalidation_id = id.clone();
        tally.invalidated = icfg.plan.paths.clone();
        pending = Some((icfg, id));
    }

    {
        let _g = gantry_kit::report::group("Record the release");
        if p.write_manifest {
            store::put_json(s3, t, &manifest::manifest_key(&p.release_id), &manifest)
                .await
                .map_err(|e| e.with_outputs(tally.outputs()))?;
        }
        let pointer = Pointer {
            format: manifest::FORMAT,
            release: p.release_id.clone(),
            previous: p.previous_release_id.clone(),
            history: p.history.clone(),
            manifest: manifest.clone(),
            rolled_back_by: None,
        };
        store::put_json(s3, t, manifest::POINTER_KEY, &pointer)
            .await
            .map_err(|e| e.with_outputs(tally.outputs()))?;
        tracing::info!("release {} is live", p.release_id);
    }

    if !p.prune.is_empty() || !p.expired_releases.is_empty() {
        let _g = gantry_kit::report::group(&format!(
            "Prune {} object(s) and {} expired release(s)",
            p.prune.len(),
            p.expired_releases.len()
        ));
        tally.deleted = store::delete(s3, t, &p.prune)
            .await
            .map_err(|e| e.with_outputs(tally.outputs()))?;
        let expired: Vec<String> = p
            .expired_releases
            .iter()
            .map(|r| manifest::manifest_key(r))
            .collect();
        store::delete(s3, t, &expired)
            .await
            .map_err(|e| e.with_outputs(tally.outputs()))?;
    }

    if let (Some(cf), Some(cdn), Some((icfg, id))) = (cf, &cfg.common.cdn, &pending)
        && cdn.wait
    {
        let status = gantry_invalidate::wait_completed(
            cf,
            &SystemClock::new(),
            icfg.schedule(),
            &icfg.distribution_id,
            id,
        )
        .await
        .map_err(|e| e.with_outputs(tally.outputs()))?;
        tracing::info!("invalidation {id}: {status}");
    }
    Ok(Report {
        outputs: tally.outputs(),
        plan: None,
        summary: Some(summary_table(&p)),
    })
}

/// Rolls back: restore the target release's changed files from their stored versions (phase
/// order), invalidate, then flip the pointer.
pub async fn rollback(
    s3: &S3,
    cf: Option<&CloudFront>,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    let t = &cfg.common.target;
    let live = store::read_pointer(s3, t).await?.ok_or_else(|| {
        Error::input(format!(
            "no release is live under s3://{}/{}",
            t.bucket, t.prefix
        ))
        .with_hint("deploy first; check `bucket` and `prefix`")
    })?;
    let target_id = match plan::rollback_target(&live, cfg.to.as_deref(), cfg.run.as_deref()) {
        Ok(id) => id,
        Err(plan::RollbackError::AlreadyLive(id)) => {
            // A re-run of a rollback that completed: nothing to do.
            let tally = Tally {
                release_id: id.clone(),
                previous_release_id: live.previous.clone().unwrap_or_default(),
                url: site_url(cf, &cfg.common).await?,
                ..Tally::default()
            };
            return Ok(Report {
                outputs: tally.outputs(),
                plan: None,
                summary: Some(format!(
                    "Release `{id}` is already live: nothing was written."
                )),
            });
        }
        Err(e) => {
            return Err(Error::input(format!("to: {e}")).with_hint(
                "list the releases with `gantry-site releases`; pass one of them as `to`",
            ));
        }
    };
    let listing = store::list(s3, t).await?;
    let target = store::read_manifest(s3, t, &target_id)
        .await?
        .ok_or_else(|| {
            Error::input(format!("to: the manifest of release `{target_id}` is gone"))
                .with_hint("pick a release `gantry-site releases` lists")
        })?;
    let rb = plan::plan_rollback(&live, &target, &listing).map_err(|e| {
        Error::failed(e.to_string()).with_hint(
            "turn on versioning on the bucket: rollback restores overwritten files from their versions",
        )
    })?;
    let mut tally = Tally {
        release_id: rb.release_id.clone(),
        previous_release_id: rb.previous_release_id.clone(),
        url: site_url(cf, &cfg.common).await?,
        ..Tally::default()
    };
    if cfg.common.dry_run {
        let inv = planned_invalidation(cfg.common.cdn.as_ref(), &rb.invalidation_paths);
        {
            let _g = gantry_kit::report::group("Dry run: the rollback plan");
            tracing::info!("make {} live again (was {})", rb.release_id, live.release);
            for ph in Phase::ALL {
                let keys: Vec<&str> = rb
                    .restores
                    .iter()
                    .filter(|r| r.phase == ph)
                    .map(|r| r.key.as_str())
                    .collect();
                tracing::info!(
                    "restore {}: {} file(s) {}",
                    ph.name(),
                    keys.len(),
                    keys.join(" ")
                );
            }
            match &inv {
                Some(c) => tracing::info!(
                    "invalidate {} path(s): {} ({})",
                    rb.invalidation_paths.len(),
                    rb.invalidation_paths.join(" "),
                    cost(c.plan.billed_paths)
                ),
                None => tracing::info!(
                    "invalidate nothing ({} changed path(s))",
                    rb.invalidation_paths.len()
                ),
            }
        }
        let mut o = tally.outputs();
        o.set("uploaded", rb.restores.len())
            .set_list("invalidated-paths", rb.invalidation_paths.iter().cloned());
        return Ok(Report {
            outputs: o,
            plan: Some(json!({
                "release-id": rb.release_id,
                "previous-release-id": rb.previous_release_id,
                "restores": rb.restores,
                "invalidation-paths": rb.invalidation_paths,
                "invalidation": invalidation_json(inv.as_ref()),
            })),
            summary: Some("Dry run: nothing was written.".into()),
        });
    }
    let mut restored = target.clone();
    for ph in Phase::ALL {
        let rs: Vec<&plan::Restore> = rb.restores.iter().filter(|r| r.phase == ph).collect();
        if rs.is_empty() {
            continue;
        }
        let _g = gantry_kit::report::group(&format!("Restore {}: {} file(s)", ph.name(), rs.len()));
        let mut stream = futures::stream::iter(rs)
            .map(|r| {
                let e = &target.files[&r.key];
                async move {
                    let v = store::restore(s3, t, &r.key, &r.version_id, e).await?;
                    Ok::<_, Error>((r, v))
                }
            })
            .buffer_unordered(cfg.common.concurrency);
        while let Some(r) = stream.next().await {
            let (r, version) = r.map_err(|e| e.with_outputs(tally.outputs()))?;
            // The copy is now the current version: record it, so a lifecycle rule that expires
            // noncurrent versions never takes the bytes of the live release.
            if let (Some(v), Some(e)) = (version, restored.files.get_mut(&r.key)) {
                e.version_id = Some(v);
            }
            tally.uploaded += 1;
        }
    }
    let mut pending = None;
    if let (Some(cf), Some(cdn)) = (cf, &cfg.common.cdn)
        && !rb.invalidation_paths.is_empty()
    {
        let (icfg, id) = invalidate(
            cf,
            cdn,
            &rb.invalidation_paths,
            &live.release,
            &rb.release_id,
        )
        .await
        .map_err(|e| e.with_outputs(tally.outputs()))?;
        tally.invalidation_id = id.clone();
        tally.invalidated = icfg.plan.paths.clone();
        pending = Some((icfg, id));
    }
    let pointer = Pointer {
        format: manifest::FORMAT,
        release: rb.release_id.clone(),
        previous: Some(live.release.clone()),
        history: live.history.clone(),
        manifest: restored,
        rolled_back_by: cfg.run.clone(),
    };
    store::put_json(s3, t, manifest::POINTER_KEY, &pointer)
        .await
        .map_err(|e| e.with_outputs(tally.outputs()))?;
    tracing::info!(
        "release {} is live again (was {})",
        rb.release_id,
        live.release
    );
    if let (Some(cf), Some(cdn), Some((icfg, id))) = (cf, &cfg.common.cdn, &pending)
        && cdn.wait
    {
        gantry_invalidate::wait_completed(
            cf,
            &SystemClock::new(),
            icfg.schedule(),
            &icfg.distribution_id,
            id,
        )
        .await
        .map_err(|e| e.with_outputs(tally.outputs()))?;
    }
    Ok(Report {
        outputs: tally.outputs(),
        plan: None,
        summary: Some(format!(
            "Rolled back from `{}` to `{}`: {} file(s) restored.",
            live.release, rb.release_id, tally.uploaded
        )),
    })
}

/// Lists releases (newest first) with the live one marked. JSON keys: `live-release-id`,
/// `releases` (objects with `release-id`, `live`, `files`, `bytes`).
pub async fn releases(s3: &S3, t: &Target) -> Result<Report, Error> {
    let live = store::read_pointer(s3, t).await?;
    let mut o = Outputs::new();
    let Some(live) = live else {
        o.set("live-release-id", "")
            .set("releases", serde_json::Value::Array(vec![]));
        return Ok(Report::new(o));
    };
    let mut rows = Vec::new();
    let mut table = String::from("| release | live | files | bytes |\n| --- | --- | --- | --- |\n");
    for id in &live.history {
        let m: Option<Manifest> = if *id == live.release {
            Some(live.manifest.clone())
        } else {
            store::read_manifest(s3, t, id).await?
        };
        let (files, bytes) = m
            .as_ref()
            .map_or((0, 0), |m| (m.files.len(), m.total_bytes()));
        let is_live = *id == live.release;
        tracing::info!(
            "{}{id}  {files} file(s), {}",
            if is_live { "* " } else { "  " },
            human_bytes(bytes)
        );
        table.push_str(&format!(
            "| `{id}` | {} | {files} | {} |\n",
            if is_live { "live" } else { "" },
            human_bytes(bytes)
        ));
        rows.push(json!({"release-id": id, "live": is_live, "files": files, "bytes": bytes}));
    }
    o.set("live-release-id", live.release.as_str())
        .set("releases", serde_json::Value::Array(rows));
    Ok(Report {
        outputs: o,
        plan: None,
        summary: Some(table),
    })
}

/// The whole command: validate, then deploy, roll back or list.
pub async fn run(cli: Cli) -> Result<Report, Error> {
    match cli.command {
        Command::Deploy(a) => {
            let cfg = validate_deploy(&a)?;
            let sdk = gantry_kit::aws::sdk_config(&a.common.site.aws, Some("us-east-1")).await;
            let s3 = gantry_kit::aws::s3_client(&sdk);
            let cf = cfg.common.cdn.as_ref().map(|_| CloudFront::new(&sdk));
            deploy(&s3, cf.as_ref(), &cfg).await
        }
        Command::Rollback(a) => {
            let cfg = validate_rollback(&a)?;
            let sdk = gantry_kit::aws::sdk_config(&a.common.site.aws, Some("us-east-1")).await;
            let s3 = gantry_kit::aws::s3_client(&sdk);
            let cf = cfg.common.cdn.as_ref().map(|_| CloudFront::new(&sdk));
            rollback(&s3, cf.as_ref(), &cfg).await
        }
        Command::Releases(a) => {
            let t = Target {
                bucket: validate_bucket(a.site.bucket.as_deref())?,
                prefix: validate_prefix(&a.site.prefix)?,
            };
            let sdk = gantry_kit::aws::sdk_config(&a.site.aws, Some("us-east-1")).await;
            releases(&gantry_kit::aws::s3_client(&sdk), &t).await
        }
    }
}
