//! The command line (clap only). Each flag is also an action input and a `GANTRY_*` variable
//! (docs/contracts.md, "Input ⇔ flag ⇔ env").

use clap::{Args, Parser, Subcommand};
use gantry_kit::cli::{OutputArgs, parse_duration};
use std::time::Duration;

/// GitHub deployment records: a release per environment that rollback can trust.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-deployment", version)]
#[command(mut_arg("json", |a| a.global(true)))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Create the deployment record (or find the one this run and job made) and set it in_progress.
    Start(StartArgs),
    /// Set the record's final state: success, failure or error.
    Finish(FinishArgs),
    /// Find the newest good release of an environment (or the previous one, or a given one).
    LastGood(LastGoodArgs),
    /// Mark a deployment's release bad, so last-good never offers it again.
    Mark(MarkArgs),
    /// Assemble a gantry.release/v1 document from flags (writes nothing to GitHub).
    Release(ReleaseArgs),
}

/// Where GitHub is and how to reach it: shared by every subcommand that calls GitHub.
#[derive(Args, Debug, Clone)]
pub struct GitHubArgs {
    /// The token (the action's default: the workflow's `github.token`). Needs `deployments: write`
    /// (`last-good`: `deployments: read`).
    #[arg(long, env = "GANTRY_GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,

    /// The repository, `OWNER/NAME`. Default: `GITHUB_REPOSITORY`.
    #[arg(long, env = "GANTRY_REPOSITORY")]
    pub repository: Option<String>,

    /// Deadline for the whole command, waits for GitHub's rate limits included: `90s`, `10m`.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct StartArgs {
    /// The environment, e.g. `staging` (the name on the repository's Environments page).
    #[arg(long, env = "GANTRY_ENVIRONMENT")]
    pub environment: Option<String>,

    /// The ref GitHub records (branch, tag or SHA). Default: the release's `sha`.
    #[arg(long = "ref", env = "GANTRY_REF")]
    pub git_ref: Option<String>,

    /// The release (gantry.release/v1): inline JSON, or `@FILE`.
    #[arg(long, env = "GANTRY_RELEASE")]
    pub release: Option<String>,

    /// The record's description (cut to GitHub's 140 characters). Default: `gantry: <sha> to <environment>`.
    #[arg(long, env = "GANTRY_DESCRIPTION")]
    pub description: Option<String>,

    /// Whether end users use this environment (`true`/`false`). Default: GitHub's (`true` for `production`).
    #[arg(long, env = "GANTRY_PRODUCTION_ENVIRONMENT")]
    pub production_environment: Option<String>,

    /// The environment goes away later (a preview): `true`/`false`.
    #[arg(long, env = "GANTRY_TRANSIENT_ENVIRONMENT", default_value = "false")]
    pub transient_environment: String,

    /// Deployments of the environment searched for this run's own record on a re-run.
    #[arg(long, env = "GANTRY_MAX_SCAN", default_value = "100")]
    pub max_scan: String,

    /// Print what would be written; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Args, Debug, Clone)]
pub struct FinishArgs {
    /// The deployment `start` created (its `deployment-id` output).
    #[arg(long, env = "GANTRY_DEPLOYMENT_ID")]
    pub deployment_id: Option<String>,

    /// `success`, `failure` or `error`.
    #[arg(long, env = "GANTRY_STATE")]
    pub state: Option<String>,

    /// Where the environment is reached, e.g. `https://staging.example.com` (shown by GitHub).
    #[arg(long, env = "GANTRY_ENVIRONMENT_URL")]
    pub environment_url: Option<String>,

    /// The status description (cut to GitHub's 140 characters).
    #[arg(long, env = "GANTRY_DESCRIPTION")]
    pub description: Option<String>,

    /// Print what would be written; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Args, Debug, Clone)]
pub struct LastGoodArgs {
    /// The environment to look in.
    #[arg(long, env = "GANTRY_ENVIRONMENT")]
    pub environment: Option<String>,

    /// `last-good` (the newest good release), `previous` (the good release before it), or a
    /// deployment id (which must be good).
    #[arg(long, env = "GANTRY_TO", default_value = "last-good")]
    pub to: String,

    /// Fail unless the chosen release is this commit (a full SHA or a prefix of 7 or more).
    #[arg(long, env = "GANTRY_SHA")]
    pub sha: Option<String>,

    /// Fail unless the chosen release has been good at least this long: `30m`, `0`.
    #[arg(long, env = "GANTRY_MIN_AGE", value_parser = parse_duration)]
    pub min_age: Option<Duration>,

    /// How many of the environment's newest deployments to read, at most.
    #[arg(long, env = "GANTRY_MAX_SCAN", default_value = "100")]
    pub max_scan: String,

    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Args, Debug, Clone)]
pub struct MarkArgs {
    /// The deployment whose release is bad.
    #[arg(long, env = "GANTRY_DEPLOYMENT_ID")]
    pub deployment_id: Option<String>,

    /// Mark it bad (the one mark there is; required, so a mark is never made by accident).
    #[arg(long, env = "GANTRY_BAD")]
    pub bad: bool,

    /// Why, e.g. `rolled back: p99 latency alarm` (kept in the status description).
    #[arg(long, env = "GANTRY_REASON")]
    pub reason: Option<String>,

    /// Print what would be written; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub github: GitHubArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ReleaseArgs {
    /// The ref built. Default: `GITHUB_REF`.
    #[arg(long = "ref", env = "GANTRY_REF")]
    pub git_ref: Option<String>,

    /// The commit built. Default: `GITHUB_SHA`.
    #[arg(long, env = "GANTRY_SHA")]
    pub sha: Option<String>,

    /// The image by digest, `registry/repository@sha256:…`.
    #[arg(long, env = "GANTRY_IMAGE")]
    pub image: Option<String>,

    /// The task definition revision's ARN.
    #[arg(long, env = "GANTRY_TASK_DEFINITION_ARN")]
    pub task_definition_arn: Option<String>,

    /// ECS services as `CLUSTER/SERVICE`. Repeatable; values split on newlines, a single line on whitespace.
    #[arg(long = "services", alias = "service", env = "GANTRY_SERVICES")]
    pub services: Vec<String>,

    /// The site's bucket.
    #[arg(long, env = "GANTRY_SITE_BUCKET")]
    pub site_bucket: Option<String>,

    /// The site's key prefix.
    #[arg(long, env = "GANTRY_SITE_PREFIX")]
    pub site_prefix: Option<String>,

    /// The site's release id.
    #[arg(long, env = "GANTRY_SITE_RELEASE_ID")]
    pub site_release_id: Option<String>,

    /// Change sets as `STACK=CHANGE_SET_ID`. Repeatable; split like `services`.
    #[arg(long = "stacks", alias = "stack", env = "GANTRY_STACKS")]
    pub stacks: Vec<String>,
}
