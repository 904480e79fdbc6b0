//! The AWS edge: pre-flight reads, the migration task, UpdateService, the poll that feeds
//! [`decide`](crate::decide::decide), rollback, tags. Everything that decides lives in `decide`
//! and `checks`; this module only fetches and acts.

use crate::checks::{self, CredentialCheck};
use crate::decide::{
    self, Alarm, AlarmState, Ctx, Deployment, DeploymentStatus, Phase, Rollout, SdStatus,
    ServiceDeploymentView, Snapshot, Step, Verdict,
};
use crate::{DeployConfig, PreDeploy, RollbackConfig, RollbackTo};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_ecs::types::{
    ContainerOverride, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentStrategy, DesiredStatus, ServiceDeploymentStatus, ServiceField, Tag, TaskOverride,
};
use clap::ValueEnum;
use gantry_kit::aws::aws_error;
use gantry_kit::cli::format_duration;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use gantry_kit::{Error, Outputs, Report};
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

/// Tag written on the service at each successful deploy: the task definition deployed.
pub const DEPLOYED_TAG: &str = "gantry:task-definition";
/// Tag written with it: the task definition the service ran before (what `previous` means when
/// the ServiceDeployment history is not available).
pub const PREVIOUS_TAG: &str = "gantry:previous-task-definition";
/// Tag written when a rollback (ours or ECS's) COMPLETED: the task definition it went back to. A
/// re-run of `rollback --to previous` on a service still there does nothing instead of rolling
/// forward again to the release that was just rolled back (the ServiceDeployment history lists
/// that release as SUCCESSFUL when it was a bake alarm that undid it).
pub const ROLLED_BACK_TAG: &str = "gantry:rolled-back-to";
/// The value of [`ROLLED_BACK_TAG`] after a successful deploy.
pub const NO_ROLLBACK: &str = "none";

/// The clients the rollout uses.
#[derive(Debug, Clone)]
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    /// The provider the clients sign with (its credentials' expiry is checked in pre-flight).
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

type Service = aws_sdk_ecs::types::Service;

/// DescribeServices for one service: exit 1 with AWS's words when the cluster or service is
/// unknown or not ACTIVE.
pub async fn describe_service(aws: &Aws, cluster: &str, service: &str) -> Result<Service, Error> {
    let out = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(|e| {
            aws_error("ECS DescribeServices", &e).with_hint(format!(
                "check cluster `{cluster}` and the region of the credentials"
            ))
        })?;
    if let Some(s) = out.services().first() {
        if s.status() != Some("ACTIVE") {
            return Err(Error::failed(format!(
                "service `{service}` in cluster `{cluster}` is {}",
                s.status().unwrap_or("in an unknown state")
            )));
        }
        return Ok(s.clone());
    }
    let reason = out
        .failures()
        .first()
        .and_then(|f| f.reason())
        .unwrap_or("MISSING");
    Err(Error::failed(format!(
        "ECS DescribeServices: service `{service}` not found in cluster `{cluster}` ({reason})"
    ))
    .with_hint("check the service name and that it belongs to this cluster"))
}

/// The service's deployments as the state machine sees them.
pub fn deployments_of(s: &Service) -> Vec<Deployment> {
    s.deployments()
        .iter()
        .map(|d| Deployment {
            id: d.id().unwrap_or_default().to_owned(),
            status: DeploymentStatus::parse(d.status().unwrap_or_default()),
            task_definition: d.task_definition().unwrap_or_default().to_owned(),
            rollout: d
                .rollout_state()
                .map(|r| Rollout::parse(r.as_str()))
                .unwrap_or(Rollout::Unknown),
            reason: d.rollout_state_reason().unwrap_or_default().to_owned(),
            desired: d.desired_count(),
            running: d.running_count(),
            pending: d.pending_count(),
            failed_tasks: d.failed_tasks(),
        })
        .collect()
}

fn tag<'a>(s: &'a Service, key: &str) -> Option<&'a str> {
    s.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Another deployment in progress: more than one deployment, or the PRIMARY not COMPLETED.
fn busy(deps: &[Deployment]) -> Option<String> {
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

/// Fetches alarm states; names CloudWatch does not know are returned apart.
async fn alarm_states(aws: &Aws, names: &[String]) -> Result<(Vec<Alarm>, Vec<String>), Error> {
    if names.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut found = Vec::new();
    for chunk in names.chunks(100) {
        let out = aws
            .cw
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| aws_error("CloudWatch DescribeAlarms", &e))?;
        let metric = out
            .metric_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        let composite = out
            .composite_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        for (name, value, reason) in metric.chain(composite) {
            found.push(Alarm {
                name: name.unwrap_or_default().to_owned(),
                state: match value {
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::Ok) => AlarmState::Ok,
                    _ => AlarmState::InsufficientData,
                },
                reason: reason.unwrap_or_default().to_owned(),
            });
        }
    }
    let missing = names
        .iter()
        .filter(|n| !found.iter().any(|a| &a.name == *n))
        .cloned()
        .collect();
    Ok((found, missing))
}

/// The credentials' expiry, from the client's own provider.
async fn credential_expiry(aws: &Aws) -> Option<SystemTime> {
    let provider = aws.credentials.as_ref()?;
    match provider.provide_credentials().await {
        Ok(c) => c.expiry(),
        Err(e) => {
            tracing::debug!("could not resolve credentials to read their expiry: {e}");
            None
        }
    }
}

/// What pre-flight found.
#[derive(Debug, Clone)]
struct Preflight {
    service: Service,
    previous: String,
    container: Option<String>,
}

