//! The rollout decision as a pure state machine: `decide(stage, snapshot, intent, now) ->
//! Decision`, then `next_phase(decision, …) -> Transition`.
//!
//! The caller polls ECS (and, during the bake, CloudWatch) at a fixed interval, turns what it saw
//! into a [`Snapshot`] and asks [`decide`] what to do next, and [`next_phase`] which stage comes
//! of it. Nothing here calls AWS, so every case — success, ECS's own rollback, a replaced
//! deployment, an alarm in the bake, a deadline — is tested with plain data.

use std::time::Duration;

/// A deployment's `rolloutState` (DescribeServices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    InProgress,
    Completed,
    Failed,
    Unknown,
}

impl Rollout {
    pub fn parse(s: &str) -> Self {
        match s {
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            _ => Self::Unknown,
        }
    }
}

/// A deployment's `status` (DescribeServices): the one PRIMARY is what the service is moving to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    Primary,
    Active,
    Inactive,
}

impl DeploymentStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "PRIMARY" => Self::Primary,
            "ACTIVE" => Self::Active,
            _ => Self::Inactive,
        }
    }
}

/// One entry of `service.deployments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub status: DeploymentStatus,
    pub task_definition: String,
    pub rollout: Rollout,
    pub reason: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
}

/// A ServiceDeployment's `status` (DescribeServiceDeployments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdStatus {
    Pending,
    InProgress,
    Successful,
    Stopped,
    StopRequested,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
    Unknown,
}

impl SdStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "PENDING" => Self::Pending,
            "IN_PROGRESS" => Self::InProgress,
            "SUCCESSFUL" => Self::Successful,
            "STOPPED" => Self::Stopped,
            "STOP_REQUESTED" => Self::StopRequested,
            "ROLLBACK_REQUESTED" => Self::RollbackRequested,
            "ROLLBACK_IN_PROGRESS" => Self::RollbackInProgress,
            "ROLLBACK_SUCCESSFUL" => Self::RollbackSuccessful,
            "ROLLBACK_FAILED" => Self::RollbackFailed,
            _ => Self::Unknown,
        }
    }
}

/// The ServiceDeployment of the deployment being followed, when that API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDeploymentView {
    pub arn: String,
    pub status: SdStatus,
    pub status_reason: String,
    /// `rollback.reason`, when ECS rolled back.
    pub rollback_reason: Option<String>,
}

/// A CloudWatch alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
}

/// What one poll saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub deployments: Vec<Deployment>,
    pub service_deployment: Option<ServiceDeploymentView>,
    /// Guard alarms (fetched during the bake only).
    pub alarms: Vec<Alarm>,
}

impl Snapshot {
    pub fn find(&self, id: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.id == id)
    }
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.status == DeploymentStatus::Primary)
    }
}

/// Where the rollout is. Deadlines and the bake's end are times on the run's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Following our deployment to COMPLETED.
    Deploying { id: String, deadline: Duration },
    /// Our deployment COMPLETED; watching the guard alarms until `until`.
    Bake { id: String, until: Duration },
    /// ECS is rolling our deployment back by itself; we only watch.
    EcsRollback {
        failed_id: String,
        cause: String,
        deadline: Duration,
    },
    /// We rolled back (deployment `id`) because of `cause`.
    OurRollback {
        id: String,
        cause: String,
        deadline: Duration,
    },
}

impl Stage {
    /// When the poll of this phase ends at the latest.
    pub fn deadline(&self) -> Duration {
        match self {
            Self::Deploying { deadline, .. }
            | Self::EcsRollback { deadline, .. }
            | Self::OurRollback { deadline, .. } => *deadline,
            Self::Bake { until, .. } => *until,
        }
    }
}

/// What does not change during a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The task definition being deployed.
    pub target: String,
    /// The task definition the service ran before: where a rollback goes.
    pub previous: String,
    /// `--rollback on-failure`.
    pub roll_back_on_failure: bool,
    /// ECS rolls a FAILED deployment back by itself (circuit breaker or deployment alarms with
    /// `rollback` on): a FAILED deployment that is still PRIMARY is waited on, not rolled back
    /// by us, so that our rollback never lands on top of ECS's.
    pub ecs_rolls_back: bool,
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// COMPLETED and baked (exit 0).
    Completed,
    /// ECS rolled the deployment back by itself (exit 3).
    RolledBackByEcs(String),
    /// We rolled back and the rollback completed (exit 3); the text is the cause.
    RolledBack(String),
    /// Failed and not rolled back, or the rollback failed (exit 1).
    Failed(String),
    /// The deadline passed without a completed rollback (exit 4).
    Deadline(String),
    /// AWS stopped answering, so how it ended is not known, and no rollback could be made
    /// (exit 4): the text says what was last seen.
    Unknown(String),
}

impl Verdict {
    /// ECS's rollback or ours completed: the service is back on the previous task definition.
    pub fn rolled_back(&self) -> bool {
        matches!(self, Self::RolledBack(_) | Self::RolledBackByEcs(_))
    }

    /// The cause ("" for Completed).
    pub fn reason(&self) -> &str {
        match self {
            Self::Completed => "",
            Self::RolledBackByEcs(r)
            | Self::RolledBack(r)
            | Self::Failed(r)
            | Self::Deadline(r)
            | Self::Unknown(r) => r,
        }
    }
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do yet: poll again. The text says what was seen.
    Wait(String),
    /// Our deployment COMPLETED: start the bake.
    Bake,
    /// ECS is rolling back by itself: follow that, never start a second rollback.
    FollowEcsRollback(String),
    /// Start our own rollback to `ctx.previous`; the text is the cause.
    RollBack(String),
    /// Finished.
    Done(Verdict),
}

fn counts(d: &Deployment) -> String {
    format!(
        "{} running, {} pending of {} desired{}",
        d.running,
        d.pending,
        d.desired,
        if d.failed_tasks > 0 {
            format!(", {} failed tasks", d.failed_tasks)
        } else {
            String::new()
        }
    )
}

