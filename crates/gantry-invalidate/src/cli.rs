//! The command line: flags, their `GANTRY_*` env names and defaults (clap only).

use clap::Parser;
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{OutputArgs, PollArgs, parse_duration};
use std::path::PathBuf;
use std::time::Duration;

/// Invalidate paths in a CloudFront distribution: planned, batched within CloudFront's limits,
/// idempotent across re-runs, optionally waiting for completion.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-invalidate", version)]
pub struct Cli {
    /// The distribution's id (e.g. `E2QWRUHAPOMQZL`).
    #[arg(long, env = "GANTRY_DISTRIBUTION_ID")]
    pub distribution_id: Option<String>,

    /// Paths to invalidate, e.g. `/index.html /app/*`. Repeatable; each value is split on newlines,
    /// a single line on whitespace.
    #[arg(
        long = "paths",
        alias = "path",
        env = "GANTRY_PATHS",
        value_name = "PATHS"
    )]
    pub paths: Vec<String>,

    /// A file with one path per line (blank lines and `#` comments ignored), added to `--paths`.
    #[arg(long, env = "GANTRY_PATHS_FILE", value_name = "FILE")]
    pub paths_file: Option<PathBuf>,

    /// Wait until every invalidation is Completed (exit 4 if the timeout passes first).
    #[arg(long, env = "GANTRY_WAIT")]
    pub wait: bool,

    /// Deadline for the whole run, creation retries and waiting included: `90`, `90s`, `15m`.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub poll: PollArgs,

    /// CallerReference to send (a `-N` suffix is added per batch when there are several).
    /// Default: derived from the run id, job, step, distribution and paths, so a re-run of the
    /// same job reuses the same invalidation instead of paying for a new one.
    #[arg(long, env = "GANTRY_CALLER_REFERENCE")]
    pub caller_reference: Option<String>,

    /// Most paths one run may bill; above it paths are collapsed into wildcard prefixes.
    /// `unlimited` never collapses (paths are only split into batches).
    #[arg(long, env = "GANTRY_MAX_PATHS", default_value = "3000")]
    pub max_paths: String,

    /// Compute and print the plan; call nothing, change nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}