async fn preflight<C: Clock>(aws: &Aws, clock: &C, cfg: &DeployConfig) -> Result<Preflight, Error> {
    let _g = gantry_kit::report::group("Pre-flight");
    let mut service = describe_service(aws, &cfg.cluster, &cfg.service).await?;
    if let Some(c) = service.deployment_controller().map(|c| c.r#type().as_str())
        && c != "ECS"
    {
        return Err(Error::failed(format!(
            "service `{}` uses the {c} deployment controller; gantry-rollout drives ECS deployments only",
            cfg.service
        )));
    }
    // The task definition exists and is ACTIVE (a read: a bad one is bad input, exit 2).
    let td = aws
        .ecs
        .describe_task_definition()
        .task_definition(&cfg.task_definition)
        .send()
        .await
        .map_err(|e| {
            let f = gantry_kit::aws::classify(&e);
            if f.kind == gantry_kit::aws::FaultKind::Service {
                Error::input(format!(
                    "task-definition: ECS does not know `{}`: {}",
                    cfg.task_definition, f.message
                ))
                .with_hint("register it first (actions/task-definition) and pass its ARN")
            } else {
                f.into_error("ECS DescribeTaskDefinition")
            }
        })?;
    let td = td
        .task_definition()
        .ok_or_else(|| Error::failed("ECS DescribeTaskDefinition returned no task definition"))?;
    let td_status = td
        .status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if td_status != "ACTIVE" {
        return Err(Error::input(format!(
            "task-definition: `{}` is {td_status}",
            cfg.task_definition
        ))
        .with_hint("deploy an ACTIVE revision; a deregistered one cannot start new tasks"));
    }
    let containers: Vec<&str> = td
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    let container = match &cfg.pre_deploy {
        None => None,
        Some(PreDeploy {
            container: Some(name),
            ..
        }) => {
            if !containers.contains(&name.as_str()) {
                return Err(Error::input(format!(
                    "pre-deploy-container: `{name}` is not a container of {}",
                    cfg.task_definition
                ))
                .with_hint(format!("its containers are: {}", containers.join(", "))));
            }
            Some(name.clone())
        }
        Some(_) => {
            let essential = td
                .container_definitions()
                .iter()
                .find(|c| c.essential().unwrap_or(true))
                .and_then(|c| c.name());
            match (containers.as_slice(), essential) {
                ([only], _) => Some((*only).to_owned()),
                (_, Some(e)) => Some(e.to_owned()),
                _ => {
                    return Err(Error::input(
                        "pre-deploy-container: required when the task definition has several containers",
                    )
                    .with_hint(format!("one of: {}", containers.join(", "))));
                }
            }
        }
    };
    if let Some(s) = cfg.strategy
        && s != crate::Strategy::Rolling
    {
        let lbs = service.load_balancers();
        if lbs.is_empty() || lbs.iter().any(|lb| lb.advanced_configuration().is_none()) {
            return Err(Error::input(format!(
                "strategy: `{}` needs a load balancer with advanced configuration on service `{}`, which has {}",
                s.to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default(),
                cfg.service,
                if lbs.is_empty() { "no load balancer" } else { "none" }
            ))
            .with_hint(
                "add loadBalancers[].advancedConfiguration (alternateTargetGroupArn, \
                 productionListenerRule, roleArn) to the service, or use --strategy rolling",
            ));
        }
    }
    // Guard alarms exist and none is firing: ECS ignores an alarm already in ALARM when the
    // deployment starts, so a deploy guarded by it would be guarded by nothing.
    let (alarms, missing) = alarm_states(aws, &cfg.alarms).await?;
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "alarms: CloudWatch has no alarm named {}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_hint("name existing metric or composite alarms in this account and region"));
    }
    if let Some(a) = alarms.iter().find(|a| a.state == AlarmState::Alarm) {
        return Err(Error::failed(format!(
            "alarm `{}` is already in ALARM ({}); ECS ignores an alarm that is in ALARM when a \
             deployment starts, so gantry refuses to deploy behind it",
            a.name, a.reason
        ))
        .with_hint("fix what the alarm reports (or wait for it to return to OK), then re-run"));
    }
    // Another deployment in progress?
    if let Some(what) = busy(&deployments_of(&service)) {
        if !cfg.wait_when_busy {
            return Err(
                Error::failed(format!("service `{}` is busy: {what}", cfg.service))
                    .with_hint("re-run when it has finished, or pass --on-busy wait"),
            );
        }
        tracing::info!("service is busy ({what}); waiting (on-busy: wait)");
        let r = poll(
            clock,
            Schedule {
                interval: cfg.poll_interval,
                deadline: clock.elapsed() + cfg.timeout,
            },
            |_| async {
                let s = describe_service(aws, &cfg.cluster, &cfg.service).await?;
                Ok(match busy(&deployments_of(&s)) {
                    Some(w) => Probe::Pending(w),
                    None => Probe::Ready(s),
                })
            },
        )
        .await;
        service = match r {
            Ok(s) => s,
            Err(PollError::Probe(e)) => return Err(e),
            Err(PollError::Deadline { last, .. }) => {
                return Err(Error::deadline(format!(
                    "service `{}` was still busy at the deadline: {last}; nothing was changed",
                    cfg.service
                )));
            }
        };
    }
    match checks::credentials(
        credential_expiry(aws).await,
        SystemTime::now(),
        cfg.timeout,
        cfg.bake_time,
        cfg.poll_interval,
    ) {
        CredentialCheck::Fine => {}
        CredentialCheck::Warn(w) => tracing::warn!("{w}"),
        CredentialCheck::Fail(f) => {
            return Err(Error::failed(f).with_hint(
                "request a longer session (role-duration-seconds of configure-aws-credentials) \
                 or shorten bake-time",
            ));
        }
    }
    let previous = service.task_definition().unwrap_or_default().to_owned();
    tracing::info!(
        "service {} runs {}; rollback target recorded",
        cfg.service,
        if previous.is_empty() {
            "nothing yet"
        } else {
            &previous
        }
    );
    Ok(Preflight {
        service,
        previous,
        container,
    })
}