fn or_default(reason: &str, default: &str) -> String {
    if reason.trim().is_empty() {
        default.to_owned()
    } else {
        reason.to_owned()
    }
}

/// The deadline step: roll back when allowed, else stop with exit 4.
fn deadline_step(ctx: &Intent, what: String) -> Decision {
    if ctx.roll_back_on_failure {
        Decision::RollBack(what)
    } else {
        Decision::Done(Verdict::Deadline(what))
    }
}

/// A failure of our deployment that ECS did not roll back.
fn failure_step(ctx: &Intent, cause: String) -> Decision {
    if ctx.roll_back_on_failure {
        Decision::RollBack(cause)
    } else {
        Decision::Done(Verdict::Failed(cause))
    }
}

/// Our deployment is no longer PRIMARY (or gone): ECS's rollback, or someone else's deployment.
fn not_ours_any_more(id: &str, snap: &Snapshot, ctx: &Intent, cause: &str) -> Decision {
    match snap.primary() {
        Some(p) if p.task_definition == ctx.previous && p.task_definition != ctx.target => {
            let reason = format!(
                "ECS rolled deployment {id} back to {} ({cause})",
                ctx.previous
            );
            if p.rollout == Rollout::Completed {
                Decision::Done(Verdict::RolledBackByEcs(reason))
            } else {
                Decision::FollowEcsRollback(reason)
            }
        }
        Some(p) => Decision::Done(Verdict::Failed(format!(
            "deployment {id} was replaced by deployment {} of {} ({cause})",
            p.id, p.task_definition
        ))),
        None => Decision::Done(Verdict::Failed(format!(
            "deployment {id} is gone and the service has no PRIMARY deployment ({cause})"
        ))),
    }
}

/// Decides the next step from what the last poll saw. `now` is the run's clock.
pub fn decide(phase: &Stage, snap: &Snapshot, ctx: &Intent, now: Duration) -> Decision {
    match phase {
        Stage::Deploying { id, deadline } => deploying(id, *deadline, snap, ctx, now),
        Stage::Bake { id, until } => bake(id, *until, snap, ctx, now),
        Stage::EcsRollback {
            failed_id,
            cause,
            deadline,
        } => ecs_rollback(failed_id, cause, *deadline, snap, ctx, now),
        Stage::OurRollback {
            id,
            cause,
            deadline,
        } => our_rollback(id, cause, *deadline, snap, now),
    }
}

fn deploying(
    id: &str,
    deadline: Duration,
    snap: &Snapshot,
    ctx: &Intent,
    now: Duration,
) -> Decision {
    let ours = snap.find(id);
    // The ServiceDeployment API says what ECS decided, rollback included, in one field.
    if let Some(sd) = &snap.service_deployment {
        let reason = or_default(&sd.status_reason, "no reason given");
        match sd.status {
            SdStatus::Successful => return Decision::Bake,
            SdStatus::RollbackSuccessful => {
                let why = sd.rollback_reason.clone().unwrap_or(reason);
                return Decision::Done(Verdict::RolledBackByEcs(format!(
                    "ECS rolled deployment {id} back to {}: {why}",
                    ctx.previous
                )));
            }
            SdStatus::RollbackRequested | SdStatus::RollbackInProgress => {
                let why = sd.rollback_reason.clone().unwrap_or(reason);
                return Decision::FollowEcsRollback(format!(
                    "ECS is rolling deployment {id} back to {}: {why}",
                    ctx.previous
                ));
            }
            SdStatus::RollbackFailed => {
                return Decision::Done(Verdict::Failed(format!(
                    "deployment {id} failed and ECS's rollback failed too: {reason}"
                )));
            }
            SdStatus::Stopped | SdStatus::StopRequested => {
                return not_ours_any_more(id, snap, ctx, &format!("stopped: {reason}"));
            }
            SdStatus::Pending | SdStatus::InProgress | SdStatus::Unknown => {}
        }
    }
    let step = match ours {
        None => not_ours_any_more(
            id,
            snap,
            ctx,
            "it is no longer in the service's deployments",
        ),
        Some(d) => match (d.status, d.rollout) {
            (DeploymentStatus::Primary, Rollout::Completed) => Decision::Bake,
            (_, Rollout::Failed) => {
                let cause = format!(
                    "deployment {id} FAILED: {}",
                    or_default(&d.reason, "no reason given")
                );
                match snap.primary() {
                    // ECS's circuit breaker started a deployment of the previous revision.
                    Some(p) if p.id != d.id => not_ours_any_more(id, snap, ctx, &cause),
                    // ECS is about to roll back to the COMPLETED deployment it still lists:
                    // watch for it, never race it. Without one, ECS has nothing to go back to.
                    _ if ctx.ecs_rolls_back
                        && snap
                            .deployments
                            .iter()
                            .any(|x| x.id != d.id && x.rollout == Rollout::Completed) =>
                    {
                        Decision::FollowEcsRollback(format!(
                            "{cause}; ECS rolls it back to {}",
                            ctx.previous
                        ))
                    }
                    _ => failure_step(ctx, cause),
                }
            }
            (DeploymentStatus::Primary, _) => Decision::Wait(format!(
                "deployment {id} {}: {}",
                match d.rollout {
                    Rollout::InProgress => "IN_PROGRESS",
                    _ => "in an unknown state",
                },
                counts(d)
            )),
            (_, _) => not_ours_any_more(id, snap, ctx, "it is no longer PRIMARY"),
        },
    };
    match step {
        Decision::Wait(seen) if now >= deadline => deadline_step(
            ctx,
            format!("deployment {id} did not complete before the deadline (last seen: {seen})"),
        ),
        other => other,
    }
}

