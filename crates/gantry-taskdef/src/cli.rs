//! The command line: subcommands, flags, their `GANTRY_*` variables and help. Parsing only;
//! what a value means is decided in `config`.

use clap::{Parser, Subcommand};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::OutputArgs;
use std::path::PathBuf;

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
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[command(flatten)]
    pub output: OutputArgs,
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
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}
