//! The command line: clap only. Inputs reach these flags through `GANTRY_*` env
//! (docs/contracts.md); [`config`](crate::config) turns them into checked settings.

use clap::{Parser, Subcommand, ValueEnum};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{OutputArgs, PollArgs, parse_duration};
use std::time::Duration;

/// Guarded ECS rollout and rollback.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-rollout", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Deploy a task definition: pre-flight, optional migration task, update, follow the
    /// deployment by id, bake against alarms, roll back on failure.
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Deploy(DeployArgs),
    /// Put the service back on an earlier task definition (`--to ARN` or `previous`).
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Rollback(RollbackArgs),
    /// Print the service's task definition and deployments (read-only).
    #[command(after_long_help = gantry_kit::ExitCode::help_text())]
    Status(StatusArgs),
}

impl Command {
    /// The step summary's heading.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Deploy(_) => "ECS rollout",
            Self::Rollback(_) => "ECS rollback",
            Self::Status(_) => "ECS service status",
        }
    }

    pub fn json(&self) -> bool {
        self.output().json
    }

    fn output(&self) -> &OutputArgs {
        match self {
            Self::Deploy(a) => &a.output,
            Self::Rollback(a) => &a.output,
            Self::Status(a) => &a.output,
        }
    }

    /// The AWS flags of the command.
    pub fn aws(&self) -> &AwsArgs {
        match self {
            Self::Deploy(a) => &a.aws,
            Self::Rollback(a) => &a.aws,
            Self::Status(a) => &a.aws,
        }
    }
}

/// The service a command acts on.
#[derive(clap::Args, Debug, Clone)]
pub struct ServiceArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = "GANTRY_CLUSTER")]
    pub cluster: Option<String>,
    /// The ECS service (name or ARN).
    #[arg(long, env = "GANTRY_SERVICE")]
    pub service: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackPolicy {
    /// Roll back when the deployment fails, a guard alarm fires in the bake, or the deadline passes.
    OnFailure,
    /// Never roll back ourselves (ECS's circuit breaker still may).
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBusy {
    /// Refuse (exit 1) when another deployment is in progress.
    Fail,
    /// Wait (within the timeout) until it has finished.
    Wait,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    BlueGreen,
    Canary,
    Linear,
}

impl Strategy {
    /// The value ECS takes in `deploymentConfiguration.strategy`.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Self::Rolling => "ROLLING",
            Self::BlueGreen => "BLUE_GREEN",
            Self::Canary => "CANARY",
            Self::Linear => "LINEAR",
        }
    }

    /// The flag value (`blue-green`), from the flag's own definition.
    pub fn flag_name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

#[derive(clap::Args, Debug, Clone)]
#[command(mut_arg("poll_interval", |a| a.default_value("5s")))]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: ServiceArgs,

    /// The task definition to deploy: its ARN (or `family:revision`).
    #[arg(long, env = "GANTRY_TASK_DEFINITION")]
    pub task_definition: Option<String>,

    /// CloudWatch alarms guarding the deployment: passed to ECS (deploymentConfiguration.alarms)
    /// and watched through the bake. Repeatable; split on newlines, a single line on whitespace.
    #[arg(
        long = "alarms",
        alias = "alarm",
        env = "GANTRY_ALARMS",
        value_name = "ALARMS"
    )]
    pub alarms: Vec<String>,

    /// How long to watch the alarms after the deployment COMPLETED.
    #[arg(long, env = "GANTRY_BAKE_TIME", default_value = "5m", value_parser = parse_duration)]
    pub bake_time: Duration,

    /// Deadline for the deployment to complete (the bake comes after it).
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub poll: PollArgs,

    /// Roll back ourselves on failure, alarm or deadline (`on-failure`), or `never`.
    #[arg(
        long,
        env = "GANTRY_ROLLBACK",
        value_enum,
        default_value = "on-failure"
    )]
    pub rollback: RollbackPolicy,

    /// When another deployment of the service is in progress: `fail` (exit 1) or `wait`.
    #[arg(long, env = "GANTRY_ON_BUSY", value_enum, default_value = "fail")]
    pub on_busy: OnBusy,

    /// A migration command run once as a task of the new task definition before the update
    /// (a JSON array of strings, or shell words). Exit code 0 is required.
    #[arg(long, env = "GANTRY_PRE_DEPLOY_TASK")]
    pub pre_deploy_task: Option<String>,

    /// The container that runs the migration command (default: the only/first essential container).
    #[arg(long, env = "GANTRY_PRE_DEPLOY_CONTAINER")]
    pub pre_deploy_container: Option<String>,

    /// Deadline for the migration task to stop.
    #[arg(long, env = "GANTRY_PRE_DEPLOY_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub pre_deploy_timeout: Duration,

    /// Set the service's desired count with the update.
    #[arg(long, env = "GANTRY_DESIRED_COUNT", value_parser = clap::value_parser!(i32).range(0..))]
    pub desired_count: Option<i32>,

    /// Start a new deployment even when the task definition is unchanged.
    #[arg(long, env = "GANTRY_FORCE_NEW_DEPLOYMENT")]
    pub force_new_deployment: bool,

    /// ECS's deployment circuit breaker with rollback (`on`) or off.
    #[arg(long, env = "GANTRY_CIRCUIT_BREAKER", value_enum, default_value = "on")]
    pub circuit_breaker: Switch,

    /// ECS deployment strategy; values other than rolling need the service's load balancer
    /// settings for it (advanced configuration).
    #[arg(long, env = "GANTRY_STRATEGY", value_enum)]
    pub strategy: Option<Strategy>,

    /// Run the read-only pre-flight and print the plan; change nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
#[command(mut_arg("poll_interval", |a| a.default_value("5s")))]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: ServiceArgs,

    /// A task definition ARN, or `previous`: the task definition of the last successful
    /// deployment before the current one.
    #[arg(long, env = "GANTRY_TO", default_value = "previous")]
    pub to: String,

    /// Deadline for the rollback deployment to complete.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub poll: PollArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: ServiceArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}