fn bake(id: &str, until: Duration, snap: &Snapshot, ctx: &Intent, now: Duration) -> Decision {
    // ECS acting on its own comes first: never a second rollback on top of ECS's.
    if let Some(sd) = &snap.service_deployment
        && matches!(
            sd.status,
            SdStatus::RollbackRequested
                | SdStatus::RollbackInProgress
                | SdStatus::RollbackSuccessful
        )
    {
        return deploying(id, Duration::MAX, snap, ctx, now);
    }
    match snap.find(id) {
        Some(d) if d.status == DeploymentStatus::Primary => {}
        _ => return not_ours_any_more(id, snap, ctx, "during the bake"),
    }
    let firing: Vec<&Alarm> = snap
        .alarms
        .iter()
        .filter(|a| a.state == AlarmState::Alarm)
        .collect();
    if !firing.is_empty() {
        let names: Vec<String> = firing
            .iter()
            .map(|a| format!("{} ({})", a.name, or_default(&a.reason, "no reason given")))
            .collect();
        return failure_step(
            ctx,
            format!("alarm in ALARM during the bake: {}", names.join("; ")),
        );
    }
    if now >= until {
        Decision::Done(Verdict::Completed)
    } else {
        Decision::Wait(format!(
            "baking deployment {id}: {} alarm(s) OK, {}s left",
            snap.alarms.len(),
            until.saturating_sub(now).as_secs()
        ))
    }
}

fn ecs_rollback(
    failed_id: &str,
    cause: &str,
    deadline: Duration,
    snap: &Snapshot,
    ctx: &Intent,
    now: Duration,
) -> Decision {
    if let Some(sd) = &snap.service_deployment {
        match sd.status {
            SdStatus::RollbackSuccessful => {
                return Decision::Done(Verdict::RolledBackByEcs(cause.to_owned()));
            }
            SdStatus::RollbackFailed => {
                return Decision::Done(Verdict::Failed(format!(
                    "{cause}; ECS's rollback failed: {}",
                    or_default(&sd.status_reason, "no reason given")
                )));
            }
            _ => {}
        }
    }
    let step = match snap.primary() {
        Some(p) if p.id != failed_id && p.task_definition == ctx.previous => match p.rollout {
            Rollout::Completed => Decision::Done(Verdict::RolledBackByEcs(cause.to_owned())),
            Rollout::Failed => Decision::Done(Verdict::Failed(format!(
                "{cause}; ECS's rollback deployment {} FAILED: {}",
                p.id,
                or_default(&p.reason, "no reason given")
            ))),
            _ => Decision::Wait(format!(
                "ECS rollback deployment {} IN_PROGRESS: {}",
                p.id,
                counts(p)
            )),
        },
        Some(p) if p.id == failed_id => Decision::Wait(format!(
            "waiting for ECS to start its rollback of {failed_id}"
        )),
        Some(p) => Decision::Done(Verdict::Failed(format!(
            "{cause}; then deployment {} of {} replaced ECS's rollback",
            p.id, p.task_definition
        ))),
        None => Decision::Wait("no PRIMARY deployment yet".into()),
    };
    match step {
        // Never a second rollback on top of ECS's own: the deadline is the end.
        Decision::Wait(seen) if now >= deadline => Decision::Done(Verdict::Deadline(format!(
            "{cause}; ECS's rollback did not complete before the deadline (last seen: {seen})"
        ))),
        other => other,
    }
}

fn our_rollback(
    id: &str,
    cause: &str,
    deadline: Duration,
    snap: &Snapshot,
    now: Duration,
) -> Decision {
    let step = match snap.find(id) {
        Some(d) if d.status == DeploymentStatus::Primary => match d.rollout {
            Rollout::Completed => Decision::Done(Verdict::RolledBack(cause.to_owned())),
            Rollout::Failed => Decision::Done(Verdict::Failed(format!(
                "{cause}; the rollback deployment {id} FAILED too: {}",
                or_default(&d.reason, "no reason given")
            ))),
            _ => Decision::Wait(format!("rollback deployment {id}: {}", counts(d))),
        },
        _ => {
            let by = snap
                .primary()
                .map(|p| format!("deployment {} of {}", p.id, p.task_definition))
                .unwrap_or_else(|| "nothing".into());
            Decision::Done(Verdict::Failed(format!(
                "{cause}; the rollback deployment {id} was replaced by {by}"
            )))
        }
    };
    match step {
        Decision::Wait(seen) if now >= deadline => Decision::Done(Verdict::Deadline(format!(
            "{cause}; the rollback did not complete before the deadline (last seen: {seen})"
        ))),
        other => other,
    }
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

/// How long the stages that [`next_phase`] starts may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTimes {
    /// The bake after COMPLETED.
    pub bake: Duration,
    /// The deadline of a rollback (ECS's or ours), from when it starts.
    pub timeout: Duration,
}

/// What the follow loop does after a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Poll the same stage again.
    Stay,
    /// Poll a new stage: the bake, or ECS's own rollback.
    Enter(Stage),
    /// Start our rollback to `intent.previous` (UpdateService), then follow it as
    /// [`Stage::OurRollback`] until `deadline`.
    StartRollback { cause: String, deadline: Duration },
    /// The rollout is over.
    End(Verdict),
}

/// The stage that follows `decision` in `stage` at `now`, and what it means for the timeline.
pub fn next_phase(
    decision: Decision,
    stage: &Stage,
    ctx: &Intent,
    times: StageTimes,
    now: Duration,
    tl: &mut Timeline,
) -> Transition {
    match (decision, stage) {
        (Decision::Done(v), _) => {
            tl.ended = now;
            if v == Verdict::Completed {
                tl.baked = Some(now);
            }
            Transition::End(v)
        }
        (Decision::Bake, Stage::Deploying { id, .. }) => {
            tl.completed = Some(now);
            Transition::Enter(Stage::Bake {
                id: id.clone(),
                until: now + times.bake,
            })
        }
        (Decision::Bake, _) => {
            tl.ended = now;
            Transition::End(Verdict::Completed)
        }
        (Decision::FollowEcsRollback(cause), st) => {
            let failed_id = match st {
                Stage::Deploying { id, .. } | Stage::Bake { id, .. } => id.clone(),
                Stage::EcsRollback { failed_id, .. } => failed_id.clone(),
                Stage::OurRollback { id, .. } => id.clone(),
            };
            Transition::Enter(Stage::EcsRollback {
                failed_id,
                cause,
                // ECS's rollback gets a timeout of its own, as ours does.
                deadline: now + times.timeout,
            })
        }
        (Decision::RollBack(cause), _) => {
            tl.rollback_started = Some(now);
            if ctx.previous.is_empty() {
                tl.ended = now;
                return Transition::End(Verdict::Failed(format!(
                    "{cause}; no earlier task definition to roll back to"
                )));
            }
            Transition::StartRollback {
                cause,
                deadline: now + times.timeout,
            }
        }
        (Decision::Wait(_), _) => Transition::Stay,
    }
}

