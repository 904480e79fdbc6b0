//! `deploy`: pre-flight, the migration gate, UpdateService, follow the deployment, bake, roll
//! back when needed, tag the service.

use crate::aws::Clients;
use crate::aws::cloudwatch::alarm_states;
use crate::aws::ecs::{self, MigrationTask, Service, ServiceUpdate};
use crate::checks::{self, CredentialCheck, Refusal};
use crate::config::{DeployConfig, PreDeploy, ServiceRef};
use crate::decide::{Intent, Verdict};
use crate::follow::{self, FollowSettings, Watcher};
use crate::report::{self, Followed, with_error_outputs, with_failed_outputs};
use gantry_kit::fmt::format_duration;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use gantry_kit::{Error, Report};
use std::time::SystemTime;

/// What pre-flight found.
#[derive(Debug, Clone)]
struct Preflight {
    service: Service,
    previous: String,
    container: Option<String>,
}

/// Runs `deploy`; every error carries the action's outputs.
pub async fn deploy<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &DeployConfig,
) -> Result<Report, Error> {
    deploy_steps(aws, clock, cfg)
        .await
        .map_err(|e| with_error_outputs(e, cfg.task_definition.as_str(), ""))
}

async fn deploy_steps<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &DeployConfig,
) -> Result<Report, Error> {
    let td = cfg.task_definition.as_str();
    // Nothing is written before UpdateService: a pre-flight AWS never answers is exit 1.
    let pre = gantry_kit::poll::until(
        clock,
        clock.elapsed() + cfg.timeout,
        preflight(aws, clock, cfg),
    )
    .await
    .unwrap_or_else(|| {
        Err(Error::failed(format!(
            "pre-flight: AWS did not answer within the timeout ({}); nothing was changed",
            format_duration(cfg.timeout)
        ))
        .with_hint("check the network and AWS_ENDPOINT_URL; re-running is safe"))
    })?;
    let config = ecs::deployment_configuration(
        pre.service.deployment_configuration(),
        cfg.circuit_breaker,
        &cfg.alarms,
        cfg.strategy,
    )?;
    if cfg.dry_run {
        return Ok(report::dry_run(
            cfg,
            &pre.previous,
            pre.container.as_deref(),
        ));
    }
    if let (Some(p), Some(container)) = (&cfg.pre_deploy, &pre.container) {
        migrate(aws, clock, cfg, p, container, &pre.service)
            .await
            .map_err(|e| with_failed_outputs(e, "", td, &pre.previous, clock.elapsed()))?;
    }
    let mut w = Watcher::default();
    w.baseline(&pre.service);
    w.baseline_stopped_tasks(aws, &cfg.cluster, &cfg.service)
        .await;
    w.mark_start();
    let back = report::rollback_command(
        &ServiceRef {
            cluster: cfg.cluster.clone(),
            service: cfg.service.clone(),
        },
        &pre.previous,
    );
    let id = {
        let _g = gantry_kit::report::group("Update service");
        let update = ServiceUpdate {
            cluster: &cfg.cluster,
            service: &cfg.service,
            task_definition: td,
            desired_count: cfg.desired_count,
            force_new_deployment: cfg.force_new_deployment,
            configuration: config.clone(),
        };
        let deadline = clock.elapsed() + cfg.timeout;
        let hint = format!("check the service; to put it back: {back}");
        super::update_service(
            aws,
            clock,
            update,
            deadline,
            cfg.timeout,
            "deployment",
            hint,
        )
        .await
        .map_err(|e| with_error_outputs(e, td, &pre.previous))?
    };
    let started = clock.elapsed();
    let f = FollowSettings {
        cluster: &cfg.cluster,
        service: &cfg.service,
        alarms: &cfg.alarms,
        timeout: cfg.timeout,
        bake: cfg.bake_time,
        interval: cfg.poll_interval,
        rollback_config: config,
    };
    let ctx = Intent {
        target: td.to_owned(),
        previous: pre.previous.clone(),
        roll_back_on_failure: cfg.roll_back_on_failure,
        ecs_rolls_back: ecs::ecs_rolls_back(&f.rollback_config),
    };
    let (v, tl) = follow::drive(aws, clock, &mut w, &f, &ctx, &id, started + cfg.timeout)
        .await
        // AWS stopped answering mid-way: the deployment goes on in ECS; say which one it is.
        .map_err(|e| {
            let ran = clock.elapsed().saturating_sub(started);
            with_failed_outputs(e, &id, td, &pre.previous, ran)
        })?;
    // An ECS rollback is a rollback to the recorded target too (ECS goes back to the last
    // COMPLETED deployment, which is what the service ran when we started).
    let rolled_back_to = if v.rolled_back() {
        pre.previous.as_str()
    } else {
        ""
    };
    if v == Verdict::Completed && pre.previous != td {
        ecs::record_deploy_tags(aws, &pre.service, td, &pre.previous).await;
    }
    if !rolled_back_to.is_empty() {
        ecs::record_rollback_tag(aws, &pre.service, rolled_back_to).await;
    }
    tracing::info!("verdict: {} {}", report::status_word(&v), v.reason());
    report::finish(
        &Followed {
            previous: &pre.previous,
            target: td,
            deployment_id: &id,
            timeline: &tl,
            events: w.events,
            stopped: w.stopped,
            verdict: &v,
            rollback_command: if pre.previous.is_empty() { "" } else { &back },
        },
        rolled_back_to,
    )
}

