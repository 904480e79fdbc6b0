//! Flags → checked settings: the one place exit-2 errors are made, for the flags themselves and
//! for what pre-flight finds wrong with them ([`Refusal`]s about inputs).

use crate::checks::{self, Refusal};
use crate::cli::{DeployArgs, OnBusy, RollbackArgs, RollbackPolicy, ServiceArgs, Strategy, Switch};
use gantry_kit::Error;
use gantry_kit::arn::TaskDefinitionRef;
use gantry_kit::cli::split_unique;
use std::time::Duration;

/// The service a command acts on, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub cluster: String,
    pub service: String,
}

/// Where a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTo {
    Previous,
    Arn(TaskDefinitionRef),
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
    pub task_definition: TaskDefinitionRef,
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

/// `--timeout` leaves time to `what` (more than zero).
fn check_timeout(timeout: Duration, what: &str) -> Result<(), Error> {
    if timeout.is_zero() {
        return Err(
            Error::input(format!("timeout: `0s` leaves no time to {what}"))
                .with_hint("use a deadline for the deployment to complete, e.g. `30m`"),
        );
    }
    Ok(())
}

/// `--cluster` and `--service`, both required.
pub fn service_ref(t: &ServiceArgs) -> Result<ServiceRef, Error> {
    Ok(ServiceRef {
        cluster: required(&t.cluster, "cluster", "prod")?,
        service: required(&t.service, "service", "web")?,
    })
}

/// Checks every `deploy` input before anything is called. Errors are exit 2 and name the input.
pub fn validate_deploy(a: &DeployArgs) -> Result<DeployConfig, Error> {
    let ServiceRef { cluster, service } = service_ref(&a.target)?;
    let td = required(
        &a.task_definition,
        "task-definition",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
    )?;
    let task_definition: TaskDefinitionRef = td
        .parse()
        .map_err(|e| Error::input(format!("task-definition: {e}")))?;
    // The timeout first: with `0s` no poll interval fits, and the interval is not the mistake.
    check_timeout(a.timeout, "deploy")?;
    let poll_interval = a.poll.checked_within(a.timeout)?;
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
        poll_interval,
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
    let ServiceRef { cluster, service } = service_ref(&a.target)?;
    check_timeout(a.timeout, "roll back")?;
    let poll_interval = a.poll.checked_within(a.timeout)?;
    let to = match a.to.trim() {
        "" | "previous" => RollbackTo::Previous,
        arn => RollbackTo::Arn(
            arn.parse()
                .map_err(|e| Error::input(format!("to: {e}")).with_hint("or `previous`"))?,
        ),
    };
    Ok(RollbackConfig {
        cluster,
        service,
        to,
        timeout: a.timeout,
        poll_interval,
    })
}

/// A pre-flight refusal as the error the run ends with: exit 2 when it is about an input (the
/// task definition, the container, the strategy, the alarm names), exit 1 otherwise.
impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        let hint = r.hint();
        let e = if r.is_about_input() {
            Error::input(r.to_string())
        } else {
            Error::failed(r.to_string())
        };
        match hint {
            Some(h) => e.with_hint(h),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

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
    fn a_zero_timeout_is_named_not_the_poll_interval() {
        let e = validate_deploy(&deploy_args(&["--timeout", "0"])).unwrap_err();
        assert_eq!(e.exit_code(), gantry_kit::ExitCode::InputRejected);
        assert_eq!(e.message(), "timeout: `0s` leaves no time to deploy");
        let argv = [
            "gantry-rollout",
            "rollback",
            "--cluster",
            "prod",
            "--service",
            "web",
            "--timeout",
            "0s",
        ];
        let Command::Rollback(a) = gantry_kit::cli::try_parse_from::<Cli, _, _>(argv, |_| None)
            .unwrap()
            .command
        else {
            panic!("rollback")
        };
        assert_eq!(
            validate_rollback(&a).unwrap_err().message(),
            "timeout: `0s` leaves no time to roll back"
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