/// The decision when a stage's poll ended past its deadline without one. `watched` says whether
/// the last poll saw the service: then the last probe was at (or just before) the deadline, where
/// [`decide`] has already acted, and this is only reached when the clock jumped past it.
/// Otherwise AWS did not answer at the end (network errors, timeouts, throttling): a bake that
/// was not watched to its end did not pass — it is rolled back (`on-failure`) or `unknown`.
/// `last` is what the last poll saw.
pub fn at_deadline(stage: &Stage, ctx: &Intent, last: String, watched: bool) -> Decision {
    match stage {
        Stage::Bake { .. } if watched => Decision::Done(Verdict::Completed),
        Stage::Bake { id, .. } => {
            let what =
                format!("the bake of deployment {id} could not be watched to its end: {last}");
            if ctx.roll_back_on_failure {
                Decision::RollBack(what)
            } else {
                Decision::Done(Verdict::Unknown(what))
            }
        }
        Stage::Deploying { id, .. } => {
            deadline_step(ctx, format!("deployment {id} did not complete: {last}"))
        }
        Stage::EcsRollback { cause, .. } | Stage::OurRollback { cause, .. } => {
            let what = format!(
                "{cause}; the rollback did not complete before the deadline (last seen: {last})"
            );
            // Not seen at the end: whether it completed is not known.
            Decision::Done(if watched {
                Verdict::Deadline(what)
            } else {
                Verdict::Unknown(what)
            })
        }
    }
}

/// A rollback's verdict: ECS undoing it (or it failing) is a failure of the rollback, exit 1.
pub fn rollback_verdict(v: Verdict, target: &str) -> Verdict {
    match v {
        Verdict::RolledBackByEcs(r) | Verdict::RolledBack(r) | Verdict::Failed(r) => {
            Verdict::Failed(format!("the rollback to {target} failed: {r}"))
        }
        other => other,
    }
}

