//! Pure pre-flight checks: what is decided from data before anything is changed — the
//! migration command, the credentials' expiry, and what pre-flight's reads refuse.

use crate::decide::{Alarm, AlarmState, Deployment, DeploymentStatus, Rollout};
use std::time::{Duration, SystemTime};

/// A migration command that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("`{text}` is not a JSON array of strings ({source})")]
    NotJsonStrings {
        text: String,
        source: serde_json::Error,
    },
    #[error("`{text}` is not valid shell words ({source})")]
    NotShellWords {
        text: String,
        source: shell_words::ParseError,
    },
    #[error("empty command; give e.g. `bin/migrate --up` or `[\"bin/migrate\",\"--up\"]`")]
    Empty,
}

/// The migration command: a JSON array of strings, or shell words.
pub fn command(s: &str) -> Result<Vec<String>, CommandError> {
    let t = s.trim();
    let words = if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t).map_err(|source| CommandError::NotJsonStrings {
            text: t.to_owned(),
            source,
        })?
    } else {
        shell_words::split(t).map_err(|source| CommandError::NotShellWords {
            text: t.to_owned(),
            source,
        })?
    };
    if words.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(words)
}

/// What the credentials' expiry means for a run that may last `needed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialCheck {
    /// No expiry, or it is far enough away.
    Fine,
    /// They might expire before the end (a slow deployment would outlive them).
    Warn(String),
    /// They will expire before even the bake could end.
    Fail(String),
}

/// `timeout + bake` is the longest a deploy can take; `bake + one poll` the shortest (a
/// deployment that completes at once). Expiring before the shortest is a sure failure.
pub fn credentials(
    expiry: Option<SystemTime>,
    now: SystemTime,
    timeout: Duration,
    bake: Duration,
    interval: Duration,
) -> CredentialCheck {
    let Some(expiry) = expiry else {
        return CredentialCheck::Fine;
    };
    let left = expiry.duration_since(now).unwrap_or(Duration::ZERO);
    let fmt = gantry_kit::fmt::format_duration;
    let at = aws_smithy_types::DateTime::from(expiry)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "an unknown time".into());
    if left <= bake + interval {
        CredentialCheck::Fail(format!(
            "the AWS credentials expire at {at} (in {}), before the bake of {} could end",
            fmt(left),
            fmt(bake)
        ))
    } else if left < timeout + bake {
        CredentialCheck::Warn(format!(
            "the AWS credentials expire at {at} (in {}), before timeout + bake-time ({}); \
             a slow deployment would outlive them",
            fmt(left),
            fmt(timeout + bake)
        ))
    } else {
        CredentialCheck::Fine
    }
}

/// A container of a task definition, as the migration's choice sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDef {
    pub name: String,
    pub essential: bool,
}

/// A stopped task's container: its name, exit code and (for stopped tasks) ECS's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerExit {
    pub name: Option<String>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

impl ContainerExit {
    /// `name exit N` (`exit none` without an exit code).
    pub fn describe(&self) -> String {
        format!(
            "{} exit {}",
            self.name.as_deref().unwrap_or("?"),
            self.exit_code
                .map(|e| e.to_string())
                .unwrap_or_else(|| "none".into())
        )
    }
}

