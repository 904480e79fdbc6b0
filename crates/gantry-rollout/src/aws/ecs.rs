//! ECS: describe the service and task definitions, UpdateService with its deployment
//! configuration, the migration task, stopped tasks, ServiceDeployments and their history, and
//! the service's gantry tags.

use super::Clients;
use crate::checks::{ContainerDef, ContainerExit, Refusal, RolloutTags};
use crate::cli::Strategy;
use crate::decide::{Deployment, DeploymentStatus, Rollout, SdStatus, ServiceDeploymentView};
use aws_sdk_ecs::types::{
    ContainerOverride, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentStrategy, DesiredStatus, ServiceDeploymentStatus, ServiceField, Tag, TaskOverride,
};
use gantry_kit::Error;
use gantry_kit::aws::{AwsFault, FaultKind, aws_error, classify};

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

/// A service as DescribeServices returns it; read through the functions below.
pub type Service = aws_sdk_ecs::types::Service;

/// DescribeServices for one service: exit 1 with AWS's words when the cluster or service is
/// unknown or not ACTIVE.
pub async fn describe_service(
    aws: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Service, Error> {
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

/// The service's deployments in ECS's own words (`id PRIMARY IN_PROGRESS taskDefinition`), as
/// the AWS console and CLI show them.
pub fn deployment_lines(s: &Service) -> Vec<String> {
    s.deployments()
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}",
                d.id().unwrap_or_default(),
                d.status().unwrap_or("UNKNOWN"),
                d.rollout_state().map(|r| r.as_str()).unwrap_or("UNKNOWN"),
                d.task_definition().unwrap_or_default()
            )
        })
        .collect()
}

/// The task definition the service runs ("" when none).
pub fn current_task_definition(s: &Service) -> &str {
    s.task_definition().unwrap_or_default()
}

/// The service's deployment controller type (`ECS`, `CODE_DEPLOY`, `EXTERNAL`), when set.
pub fn deployment_controller(s: &Service) -> Option<&str> {
    s.deployment_controller().map(|c| c.r#type().as_str())
}

/// Per load balancer of the service: whether it has advanced configuration.
pub fn load_balancers_advanced(s: &Service) -> Vec<bool> {
    s.load_balancers()
        .iter()
        .map(|lb| lb.advanced_configuration().is_some())
        .collect()
}

/// The service's events, oldest first: (id, message).
pub fn events_of(s: &Service) -> Vec<(String, String)> {
    s.events()
        .iter()
        .rev()
        .filter_map(|e| {
            Some((
                e.id()?.to_owned(),
                e.message().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn tag<'a>(s: &'a Service, key: &str) -> Option<&'a str> {
    s.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The gantry tags on the service.
pub fn rollout_tags(s: &Service) -> RolloutTags<'_> {
    RolloutTags {
        deployed: tag(s, DEPLOYED_TAG),
        previous: tag(s, PREVIOUS_TAG),
        rolled_back_to: tag(s, ROLLED_BACK_TAG),
    }
}

/// What pre-flight reads of a task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionFacts {
    pub status: String,
    pub containers: Vec<ContainerDef>,
}

/// DescribeTaskDefinition. A task definition ECS does not know is bad input (exit 2).
pub async fn describe_task_definition(
    aws: &Clients,
    task_definition: &str,
) -> Result<TaskDefinitionFacts, Error> {
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(|e| {
            let f = classify(&e);
            if f.kind == FaultKind::Service {
                Error::from(Refusal::UnknownTaskDefinition {
                    task_definition: task_definition.to_owned(),
                    message: f.message,
                })
            } else {
                f.into_error("ECS DescribeTaskDefinition")
            }
        })?;
    let td = out
        .task_definition()
        .ok_or_else(|| Error::failed("ECS DescribeTaskDefinition returned no task definition"))?;
    Ok(TaskDefinitionFacts {
        status: td
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        containers: td
            .container_definitions()
            .iter()
            .filter_map(|c| {
                Some(ContainerDef {
                    name: c.name()?.to_owned(),
                    essential: c.essential().unwrap_or(true),
                })
            })
            .collect(),
    })
}

/// One migration task.
#[derive(Debug, Clone, Copy)]
pub struct MigrationTask<'a> {
    pub cluster: &'a str,
    pub task_definition: &'a str,
    pub container: &'a str,
    pub command: &'a [String],
}

/// RunTask of the migration command, placed as the service's tasks are (network, platform
/// version, launch type or capacity providers). Returns the task ARN.
pub async fn run_migration_task(
    aws: &Clients,
    task: MigrationTask<'_>,
    service: &Service,
) -> Result<String, Error> {
    let mut req = aws
        .ecs
        .run_task()
        .cluster(task.cluster)
        .task_definition(task.task_definition)
        .count(1)
        .started_by("gantry-rollout")
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(task.container)
                        .set_command(Some(task.command.to_vec()))
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
    Ok(out
        .tasks()
        .first()
        .and_then(|t| t.task_arn())
        .ok_or_else(|| Error::failed("ECS RunTask returned no task"))?
        .to_owned())
}

/// A task as the migration gate and the stopped-task log see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    pub arn: String,
    pub last_status: String,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerExit>,
}

fn task_facts(t: &aws_sdk_ecs::types::Task) -> TaskFacts {
    TaskFacts {
        arn: t.task_arn().unwrap_or_default().to_owned(),
        last_status: t.last_status().unwrap_or_default().to_owned(),
        stopped_reason: t.stopped_reason().map(str::to_owned),
        containers: t
            .containers()
            .iter()
            .map(|c| ContainerExit {
                name: c.name().map(str::to_owned),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    }
}

/// DescribeTasks of the migration task (`None` until it is visible).
pub async fn describe_migration_task(
    aws: &Clients,
    cluster: &str,
    arn: &str,
) -> Result<Option<TaskFacts>, Error> {
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(arn)
        .send()
        .await
        .map_err(|e| aws_error("ECS DescribeTasks (migration)", &e))?;
    Ok(out.tasks().first().map(task_facts))
}

/// ListTasks of the service's stopped tasks.
pub async fn stopped_task_arns(
    aws: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Vec<String>, AwsFault> {
    aws.ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .map(|o| o.task_arns().to_vec())
        .map_err(|e| classify(&e))
}

/// DescribeTasks of up to 100 of `arns` (`None` when the call fails: the log only loses detail).
pub async fn describe_tasks(
    aws: &Clients,
    cluster: &str,
    arns: &[String],
) -> Option<Vec<TaskFacts>> {
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.iter().take(100).cloned().collect()))
        .send()
        .await
        .ok()?;
    Some(out.tasks().iter().map(task_facts).collect())
}

/// The deploymentConfiguration sent with UpdateService: circuit breaker, alarms, strategy; the
/// service's own percentages and bake time kept.
pub fn deployment_configuration(
    current: Option<&DeploymentConfiguration>,
    circuit_breaker: bool,
    alarms: &[String],
    strategy: Option<Strategy>,
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
pub fn ecs_rolls_back(c: &DeploymentConfiguration) -> bool {
    c.deployment_circuit_breaker()
        .is_some_and(|cb| cb.enable() && cb.rollback())
        || c.alarms().is_some_and(|a| a.enable() && a.rollback())
}

/// One UpdateService.
#[derive(Debug, Clone)]
pub struct ServiceUpdate<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    pub task_definition: &'a str,
    pub desired_count: Option<i32>,
    pub force_new_deployment: bool,
    pub configuration: DeploymentConfiguration,
}

/// UpdateService, then the id of the PRIMARY deployment it started for the task definition.
pub async fn update(aws: &Clients, u: ServiceUpdate<'_>) -> Result<String, Error> {
    let task_definition = u.task_definition;
    let out = aws
        .ecs
        .update_service()
        .cluster(u.cluster)
        .service(u.service)
        .task_definition(task_definition)
        .set_desired_count(u.desired_count)
        .force_new_deployment(u.force_new_deployment)
        .deployment_configuration(u.configuration)
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

/// One attempt: a ServiceDeployment call that fails is answered by the fallback, not by retries.
fn once() -> aws_sdk_ecs::config::Builder {
    aws_sdk_ecs::config::Builder::default()
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(1))
}

/// A ServiceDeployment as ListServiceDeployments lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDeploymentBrief {
    pub arn: Option<String>,
    /// Seconds since the epoch.
    pub created_at: Option<i64>,
    /// The service revision the deployment went to.
    pub target_revision: Option<String>,
}

/// ListServiceDeployments of the service (one attempt), of every status or of one.
pub async fn list_service_deployments(
    aws: &Clients,
    cluster: &str,
    service: &str,
    status: Option<ServiceDeploymentStatus>,
) -> Result<Vec<ServiceDeploymentBrief>, AwsFault> {
    let out = aws
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .set_status(status.map(|s| vec![s]))
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(&e))?;
    Ok(out
        .service_deployments()
        .iter()
        .map(|b| ServiceDeploymentBrief {
            arn: b.service_deployment_arn().map(str::to_owned),
            created_at: b.created_at().map(|c| c.secs()),
            target_revision: b.target_service_revision_arn().map(str::to_owned),
        })
        .collect())
}