/// The read-only pre-flight: service, task definition, migration container, strategy, guard
/// alarms, a deployment in progress, the credentials' expiry; then what the service runs now.
async fn preflight<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &DeployConfig,
) -> Result<Preflight, Error> {
    let _g = gantry_kit::report::group("Pre-flight");
    let td = cfg.task_definition.as_str();
    let mut service = ecs::describe_service(aws, &cfg.cluster, &cfg.service).await?;
    checks::deployment_controller(&cfg.service, ecs::deployment_controller(&service))?;
    // The task definition exists and is ACTIVE (a read: a bad one is bad input, exit 2).
    let facts = ecs::describe_task_definition(aws, td).await?;
    checks::task_definition_active(td, &facts.status)?;
    let container = match &cfg.pre_deploy {
        None => None,
        Some(p) => Some(checks::migration_container(
            td,
            &facts.containers,
            p.container.as_deref(),
        )?),
    };
    checks::strategy_supported(
        cfg.strategy,
        &cfg.service,
        &ecs::load_balancers_advanced(&service),
    )?;
    let (alarms, missing) = alarm_states(aws, &cfg.alarms).await?;
    checks::guard_alarms(&alarms, &missing)?;
    if let Some(what) = checks::busy(&ecs::deployments_of(&service)) {
        if !cfg.wait_when_busy {
            return Err(Refusal::Busy {
                service: cfg.service.clone(),
                what,
            }
            .into());
        }
        tracing::info!("service is busy ({what}); waiting (on-busy: wait)");
        service = wait_until_idle(aws, clock, cfg).await?;
    }
    match checks::credentials(
        aws.credential_expiry().await,
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
    let previous = ecs::current_task_definition(&service).to_owned();
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

/// `--on-busy wait`: polls until no other deployment is in progress, within the timeout.
async fn wait_until_idle<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &DeployConfig,
) -> Result<Service, Error> {
    let r = poll(
        clock,
        Schedule {
            interval: cfg.poll_interval,
            deadline: clock.elapsed() + cfg.timeout,
        },
        |_| async {
            let s = ecs::describe_service(aws, &cfg.cluster, &cfg.service).await?;
            Ok(match checks::busy(&ecs::deployments_of(&s)) {
                Some(w) => Probe::Pending(w),
                None => Probe::Ready(s),
            })
        },
    )
    .await;
    match r {
        Ok(s) => Ok(s),
        Err(PollError::Probe(e)) => Err(e),
        Err(PollError::Deadline { last, .. }) => Err(Error::deadline(format!(
            "service `{}` was still busy at the deadline: {last}; nothing was changed",
            cfg.service
        ))),
    }
}

/// Runs the migration command once as a task and requires exit code 0 from its container.
async fn migrate<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &DeployConfig,
    pre: &PreDeploy,
    container: &str,
    service: &Service,
) -> Result<(), Error> {
    let _g = gantry_kit::report::group("Migration task");
    let arn = ecs::run_migration_task(
        aws,
        MigrationTask {
            cluster: &cfg.cluster,
            task_definition: cfg.task_definition.as_str(),
            container,
            command: &pre.command,
        },
        service,
    )
    .await?;
    tracing::info!("migration task {arn}: {}", pre.command.join(" "));
    let r = poll(
        clock,
        Schedule {
            interval: cfg.poll_interval,
            deadline: clock.elapsed() + pre.timeout,
        },
        |_| async {
            Ok(
                match ecs::describe_migration_task(aws, &cfg.cluster, &arn).await? {
                    None => Probe::Pending("not visible yet".into()),
                    Some(t) if t.last_status == "STOPPED" => Probe::Ready(t),
                    Some(t) => Probe::Pending(t.last_status),
                },
            )
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
    let reason = task.stopped_reason.as_deref().unwrap_or("no stop reason");
    let codes: Vec<String> = task.containers.iter().map(|c| c.describe()).collect();
    tracing::info!("migration task stopped: {reason}; {}", codes.join(", "));
    checks::migration_outcome(container, &task.containers, reason)?;
    Ok(())
}