/// Runs the migration command once as a task and requires exit code 0 from its container.
async fn migrate<C: Clock>(
    aws: &Aws,
    clock: &C,
    cfg: &DeployConfig,
    pre: &PreDeploy,
    container: &str,
    service: &Service,
) -> Result<(), Error> {
    let _g = gantry_kit::report::group("Migration task");
    let mut req = aws
        .ecs
        .run_task()
        .cluster(&cfg.cluster)
        .task_definition(&cfg.task_definition)
        .count(1)
        .started_by("gantry-rollout")
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(container)
                        .set_command(Some(pre.command.clone()))
                        .build(),
                )
                .build(),
        )
        .set_network_configuration(service.network_configuration().cloned())
        .set_platform_version(service.platform_version().map(str::to_owned));
    if service.capacity_provider_strategy().is_empty() {
        req = req.set_launch_type(service.launch_type().cloned());
    } else {
        req =
            req.set_capacity_provider_strategy(Some(service.capacity_provider_strategy().to_vec()));
    }
    let out = req
        .send()
        .await
        .map_err(|e| aws_error("ECS RunTask (migration)", &e))?;
    if let Some(f) = out.failures().first() {
        return Err(Error::failed(format!(
            "migration task could not start: {} ({})",
            f.reason().unwrap_or("unknown reason"),
            f.detail().unwrap_or_default()
        )));
    }
    let arn = out
        .tasks()
        .first()
        .and_then(|t| t.task_arn())
        .ok_or_else(|| Error::failed("ECS RunTask returned no task"))?
        .to_owned();
    tracing::info!("migration task {arn}: {}", pre.command.join(" "));
    let r = poll(
        clock,
        Schedule {
            interval: cfg.poll_interval,
            deadline: clock.elapsed() + pre.timeout,
        },
        |_| async {
            let out = aws
                .ecs
                .describe_tasks()
                .cluster(&cfg.cluster)
                .tasks(&arn)
                .send()
                .await
                .map_err(|e| aws_error("ECS DescribeTasks (migration)", &e))?;
            let Some(t) = out.tasks().first() else {
                return Ok(Probe::Pending("not visible yet".into()));
            };
            let last = t.last_status().unwrap_or_default();
            if last == "STOPPED" {
                Ok(Probe::Ready(t.clone()))
            } else {
                Ok(Probe::Pending(last.to_owned()))
            }
        },
    )
    .await;
    let task = match r {
        Ok(t) => t,
        Err(PollError::Probe(e)) => return Err(e),
        Err(PollError::Deadline { last, .. }) => {
            return Err(Error::failed(format!(
                "migration task {arn} did not stop within {} (last status {last}); the service was not updated",
                format_duration(pre.timeout)
            ))
            .with_hint("the task may still be running: check it before re-running"));
        }
    };
    let reason = task.stopped_reason().unwrap_or("no stop reason");
    let codes: Vec<String> = task.containers().iter().map(exit_of).collect();
    tracing::info!("migration task stopped: {reason}; {}", codes.join(", "));
    let code = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container))
        .and_then(|c| c.exit_code());
    if code == Some(0) {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "migration task failed: container `{container}` exited {} ({reason}); the service was not updated",
            code.map(|c| c.to_string())
                .unwrap_or_else(|| "without an exit code".into())
        )))
    }
}

/// `name exit N` of a stopped task's container (`exit none` when it has no exit code).
fn exit_of(c: &aws_sdk_ecs::types::Container) -> String {
    format!(
        "{} exit {}",
        c.name().unwrap_or("?"),
        c.exit_code()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "none".into())
    )
}

/// The deploymentConfiguration sent with UpdateService: circuit breaker, alarms, strategy; the
/// service's own percentages and bake time kept.
fn deployment_configuration(
    current: Option<&DeploymentConfiguration>,
    circuit_breaker: bool,
    alarms: &[String],
    strategy: Option<crate::Strategy>,
) -> Result<DeploymentConfiguration, Error> {
    let mut b = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(circuit_breaker)
                .rollback(circuit_breaker)
                .build(),
        )
        .set_maximum_percent(current.and_then(|c| c.maximum_percent()))
        .set_minimum_healthy_percent(current.and_then(|c| c.minimum_healthy_percent()))
        .set_bake_time_in_minutes(current.and_then(|c| c.bake_time_in_minutes()))
        .set_strategy(current.and_then(|c| c.strategy()).cloned());
    if alarms.is_empty() {
        b = b.set_alarms(current.and_then(|c| c.alarms()).cloned());
    } else {
        b = b.alarms(
            DeploymentAlarms::builder()
                .set_alarm_names(Some(alarms.to_vec()))
                .enable(true)
                .rollback(true)
                .build()
                .map_err(|e| Error::failed(format!("internal: deployment alarms: {e}")))?,
        );
    }
    if let Some(s) = strategy {
        b = b.strategy(DeploymentStrategy::from(s.ecs_name()));
    }
    Ok(b.build())
}

/// Whether ECS rolls a FAILED deployment back by itself with this configuration.
fn ecs_rolls_back(c: &DeploymentConfiguration) -> bool {
    c.deployment_circuit_breaker()
        .is_some_and(|cb| cb.enable() && cb.rollback())
        || c.alarms().is_some_and(|a| a.enable() && a.rollback())
}

/// UpdateService, then the id of the PRIMARY deployment it started for `task_definition`.
async fn update(
    aws: &Aws,
    cluster: &str,
    service: &str,
    task_definition: &str,
    desired_count: Option<i32>,
    force: bool,
    config: DeploymentConfiguration,
) -> Result<String, Error> {
    let out = aws
        .ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition)
        .set_desired_count(desired_count)
        .force_new_deployment(force)
        .deployment_configuration(config)
        .send()
        .await
        .map_err(|e| aws_error("ECS UpdateService", &e))?;
    let s = out
        .service()
        .ok_or_else(|| Error::failed("ECS UpdateService returned no service"))?;
    let deps = deployments_of(s);
    let primary = deps
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .ok_or_else(|| Error::failed("ECS UpdateService: the service has no PRIMARY deployment"))?;
    if primary.task_definition != task_definition {
        return Err(Error::failed(format!(
            "ECS did not start a deployment of {task_definition}: its PRIMARY deployment {} still runs {}",
            primary.id, primary.task_definition
        ))
        .with_hint("gantry follows its own deployment by id and cannot follow one that does not exist"));
    }
    tracing::info!("deployment {} of {task_definition} started", primary.id);
    Ok(primary.id.clone())
}

/// Everything a poll keeps between probes: what was printed, the ServiceDeployment ARN.
#[derive(Debug, Default)]
pub struct Watcher {
    seen_events: HashSet<String>,
    seen_tasks: HashSet<String>,
    /// Events printed since the deploy started.
    pub events: usize,
    /// Stopped tasks printed since the deploy started.
    pub stopped: usize,
    /// `None` until tried; `Some(false)` once the ServiceDeployment API failed (fall back for good).
    sd_api: Option<bool>,
    sd_arns: Vec<(String, String)>,
    /// When UpdateService was called (to find our ServiceDeployment).
    started: Option<aws_smithy_types::DateTime>,
}

