//! The watcher: polls the service at a fixed interval, prints what is new (service events,
//! stopped tasks), finds our ServiceDeployment, asks [`decide`](crate::decide) what to do and
//! acts on the [`Transition`] it comes to, until a verdict.

use crate::aws::Clients;
use crate::aws::cloudwatch::alarm_states;
use crate::aws::ecs::{self, Service, ServiceUpdate};
use crate::decide::{
    self, Decision, Intent, ServiceDeploymentView, Snapshot, Stage, StageTimes, Timeline,
    Transition, Verdict,
};
use aws_sdk_ecs::types::DeploymentConfiguration;
use gantry_kit::Error;
use gantry_kit::fmt::format_duration;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

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
    /// Since when (on the run's clock) AWS has not answered a poll; `None` while it answers.
    unknown_since: Option<Duration>,
}

impl Watcher {
    /// Marks the service's events as seen, so only new ones are printed.
    pub fn baseline(&mut self, s: &Service) {
        for (id, _) in ecs::events_of(s) {
            self.seen_events.insert(id);
        }
    }

    /// Marks the service's stopped tasks as seen: those from before the deploy are not news.
    pub async fn baseline_stopped_tasks(&mut self, aws: &Clients, cluster: &str, service: &str) {
        if let Ok(arns) = ecs::stopped_task_arns(aws, cluster, service).await {
            self.seen_tasks.extend(arns);
        }
    }

    /// Notes that UpdateService is about to be called.
    pub fn mark_start(&mut self) {
        self.started = Some(aws_smithy_types::DateTime::from(SystemTime::now()));
    }

    fn print_events(&mut self, s: &Service) {
        let new: Vec<String> = ecs::events_of(s)
            .into_iter()
            .filter(|(id, _)| self.seen_events.insert(id.clone()))
            .map(|(_, message)| message)
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

    async fn print_stopped_tasks(&mut self, aws: &Clients, cluster: &str, service: &str) {
        let arns: Vec<String> = match ecs::stopped_task_arns(aws, cluster, service).await {
            Ok(arns) => arns
                .into_iter()
                .filter(|a| !self.seen_tasks.contains(a))
                .collect(),
            Err(f) => {
                tracing::debug!("ListTasks: {}", f.message);
                return;
            }
        };
        if arns.is_empty() {
            return;
        }
        let Some(tasks) = ecs::describe_tasks(aws, cluster, &arns).await else {
            return;
        };
        let _g = gantry_kit::report::group(&format!("Stopped tasks ({} new)", tasks.len()));
        for t in tasks {
            if self.seen_tasks.insert(t.arn.clone()) {
                self.stopped += 1;
            }
            let codes: Vec<String> = t
                .containers
                .iter()
                .map(|c| {
                    let reason = c
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    format!("{}{reason}", c.describe())
                })
                .collect();
            tracing::info!(
                "task {} stopped: {}; {}",
                t.arn.rsplit('/').next().unwrap_or(&t.arn),
                t.stopped_reason.as_deref().unwrap_or("no reason"),
                codes.join(", ")
            );
        }
    }

    /// Our ServiceDeployment, when the API is there; `None` falls back to describe_services.
    async fn service_deployment(
        &mut self,
        aws: &Clients,
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
                let briefs = match ecs::list_service_deployments(aws, cluster, service, None).await
                {
                    Ok(b) => b,
                    Err(f) => {
                        self.fall_back(&f);
                        return None;
                    }
                };
                self.sd_api = Some(true);
                let suffix = deployment_id.rsplit('/').next().unwrap_or(deployment_id);
                let by_id = briefs.iter().find(|b| {
                    b.arn
                        .as_deref()
                        .is_some_and(|a| a.ends_with(&format!("/{suffix}")))
                });
                // Else the newest one created since our UpdateService.
                let since = self.started.map(|s| s.secs() - 60).unwrap_or(i64::MIN);
                let newest = briefs
                    .iter()
                    .filter(|b| b.created_at.is_some_and(|c| c >= since))
                    .max_by_key(|b| b.created_at);
                let arn = by_id.or(newest)?.arn.clone()?;
                self.sd_arns.push((deployment_id.to_owned(), arn.clone()));
                arn
            }
        };
        match ecs::describe_service_deployment(aws, &arn).await {
            Ok(view) => view,
            Err(f) => {
                self.fall_back(&f);
                None
            }
        }
    }

    fn fall_back(&mut self, f: &gantry_kit::aws::AwsFault) {
        if self.sd_api != Some(false) {
            tracing::info!(
                "ServiceDeployment API not available ({}); following describe_services deployments",
                crate::aws::fault_label(f)
            );
        }
        self.sd_api = Some(false);
    }

    /// One poll: the service (events printed), stopped tasks, our ServiceDeployment, and — in
    /// the bake — the guard alarms.
    async fn snapshot(
        &mut self,
        aws: &Clients,
        f: &FollowSettings<'_>,
        stage: &Stage,
    ) -> Result<Snapshot, Error> {
        let s = ecs::describe_service(aws, f.cluster, f.service).await?;
        self.print_events(&s);
        self.print_stopped_tasks(aws, f.cluster, f.service).await;
        let sd_of = match stage {
            Stage::Deploying { id, .. } | Stage::Bake { id, .. } => Some(id.as_str()),
            Stage::EcsRollback { failed_id, .. } => Some(failed_id.as_str()),
            Stage::OurRollback { .. } => None,
        };
        let service_deployment = match sd_of {
            Some(id) => self.service_deployment(aws, f.cluster, f.service, id).await,
            None => None,
        };
        let alarms = match stage {
            Stage::Bake { .. } => alarm_states(aws, f.alarms).await?.0,
            _ => Vec::new(),
        };
        Ok(Snapshot {
            deployments: ecs::deployments_of(&s),
            service_deployment,
            alarms,
        })
    }
}

