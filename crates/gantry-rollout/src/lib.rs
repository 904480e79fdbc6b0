//! gantry-rollout: a guarded ECS rollout that follows its own deployment, bakes against alarms,
//! rolls itself back, and never reports success for a deployment ECS rolled back.
//!
//! [`decide`] is the pure state machine, [`checks`] the pure pre-flight checks, [`edge`] the AWS
//! calls; [`run`] glues flags to them. See docs/actions/rollout.md.

pub mod checks;
pub mod decide;
pub mod edge;

use clap::{Parser, Subcommand, ValueEnum};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{format_duration, parse_duration, split_unique};
use gantry_kit::{Error, Report};
use std::time::Duration;

pub use edge::{Aws, deploy, rollback, status};

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
    pub fn json(&self) -> bool {
        match self {
            Self::Deploy(a) => a.json,
            Self::Rollback(a) => a.json,
            Self::Status(a) => a.json,
        }
    }
}

/// The service a command acts on.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
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
}

#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,

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

    /// Fixed time between polls (no back-off), at least 1s.
    #[arg(long, env = "GANTRY_POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub poll_interval: Duration,

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

    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: Target,

    /// A task definition ARN, or `previous`: the task definition of the last successful
    /// deployment before the current one.
    #[arg(long, env = "GANTRY_TO", default_value = "previous")]
    pub to: String,

    /// Deadline for the rollback deployment to complete.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Fixed time between polls, at least 1s.
    #[arg(long, env = "GANTRY_POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,

    /// Print one JSON object on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Where a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTo {
    Previous,
    Arn(String),
}

/// The migration gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreDeploy {
    pub command: Vec<String>,
    pub container: Option<String>,
    pub timeout: Duration,
}

/// A validated `deploy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    pub cluster: String,
    pub service: String,
    pub task_definition: String,
    pub alarms: Vec<String>,
    pub bake_time: Duration,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub roll_back_on_failure: bool,
    pub wait_when_busy: bool,
    pub pre_deploy: Option<PreDeploy>,
    pub desired_count: Option<i32>,
    pub force_new_deployment: bool,
    pub circuit_breaker: bool,
    pub strategy: Option<Strategy>,
    pub dry_run: bool,
}

/// A validated `rollback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackConfig {
    pub cluster: String,
    pub service: String,
    pub to: RollbackTo,
    pub timeout: Duration,
    pub poll_interval: Duration,
}

fn required(value: &Option<String>, input: &str, example: &str) -> Result<String, Error> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::input(format!("{input}: required")).with_hint(format!(
                "pass --{input} (input `{input}`), e.g. `{example}`"
            ))
        })
}

fn target(t: &Target) -> Result<(String, String), Error> {
    Ok((
        required(&t.cluster, "cluster", "prod")?,
        required(&t.service, "service", "web")?,
    ))
}

fn interval(poll: Duration, timeout: Duration) -> Result<(), Error> {
    if poll < Duration::from_secs(1) {
        // `{:?}` keeps sub-second values (`500ms`), which format_duration would round to `0s`.
        return Err(
            Error::input(format!("poll-interval: `{poll:?}` is too short"))
                .with_hint("use at least `1s`; the default `5s` suits ECS"),
        );
    }
    if poll > timeout {
        return Err(Error::input(format!(
            "poll-interval: `{}` is longer than the timeout `{}`",
            format_duration(poll),
            format_duration(timeout)
        ))
        .with_hint("use an interval shorter than the timeout, e.g. `5s`"));
    }
    Ok(())
}

/// Checks every `deploy` input before anything is called. Errors are exit 2 and name the input.
pub fn validate_deploy(a: &DeployArgs) -> Result<DeployConfig, Error> {
    let (cluster, service) = target(&a.target)?;
    let td = required(
        &a.task_definition,
        "task-definition",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
    )?;
    let task_definition = checks::task_definition_ref(&td)
        .map_err(|e| Error::input(format!("task-definition: {e}")))?;
    interval(a.poll_interval, a.timeout)?;
    if a.timeout.is_zero() {
        return Err(
            Error::input("timeout: `0s` leaves no time to deploy").with_hint("use e.g. `30m`")
        );
    }
    let alarms = split_unique(&a.alarms);
    let pre_deploy = match a.pre_deploy_task.as_deref().map(str::trim) {
        None | Some("") => {
            if a.pre_deploy_container
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty())
            {
                return Err(
                    Error::input("pre-deploy-container: given without pre-deploy-task").with_hint(
                        "add --pre-deploy-task with the migration command, or drop the container",
                    ),
                );
            }
            None
        }
        Some(t) => Some(PreDeploy {
            command: checks::command(t)
                .map_err(|e| Error::input(format!("pre-deploy-task: {e}")))?,
            container: a
                .pre_deploy_container
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            timeout: a.pre_deploy_timeout,
        }),
    };
    Ok(DeployConfig {
        cluster,
        service,
        task_definition,
        alarms,
        bake_time: a.bake_time,
        timeout: a.timeout,
        poll_interval: a.poll_interval,
        roll_back_on_failure: a.rollback == RollbackPolicy::OnFailure,
        wait_when_busy: a.on_busy == OnBusy::Wait,
        pre_deploy,
        desired_count: a.desired_count,
        force_new_deployment: a.force_new_deployment,
        circuit_breaker: a.circuit_breaker == Switch::On,
        strategy: a.strategy,
        dry_run: a.dry_run,
    })
}