impl Watcher {
    /// Marks what exists before we act as seen, so only new events and tasks are printed.
    fn baseline(&mut self, s: &Service) {
        for e in s.events() {
            if let Some(id) = e.id() {
                self.seen_events.insert(id.to_owned());
            }
        }
    }

    fn print_events(&mut self, s: &Service) {
        let new: Vec<String> = s
            .events()
            .iter()
            .rev()
            .filter(|e| {
                e.id()
                    .is_some_and(|id| self.seen_events.insert(id.to_owned()))
            })
            .map(|e| e.message().unwrap_or_default().to_owned())
            .collect();
        if new.is_empty() {
            return;
        }
        self.events += new.len();
        let _g = gantry_kit::report::group(&format!("ECS service events ({} new)", new.len()));
        for m in new {
            tracing::info!("{m}");
        }
    }

    async fn print_stopped_tasks(&mut self, aws: &Aws, cluster: &str, service: &str) {
        let listed = aws
            .ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .send()
            .await;
        let arns: Vec<String> = match listed {
            Ok(o) => o
                .task_arns()
                .iter()
                .filter(|a| !self.seen_tasks.contains(*a))
                .cloned()
                .collect(),
            Err(e) => {
                tracing::debug!("ListTasks: {}", gantry_kit::aws::classify(&e).message);
                return;
            }
        };
        if arns.is_empty() {
            return;
        }
        let Ok(out) = aws
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.iter().take(100).cloned().collect()))
            .send()
            .await
        else {
            return;
        };
        let _g = gantry_kit::report::group(&format!("Stopped tasks ({} new)", out.tasks().len()));
        for t in out.tasks() {
            let arn = t.task_arn().unwrap_or_default();
            if self.seen_tasks.insert(arn.to_owned()) {
                self.stopped += 1;
            }
            let codes: Vec<String> = t
                .containers()
                .iter()
                .map(|c| {
                    let reason = c.reason().map(|r| format!(" ({r})")).unwrap_or_default();
                    format!("{}{reason}", exit_of(c))
                })
                .collect();
            tracing::info!(
                "task {} stopped: {}; {}",
                arn.rsplit('/').next().unwrap_or(arn),
                t.stopped_reason().unwrap_or("no reason"),
                codes.join(", ")
            );
        }
    }

    /// Our ServiceDeployment, when the API is there; `None` falls back to describe_services.
    async fn service_deployment(
        &mut self,
        aws: &Aws,
        cluster: &str,
        service: &str,
        deployment_id: &str,
    ) -> Option<ServiceDeploymentView> {
        if self.sd_api == Some(false) {
            return None;
        }
        let arn = match self.sd_arns.iter().find(|(id, _)| id == deployment_id) {
            Some((_, arn)) => arn.clone(),
            None => {
                let listed = aws
                    .ecs
                    .list_service_deployments()
                    .cluster(cluster)
                    .service(service)
                    .customize()
                    .config_override(once())
                    .send()
                    .await;
                let briefs = match listed {
                    Ok(o) => o.service_deployments().to_vec(),
                    Err(e) => {
                        self.fall_back(&gantry_kit::aws::classify(&e));
                        return None;
                    }
                };
                self.sd_api = Some(true);
                let suffix = deployment_id.rsplit('/').next().unwrap_or(deployment_id);
                let by_id = briefs.iter().find(|b| {
                    b.service_deployment_arn()
                        .is_some_and(|a| a.ends_with(&format!("/{suffix}")))
                });
                // Else the newest one created since our UpdateService.
                let since = self.started.map(|s| s.secs() - 60).unwrap_or(i64::MIN);
                let newest = briefs
                    .iter()
                    .filter(|b| b.created_at().is_some_and(|c| c.secs() >= since))
                    .max_by_key(|b| b.created_at().map(|c| c.secs()));
                let arn = by_id.or(newest)?.service_deployment_arn()?.to_owned();
                self.sd_arns.push((deployment_id.to_owned(), arn.clone()));
                arn
            }
        };
        let out = match aws
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(&arn)
            .customize()
            .config_override(once())
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                self.fall_back(&gantry_kit::aws::classify(&e));
                return None;
            }
        };
        let sd = out.service_deployments().first()?;
        Some(ServiceDeploymentView {
            arn,
            status: sd
                .status()
                .map(|s| SdStatus::parse(s.as_str()))
                .unwrap_or(SdStatus::Unknown),
            status_reason: sd.status_reason().unwrap_or_default().to_owned(),
            rollback_reason: sd.rollback().and_then(|r| r.reason()).map(str::to_owned),
        })
    }

    fn fall_back(&mut self, f: &gantry_kit::aws::AwsFault) {
        if self.sd_api != Some(false) {
            tracing::info!(
                "ServiceDeployment API not available ({}); following describe_services deployments",
                fault_label(f)
            );
        }
        self.sd_api = Some(false);
    }

    /// One poll: the service (events printed), stopped tasks, our ServiceDeployment, and — in
    /// the bake — the guard alarms.
    async fn snapshot(
        &mut self,
        aws: &Aws,
        cfg: &Follow<'_>,
        phase: &Phase,
    ) -> Result<Snapshot, Error> {
        let s = describe_service(aws, cfg.cluster, cfg.service).await?;
        self.print_events(&s);
        self.print_stopped_tasks(aws, cfg.cluster, cfg.service)
            .await;
        let sd_of = match phase {
            Phase::Follow { id, .. } | Phase::Bake { id, .. } => Some(id.as_str()),
            Phase::EcsRollback { failed_id, .. } => Some(failed_id.as_str()),
            Phase::OurRollback { .. } => None,
        };
        let service_deployment = match sd_of {
            Some(id) => {
                self.service_deployment(aws, cfg.cluster, cfg.service, id)
                    .await
            }
            None => None,
        };
        let alarms = match phase {
            Phase::Bake { .. } => alarm_states(aws, cfg.alarms).await?.0,
            _ => Vec::new(),
        };
        Ok(Snapshot {
            deployments: deployments_of(&s),
            service_deployment,
            alarms,
        })
    }
}

/// A short name for a fault (an error code, else its kind): raw responses stay out of the log.
fn fault_label(f: &gantry_kit::aws::AwsFault) -> String {
    f.code
        .clone()
        .unwrap_or_else(|| format!("{:?} error", f.kind))
}