/// What following a deployment needs.
#[derive(Debug, Clone)]
pub struct FollowSettings<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    pub alarms: &'a [String],
    pub timeout: Duration,
    pub bake: Duration,
    pub interval: Duration,
    /// The deploymentConfiguration for our own rollback.
    pub rollback_config: DeploymentConfiguration,
}

/// Follows the deployment `id` that UpdateService started: polls at a fixed interval and acts
/// on [`decide::decide`] until a verdict; the deployment must settle by `deadline`.
pub async fn drive<C: Clock>(
    aws: &Clients,
    clock: &C,
    w: &mut Watcher,
    f: &FollowSettings<'_>,
    ctx: &Intent,
    id: &str,
    deadline: Duration,
) -> Result<(Verdict, Timeline), Error> {
    let mut stage = Stage::Deploying {
        id: id.to_owned(),
        deadline,
    };
    let mut tl = Timeline {
        started: clock.elapsed(),
        ..Timeline::default()
    };
    let shared = futures::lock::Mutex::new(std::mem::take(w));
    let r = drive_stages(aws, clock, &shared, f, ctx, &mut stage, &mut tl).await;
    *w = shared.into_inner();
    r.map(|v| (v, tl))
}

/// One stage's poll, until [`decide::decide`] says something other than wait. A poll AWS did
/// not answer (the network, a timeout, throttling, a 5xx) is "unknown": logged, and polled again
/// until the stage's deadline; any other error ends the rollout.
async fn poll_stage<C: Clock>(
    aws: &Clients,
    clock: &C,
    w: &futures::lock::Mutex<Watcher>,
    f: &FollowSettings<'_>,
    ctx: &Intent,
    stage: &Stage,
) -> Result<Decision, Error> {
    let r = poll(
        clock,
        Schedule {
            interval: f.interval,
            deadline: stage.deadline(),
        },
        |_| {
            let stage = stage.clone();
            async move {
                let mut watcher = w.lock().await;
                let snap = match watcher.snapshot(aws, f, &stage).await {
                    Ok(snap) => {
                        if let Some(since) = watcher.unknown_since.take() {
                            tracing::info!(
                                "AWS answers again after {} without an answer",
                                format_duration(clock.elapsed().saturating_sub(since))
                            );
                        }
                        snap
                    }
                    Err(e) if e.is_transient() => {
                        let since = *watcher.unknown_since.get_or_insert(clock.elapsed());
                        let seen = format!("unknown: {}", e.message());
                        tracing::warn!(
                            "{seen} (no answer for {}); polling again until the deadline",
                            format_duration(clock.elapsed().saturating_sub(since))
                        );
                        return Ok(Probe::Pending(seen));
                    }
                    Err(e) => return Err(e),
                };
                drop(watcher);
                Ok::<_, Error>(match decide::decide(&stage, &snap, ctx, clock.elapsed()) {
                    Decision::Wait(seen) => {
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
        Ok(decision) => Ok(decision),
        Err(PollError::Probe(e)) => Err(e),
        Err(PollError::Deadline { last, answered, .. }) => {
            let watched = answered && w.lock().await.unknown_since.is_none();
            Ok(decide::at_deadline(stage, ctx, last, watched))
        }
    }
}

async fn drive_stages<C: Clock>(
    aws: &Clients,
    clock: &C,
    w: &futures::lock::Mutex<Watcher>,
    f: &FollowSettings<'_>,
    ctx: &Intent,
    stage: &mut Stage,
    tl: &mut Timeline,
) -> Result<Verdict, Error> {
    let times = StageTimes {
        bake: f.bake,
        timeout: f.timeout,
    };
    loop {
        let decision = poll_stage(aws, clock, w, f, ctx, stage).await?;
        if let Decision::RollBack(cause) = &decision {
            tracing::warn!("{cause}; rolling back to {}", ctx.previous);
        }
        let now = clock.elapsed();
        match decide::next_phase(decision, stage, ctx, times, now, tl) {
            Transition::Stay => {}
            Transition::End(v) => return Ok(v),
            Transition::Enter(next) => {
                match &next {
                    Stage::Bake { id, .. } => tracing::info!(
                        "deployment {id} COMPLETED; baking for {}",
                        format_duration(f.bake)
                    ),
                    Stage::EcsRollback { cause, .. } => tracing::warn!(
                        "{cause}; following ECS's rollback (gantry does not start another)"
                    ),
                    Stage::Deploying { .. } | Stage::OurRollback { .. } => {}
                }
                *stage = next;
            }
            Transition::StartRollback { cause, deadline } => {
                let _g = gantry_kit::report::group("Rollback");
                let update = ecs::update(
                    aws,
                    ServiceUpdate {
                        cluster: f.cluster,
                        service: f.service,
                        task_definition: &ctx.previous,
                        desired_count: None,
                        force_new_deployment: false,
                        configuration: f.rollback_config.clone(),
                    },
                );
                let started = gantry_kit::poll::until(clock, deadline, update)
                    .await
                    .unwrap_or_else(|| {
                        Err(
                            Error::failed("ECS UpdateService did not answer before the deadline")
                                .transient(),
                        )
                    });
                match started {
                    Ok(id) => {
                        tl.rollback_deployment = Some(id.clone());
                        *stage = Stage::OurRollback {
                            id,
                            cause,
                            deadline,
                        };
                    }
                    // AWS did not answer: whether the service changed is not known.
                    Err(e) if e.is_transient() => {
                        tl.ended = clock.elapsed();
                        return Ok(Verdict::Unknown(format!(
                            "{cause}; the rollback could not be started, AWS did not answer: {}",
                            e.message()
                        )));
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
        }
    }
}