/// DescribeServiceDeployments of one ARN (one attempt).
pub async fn describe_service_deployment(
    aws: &Clients,
    arn: &str,
) -> Result<Option<ServiceDeploymentView>, AwsFault> {
    let out = aws
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(&e))?;
    Ok(out
        .service_deployments()
        .first()
        .map(|sd| ServiceDeploymentView {
            arn: arn.to_owned(),
            status: sd
                .status()
                .map(|s| SdStatus::parse(s.as_str()))
                .unwrap_or(SdStatus::Unknown),
            status_reason: sd.status_reason().unwrap_or_default().to_owned(),
            rollback_reason: sd.rollback().and_then(|r| r.reason()).map(str::to_owned),
        }))
}

/// `previous` from the ServiceDeployment history: the target of the newest SUCCESSFUL
/// deployment whose task definition differs from the current one.
pub async fn previous_from_history(
    aws: &Clients,
    cluster: &str,
    service: &str,
    current: &str,
) -> Result<Option<String>, AwsFault> {
    let mut briefs = list_service_deployments(
        aws,
        cluster,
        service,
        Some(ServiceDeploymentStatus::Successful),
    )
    .await?;
    briefs.sort_by_key(|b| std::cmp::Reverse(b.created_at));
    let revisions: Vec<String> = briefs
        .into_iter()
        .filter_map(|b| b.target_revision)
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
        .map_err(|e| classify(&e))?;
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

/// Tags the service with what was deployed and what ran before (the `previous` fallback).
pub async fn record_deploy_tags(aws: &Clients, service: &Service, deployed: &str, previous: &str) {
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

/// Tags the service with where a completed rollback went.
pub async fn record_rollback_tag(aws: &Clients, service: &Service, rolled_back_to: &str) {
    write_tags(aws, service, &[(ROLLED_BACK_TAG, rolled_back_to)]).await;
}

async fn write_tags(aws: &Clients, service: &Service, tags: &[(&str, &str)]) {
    let Some(arn) = service.service_arn() else {
        return;
    };
    let names = tags.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
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
            classify(&e).message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Some(Strategy::BlueGreen),
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