/// One attempt: a ServiceDeployment call that fails is answered by the fallback, not by retries.
fn once() -> aws_sdk_ecs::config::Builder {
    aws_sdk_ecs::config::Builder::default()
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(1))
}

/// What following a deployment needs.
struct Follow<'a> {
    cluster: &'a str,
    service: &'a str,
    alarms: &'a [String],
    timeout: Duration,
    bake: Duration,
    interval: Duration,
    /// The deploymentConfiguration for our own rollback.
    rollback_config: DeploymentConfiguration,
}

/// When things happened, on the run's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// When UpdateService returned; the summary shows the others relative to it.
    pub started: Duration,
    pub completed: Option<Duration>,
    pub baked: Option<Duration>,
    pub rollback_started: Option<Duration>,
    pub ended: Duration,
    /// The deployment our rollback started.
    pub rollback_deployment: Option<String>,
}

/// Polls at a fixed interval and acts on [`decide::decide`] until a verdict.
async fn drive<C: Clock>(
    aws: &Aws,
    clock: &C,
    w: &mut Watcher,
    f: &Follow<'_>,
    ctx: &Ctx,
    mut phase: Phase,
) -> Result<(Verdict, Timeline), Error> {
    let mut tl = Timeline {
        started: clock.elapsed(),
        ..Timeline::default()
    };
    let shared = futures::lock::Mutex::new(std::mem::take(w));
    let r = drive_phases(aws, clock, &shared, f, ctx, &mut phase, &mut tl).await;
    *w = shared.into_inner();
    r.map(|v| (v, tl))
}

async fn drive_phases<C: Clock>(
    aws: &Aws,
    clock: &C,
    w: &futures::lock::Mutex<Watcher>,
    f: &Follow<'_>,
    ctx: &Ctx,
    phase: &mut Phase,
    tl: &mut Timeline,
) -> Result<Verdict, Error> {
    loop {
        let step = {
            let ph = phase.clone();
            let r = poll(
                clock,
                Schedule {
                    interval: f.interval,
                    deadline: ph.deadline(),
                },
                |_| {
                    let ph = ph.clone();
                    async move {
                        let snap = w.lock().await.snapshot(aws, f, &ph).await?;
                        Ok::<_, Error>(match decide::decide(&ph, &snap, ctx, clock.elapsed()) {
                            Step::Wait(seen) => {
                                tracing::info!("{seen}");
                                Probe::Pending(seen)
                            }
                            other => Probe::Ready(other),
                        })
                    }
                },
            )
            .await;
            match r {
                Ok(step) => step,
                Err(PollError::Probe(e)) => return Err(e),
                // The last probe is at the deadline, where decide has already acted; this is
                // only reached when the clock jumped past it.
                Err(PollError::Deadline { last, .. }) => match &*phase {
                    Phase::Bake { .. } => Step::Done(Verdict::Completed),
                    Phase::Follow { id, .. } => decide::deadline_step(
                        ctx,
                        format!("deployment {id} did not complete: {last}"),
                    ),
                    _ => Step::Done(Verdict::Deadline(last)),
                },
            }
        };
        let now = clock.elapsed();
        *phase = match (step, &*phase) {
            (Step::Done(v), _) => {
                tl.ended = now;
                if v == Verdict::Completed {
                    tl.baked = Some(now);
                }
                return Ok(v);
            }
            (Step::Bake, Phase::Follow { id, .. }) => {
                tl.completed = Some(now);
                tracing::info!(
                    "deployment {id} COMPLETED; baking for {}",
                    format_duration(f.bake)
                );
                Phase::Bake {
                    id: id.clone(),
                    until: now + f.bake,
                }
            }
            (Step::Bake, _) => {
                tl.ended = now;
                return Ok(Verdict::Completed);
            }
            (Step::FollowEcsRollback(cause), ph) => {
                tracing::warn!("{cause}; following ECS's rollback (gantry does not start another)");
                let failed_id = match ph {
                    Phase::Follow { id, .. } | Phase::Bake { id, .. } => id.clone(),
                    Phase::EcsRollback { failed_id, .. } => failed_id.clone(),
                    Phase::OurRollback { id, .. } => id.clone(),
                };
                Phase::EcsRollback {
                    failed_id,
                    cause,
                    // ECS's rollback gets a timeout of its own, as ours does.
                    deadline: now + f.timeout,
                }
            }
            (Step::RollBack(cause), _) => {
                tracing::warn!("{cause}; rolling back to {}", ctx.previous);
                tl.rollback_started = Some(now);
                if ctx.previous.is_empty() {
                    tl.ended = now;
                    return Ok(Verdict::Failed(format!(
                        "{cause}; no earlier task definition to roll back to"
                    )));
                }
                let _g = gantry_kit::report::group("Rollback");
                match update(
                    aws,
                    f.cluster,
                    f.service,
                    &ctx.previous,
                    None,
                    false,
                    f.rollback_config.clone(),
                )
                .await
                {
                    Ok(id) => {
                        tl.rollback_deployment = Some(id.clone());
                        Phase::OurRollback {
                            id,
                            cause,
                            deadline: now + f.timeout,
                        }
                    }
                    Err(e) => {
                        tl.ended = clock.elapsed();
                        return Ok(Verdict::Failed(format!(
                            "{cause}; the rollback could not start: {}",
                            e.message()
                        )));
                    }
                }
            }
            (Step::Wait(_), ph) => ph.clone(),
        };
    }
}

fn status_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Completed => "completed",
        Verdict::RolledBackByEcs(_) | Verdict::RolledBack(_) => "rolled-back",
        Verdict::Failed(_) => "failed",
        Verdict::Deadline(_) => "timeout",
    }
}