/// A re-run of a rollback that already completed: the service is on `target`, its one
/// deployment PRIMARY and COMPLETED.
pub fn rollback_already_done(target: &str, current: &str, deployments: &[Deployment]) -> bool {
    let primary_done = deployments
        .iter()
        .any(|d| d.status == DeploymentStatus::Primary && d.rollout == Rollout::Completed);
    target == current && primary_done && deployments.len() == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentStatus::{Active, Primary};
    use Rollout::{Completed, Failed, InProgress};

    const OLD: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
    const NEW: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";
    const OTHER: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:3";

    fn dep(id: &str, status: DeploymentStatus, td: &str, rollout: Rollout) -> Deployment {
        Deployment {
            id: id.into(),
            status,
            task_definition: td.into(),
            rollout,
            reason: String::new(),
            desired: 2,
            running: 1,
            pending: 1,
            failed_tasks: 0,
        }
    }

    fn snap(deps: Vec<Deployment>) -> Snapshot {
        Snapshot {
            deployments: deps,
            ..Snapshot::default()
        }
    }

    fn ctx(roll_back: bool) -> Intent {
        Intent {
            target: NEW.into(),
            previous: OLD.into(),
            roll_back_on_failure: roll_back,
            ecs_rolls_back: false,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn deploying() -> Stage {
        Stage::Deploying {
            id: "ecs-svc/new".into(),
            deadline: secs(600),
        }
    }

    fn sd(status: SdStatus, rollback: Option<&str>) -> Option<ServiceDeploymentView> {
        Some(ServiceDeploymentView {
            arn: "arn:aws:ecs:us-east-1:1:service-deployment/c/s/new".into(),
            status,
            status_reason: "reason from ECS".into(),
            rollback_reason: rollback.map(str::to_owned),
        })
    }

    fn alarm(name: &str, state: AlarmState) -> Alarm {
        Alarm {
            name: name.into(),
            state,
            reason: "Threshold Crossed: 1 datapoint [9.0] was greater than 5.0".into(),
        }
    }

    #[test]
    fn in_progress_waits_then_completed_bakes() {
        let s = snap(vec![
            dep("ecs-svc/new", Primary, NEW, InProgress),
            dep("ecs-svc/old", Active, OLD, Completed),
        ]);
        let step = decide(&deploying(), &s, &ctx(true), secs(10));
        assert_eq!(
            step,
            Decision::Wait(
                "deployment ecs-svc/new IN_PROGRESS: 1 running, 1 pending of 2 desired".into()
            )
        );
        let s = snap(vec![dep("ecs-svc/new", Primary, NEW, Completed)]);
        assert_eq!(
            decide(&deploying(), &s, &ctx(true), secs(10)),
            Decision::Bake
        );
    }

    #[test]
    fn failed_with_ecs_rollback_in_progress_is_followed_not_repeated() {
        let mut failed = dep("ecs-svc/new", Active, NEW, Failed);
        failed.reason = "ECS deployment circuit breaker: tasks failed to start.".into();
        let s = snap(vec![
            dep("ecs-svc/rb", Primary, OLD, InProgress),
            failed.clone(),
        ]);
        for roll_back in [true, false] {
            match decide(&deploying(), &s, &ctx(roll_back), secs(10)) {
                Decision::FollowEcsRollback(r) => {
                    assert!(r.contains("ECS rolled deployment ecs-svc/new back"), "{r}");
                    assert!(r.contains("circuit breaker"), "{r}");
                }
                other => panic!("{other:?}"),
            }
        }
        let s = snap(vec![dep("ecs-svc/rb", Primary, OLD, Completed), failed]);
        assert!(matches!(
            decide(&deploying(), &s, &ctx(true), secs(10)),
            Decision::Done(Verdict::RolledBackByEcs(_))
        ));
    }

    #[test]
    fn failed_and_still_primary_is_ours_to_roll_back() {
        let mut d = dep("ecs-svc/new", Primary, NEW, Failed);
        d.reason = "tasks failed to start".into();
        let s = snap(vec![d]);
        assert_eq!(
            decide(&deploying(), &s, &ctx(true), secs(10)),
            Decision::RollBack("deployment ecs-svc/new FAILED: tasks failed to start".into())
        );
        assert_eq!(
            decide(&deploying(), &s, &ctx(false), secs(10)),
            Decision::Done(Verdict::Failed(
                "deployment ecs-svc/new FAILED: tasks failed to start".into()
            ))
        );
    }

    #[test]
    fn failed_and_still_primary_waits_for_ecs_when_ecs_rolls_back() {
        let mut d = dep("ecs-svc/new", Primary, NEW, Failed);
        d.reason = "ECS deployment circuit breaker: tasks failed to start.".into();
        let alone = snap(vec![d.clone()]);
        let s = snap(vec![d, dep("ecs-svc/old", Active, OLD, Completed)]);
        let c = Intent {
            ecs_rolls_back: true,
            ..ctx(true)
        };
        match decide(&deploying(), &s, &c, secs(10)) {
            Decision::FollowEcsRollback(r) => {
                assert!(r.contains("circuit breaker"), "{r}");
                assert!(r.contains(OLD), "{r}");
            }
            other => panic!("{other:?}"),
        }
        // In the EcsRollback phase it waits for ECS's deployment; the deadline is exit 4, never ours.
        let watching = Stage::EcsRollback {
            failed_id: "ecs-svc/new".into(),
            cause: "circuit breaker".into(),
            deadline: secs(600),
        };
        assert!(matches!(
            decide(&watching, &s, &c, secs(20)),
            Decision::Wait(_)
        ));
        assert!(matches!(
            decide(&watching, &s, &c, secs(600)),
            Decision::Done(Verdict::Deadline(_))
        ));
        // No COMPLETED deployment to go back to: ECS cannot roll back, so it is ours.
        assert!(matches!(
            decide(&deploying(), &alone, &c, secs(10)),
            Decision::RollBack(_)
        ));
    }

    #[test]
    fn our_deployment_gone_with_old_primary_is_ecs_rollback() {
        let s = snap(vec![dep("ecs-svc/old", Primary, OLD, Completed)]);
        match decide(&deploying(), &s, &ctx(true), secs(10)) {
            Decision::Done(Verdict::RolledBackByEcs(r)) => {
                assert!(r.contains("no longer in the service's deployments"), "{r}")
            }
            other => panic!("{other:?}"),
        }
        let s = snap(vec![dep("ecs-svc/rb", Primary, OLD, InProgress)]);
        assert!(matches!(
            decide(&deploying(), &s, &ctx(true), secs(10)),
            Decision::FollowEcsRollback(_)
        ));
    }

    #[test]
    fn another_deployment_replacing_ours_is_failed_naming_it() {
        for ours in [None, Some(dep("ecs-svc/new", Active, NEW, InProgress))] {
            let mut deps = vec![dep("ecs-svc/theirs", Primary, OTHER, InProgress)];
            deps.extend(ours);
            match decide(&deploying(), &snap(deps), &ctx(true), secs(10)) {
                Decision::Done(Verdict::Failed(r)) => {
                    assert!(
                        r.contains("replaced by deployment ecs-svc/theirs of"),
                        "{r}"
                    );
                    assert!(r.contains(OTHER), "{r}");
                }
                other => panic!("{other:?}"),
            }
        }
        match decide(&deploying(), &snap(vec![]), &ctx(true), secs(10)) {
            Decision::Done(Verdict::Failed(r)) => assert!(r.contains("no PRIMARY"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deadline_rolls_back_or_exits_4() {
        let s = snap(vec![
            dep("ecs-svc/new", Primary, NEW, InProgress),
            dep("ecs-svc/old", Active, OLD, Completed),
        ]);
        assert!(matches!(
            decide(&deploying(), &s, &ctx(true), secs(599)),
            Decision::Wait(_)
        ));
        match decide(&deploying(), &s, &ctx(true), secs(600)) {
            Decision::RollBack(r) => {
                assert!(r.contains("did not complete before the deadline"), "{r}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&deploying(), &s, &ctx(false), secs(600)),
            Decision::Done(Verdict::Deadline(_))
        ));
        // A verdict seen at the deadline still wins over the deadline.
        let done = snap(vec![dep("ecs-svc/new", Primary, NEW, Completed)]);
        assert_eq!(
            decide(&deploying(), &done, &ctx(true), secs(900)),
            Decision::Bake
        );
    }

    #[test]
    fn service_deployment_api_wins_over_describe_services() {
        let in_progress = snap(vec![dep("ecs-svc/new", Primary, NEW, InProgress)]);
        let with = |status, rollback| Snapshot {
            service_deployment: sd(status, rollback),
            ..in_progress.clone()
        };
        assert_eq!(
            decide(
                &deploying(),
                &with(SdStatus::Successful, None),
                &ctx(true),
                secs(1)
            ),
            Decision::Bake
        );
        match decide(
            &deploying(),
            &with(SdStatus::RollbackSuccessful, Some("alarm web-5xx in ALARM")),
            &ctx(true),
            secs(1),
        ) {
            Decision::Done(Verdict::RolledBackByEcs(r)) => assert!(r.contains("web-5xx"), "{r}"),
            other => panic!("{other:?}"),
        }
        for s in [SdStatus::RollbackRequested, SdStatus::RollbackInProgress] {
            assert!(matches!(
                decide(&deploying(), &with(s, None), &ctx(true), secs(1)),
                Decision::FollowEcsRollback(_)
            ));
        }
        match decide(
            &deploying(),
            &with(SdStatus::RollbackFailed, None),
            &ctx(true),
            secs(1),
        ) {
            Decision::Done(Verdict::Failed(r)) => assert!(r.contains("rollback failed"), "{r}"),
            other => panic!("{other:?}"),
        }
        for s in [SdStatus::Pending, SdStatus::InProgress, SdStatus::Unknown] {
            assert!(matches!(
                decide(&deploying(), &with(s, None), &ctx(true), secs(1)),
                Decision::Wait(_)
            ));
        }
        // STOPPED: replaced by someone else's deployment.
        let replaced = Snapshot {
            deployments: vec![
                dep("ecs-svc/theirs", Primary, OTHER, InProgress),
                dep("ecs-svc/new", Active, NEW, InProgress),
            ],
            service_deployment: sd(SdStatus::Stopped, None),
            alarms: vec![],
        };
        assert!(matches!(
            decide(&deploying(), &replaced, &ctx(true), secs(1)),
            Decision::Done(Verdict::Failed(_))
        ));
    }

    fn baking() -> Stage {
        Stage::Bake {
            id: "ecs-svc/new".into(),
            until: secs(400),
        }
    }

    #[test]
    fn bake_completes_when_alarms_stay_ok() {
        let mut s = snap(vec![dep("ecs-svc/new", Primary, NEW, Completed)]);
        s.alarms = vec![
            alarm("web-5xx", AlarmState::Ok),
            alarm("web-latency", AlarmState::InsufficientData),
        ];
        assert_eq!(
            decide(&baking(), &s, &ctx(true), secs(100)),
            Decision::Wait("baking deployment ecs-svc/new: 2 alarm(s) OK, 300s left".into())
        );
        assert_eq!(
            decide(&baking(), &s, &ctx(true), secs(400)),
            Decision::Done(Verdict::Completed)
        );
    }

    #[test]
    fn alarm_during_bake_rolls_back_even_at_the_end() {
        let mut s = snap(vec![dep("ecs-svc/new", Primary, NEW, Completed)]);
        s.alarms = vec![
            alarm("web-5xx", AlarmState::Alarm),
            alarm("web-latency", AlarmState::Ok),
        ];
        for now in [secs(100), secs(400)] {
            match decide(&baking(), &s, &ctx(true), now) {
                Decision::RollBack(r) => {
                    assert!(
                        r.starts_with("alarm in ALARM during the bake: web-5xx ("),
                        "{r}"
                    );
                    assert!(!r.contains("web-latency"), "{r}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            decide(&baking(), &s, &ctx(false), secs(100)),
            Decision::Done(Verdict::Failed(_))
        ));
    }

    #[test]
    fn ecs_rolling_back_during_bake_is_not_doubled() {
        let mut s = snap(vec![
            dep("ecs-svc/rb", Primary, OLD, InProgress),
            dep("ecs-svc/new", Active, NEW, Failed),
        ]);
        s.alarms = vec![alarm("web-5xx", AlarmState::Alarm)];
        assert!(matches!(
            decide(&baking(), &s, &ctx(true), secs(100)),
            Decision::FollowEcsRollback(_)
        ));
        let mut s = snap(vec![dep("ecs-svc/new", Primary, NEW, Completed)]);
        s.service_deployment = sd(SdStatus::RollbackInProgress, Some("alarm"));
        s.alarms = vec![alarm("web-5xx", AlarmState::Alarm)];
        assert!(matches!(
            decide(&baking(), &s, &ctx(true), secs(100)),
            Decision::FollowEcsRollback(_)
        ));
        let s = snap(vec![dep("ecs-svc/theirs", Primary, OTHER, InProgress)]);
        assert!(matches!(
            decide(&baking(), &s, &ctx(true), secs(100)),
            Decision::Done(Verdict::Failed(_))
        ));
    }

    fn ecs_rb() -> Stage {
        Stage::EcsRollback {
            failed_id: "ecs-svc/new".into(),
            cause: "circuit breaker".into(),
            deadline: secs(600),
        }
    }

    #[test]
    fn ecs_rollback_is_watched_to_its_end() {
        let rb = |rollout| {
            snap(vec![
                dep("ecs-svc/rb", Primary, OLD, rollout),
                dep("ecs-svc/new", Active, NEW, Failed),
            ])
        };
        assert!(matches!(
            decide(&ecs_rb(), &rb(InProgress), &ctx(true), secs(10)),
            Decision::Wait(_)
        ));
        assert_eq!(
            decide(&ecs_rb(), &rb(Completed), &ctx(true), secs(10)),
            Decision::Done(Verdict::RolledBackByEcs("circuit breaker".into()))
        );
        assert!(matches!(
            decide(&ecs_rb(), &rb(Failed), &ctx(true), secs(10)),
            Decision::Done(Verdict::Failed(_))
        ));
        // The deadline never starts a second rollback: exit 4.
        assert!(matches!(
            decide(&ecs_rb(), &rb(InProgress), &ctx(true), secs(600)),
            Decision::Done(Verdict::Deadline(_))
        ));
        let before = snap(vec![dep("ecs-svc/new", Primary, NEW, Failed)]);
        assert!(matches!(
            decide(&ecs_rb(), &before, &ctx(true), secs(10)),
            Decision::Wait(_)
        ));
        let theirs = snap(vec![dep("ecs-svc/x", Primary, OTHER, InProgress)]);
        assert!(matches!(
            decide(&ecs_rb(), &theirs, &ctx(true), secs(10)),
            Decision::Done(Verdict::Failed(_))
        ));
        let mut s = rb(InProgress);
        s.service_deployment = sd(SdStatus::RollbackSuccessful, None);
        assert!(matches!(
            decide(&ecs_rb(), &s, &ctx(true), secs(10)),
            Decision::Done(Verdict::RolledBackByEcs(_))
        ));
        s.service_deployment = sd(SdStatus::RollbackFailed, None);
        assert!(matches!(
            decide(&ecs_rb(), &s, &ctx(true), secs(10)),
            Decision::Done(Verdict::Failed(_))
        ));
    }

    fn ours_rb() -> Stage {
        Stage::OurRollback {
            id: "ecs-svc/rb".into(),
            cause: "alarm web-5xx".into(),
            deadline: secs(900),
        }
    }

    #[test]
    fn our_rollback_completes_fails_or_times_out() {
        let rb = |rollout| {
            snap(vec![
                dep("ecs-svc/rb", Primary, OLD, rollout),
                dep("ecs-svc/new", Active, NEW, Completed),
            ])
        };
        assert_eq!(
            decide(&ours_rb(), &rb(Completed), &ctx(true), secs(10)),
            Decision::Done(Verdict::RolledBack("alarm web-5xx".into()))
        );
        match decide(&ours_rb(), &rb(Failed), &ctx(true), secs(10)) {
            Decision::Done(Verdict::Failed(r)) => {
                assert!(
                    r.starts_with("alarm web-5xx; the rollback deployment"),
                    "{r}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&ours_rb(), &rb(InProgress), &ctx(true), secs(10)),
            Decision::Wait(_)
        ));
        assert!(matches!(
            decide(&ours_rb(), &rb(InProgress), &ctx(true), secs(900)),
            Decision::Done(Verdict::Deadline(_))
        ));
        let gone = snap(vec![dep("ecs-svc/x", Primary, OTHER, InProgress)]);
        assert!(matches!(
            decide(&ours_rb(), &gone, &ctx(true), secs(10)),
            Decision::Done(Verdict::Failed(_))
        ));
    }

    /// Every combination of our deployment's status and rollout state, with and without a
    /// rollback policy, before and after the deadline: decide never panics, never reports
    /// Completed from Deploying, and never starts our rollback while ECS's own is visible.
    #[test]
    fn exhaustive_follow_never_doubles_a_rollback() {
        let statuses = [Primary, Active, DeploymentStatus::Inactive];
        let rollouts = [InProgress, Completed, Failed, Rollout::Unknown];
        let primaries = [None, Some(OLD), Some(NEW), Some(OTHER)];
        for status in statuses {
            for rollout in rollouts {
                for primary in primaries {
                    for prim_rollout in rollouts {
                        for (roll_back, ecs_rolls_back) in
                            [(true, false), (false, false), (true, true), (false, true)]
                        {
                            for now in [secs(0), secs(600)] {
                                let mut deps = vec![dep("ecs-svc/new", status, NEW, rollout)];
                                if let Some(td) = primary {
                                    deps.push(dep("ecs-svc/p", Primary, td, prim_rollout));
                                }
                                let s = snap(deps);
                                let c = Intent {
                                    ecs_rolls_back,
                                    ..ctx(roll_back)
                                };
                                let step = decide(&deploying(), &s, &c, now);
                                let ecs_has_a_target = s
                                    .deployments
                                    .iter()
                                    .any(|x| x.id != "ecs-svc/new" && x.rollout == Completed);
                                if ecs_rolls_back && rollout == Failed && ecs_has_a_target {
                                    assert!(
                                        !matches!(step, Decision::RollBack(_)),
                                        "ECS rolls back a FAILED deployment: {status:?} {primary:?}: {step:?}"
                                    );
                                }
                                let ecs_rolling_back = primary == Some(OLD)
                                    && s.primary().is_some_and(|p| p.id == "ecs-svc/p");
                                if ecs_rolling_back {
                                    assert!(
                                        !matches!(step, Decision::RollBack(_)),
                                        "{status:?} {rollout:?} {primary:?} {prim_rollout:?}: {step:?}"
                                    );
                                }
                                assert!(!matches!(step, Decision::Done(Verdict::Completed)));
                                if !roll_back {
                                    assert!(!matches!(step, Decision::RollBack(_)), "{step:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn parsers() {
        assert_eq!(Rollout::parse("COMPLETED"), Completed);
        assert_eq!(Rollout::parse("x"), Rollout::Unknown);
        assert_eq!(DeploymentStatus::parse("ACTIVE"), Active);
        assert_eq!(
            SdStatus::parse("ROLLBACK_SUCCESSFUL"),
            SdStatus::RollbackSuccessful
        );
        assert_eq!(SdStatus::parse("nope"), SdStatus::Unknown);
        assert_eq!(deploying().deadline(), secs(600));
        assert_eq!(baking().deadline(), secs(400));
    }

    const TIMES: StageTimes = StageTimes {
        bake: Duration::from_secs(300),
        timeout: Duration::from_secs(1800),
    };

    fn next(d: Decision, stage: &Stage, c: &Intent, now: u64) -> (Transition, Timeline) {
        let mut tl = Timeline::default();
        let t = next_phase(d, stage, c, TIMES, secs(now), &mut tl);
        (t, tl)
    }

    #[test]
    fn completed_starts_the_bake_and_the_bake_ends_completed() {
        let (t, tl) = next(Decision::Bake, &deploying(), &ctx(true), 40);
        assert_eq!(
            t,
            Transition::Enter(Stage::Bake {
                id: "ecs-svc/new".into(),
                until: secs(340)
            })
        );
        assert_eq!(tl.completed, Some(secs(40)));
        assert_eq!(tl.baked, None);
        let (t, tl) = next(
            Decision::Done(Verdict::Completed),
            &baking(),
            &ctx(true),
            400,
        );
        assert_eq!(t, Transition::End(Verdict::Completed));
        assert_eq!((tl.baked, tl.ended), (Some(secs(400)), secs(400)));
        // Bake decided outside the deploying stage ends the rollout, without a bake time.
        let (t, tl) = next(Decision::Bake, &ecs_rb(), &ctx(true), 50);
        assert_eq!(t, Transition::End(Verdict::Completed));
        assert_eq!((tl.baked, tl.ended), (None, secs(50)));
    }

    #[test]
    fn ecs_rollback_is_followed_with_its_own_deadline_and_the_failed_id() {
        for (stage, failed) in [
            (deploying(), "ecs-svc/new"),
            (baking(), "ecs-svc/new"),
            (ecs_rb(), "ecs-svc/new"),
            (ours_rb(), "ecs-svc/rb"),
        ] {
            let (t, tl) = next(
                Decision::FollowEcsRollback("circuit breaker".into()),
                &stage,
                &ctx(true),
                100,
            );
            assert_eq!(
                t,
                Transition::Enter(Stage::EcsRollback {
                    failed_id: failed.into(),
                    cause: "circuit breaker".into(),
                    deadline: secs(1900),
                }),
                "{stage:?}"
            );
            assert_eq!(tl, Timeline::default(), "nothing ended or started");
        }
    }

    #[test]
    fn our_rollback_starts_only_with_somewhere_to_go() {
        let (t, tl) = next(
            Decision::RollBack("alarm".into()),
            &baking(),
            &ctx(true),
            70,
        );
        assert_eq!(
            t,
            Transition::StartRollback {
                cause: "alarm".into(),
                deadline: secs(1870)
            }
        );
        assert_eq!((tl.rollback_started, tl.ended), (Some(secs(70)), secs(0)));
        let first_deploy = Intent {
            previous: String::new(),
            ..ctx(true)
        };
        let (t, tl) = next(
            Decision::RollBack("alarm".into()),
            &baking(),
            &first_deploy,
            70,
        );
        assert_eq!(
            t,
            Transition::End(Verdict::Failed(
                "alarm; no earlier task definition to roll back to".into()
            ))
        );
        assert_eq!((tl.rollback_started, tl.ended), (Some(secs(70)), secs(70)));
    }

    #[test]
    fn waiting_stays_and_failures_end() {
        let (t, tl) = next(
            Decision::Wait("1 running".into()),
            &deploying(),
            &ctx(true),
            5,
        );
        assert_eq!((t, tl), (Transition::Stay, Timeline::default()));
        let (t, tl) = next(
            Decision::Done(Verdict::Deadline("late".into())),
            &ours_rb(),
            &ctx(true),
            9,
        );
        assert_eq!(t, Transition::End(Verdict::Deadline("late".into())));
        assert_eq!((tl.baked, tl.ended), (None, secs(9)));
    }

    #[test]
    fn past_the_deadline_without_a_decision() {
        assert_eq!(
            at_deadline(&baking(), &ctx(true), "ok".into(), true),
            Decision::Done(Verdict::Completed),
            "a bake watched to its end is a bake that passed"
        );
        let blind = "unknown: ECS DescribeServices: dispatch failure";
        let e = at_deadline(&baking(), &ctx(true), blind.into(), false);
        assert!(
            matches!(&e, Decision::RollBack(w) if w.contains("could not be watched to its end") && w.contains(blind)),
            "a bake AWS did not answer at the end is rolled back: {e:?}"
        );
        let e = at_deadline(&baking(), &ctx(false), blind.into(), false);
        assert!(
            matches!(&e, Decision::Done(Verdict::Unknown(w)) if w.contains("could not be watched")),
            "… or unknown without rollbacks: {e:?}"
        );
        assert_eq!(
            at_deadline(&deploying(), &ctx(true), "1 running".into(), true),
            Decision::RollBack("deployment ecs-svc/new did not complete: 1 running".into())
        );
        assert_eq!(
            at_deadline(&deploying(), &ctx(false), "1 running".into(), true),
            Decision::Done(Verdict::Deadline(
                "deployment ecs-svc/new did not complete: 1 running".into()
            ))
        );
        let e = at_deadline(&ours_rb(), &ctx(true), "pending".into(), true);
        assert!(
            matches!(&e, Decision::Done(Verdict::Deadline(w)) if w.ends_with("the rollback did not complete before the deadline (last seen: pending)")),
            "{e:?}"
        );
        let e = at_deadline(&ours_rb(), &ctx(true), "unknown: timeout".into(), false);
        assert!(
            matches!(&e, Decision::Done(Verdict::Unknown(w)) if w.contains("(last seen: unknown: timeout)")),
            "a rollback AWS did not answer about at the end is unknown: {e:?}"
        );
    }

    #[test]
    fn a_rollback_undone_is_a_failed_rollback() {
        assert_eq!(
            rollback_verdict(Verdict::Completed, OLD),
            Verdict::Completed
        );
        assert_eq!(
            rollback_verdict(Verdict::RolledBackByEcs("circuit breaker".into()), OLD),
            Verdict::Failed(format!("the rollback to {OLD} failed: circuit breaker"))
        );
        assert_eq!(
            rollback_verdict(Verdict::Deadline("late".into()), OLD),
            Verdict::Deadline("late".into())
        );
        assert!(Verdict::RolledBack("x".into()).rolled_back());
        assert!(!Verdict::Failed("x".into()).rolled_back());
        assert_eq!(Verdict::Completed.reason(), "");
        assert_eq!(Verdict::Deadline("late".into()).reason(), "late");
    }

    #[test]
    fn a_completed_rollback_is_not_repeated() {
        let done = [dep("ecs-svc/rb", Primary, OLD, Completed)];
        assert!(rollback_already_done(OLD, OLD, &done));
        assert!(!rollback_already_done(NEW, OLD, &done), "elsewhere");
        let moving = [dep("ecs-svc/rb", Primary, OLD, InProgress)];
        assert!(!rollback_already_done(OLD, OLD, &moving), "still rolling");
        let two = [
            dep("ecs-svc/rb", Primary, OLD, Completed),
            dep("ecs-svc/new", Active, NEW, InProgress),
        ];
        assert!(
            !rollback_already_done(OLD, OLD, &two),
            "another deployment drains"
        );
    }
}
