//! The only builder of the rollout's outputs, step summary and dry-run plan (the output names
//! are in docs/actions/rollout.md; every exit sets them, docs/contracts.md).

use crate::config::{DeployConfig, ServiceRef};
use crate::decide::{Timeline, Verdict};
use gantry_kit::fmt::{format_duration, markdown_cell};
use gantry_kit::{Error, ExitCode, Outputs, Report};
use serde_json::json;
use std::time::Duration;

/// The action's outputs of `deploy` and `rollback`; what is not known is left empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolloutOutputs<'a> {
    /// `completed`, `rolled-back`, `failed`, `timeout`, `unknown` or `dry-run`.
    pub status: &'a str,
    pub deployment_id: &'a str,
    pub task_definition: &'a str,
    pub previous: &'a str,
    pub rolled_back_to: &'a str,
    pub reason: &'a str,
    pub duration: Duration,
}

impl RolloutOutputs<'_> {
    pub fn to_outputs(&self) -> Outputs {
        let mut o = Outputs::new();
        o.set("status", self.status)
            .set("deployment-id", self.deployment_id)
            .set("task-definition-arn", self.task_definition)
            .set("previous-task-definition-arn", self.previous)
            .set("rolled-back-to", self.rolled_back_to)
            .set("reason", self.reason)
            .set("duration-seconds", self.duration.as_secs());
        o
    }
}

/// The `status` output of a verdict.
pub fn status_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Completed => "completed",
        Verdict::RolledBackByEcs(_) | Verdict::RolledBack(_) => "rolled-back",
        Verdict::Failed(_) => "failed",
        Verdict::Deadline(_) => "timeout",
        Verdict::Unknown(_) => "unknown",
    }
}

/// Gives an error that has no outputs yet the action's outputs (every exit sets them): the status
/// its exit code means, the task definition asked for, and the error as the reason.
pub fn with_error_outputs(e: Error, task_definition: &str, previous: &str) -> Error {
    if e.outputs().is_some() {
        return e;
    }
    let status = match e.exit_code() {
        ExitCode::RolledBack => "rolled-back",
        ExitCode::DeadlineExceeded => "timeout",
        _ => "failed",
    };
    let outputs = RolloutOutputs {
        status,
        task_definition,
        previous,
        reason: e.message(),
        ..RolloutOutputs::default()
    }
    .to_outputs();
    e.with_outputs(outputs)
}

/// An error of a step after pre-flight: status `failed`, what is known so far, and how long it
/// ran.
pub fn with_failed_outputs(
    e: Error,
    deployment_id: &str,
    task_definition: &str,
    previous: &str,
    duration: Duration,
) -> Error {
    let outputs = RolloutOutputs {
        status: "failed",
        deployment_id,
        task_definition,
        previous,
        reason: e.message(),
        duration,
        ..RolloutOutputs::default()
    }
    .to_outputs();
    e.with_outputs(outputs)
}

fn at(d: Option<Duration>, started: Duration) -> String {
    d.map(|d| format!("+{}", format_duration(d.saturating_sub(started))))
        .unwrap_or_else(|| "—".into())
}

/// What the summary tells about a followed deployment.
#[derive(Debug, Clone, Copy)]
pub struct Followed<'a> {
    pub previous: &'a str,
    pub target: &'a str,
    pub deployment_id: &'a str,
    pub timeline: &'a Timeline,
    /// Service events and stopped tasks printed.
    pub events: usize,
    pub stopped: usize,
    pub verdict: &'a Verdict,
    /// The exact command that puts the service back, for an outcome that is not known.
    pub rollback_command: &'a str,
}

/// `gantry-rollout rollback …` back to `to`: what to run when AWS stopped answering.
pub fn rollback_command(service: &ServiceRef, to: &str) -> String {
    format!(
        "gantry-rollout rollback --cluster {} --service {} --to {to}",
        service.cluster, service.service
    )
}

/// The reason output of a verdict: for `unknown`, with the command that rolls back.
fn reason_of(f: &Followed<'_>) -> String {
    match f.verdict {
        Verdict::Unknown(r) if !f.rollback_command.is_empty() => {
            format!("{r}; to roll back: {}", f.rollback_command)
        }
        v => v.reason().to_owned(),
    }
}