fn reason_of(v: &Verdict) -> String {
    match v {
        Verdict::Completed => String::new(),
        Verdict::RolledBackByEcs(r)
        | Verdict::RolledBack(r)
        | Verdict::Failed(r)
        | Verdict::Deadline(r) => r.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn outputs(
    status: &str,
    deployment_id: &str,
    task_definition: &str,
    previous: &str,
    rolled_back_to: &str,
    reason: &str,
    duration: Duration,
) -> Outputs {
    let mut o = Outputs::new();
    o.set("status", status)
        .set("deployment-id", deployment_id)
        .set("task-definition-arn", task_definition)
        .set("previous-task-definition-arn", previous)
        .set("rolled-back-to", rolled_back_to)
        .set("reason", reason)
        .set("duration-seconds", duration.as_secs());
    o
}

fn at(d: Option<Duration>, started: Duration) -> String {
    d.map(|d| format!("+{}", format_duration(d.saturating_sub(started))))
        .unwrap_or_else(|| "—".into())
}

fn summary(
    previous: &str,
    target: &str,
    deployment_id: &str,
    tl: &Timeline,
    w: &Watcher,
    v: &Verdict,
) -> String {
    let (events, stopped) = (w.events, w.stopped);
    let cell = |s: &str| s.replace('|', "\\|");
    let mut s = String::from("| rollout | |\n| --- | --- |\n");
    s.push_str(&format!(
        "| task definition | `{}` → `{}` |\n",
        cell(previous),
        cell(target)
    ));
    s.push_str(&format!("| deployment | `{}` |\n", cell(deployment_id)));
    s.push_str(&format!(
        "| timeline | started +0s · completed {} · baked {}{} · ended +{} |\n",
        at(tl.completed, tl.started),
        at(tl.baked, tl.started),
        tl.rollback_started
            .map(|r| format!(" · rollback started {}", at(Some(r), tl.started)))
            .unwrap_or_default(),
        format_duration(tl.ended.saturating_sub(tl.started))
    ));
    s.push_str(&format!("| service events | {events} |\n"));
    s.push_str(&format!("| stopped tasks | {stopped} |\n"));
    s.push_str(&format!(
        "| verdict | **{}** {} |\n",
        status_word(v),
        cell(&reason_of(v))
    ));
    s
}

fn append_summary(markdown: &str) {
    let actions = gantry_kit::github::Actions::from_env();
    if let Err(e) = actions.append_summary(markdown) {
        tracing::warn!("could not write the step summary: {e}");
    }
}

/// Turns a verdict into the command's result (exit code per DESIGN.md).
fn finish(v: &Verdict, outputs: Outputs, summary_md: String) -> Result<Report, Error> {
    match v {
        Verdict::Completed => Ok(Report {
            outputs,
            plan: None,
            summary: Some(summary_md),
        }),
        other => {
            append_summary(&summary_md);
            let r = reason_of(other);
            let e = match other {
                Verdict::RolledBackByEcs(_) | Verdict::RolledBack(_) => Error::rolled_back(r),
                Verdict::Deadline(_) => Error::deadline(r),
                _ => Error::failed(r),
            };
            Err(e.with_outputs(outputs))
        }
    }
}

/// Gives an error that has no outputs yet the action's outputs (every exit sets them): the status
/// its exit code means, the task definition asked for, and the error as the reason.
pub fn with_error_outputs(e: Error, task_definition: &str, previous: &str) -> Error {
    if e.outputs().is_some() {
        return e;
    }
    let status = match e.exit_code() {
        gantry_kit::ExitCode::RolledBack => "rolled-back",
        gantry_kit::ExitCode::DeadlineExceeded => "timeout",
        _ => "failed",
    };
    let reason = e.message().to_owned();
    e.with_outputs(outputs(
        status,
        "",
        task_definition,
        previous,
        "",
        &reason,
        Duration::ZERO,
    ))
}

/// `deploy`: pre-flight, migration gate, update, follow, bake, roll back when needed.
pub async fn deploy<C: Clock>(aws: &Aws, clock: &C, cfg: &DeployConfig) -> Result<Report, Error> {
    deploy_steps(aws, clock, cfg)
        .await
        .map_err(|e| with_error_outputs(e, &cfg.task_definition, ""))
}

async fn deploy_steps<C: Clock>(aws: &Aws, clock: &C, cfg: &DeployConfig) -> Result<Report, Error> {
    let pre = preflight(aws, clock, cfg).await?;
    let config = deployment_configuration(
        pre.service.deployment_configuration(),
        cfg.circuit_breaker,
        &cfg.alarms,
        cfg.strategy,
    )?;
    if cfg.dry_run {
        let o = outputs(
            "dry-run",
            "",
            &cfg.task_definition,
            &pre.previous,
            "",
            "",
            Duration::ZERO,
        );
        let plan = json!({
            "cluster": cfg.cluster,
            "service": cfg.service,
            "task-definition-arn": cfg.task_definition,
            "previous-task-definition-arn": pre.previous,
            "pre-deploy-task": cfg.pre_deploy.as_ref().map(|p| json!({
                "command": p.command,
                "container": pre.container,
                "timeout-seconds": p.timeout.as_secs(),
            })),
            "update-service": {
                "desired-count": cfg.desired_count,
                "force-new-deployment": cfg.force_new_deployment,
                "circuit-breaker": {"enable": cfg.circuit_breaker, "rollback": cfg.circuit_breaker},
                "alarms": cfg.alarms,
                "strategy": cfg.strategy.map(|s| s.ecs_name()),
            },
            "bake-seconds": cfg.bake_time.as_secs(),
            "timeout-seconds": cfg.timeout.as_secs(),
            "poll-interval-seconds": cfg.poll_interval.as_secs(),
            "rollback": if cfg.roll_back_on_failure { "on-failure" } else { "never" },
        });
        return Ok(Report {
            outputs: o,
            plan: Some(plan),
            summary: Some(format!(
                "Dry run: nothing was changed. Would deploy `{}` to `{}/{}` (now `{}`).",
                cfg.task_definition, cfg.cluster, cfg.service, pre.previous
            )),
        });
    }
    if let (Some(p), Some(container)) = (&cfg.pre_deploy, &pre.container) {
        migrate(aws, clock, cfg, p, container, &pre.service)
            .await
            .map_err(|e| {
                let reason = e.message().to_owned();
                e.with_outputs(outputs(
                    "failed",
                    "",
                    &cfg.task_definition,
                    &pre.previous,
                    "",
                    &reason,
                    clock.elapsed(),
                ))
            })?;
    }
    let mut w = Watcher::default();
    w.baseline(&pre.service);
    // Stopped tasks from before the deploy are not news.
    if let Ok(o) = aws
        .ecs
        .list_tasks()
        .cluster(&cfg.cluster)
        .service_name(&cfg.service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
    {
        w.seen_tasks.extend(o.task_arns().iter().cloned());
    }
    w.started = Some(aws_smithy_types::DateTime::from(SystemTime::now()));
    let id = {
        let _g = gantry_kit::report::group("Update service");
        update(
            aws,
            &cfg.cluster,
            &cfg.service,
            &cfg.task_definition,
            cfg.desired_count,
            cfg.force_new_deployment,
            config.clone(),
        )
        .await
        .map_err(|e| with_error_outputs(e, &cfg.task_definition, &pre.previous))?
    };
    let started = clock.elapsed();
    let f = Follow {
        cluster: &cfg.cluster,
        service: &cfg.service,
        alarms: &cfg.alarms,
        timeout: cfg.timeout,
        bake: cfg.bake_time,
        interval: cfg.poll_interval,
        rollback_config: config,
    };
    let ctx = Ctx {
        target: cfg.task_definition.clone(),
        previous: pre.previous.clone(),
        roll_back_on_failure: cfg.roll_back_on_failure,
        ecs_rolls_back: ecs_rolls_back(&f.rollback_config),
    };
    let (v, tl) = drive(
        aws,
        clock,
        &mut w,
        &f,
        &ctx,
        Phase::Follow {
            id: id.clone(),
            deadline: started + cfg.timeout,
        },
    )
    .await
    .map_err(|e| {
        // AWS stopped answering mid-way: the deployment goes on in ECS; say which one it is.
        let reason = e.message().to_owned();
        e.with_outputs(outputs(
            "failed",
            &id,
            &cfg.task_definition,
            &pre.previous,
            "",
            &reason,
            clock.elapsed().saturating_sub(started),
        ))
    })?;
    // An ECS rollback is a rollback to the recorded target too (ECS goes back to the last
    // COMPLETED deployment, which is what the service ran when we started).
    let rolled_back_to = match &v {
        Verdict::RolledBack(_) | Verdict::RolledBackByEcs(_) => pre.previous.as_str(),
        _ => "",
    };
    if v == Verdict::Completed && pre.previous != cfg.task_definition {
        record_tags(aws, &pre.service, &cfg.task_definition, &pre.previous).await;
    }
    if !rolled_back_to.is_empty() {
        write_tags(aws, &pre.service, &[(ROLLED_BACK_TAG, rolled_back_to)]).await;
    }
    tracing::info!("verdict: {} {}", status_word(&v), reason_of(&v));
    let o = outputs(
        status_word(&v),
        &id,
        &cfg.task_definition,
        &pre.previous,
        rolled_back_to,
        &reason_of(&v),
        tl.ended.saturating_sub(started),
    );
    let md = summary(&pre.previous, &cfg.task_definition, &id, &tl, &w, &v);
    finish(&v, o, md)
}

/// Tags the service with what was deployed and what ran before (the `previous` fallback).
async fn record_tags(aws: &Aws, service: &Service, deployed: &str, previous: &str) {
    write_tags(
        aws,
        service,
        &[
            (DEPLOYED_TAG, deployed),
            (PREVIOUS_TAG, previous),
            // A new release: the last rollback no longer says where `previous` is.
            (ROLLED_BACK_TAG, NO_ROLLBACK),
        ],
    )
    .await;
}

async fn write_tags(aws: &Aws, service: &Service, tags: &[(&str, &str)]) {
    let Some(arn) = service.service_arn() else {
        return;
    };
    let names = tags_names(tags);
    let tags = tags
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build());
    if let Err(e) = aws
        .ecs
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags.collect()))
        .send()
        .await
    {
        // Not fatal: the deploy succeeded; only `rollback --to previous` loses its fallback.
        tracing::warn!(
            "could not tag the service ({names}): {}",
            gantry_kit::aws::classify(&e).message
        );
    }
}