/// What pre-flight (or the migration gate, or `rollback --to previous`) refuses, with what to
/// do about it. [`is_about_input`](Self::is_about_input) says whether it is exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "service `{service}` uses the {controller} deployment controller; gantry-rollout drives ECS deployments only"
    )]
    ForeignController { service: String, controller: String },
    #[error("task-definition: ECS does not know `{task_definition}`: {message}")]
    UnknownTaskDefinition {
        task_definition: String,
        message: String,
    },
    #[error("task-definition: `{task_definition}` is {status}")]
    InactiveTaskDefinition {
        task_definition: String,
        status: String,
    },
    #[error("pre-deploy-container: `{name}` is not a container of {task_definition}")]
    NotAContainer {
        name: String,
        task_definition: String,
        containers: Vec<String>,
    },
    #[error("pre-deploy-container: required when the task definition has several containers")]
    ContainerNeeded { containers: Vec<String> },
    #[error(
        "strategy: `{strategy}` needs a load balancer with advanced configuration on service `{service}`, which has {has}"
    )]
    StrategyNeedsLoadBalancer {
        strategy: String,
        service: String,
        has: &'static str,
    },
    #[error("alarms: CloudWatch has no alarm named {}", quoted(.names))]
    UnknownAlarms { names: Vec<String> },
    #[error(
        "alarm `{name}` is already in ALARM ({reason}); ECS ignores an alarm that is in ALARM when a \
         deployment starts, so gantry refuses to deploy behind it"
    )]
    AlarmFiring { name: String, reason: String },
    #[error("service `{service}` is busy: {what}")]
    Busy { service: String, what: String },
    #[error(
        "migration task failed: container `{container}` exited {} ({reason}); the service was not updated",
        .exit_code.map(|c| c.to_string()).unwrap_or_else(|| "without an exit code".into())
    )]
    MigrationFailed {
        container: String,
        exit_code: Option<i32>,
        reason: String,
    },
    #[error(
        "no previous task definition known: the service runs {current}, but gantry's last \
         deploy recorded {deployed} (the service changed since)"
    )]
    ServiceChangedSinceDeploy { current: String, deployed: String },
    #[error("no previous task definition known for service `{service}`")]
    NoPrevious { service: String },
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Refusal {
    /// Exit 2 (an input is wrong) rather than exit 1.
    pub fn is_about_input(&self) -> bool {
        matches!(
            self,
            Self::UnknownTaskDefinition { .. }
                | Self::InactiveTaskDefinition { .. }
                | Self::NotAContainer { .. }
                | Self::ContainerNeeded { .. }
                | Self::StrategyNeedsLoadBalancer { .. }
                | Self::UnknownAlarms { .. }
        )
    }

    /// The `help:` line.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::ForeignController { .. } | Self::MigrationFailed { .. } => return None,
            Self::UnknownTaskDefinition { .. } => {
                "register it first (actions/task-definition) and pass its ARN".into()
            }
            Self::InactiveTaskDefinition { .. } => {
                "deploy an ACTIVE revision; a deregistered one cannot start new tasks".into()
            }
            Self::NotAContainer { containers, .. } => {
                format!("its containers are: {}", containers.join(", "))
            }
            Self::ContainerNeeded { containers } => format!("one of: {}", containers.join(", ")),
            Self::StrategyNeedsLoadBalancer { .. } => {
                "add loadBalancers[].advancedConfiguration (alternateTargetGroupArn, \
                 productionListenerRule, roleArn) to the service, or use --strategy rolling"
                    .into()
            }
            Self::UnknownAlarms { .. } => {
                "name existing metric or composite alarms in this account and region".into()
            }
            Self::AlarmFiring { .. } => {
                "fix what the alarm reports (or wait for it to return to OK), then re-run".into()
            }
            Self::Busy { .. } => "re-run when it has finished, or pass --on-busy wait".into(),
            Self::ServiceChangedSinceDeploy { .. } | Self::NoPrevious { .. } => {
                "pass --to with the task definition ARN to roll back to".into()
            }
        })
    }
}