/// The step summary's rollout table.
pub fn summary(f: &Followed<'_>) -> String {
    let tl = f.timeline;
    let cell = markdown_cell;
    let mut s = String::from("| rollout | |\n| --- | --- |\n");
    s.push_str(&format!(
        "| task definition | `{}` → `{}` |\n",
        cell(f.previous),
        cell(f.target)
    ));
    s.push_str(&format!("| deployment | `{}` |\n", cell(f.deployment_id)));
    s.push_str(&format!(
        "| timeline | started +0s · completed {} · baked {}{} · ended +{} |\n",
        at(tl.completed, tl.started),
        at(tl.baked, tl.started),
        tl.rollback_started
            .map(|r| format!(" · rollback started {}", at(Some(r), tl.started)))
            .unwrap_or_default(),
        format_duration(tl.ended.saturating_sub(tl.started))
    ));
    s.push_str(&format!("| service events | {} |\n", f.events));
    s.push_str(&format!("| stopped tasks | {} |\n", f.stopped));
    s.push_str(&format!(
        "| verdict | **{}** {} |\n",
        status_word(f.verdict),
        cell(&reason_of(f))
    ));
    s
}

/// Turns a followed deployment's verdict into the command's result (exit code per
/// docs/contracts.md): the outputs and the summary either way.
pub fn finish(f: &Followed<'_>, rolled_back_to: &str) -> Result<Report, Error> {
    let v = f.verdict;
    let reason = reason_of(f);
    let outputs = RolloutOutputs {
        status: status_word(v),
        deployment_id: f.deployment_id,
        task_definition: f.target,
        previous: f.previous,
        rolled_back_to,
        reason: &reason,
        duration: f.timeline.ended.saturating_sub(f.timeline.started),
    }
    .to_outputs();
    let md = summary(f);
    let e = match v {
        Verdict::Completed => {
            return Ok(Report {
                outputs,
                plan: None,
                summary: Some(md),
            });
        }
        Verdict::RolledBackByEcs(r) | Verdict::RolledBack(r) => Error::rolled_back(r),
        Verdict::Deadline(r) => Error::deadline(r),
        Verdict::Unknown(_) => {
            let e = Error::deadline(reason.clone());
            if f.rollback_command.is_empty() {
                e
            } else {
                e.with_hint(format!(
                    "AWS did not answer: check the service, and roll back if needed with `{}`",
                    f.rollback_command
                ))
            }
        }
        Verdict::Failed(r) => Error::failed(r),
    };
    Err(e.with_outputs(outputs).with_summary(md))
}

