//! The command line: subcommands, flags, their `GANTRY_*` env names and defaults (clap only).

use clap::{Args as ClapArgs, Parser, Subcommand};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{OutputArgs, PollArgs, parse_duration};
use std::path::PathBuf;
use std::time::Duration;

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
    /// The flags every subcommand has: where the site is, `--json`, AWS.
    pub(crate) fn site(&self) -> &SiteArgs {
        match self {
            Command::Deploy(a) => &a.publish.site,
            Command::Rollback(a) => &a.publish.site,
            Command::Releases(a) => &a.site,
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

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What deploy and rollback (the two publishes) share.
#[derive(ClapArgs, Debug, Clone)]
pub struct PublishArgs {
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

    #[command(flatten)]
    pub poll: PollArgs,

    /// Compute and print the plan (reads the bucket; writes nothing).
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    /// Copies or uploads in flight at once: `auto` (start at 64, grow while throughput grows,
    /// halve on S3's 503 SlowDown; at most 256) or a number from 1 to 512, which pins it.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value = "auto")]
    pub concurrency: String,
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
    pub publish: PublishArgs,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct RollbackArgs {
    /// The release to make live. Default: the one before the live release.
    #[arg(long, env = "GANTRY_TO")]
    pub to: Option<String>,

    #[command(flatten)]
    pub publish: PublishArgs,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub site: SiteArgs,
}