/// Checks every `rollback` input before anything is called.
pub fn validate_rollback(a: &RollbackArgs) -> Result<RollbackConfig, Error> {
    let (cluster, service) = target(&a.target)?;
    interval(a.poll_interval, a.timeout)?;
    let to = match a.to.trim() {
        "" | "previous" => RollbackTo::Previous,
        arn => RollbackTo::Arn(
            checks::task_definition_ref(arn)
                .map_err(|e| Error::input(format!("to: {e}")).with_hint("or `previous`"))?,
        ),
    };
    Ok(RollbackConfig {
        cluster,
        service,
        to,
        timeout: a.timeout,
        poll_interval: a.poll_interval,
    })
}

/// The AWS flags of a command.
fn aws_args(c: &Command) -> &AwsArgs {
    match c {
        Command::Deploy(a) => &a.aws,
        Command::Rollback(a) => &a.aws,
        Command::Status(a) => &a.aws,
    }
}

/// The whole command: validate, then call AWS.
pub async fn run(cli: Cli) -> Result<Report, Error> {
    enum V {
        D(DeployConfig),
        R(RollbackConfig),
        S(String, String),
    }
    let v = match &cli.command {
        // Bad input still sets the action's outputs (status `failed`, the reason).
        Command::Deploy(a) => V::D(validate_deploy(a).map_err(|e| {
            edge::with_error_outputs(e, a.task_definition.as_deref().unwrap_or_default(), "")
        })?),
        Command::Rollback(a) => V::R(validate_rollback(a).map_err(|e| {
            let to = if a.to.trim() == "previous" {
                ""
            } else {
                a.to.trim()
            };
            edge::with_error_outputs(e, to, "")
        })?),
        Command::Status(a) => {
            let (c, s) = target(&a.target)?;
            V::S(c, s)
        }
    };
    let sdk = gantry_kit::aws::sdk_config(aws_args(&cli.command), Some("us-east-1")).await;
    let aws = Aws {
        ecs: aws_sdk_ecs::Client::new(&sdk),
        cw: aws_sdk_cloudwatch::Client::new(&sdk),
        credentials: sdk.credentials_provider(),
    };
    let clock = gantry_kit::poll::SystemClock::new();
    match v {
        V::D(cfg) => deploy(&aws, &clock, &cfg).await,
        V::R(cfg) => rollback(&aws, &clock, &cfg).await,
        V::S(c, s) => status(&aws, &c, &s).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy_args(extra: &[&str]) -> DeployArgs {
        let mut argv = vec![
            "gantry-rollout",
            "deploy",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--task-definition",
            "web:7",
        ];
        argv.extend_from_slice(extra);
        match gantry_kit::cli::try_parse_from::<Cli, _, _>(argv, |_| None)
            .unwrap()
            .command
        {
            Command::Deploy(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn alarms_take_singular_and_plural_split_on_lines_then_whitespace() {
        let a = deploy_args(&[
            "--alarm",
            "web-5xx",
            "--alarms",
            "web-latency web-unhealthy",
            "--alarms",
            "web 5xx ratio\n  web-errors  \n",
            "--alarm",
            "web-5xx",
        ]);
        let cfg = validate_deploy(&a).unwrap();
        assert_eq!(
            cfg.alarms,
            [
                "web-5xx",
                "web-latency",
                "web-unhealthy",
                "web 5xx ratio",
                "web-errors"
            ],
            "a multi-line value keeps spaces inside a name; duplicates go"
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let cfg = validate_deploy(&deploy_args(&[])).unwrap();
        assert!(cfg.roll_back_on_failure, "--rollback on-failure");
        assert!(!cfg.wait_when_busy, "--on-busy fail");
        assert!(cfg.circuit_breaker, "--circuit-breaker on");
        assert_eq!(cfg.bake_time, Duration::from_secs(300));
        assert_eq!(cfg.timeout, Duration::from_secs(1800));
        assert_eq!(cfg.poll_interval, Duration::from_secs(5));
        assert!(cfg.alarms.is_empty());
    }
}