/// `deploy --dry-run`: the plan, and outputs with status `dry-run`.
pub fn dry_run(cfg: &DeployConfig, previous: &str, container: Option<&str>) -> Report {
    let outputs = RolloutOutputs {
        status: "dry-run",
        task_definition: cfg.task_definition.as_str(),
        previous,
        ..RolloutOutputs::default()
    }
    .to_outputs();
    let plan = json!({
        "cluster": cfg.cluster,
        "service": cfg.service,
        "task-definition-arn": cfg.task_definition,
        "previous-task-definition-arn": previous,
        "pre-deploy-task": cfg.pre_deploy.as_ref().map(|p| json!({
            "command": p.command,
            "container": container,
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
    Report {
        outputs,
        plan: Some(plan),
        summary: Some(format!(
            "Dry run: nothing was changed. Would deploy `{}` to `{}/{}` (now `{}`).",
            cfg.task_definition, cfg.cluster, cfg.service, previous
        )),
    }
}

/// `rollback` run again after it completed: nothing was done.
pub fn already_rolled_back(target: &str, current: &str) -> Report {
    Report::new(
        RolloutOutputs {
            status: "completed",
            task_definition: target,
            previous: current,
            rolled_back_to: target,
            reason: "already on the target",
            ..RolloutOutputs::default()
        }
        .to_outputs(),
    )
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub task_definition: String,
    /// From the service's tag.
    pub previous: String,
    pub busy: bool,
    /// One line each: `id status rolloutState taskDefinition`.
    pub deployments: Vec<String>,
}

/// `status`'s outputs: `cluster`, `service`, `task-definition-arn`,
/// `previous-task-definition-arn`, `busy`, `deployments`.
pub fn status(target: &ServiceRef, s: &ServiceStatus) -> Report {
    let mut o = Outputs::new();
    o.set("cluster", target.cluster.as_str())
        .set("service", target.service.as_str())
        .set("task-definition-arn", s.task_definition.as_str())
        .set("previous-task-definition-arn", s.previous.as_str())
        .set("busy", s.busy)
        .set_list("deployments", s.deployments.iter().cloned());
    Report::new(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_all_set_in_the_documented_order() {
        let o = RolloutOutputs {
            status: "dry-run",
            task_definition: "web:7",
            ..RolloutOutputs::default()
        }
        .to_outputs();
        insta::assert_snapshot!(o.human_lines(), @r"
        status: dry-run
        deployment-id: 
        task-definition-arn: web:7
        previous-task-definition-arn: 
        rolled-back-to: 
        reason: 
        duration-seconds: 0
        ");
    }

    #[test]
    fn an_error_gets_outputs_once() {
        let e = with_error_outputs(Error::deadline("late"), "web:7", "web:6");
        let o = e.outputs().unwrap();
        assert_eq!(o.get("status").and_then(|v| v.as_str()), Some("timeout"));
        assert_eq!(o.get("reason").and_then(|v| v.as_str()), Some("late"));
        let again = with_error_outputs(e, "other", "");
        assert_eq!(
            again
                .outputs()
                .unwrap()
                .get("task-definition-arn")
                .and_then(|v| v.as_str()),
            Some("web:7"),
            "outputs already set are kept"
        );
    }

    #[test]
    fn a_failed_rollout_carries_its_summary() {
        let tl = Timeline {
            started: Duration::from_secs(10),
            completed: Some(Duration::from_secs(40)),
            rollback_started: Some(Duration::from_secs(70)),
            ended: Duration::from_secs(100),
            ..Timeline::default()
        };
        let v = Verdict::RolledBack("alarm web|5xx".into());
        let f = Followed {
            previous: "web:6",
            target: "web:7",
            deployment_id: "ecs-svc/1",
            timeline: &tl,
            events: 3,
            stopped: 1,
            verdict: &v,
            rollback_command: "",
        };
        let e = finish(&f, "web:6").unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::RolledBack);
        let o = e.outputs().unwrap();
        assert_eq!(
            o.get("rolled-back-to").and_then(|v| v.as_str()),
            Some("web:6")
        );
        assert_eq!(o.get("duration-seconds").and_then(|v| v.as_u64()), Some(90));
        insta::assert_snapshot!(e.summary().unwrap(), @r"
        | rollout | |
        | --- | --- |
        | task definition | `web:6` → `web:7` |
        | deployment | `ecs-svc/1` |
        | timeline | started +0s · completed +30s · baked — · rollback started +1m · ended +1m 30s |
        | service events | 3 |
        | stopped tasks | 1 |
        | verdict | **rolled-back** alarm web\|5xx |
        ");
    }

    #[test]
    fn an_unknown_outcome_names_the_exact_rollback_command() {
        let tl = Timeline::default();
        let v = Verdict::Unknown("the bake could not be watched to its end".into());
        let cmd = rollback_command(
            &ServiceRef {
                cluster: "prod".into(),
                service: "web".into(),
            },
            "web:6",
        );
        assert_eq!(
            cmd,
            "gantry-rollout rollback --cluster prod --service web --to web:6"
        );
        let f = Followed {
            previous: "web:6",
            target: "web:7",
            deployment_id: "ecs-svc/1",
            timeline: &tl,
            events: 0,
            stopped: 0,
            verdict: &v,
            rollback_command: &cmd,
        };
        let e = finish(&f, "").unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::DeadlineExceeded);
        let o = e.outputs().unwrap();
        assert_eq!(o.get("status").and_then(|v| v.as_str()), Some("unknown"));
        assert_eq!(
            o.get("reason").and_then(|v| v.as_str()),
            Some(
                "the bake could not be watched to its end; to roll back: \
                 gantry-rollout rollback --cluster prod --service web --to web:6"
            )
        );
        assert!(e.hints()[0].contains(&cmd), "{:?}", e.hints());
    }
}