fn tags_names(tags: &[(&str, &str)]) -> String {
    tags.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

/// `previous` from the ServiceDeployment history: the target of the newest SUCCESSFUL
/// deployment whose task definition differs from the current one.
async fn previous_from_history(
    aws: &Aws,
    cluster: &str,
    service: &str,
    current: &str,
) -> Result<Option<String>, gantry_kit::aws::AwsFault> {
    let out = aws
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(ServiceDeploymentStatus::Successful)
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| gantry_kit::aws::classify(&e))?;
    let mut briefs = out.service_deployments().to_vec();
    briefs.sort_by_key(|b| std::cmp::Reverse(b.created_at().map(|c| c.secs())));
    let revisions: Vec<String> = briefs
        .iter()
        .filter_map(|b| b.target_service_revision_arn().map(str::to_owned))
        .take(20)
        .collect();
    if revisions.is_empty() {
        return Ok(None);
    }
    let described = aws
        .ecs
        .describe_service_revisions()
        .set_service_revision_arns(Some(revisions.clone()))
        .send()
        .await
        .map_err(|e| gantry_kit::aws::classify(&e))?;
    for arn in &revisions {
        let td = described
            .service_revisions()
            .iter()
            .find(|r| r.service_revision_arn() == Some(arn.as_str()))
            .and_then(|r| r.task_definition());
        if let Some(td) = td
            && td != current
        {
            return Ok(Some(td.to_owned()));
        }
    }
    Ok(None)
}

/// Where `rollback --to previous` goes, and how it was found.
async fn resolve_previous(
    aws: &Aws,
    cfg: &RollbackConfig,
    service: &Service,
) -> Result<(String, &'static str), Error> {
    let current = service.task_definition().unwrap_or_default();
    // Already rolled back (by gantry, or by ECS during a gantry deploy) and no release deployed
    // by gantry since: `previous` is where the service is, so a re-run changes nothing.
    if !current.is_empty() && tag(service, ROLLED_BACK_TAG) == Some(current) {
        return Ok((current.to_owned(), "the service's last rollback"));
    }
    match previous_from_history(aws, &cfg.cluster, &cfg.service, current).await {
        Ok(Some(td)) => return Ok((td, "ServiceDeployment history")),
        Ok(None) => {
            tracing::info!("no earlier successful deployment in the ServiceDeployment history")
        }
        Err(f) => tracing::info!(
            "ServiceDeployment history not available ({}); using the service's {PREVIOUS_TAG} tag",
            fault_label(&f)
        ),
    }
    match (tag(service, DEPLOYED_TAG), tag(service, PREVIOUS_TAG)) {
        (Some(deployed), Some(prev)) if deployed == current => Ok((prev.to_owned(), "service tag")),
        (Some(deployed), Some(_)) => Err(Error::failed(format!(
            "no previous task definition known: the service runs {current}, but gantry's last \
             deploy recorded {deployed} (the service changed since)"
        ))
        .with_hint("pass --to with the task definition ARN to roll back to")),
        _ => Err(Error::failed(format!(
            "no previous task definition known for service `{}`",
            cfg.service
        ))
        .with_hint("pass --to with the task definition ARN to roll back to")),
    }
}