/// gantry-rollout drives services whose deployment controller is ECS (or unset).
pub fn deployment_controller(service: &str, controller: Option<&str>) -> Result<(), Refusal> {
    match controller {
        Some(c) if c != "ECS" => Err(Refusal::ForeignController {
            service: service.to_owned(),
            controller: c.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// The task definition to deploy is ACTIVE (a deregistered one cannot start new tasks).
pub fn task_definition_active(task_definition: &str, status: &str) -> Result<(), Refusal> {
    if status == "ACTIVE" {
        Ok(())
    } else {
        Err(Refusal::InactiveTaskDefinition {
            task_definition: task_definition.to_owned(),
            status: status.to_owned(),
        })
    }
}

/// The container that runs the migration: the one asked for (it must exist), else the only
/// container, else the first essential one.
pub fn migration_container(
    task_definition: &str,
    containers: &[ContainerDef],
    requested: Option<&str>,
) -> Result<String, Refusal> {
    let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
    if let Some(name) = requested {
        if !names.iter().any(|n| n == name) {
            return Err(Refusal::NotAContainer {
                name: name.to_owned(),
                task_definition: task_definition.to_owned(),
                containers: names,
            });
        }
        return Ok(name.to_owned());
    }
    let essential = containers.iter().find(|c| c.essential);
    match (names.as_slice(), essential) {
        ([only], _) => Ok(only.clone()),
        (_, Some(e)) => Ok(e.name.clone()),
        _ => Err(Refusal::ContainerNeeded { containers: names }),
    }
}

/// A strategy other than rolling needs every load balancer of the service to have advanced
/// configuration. `load_balancers` says, per load balancer, whether it has it.
pub fn strategy_supported(
    strategy: Option<crate::cli::Strategy>,
    service: &str,
    load_balancers: &[bool],
) -> Result<(), Refusal> {
    match strategy {
        Some(s) if s != crate::cli::Strategy::Rolling => {
            if load_balancers.is_empty() || load_balancers.iter().any(|advanced| !advanced) {
                return Err(Refusal::StrategyNeedsLoadBalancer {
                    strategy: s.flag_name(),
                    service: service.to_owned(),
                    has: if load_balancers.is_empty() {
                        "no load balancer"
                    } else {
                        "none"
                    },
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The guard alarms exist and none is firing: ECS ignores an alarm already in ALARM when the
/// deployment starts, so a deploy guarded by it would be guarded by nothing.
pub fn guard_alarms(found: &[Alarm], missing: &[String]) -> Result<(), Refusal> {
    if !missing.is_empty() {
        return Err(Refusal::UnknownAlarms {
            names: missing.to_vec(),
        });
    }
    match found.iter().find(|a| a.state == AlarmState::Alarm) {
        Some(a) => Err(Refusal::AlarmFiring {
            name: a.name.clone(),
            reason: a.reason.clone(),
        }),
        None => Ok(()),
    }
}

/// Another deployment in progress: more than one deployment, or the PRIMARY not COMPLETED.
pub fn busy(deps: &[Deployment]) -> Option<String> {
    let primary = deps.iter().find(|d| d.status == DeploymentStatus::Primary);
    if deps.len() > 1 || primary.is_some_and(|p| p.rollout == Rollout::InProgress) {
        let p = primary.or(deps.first())?;
        Some(format!(
            "deployment {} of {} is in progress ({} deployment(s) on the service)",
            p.id,
            p.task_definition,
            deps.len()
        ))
    } else {
        None
    }
}

/// The migration passed when its container exited 0.
pub fn migration_outcome(
    container: &str,
    containers: &[ContainerExit],
    stopped_reason: &str,
) -> Result<(), Refusal> {
    let code = containers
        .iter()
        .find(|c| c.name.as_deref() == Some(container))
        .and_then(|c| c.exit_code);
    if code == Some(0) {
        Ok(())
    } else {
        Err(Refusal::MigrationFailed {
            container: container.to_owned(),
            exit_code: code,
            reason: stopped_reason.to_owned(),
        })
    }
}

/// The gantry tags a service carries (see [`crate::aws::ecs`] for their names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolloutTags<'a> {
    /// What gantry's last successful deploy deployed.
    pub deployed: Option<&'a str>,
    /// What the service ran before it.
    pub previous: Option<&'a str>,
    /// Where the last completed rollback went (`none` after a deploy).
    pub rolled_back_to: Option<&'a str>,
}

/// The service was rolled back (by gantry, or by ECS during a gantry deploy) and no release was
/// deployed by gantry since: `previous` is where the service is, so a re-run changes nothing.
pub fn already_rolled_back(current: &str, tags: &RolloutTags<'_>) -> bool {
    !current.is_empty() && tags.rolled_back_to == Some(current)
}

/// `previous` from the service's tags, when the ServiceDeployment history had no answer: the
/// previous tag holds only while the service still runs what gantry last deployed.
pub fn previous_from_tags(
    service: &str,
    current: &str,
    tags: &RolloutTags<'_>,
) -> Result<String, Refusal> {
    match (tags.deployed, tags.previous) {
        (Some(deployed), Some(prev)) if deployed == current => Ok(prev.to_owned()),
        (Some(deployed), Some(_)) => Err(Refusal::ServiceChangedSinceDeploy {
            current: current.to_owned(),
            deployed: deployed.to_owned(),
        }),
        _ => Err(Refusal::NoPrevious {
            service: service.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Strategy;

    #[test]
    fn commands() {
        assert_eq!(
            command(r#"["bin/migrate", "--to", "a b"]"#).unwrap(),
            vec!["bin/migrate", "--to", "a b"]
        );
        assert_eq!(
            command("bin/migrate --to 'a b'").unwrap(),
            vec!["bin/migrate", "--to", "a b"]
        );
        assert!(
            command("[1, 2]")
                .unwrap_err()
                .to_string()
                .contains("JSON array of strings")
        );
        assert!(
            command("bin/migrate 'open")
                .unwrap_err()
                .to_string()
                .contains("shell words")
        );
        assert!(
            command("  ")
                .unwrap_err()
                .to_string()
                .contains("empty command")
        );
    }

    #[test]
    fn credential_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let m = |n: u64| Duration::from_secs(60 * n);
        let check = |expiry: Option<SystemTime>| credentials(expiry, now, m(30), m(5), m(0));
        assert_eq!(check(None), CredentialCheck::Fine);
        assert_eq!(check(Some(now + m(60))), CredentialCheck::Fine);
        match check(Some(now + m(20))) {
            CredentialCheck::Warn(w) => {
                assert!(w.contains("expire at 2027-01-15T08:20:00Z (in 20m)"), "{w}");
                assert!(w.contains("(35m)"), "{w}");
            }
            other => panic!("{other:?}"),
        }
        match check(Some(now + m(4))) {
            CredentialCheck::Fail(f) => assert!(f.contains("before the bake of 5m"), "{f}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(check(Some(now - m(1))), CredentialCheck::Fail(_)));
    }

    fn dep(id: &str, status: DeploymentStatus, rollout: Rollout) -> Deployment {
        Deployment {
            id: id.into(),
            status,
            task_definition: "td".into(),
            rollout,
            reason: String::new(),
            desired: 1,
            running: 1,
            pending: 0,
            failed_tasks: 0,
        }
    }

    #[test]
    fn busy_means_more_than_one_deployment_or_primary_in_progress() {
        assert!(busy(&[dep("a", DeploymentStatus::Primary, Rollout::Completed)]).is_none());
        assert!(busy(&[dep("a", DeploymentStatus::Primary, Rollout::InProgress)]).is_some());
        let two = [
            dep("a", DeploymentStatus::Primary, Rollout::Completed),
            dep("b", DeploymentStatus::Active, Rollout::Completed),
        ];
        assert!(busy(&two).unwrap().contains("deployment a of td"));
        assert!(busy(&[]).is_none());
    }

    fn def(name: &str, essential: bool) -> ContainerDef {
        ContainerDef {
            name: name.into(),
            essential,
        }
    }

    #[test]
    fn the_migration_container_is_the_one_named_the_only_one_or_the_first_essential() {
        let td = "web:7";
        let two = [def("sidecar", false), def("app", true)];
        assert_eq!(
            migration_container(td, &two, Some("sidecar")).unwrap(),
            "sidecar"
        );
        assert_eq!(migration_container(td, &two, None).unwrap(), "app");
        assert_eq!(
            migration_container(td, &[def("only", false)], None).unwrap(),
            "only",
            "the only container, essential or not"
        );
        let e = migration_container(td, &two, Some("worker")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pre-deploy-container: `worker` is not a container of web:7"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("its containers are: sidecar, app")
        );
        assert!(e.is_about_input());
        let none_essential = [def("a", false), def("b", false)];
        let e = migration_container(td, &none_essential, None).unwrap_err();
        assert_eq!(
            e,
            Refusal::ContainerNeeded {
                containers: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(e.hint().as_deref(), Some("one of: a, b"));
    }

    fn alarm(name: &str, state: AlarmState) -> Alarm {
        Alarm {
            name: name.into(),
            state,
            reason: format!("{name} reason"),
        }
    }

    #[test]
    fn guard_alarms_must_exist_and_not_be_firing() {
        let ok = [
            alarm("web-5xx", AlarmState::Ok),
            alarm("web-p99", AlarmState::InsufficientData),
        ];
        assert_eq!(guard_alarms(&ok, &[]), Ok(()));
        let e = guard_alarms(&ok, &["web-typo".into(), "web-other".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "alarms: CloudWatch has no alarm named `web-typo`, `web-other`"
        );
        assert!(e.is_about_input(), "a wrong alarm name is bad input");
        let firing = [
            alarm("web-5xx", AlarmState::Ok),
            alarm("web-p99", AlarmState::Alarm),
        ];
        let e = guard_alarms(&firing, &[]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("alarm `web-p99` is already in ALARM (web-p99 reason); ECS ignores"),
            "{e}"
        );
        assert!(!e.is_about_input(), "a firing alarm is a refusal, exit 1");
        assert!(
            guard_alarms(&firing, &["gone".into()])
                .unwrap_err()
                .is_about_input(),
            "missing names are reported first"
        );
    }

    #[test]
    fn controller_status_and_strategy() {
        assert_eq!(deployment_controller("web", None), Ok(()));
        assert_eq!(deployment_controller("web", Some("ECS")), Ok(()));
        let e = deployment_controller("web", Some("CODE_DEPLOY")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "service `web` uses the CODE_DEPLOY deployment controller; gantry-rollout drives ECS deployments only"
        );
        assert!(!e.is_about_input() && e.hint().is_none());

        assert_eq!(task_definition_active("web:7", "ACTIVE"), Ok(()));
        let e = task_definition_active("web:7", "INACTIVE").unwrap_err();
        assert_eq!(e.to_string(), "task-definition: `web:7` is INACTIVE");
        assert!(e.is_about_input());

        assert_eq!(strategy_supported(None, "web", &[]), Ok(()));
        assert_eq!(
            strategy_supported(Some(Strategy::Rolling), "web", &[]),
            Ok(())
        );
        assert_eq!(
            strategy_supported(Some(Strategy::BlueGreen), "web", &[true, true]),
            Ok(())
        );
        let e = strategy_supported(Some(Strategy::BlueGreen), "web", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "strategy: `blue-green` needs a load balancer with advanced configuration on service `web`, which has no load balancer"
        );
        let e = strategy_supported(Some(Strategy::Canary), "web", &[true, false]).unwrap_err();
        assert!(e.to_string().ends_with("which has none"), "{e}");
    }

    #[test]
    fn migration_passes_only_on_exit_0_of_its_container() {
        let exit = |name: &str, code: Option<i32>| ContainerExit {
            name: Some(name.into()),
            exit_code: code,
            reason: None,
        };
        let stopped = [exit("app", Some(0)), exit("sidecar", Some(1))];
        assert_eq!(
            migration_outcome("app", &stopped, "Essential container exited"),
            Ok(())
        );
        let e = migration_outcome("sidecar", &stopped, "Essential container exited").unwrap_err();
        assert_eq!(
            e.to_string(),
            "migration task failed: container `sidecar` exited 1 (Essential container exited); the service was not updated"
        );
        let e = migration_outcome("app", &[exit("app", None)], "Task failed to start").unwrap_err();
        assert!(e.to_string().contains("exited without an exit code"), "{e}");
        assert_eq!(exit("app", None).describe(), "app exit none");
        assert_eq!(stopped[1].describe(), "sidecar exit 1");
    }

    #[test]
    fn previous_comes_from_a_rollback_or_from_tags_that_still_hold() {
        let tags = RolloutTags {
            deployed: Some("web:3"),
            previous: Some("web:2"),
            rolled_back_to: Some("none"),
        };
        assert!(!already_rolled_back("web:3", &tags));
        let after = RolloutTags {
            rolled_back_to: Some("web:2"),
            ..tags
        };
        assert!(already_rolled_back("web:2", &after));
        assert!(!already_rolled_back(
            "",
            &RolloutTags {
                rolled_back_to: Some(""),
                ..tags
            }
        ));
        assert_eq!(previous_from_tags("web", "web:3", &tags).unwrap(), "web:2");
        let e = previous_from_tags("web", "web:9", &tags).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no previous task definition known: the service runs web:9, but gantry's last deploy recorded web:3 (the service changed since)"
        );
        let e = previous_from_tags("web", "web:3", &RolloutTags::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no previous task definition known for service `web`"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("pass --to with the task definition ARN to roll back to")
        );
    }
}
