//! The command line (clap only). Every flag is also a `GANTRY_*` variable and, in
//! `actions/stack`, an input of the same name (docs/actions/stack.md).

use clap::{Args, Parser, Subcommand};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{OutputArgs, PollArgs, parse_duration};
use std::path::PathBuf;
use std::time::Duration;

/// CloudFormation stacks planned as reviewable change sets, gated against destroying data,
/// applied exactly as reviewed.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-stack", version)]
#[command(mut_arg("json", |a| a.global(true)))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Create a change set per stack, wait for it, print the diff; execute nothing.
    Plan(PlanArgs),
    /// Execute the change sets a plan created, after checking they are still what was reviewed.
    Apply(ApplyArgs),
    /// Plan and apply each stack in turn (the diff is still shown first).
    Deploy(DeployArgs),
    /// Each stack's status, drift status, last update and outputs.
    Status(StatusArgs),
}

/// Where environment files live: for the stacks of plan, apply and deploy, and for status.
#[derive(Args, Debug, Clone, Default)]
pub struct EnvironmentsArgs {
    /// Where environment files live.
    #[arg(
        long,
        env = "GANTRY_ENVIRONMENTS_DIR",
        default_value = "infra/environments"
    )]
    pub environments_dir: PathBuf,
}

/// Which stacks: an environment file, or one stack given by flags.
#[derive(Args, Debug, Clone, Default)]
pub struct StackArgs {
    /// Environment name (`infra/environments/NAME.json` under --environments-dir) or the path of
    /// an environment file: all of its stacks, in its order.
    #[arg(long, env = "GANTRY_ENVIRONMENT", conflicts_with_all = ["stack_name", "template"])]
    pub environment: Option<String>,

    #[command(flatten)]
    pub environments: EnvironmentsArgs,

    /// Where the layers' templates (`LAYER.yaml`) live. Default: `templates` beside the
    /// environment file's directory (`infra/templates`).
    #[arg(long, env = "GANTRY_TEMPLATES_DIR")]
    pub templates_dir: Option<PathBuf>,

    /// Only these layers of the environment (the others' outputs are still read). Repeatable.
    #[arg(long = "layers", alias = "layer", env = "GANTRY_LAYERS")]
    pub layers: Vec<String>,

    /// One stack: its name.
    #[arg(long, env = "GANTRY_STACK_NAME")]
    pub stack_name: Option<String>,

    /// One stack: its template file.
    #[arg(long, env = "GANTRY_TEMPLATE")]
    pub template: Option<PathBuf>,

    /// One stack: parameters `KEY=VALUE`. Repeatable; a value of several lines is one per line.
    #[arg(long = "parameters", alias = "parameter", env = "GANTRY_PARAMETERS")]
    pub parameters: Vec<String>,

    /// One stack: stack tags `KEY=VALUE`. Repeatable; a value of several lines is one per line.
    #[arg(long = "tags", alias = "tag", env = "GANTRY_TAGS")]
    pub tags: Vec<String>,

    /// One stack: its region (default: the credentials' region).
    #[arg(long, env = "GANTRY_REGION")]
    pub region: Option<String>,

    /// Capabilities granted to every change set.
    #[arg(
        long,
        env = "GANTRY_CAPABILITIES",
        default_value = "CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND"
    )]
    pub capabilities: Vec<String>,

    /// CloudFormation service role that performs the changes (e.g. the access layer's
    /// `CloudFormationExecutionRoleArn`).
    #[arg(long, env = "GANTRY_ROLE_ARN")]
    pub role_arn: Option<String>,

    /// Layers that never use --role-arn (the layer that creates that role).
    #[arg(long, env = "GANTRY_ROLE_EXEMPT_LAYERS")]
    pub role_exempt_layers: Vec<String>,

    /// S3 bucket for templates over 51,200 bytes (uploaded under `gantry-stack/`).
    #[arg(long, env = "GANTRY_TEMPLATE_BUCKET")]
    pub template_bucket: Option<String>,
}

/// The gate for destroying data.
#[derive(Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// Logical ids of stateful resources that may be replaced or deleted (`Parent/Child` inside
    /// a nested stack), or `all`.
    #[arg(long, env = "GANTRY_ALLOW_REPLACEMENT")]
    pub allow_replacement: Vec<String>,
}

/// Waiting: the kit's fixed interval against one deadline for the whole run.
#[derive(Args, Debug, Clone)]
pub struct WaitArgs {
    /// Deadline for the whole run (change set creation and execution): `90s`, `30m`, `1h`.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "60m", value_parser = parse_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub poll: PollArgs,
}

/// The PR comment that shows the plan.
#[derive(Args, Debug, Clone, Default)]
pub struct CommentArgs {
    /// Write the diff as one sticky comment per environment on the pull request (updated in
    /// place on every plan). Outside a pull request nothing is written.
    #[arg(long, env = "GANTRY_COMMENT")]
    pub comment: bool,

    /// Token for the comment (`pull-requests: write`); the action passes `github.token`.
    #[arg(long, env = "GANTRY_GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,

    /// The pull request (default: from GITHUB_REF `refs/pull/N/…`, else the event).
    #[arg(long, env = "GANTRY_PULL_REQUEST")]
    pub pull_request: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stacks: StackArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub comment: CommentArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    /// The change sets to execute: the plan's `change-set-ids` output (a JSON object stack →
    /// id), a JSON array, or ARNs separated by whitespace or newlines.
    #[arg(
        long = "change-set-ids",
        alias = "change-set-id",
        env = "GANTRY_CHANGE_SET_IDS"
    )]
    pub change_set_ids: Vec<String>,

    /// The plan's `template-digest` output: the change sets must still carry these templates.
    #[arg(long, env = "GANTRY_TEMPLATE_DIGEST")]
    pub template_digest: Option<String>,

    /// Delete a stack left in ROLLBACK_COMPLETE and create it again (needs the plan's stacks:
    /// --environment, or --stack-name with --template).
    #[arg(long, env = "GANTRY_REPLACE_FAILED")]
    pub replace_failed: bool,

    #[command(flatten)]
    pub stacks: StackArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// Delete a stack left in ROLLBACK_COMPLETE and create it again.
    #[arg(long, env = "GANTRY_REPLACE_FAILED")]
    pub replace_failed: bool,

    #[command(flatten)]
    pub stacks: StackArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Environment name or environment file path: its stacks, in its order (the templates are
    /// not read).
    #[arg(long, env = "GANTRY_ENVIRONMENT", conflicts_with = "stack_name")]
    pub environment: Option<String>,

    #[command(flatten)]
    pub environments: EnvironmentsArgs,

    /// Only these layers of the environment. Repeatable.
    #[arg(long = "layers", alias = "layer", env = "GANTRY_LAYERS")]
    pub layers: Vec<String>,

    /// Stacks by name (instead of an environment). Repeatable.
    #[arg(long = "stack-name", env = "GANTRY_STACK_NAME")]
    pub stack_name: Vec<String>,

    /// Region of the --stack-name stacks (default: the credentials' region).
    #[arg(long, env = "GANTRY_REGION")]
    pub region: Option<String>,
}
