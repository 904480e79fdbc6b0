//! `rollback`: put the service on `--to` (or `previous`) and follow that deployment.

use crate::aws::ecs::{self, Service, ServiceUpdate};
use crate::aws::{Clients, fault_label};
use crate::checks;
use crate::config::{RollbackConfig, RollbackTo};
use crate::decide::{self, Intent, Verdict};
use crate::follow::{self, FollowSettings, Watcher};
use crate::report::{self, Followed, with_error_outputs};
use gantry_kit::fmt::format_duration;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use std::time::Duration;

/// Runs `rollback`; every error carries the action's outputs.
pub async fn rollback<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    rollback_steps(aws, clock, cfg)
        .await
        .map_err(|e| with_error_outputs(e, super::rollback_to(cfg), ""))
}

async fn rollback_steps<C: Clock>(
    aws: &Clients,
    clock: &C,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    let deadline = clock.elapsed() + cfg.timeout;
    // Nothing is written before UpdateService: a look-up AWS never answers is exit 1.
    let (service, target, how) = gantry_kit::poll::until(clock, deadline, async {
        let service = ecs::describe_service(aws, &cfg.cluster, &cfg.service).await?;
        let (target, how) = match &cfg.to {
            RollbackTo::Arn(a) => (a.as_str().to_owned(), "--to"),
            RollbackTo::Previous => resolve_previous(aws, cfg, &service).await?,
        };
        Ok::<_, Error>((service, target, how))
    })
    .await
    .unwrap_or_else(|| {
        Err(Error::failed(format!(
            "AWS did not answer within the timeout ({}); nothing was changed",
            format_duration(cfg.timeout)
        ))
        .with_hint("check the network and AWS_ENDPOINT_URL; re-running is safe"))
    })?;
    let current = ecs::current_task_definition(&service).to_owned();
    tracing::info!(
        "rolling back {} from {current} to {target} ({how})",
        cfg.service
    );
    if decide::rollback_already_done(&target, &current, &ecs::deployments_of(&service)) {
        // Re-run of a rollback that already completed: nothing to do.
        return Ok(report::already_rolled_back(&target, &current));
    }
    let config =
        ecs::deployment_configuration(service.deployment_configuration(), true, &[], None)?;
    let mut w = Watcher::default();
    w.baseline(&service);
    w.mark_start();
    let update = ServiceUpdate {
        cluster: &cfg.cluster,
        service: &cfg.service,
        task_definition: &target,
        desired_count: None,
        force_new_deployment: false,
        configuration: config.clone(),
    };
    let hint = "check the service; re-running the rollback is safe".to_owned();
    let id = super::update_service(aws, clock, update, deadline, cfg.timeout, "rollback", hint)
        .await
        .map_err(|e| with_error_outputs(e, &target, &current))?;
    let started = clock.elapsed();
    let f = FollowSettings {
        cluster: &cfg.cluster,
        service: &cfg.service,
        alarms: &[],
        timeout: cfg.timeout,
        bake: Duration::ZERO,
        interval: cfg.poll_interval,
        rollback_config: config,
    };
    let ctx = Intent {
        target: target.clone(),
        previous: current.clone(),
        // A rollback is never rolled back by us.
        roll_back_on_failure: false,
        ecs_rolls_back: ecs::ecs_rolls_back(&f.rollback_config),
    };
    let (v, tl) = follow::drive(aws, clock, &mut w, &f, &ctx, &id, started + cfg.timeout)
        .await
        .map_err(|e| with_error_outputs(e, &target, &current))?;
    // A successful rollback is exit 0; ECS undoing it is a failure of the rollback.
    let v = decide::rollback_verdict(v, &target);
    if v == Verdict::Completed {
        ecs::record_rollback_tag(aws, &service, &target).await;
    }
    report::finish(
        &Followed {
            previous: &current,
            target: &target,
            deployment_id: &id,
            timeline: &tl,
            events: w.events,
            stopped: w.stopped,
            verdict: &v,
            rollback_command: "",
        },
        if v == Verdict::Completed { &target } else { "" },
    )
}

/// Where `rollback --to previous` goes, and how it was found: the service's last rollback, the
/// ServiceDeployment history, else the service's tags.
async fn resolve_previous(
    aws: &Clients,
    cfg: &RollbackConfig,
    service: &Service,
) -> Result<(String, &'static str), Error> {
    let current = ecs::current_task_definition(service);
    let tags = ecs::rollout_tags(service);
    if checks::already_rolled_back(current, &tags) {
        return Ok((current.to_owned(), "the service's last rollback"));
    }
    match ecs::previous_from_history(aws, &cfg.cluster, &cfg.service, current).await {
        Ok(Some(td)) => return Ok((td, "ServiceDeployment history")),
        Ok(None) => {
            tracing::info!("no earlier successful deployment in the ServiceDeployment history")
        }
        Err(f) => tracing::info!(
            "ServiceDeployment history not available ({}); using the service's {} tag",
            fault_label(&f),
            ecs::PREVIOUS_TAG
        ),
    }
    Ok((
        checks::previous_from_tags(&cfg.service, current, &tags)?,
        "service tag",
    ))
}