/// `rollback`: put the service on `--to` (or `previous`) and follow that deployment.
pub async fn rollback<C: Clock>(
    aws: &Aws,
    clock: &C,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    let to = match &cfg.to {
        RollbackTo::Arn(a) => a.as_str(),
        RollbackTo::Previous => "",
    };
    rollback_steps(aws, clock, cfg)
        .await
        .map_err(|e| with_error_outputs(e, to, ""))
}

async fn rollback_steps<C: Clock>(
    aws: &Aws,
    clock: &C,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    let service = describe_service(aws, &cfg.cluster, &cfg.service).await?;
    let current = service.task_definition().unwrap_or_default().to_owned();
    let (target, how) = match &cfg.to {
        RollbackTo::Arn(a) => (a.clone(), "--to"),
        RollbackTo::Previous => resolve_previous(aws, cfg, &service).await?,
    };
    tracing::info!(
        "rolling back {} from {current} to {target} ({how})",
        cfg.service
    );
    let deps = deployments_of(&service);
    let primary_done = deps
        .iter()
        .any(|d| d.status == DeploymentStatus::Primary && d.rollout == Rollout::Completed);
    if target == current && primary_done && deps.len() == 1 {
        // Re-run of a rollback that already completed: nothing to do.
        let o = outputs(
            "completed",
            "",
            &target,
            &current,
            &target,
            "already on the target",
            Duration::ZERO,
        );
        return Ok(Report::new(o));
    }
    let config = deployment_configuration(service.deployment_configuration(), true, &[], None)?;
    let mut w = Watcher::default();
    w.baseline(&service);
    w.started = Some(aws_smithy_types::DateTime::from(SystemTime::now()));
    let id = update(
        aws,
        &cfg.cluster,
        &cfg.service,
        &target,
        None,
        false,
        config.clone(),
    )
    .await
    .map_err(|e| with_error_outputs(e, &target, &current))?;
    let started = clock.elapsed();
    let f = Follow {
        cluster: &cfg.cluster,
        service: &cfg.service,
        alarms: &[],
        timeout: cfg.timeout,
        bake: Duration::ZERO,
        interval: cfg.poll_interval,
        rollback_config: config,
    };
    let ctx = Ctx {
        target: target.clone(),
        previous: current.clone(),
        // A rollback is never rolled back by us.
        roll_back_on_failure: false,
        ecs_rolls_back: ecs_rolls_back(&f.rollback_config),
    };
    let (v, tl) = drive(
        aws,
        clock,
        &mut w,
        &f,
        &ctx,
        Phase::Follow {
            id: id.clone(),
            deadline: started + cfg.timeout,
        },
    )
    .await
    .map_err(|e| with_error_outputs(e, &target, &current))?;
    // A successful rollback is exit 0; ECS undoing it is a failure of the rollback.
    let v = match v {
        Verdict::RolledBackByEcs(r) | Verdict::RolledBack(r) | Verdict::Failed(r) => {
            Verdict::Failed(format!("the rollback to {target} failed: {r}"))
        }
        other => other,
    };
    let o = outputs(
        status_word(&v),
        &id,
        &target,
        &current,
        if v == Verdict::Completed { &target } else { "" },
        &reason_of(&v),
        tl.ended.saturating_sub(started),
    );
    if v == Verdict::Completed {
        write_tags(aws, &service, &[(ROLLED_BACK_TAG, target.as_str())]).await;
    }
    let md = summary(&current, &target, &id, &tl, &w, &v);
    finish(&v, o, md)
}

/// `status`: the service's task definition and deployments (read-only). Keys: `cluster`,
/// `service`, `task-definition-arn`, `previous-task-definition-arn` (from the tag), `busy`,
/// `deployments` (one line each: `id status rolloutState taskDefinition`).
pub async fn status(aws: &Aws, cluster: &str, service: &str) -> Result<Report, Error> {
    let s = describe_service(aws, cluster, service).await?;
    let deps = deployments_of(&s);
    // ECS's own words (`PRIMARY`, `IN_PROGRESS`), as the AWS console and CLI show them.
    let lines = s.deployments().iter().map(|d| {
        format!(
            "{} {} {} {}",
            d.id().unwrap_or_default(),
            d.status().unwrap_or("UNKNOWN"),
            d.rollout_state().map(|r| r.as_str()).unwrap_or("UNKNOWN"),
            d.task_definition().unwrap_or_default()
        )
    });
    let mut o = Outputs::new();
    o.set("cluster", cluster)
        .set("service", service)
        .set(
            "task-definition-arn",
            s.task_definition().unwrap_or_default(),
        )
        .set(
            "previous-task-definition-arn",
            tag(&s, PREVIOUS_TAG).unwrap_or_default(),
        )
        .set("busy", busy(&deps).is_some())
        .set_list("deployments", lines);
    Ok(Report::new(o))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn deployment_configuration_keeps_the_services_percentages() {
        let current = DeploymentConfiguration::builder()
            .maximum_percent(150)
            .minimum_healthy_percent(50)
            .build();
        let c = deployment_configuration(
            Some(&current),
            true,
            &["web-5xx".into()],
            Some(crate::Strategy::BlueGreen),
        )
        .unwrap();
        assert_eq!(c.maximum_percent(), Some(150));
        assert_eq!(c.minimum_healthy_percent(), Some(50));
        let cb = c.deployment_circuit_breaker().unwrap();
        assert!(cb.enable() && cb.rollback());
        let a = c.alarms().unwrap();
        assert_eq!(a.alarm_names(), ["web-5xx"]);
        assert!(a.enable() && a.rollback());
        assert_eq!(c.strategy().map(|s| s.as_str()), Some("BLUE_GREEN"));
        let off = deployment_configuration(None, false, &[], None).unwrap();
        assert!(!off.deployment_circuit_breaker().unwrap().enable());
        assert!(off.alarms().is_none());
    }
}
