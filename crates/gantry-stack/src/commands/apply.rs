//! `apply`: execute exactly the reviewed change sets. Each must still be AVAILABLE, carry the
//! plan's templates (the digests) and pass the gate; then they run in order, their events
//! streamed as they happen, until each stack settles or the deadline passes.

use crate::aws::Aws;
use crate::aws::cloudformation::{self as cfn, arn_region};
use crate::commands::plan::{Outcome, check_account, plan_stack};
use crate::config::{ApplyConfig, StacksConfig};
use crate::environment::StackSpec;
use crate::events::{EventLog, Finish, StackEvent, finish};
use crate::gate::{self, Allow, Destruction};
use crate::plan::{self, Execution};
use crate::report;
use crate::template;
use aws_sdk_cloudformation::Client;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use gantry_kit::{Error, Report};
use indexmap::IndexMap;

/// How one stack's execution ended.
#[derive(Debug, Clone)]
pub struct Applied {
    pub stack: String,
    pub change_set_id: Option<String>,
    pub status: String,
    pub finish: Finish,
    pub outputs: IndexMap<String, String>,
    pub root_cause: Option<StackEvent>,
}

/// A change set checked and ready to run.
#[derive(Debug, Clone)]
enum Step {
    Execute {
        stack: String,
        id: String,
        execution: Execution,
    },
    Recreate {
        spec: Box<StackSpec>,
    },
}

pub async fn run(aws: &Aws, clock: &impl Clock, cfg: &ApplyConfig) -> Result<Report, Error> {
    if let Some(stacks) = &cfg.stacks {
        check_account(aws, stacks).await?;
    }
    let steps = preflight(aws, cfg).await?;
    let mut applied: Vec<Applied> = Vec::new();
    let mut outputs: IndexMap<String, String> = IndexMap::new();
    for step in steps {
        let a = match step {
            Step::Execute {
                stack,
                id,
                execution,
            } => {
                let client = aws.cloudformation.client(arn_region(&id));
                execute(&client, clock, cfg.schedule, &stack, &id, &execution).await?
            }
            Step::Recreate { spec } => {
                let stacks = cfg
                    .stacks
                    .as_ref()
                    .ok_or_else(|| Error::failed("replace-failed without stacks"))?;
                recreate(
                    aws,
                    clock,
                    cfg.schedule,
                    stacks,
                    &spec,
                    &outputs,
                    &cfg.allow,
                )
                .await?
            }
        };
        outputs.extend(a.outputs.clone());
        let done = a.finish == Finish::Complete;
        if done && let Some(stacks) = &cfg.stacks {
            protect(aws, stacks, &a.stack).await?;
        }
        applied.push(a);
        if !done {
            break;
        }
    }
    report::apply(&applied)
}

/// Checks every change set before executing any: executable, the plan's templates, the gate.
async fn preflight(aws: &Aws, cfg: &ApplyConfig) -> Result<Vec<Step>, Error> {
    let mut steps = Vec::new();
    let mut digests: Vec<(String, String)> = Vec::new();
    let mut refused: Vec<Destruction> = Vec::new();
    for r in &cfg.change_sets {
        match &r.id {
            Some(id) => {
                let client = aws.cloudformation.client(arn_region(id));
                let view = cfn::describe_change_set(&client, id).await?;
                if let Some(want) = &r.stack
                    && *want != view.stack_name
                {
                    return Err(Error::failed(format!(
                        "change set {id} belongs to stack {}, not {want}: re-plan",
                        view.stack_name
                    )));
                }
                let execution =
                    plan::execution(&view.status, &view.execution_status, view.reason.as_deref());
                if let Execution::Refused(why) = &execution {
                    return Err(Error::failed(format!(
                        "{}: change set {id} {why}",
                        view.stack_name
                    )));
                }
                let body = cfn::change_set_template(&client, id).await?;
                digests.push((view.stack_name.clone(), template::digest(body.as_bytes())));
                if execution == Execution::Available {
                    let proposed = template::parse(&body).map_err(|e| {
                        Error::failed(format!(
                            "{}: the change set's template {e}",
                            view.stack_name
                        ))
                    })?;
                    let deployed = cfn::stack_template(&client, &view.stack_name)
                        .await?
                        .and_then(|b| template::parse(&b).ok());
                    let found = gate::destructions(
                        &view.stack_name,
                        &view.changes,
                        deployed.as_ref(),
                        &proposed,
                    );
                    refused.extend(gate::refused(&found, &cfg.allow).into_iter().cloned());
                }
                steps.push(Step::Execute {
                    stack: view.stack_name,
                    id: id.clone(),
                    execution,
                });
            }
            None => {
                let stack = r.stack.clone().unwrap_or_default();
                let spec = cfg
                    .stacks
                    .as_ref()
                    .and_then(|s| s.stacks.iter().find(|x| x.name == stack))
                    .ok_or_else(|| {
                        Error::failed(format!(
                            "{stack}: the plan re-creates it, but it is not among the given stacks: re-plan with the same environment"
                        ))
                    })?;
                digests.push((stack, spec.template.digest.clone()));
                steps.push(Step::Recreate {
                    spec: Box::new(spec.clone()),
                });
            }
        }
    }
    let got = plan::plan_digest(digests.iter().map(|(s, d)| (s.as_str(), d.as_str())));
    if got != cfg.template_digest {
        return Err(Error::failed(format!(
            "the change sets' templates (digest {got}) are not the ones the plan reviewed ({}): re-plan",
            cfg.template_digest
        ))
        .with_hint("pass the change-set-ids and template-digest outputs of the same plan run"));
    }
    if !refused.is_empty() {
        return Err(report::gate_refusal(&refused));
    }
    Ok(steps)
}

/// Deletes a ROLLBACK_COMPLETE stack, plans it as new, checks the gate and executes.
async fn recreate(
    aws: &Aws,
    clock: &impl Clock,
    schedule: Schedule,
    stacks: &StacksConfig,
    spec: &StackSpec,
    outputs: &IndexMap<String, String>,
    allow: &Allow,
) -> Result<Applied, Error> {
    let p = plan_stack(aws, clock, schedule, stacks, spec, outputs, true).await?;
    let refused: Vec<Destruction> = gate::refused(&p.destructions, allow)
        .into_iter()
        .cloned()
        .collect();
    if !refused.is_empty() {
        return Err(report::gate_refusal(&refused));
    }
    match p.outcome {
        Outcome::Changes { change_set_id, .. } => {
            let client = aws.cloudformation.client(spec.region.as_deref());
            execute(
                &client,
                clock,
                schedule,
                &spec.name,
                &change_set_id,
                &Execution::Available,
            )
            .await
        }
        Outcome::Blocked { missing } => Err(Error::failed(format!(
            "{}: cannot re-create it: outputs {} of earlier stacks do not exist",
            spec.name,
            missing.join(", ")
        ))),
        Outcome::NoChanges | Outcome::Recreate { .. } => Err(Error::failed(format!(
            "{}: re-creating it produced no change set: re-plan",
            spec.name
        ))),
    }
}

/// Executes (unless it already runs or ran) and follows the stack until it settles.
pub async fn execute(
    client: &Client,
    clock: &impl Clock,
    schedule: Schedule,
    stack: &str,
    id: &str,
    execution: &Execution,
) -> Result<Applied, Error> {
    let _group = gantry_kit::report::group(&format!("Apply {stack}"));
    let info = cfn::describe_stack(client, stack)
        .await?
        .ok_or_else(|| Error::failed(format!("{stack}: the stack does not exist: re-plan")))?;
    let mut log = EventLog::new();
    // Events before this point are not ours: remember the newest page without printing it.
    let baseline = cfn::stack_events(client, &info.id, 0.0)
        .await
        .unwrap_or_default();
    let since = baseline.iter().map(|e| e.timestamp).fold(0.0, f64::max);
    log.absorb(baseline, 0.0);
    match execution {
        Execution::Available => {
            tracing::info!("{stack}: executing {id}");
            cfn::execute_change_set(client, id).await?;
        }
        Execution::InProgress => tracing::info!("{stack}: {id} is already executing; following it"),
        Execution::Done => tracing::info!("{stack}: {id} was already executed"),
        Execution::Refused(why) => {
            return Err(Error::failed(format!("{stack}: change set {id} {why}")));
        }
    }
    let log = std::sync::Mutex::new(log);
    let probe = |_| {
        let (client, stack_id, log) = (client.clone(), info.id.clone(), &log);
        async move {
            let now = cfn::describe_stack(&client, &stack_id)
                .await?
                .ok_or_else(|| Error::failed(format!("{stack}: the stack disappeared")))?;
            let mut ids = vec![stack_id.clone()];
            ids.extend(
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .nested()
                    .map(str::to_owned),
            );
            for id in ids {
                let events = cfn::stack_events(&client, &id, since).await?;
                let new = log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .absorb(events, since);
                for e in new {
                    tracing::info!("{}", e.line());
                }
            }
            Ok::<_, Error>(match finish(&now.status) {
                Finish::Pending => Probe::Pending(now.status),
                f => Probe::Ready((f, now)),
            })
        }
    };
    let result = poll(clock, schedule, probe).await;
    let root_cause = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .root_cause()
        .cloned();
    let applied = |finish, status: String, outputs| Applied {
        stack: stack.to_owned(),
        change_set_id: Some(id.to_owned()),
        status,
        finish,
        outputs,
        root_cause: root_cause.clone(),
    };
    match result {
        Ok((f, now)) => Ok(applied(f, now.status, now.outputs)),
        Err(PollError::Probe(e)) => Err(e),
        Err(PollError::Deadline { last, .. }) => {
            Ok(applied(Finish::Pending, last, IndexMap::new()))
        }
    }
}

/// TerminationProtection of the environment file, after a successful apply.
pub async fn protect(aws: &Aws, stacks: &StacksConfig, name: &str) -> Result<(), Error> {
    if !stacks
        .environment
        .as_ref()
        .is_some_and(|e| e.termination_protection)
    {
        return Ok(());
    }
    let Some(spec) = stacks.stacks.iter().find(|s| s.name == name) else {
        return Ok(());
    };
    let client = aws.cloudformation.client(spec.region.as_deref());
    match cfn::describe_stack(&client, name).await? {
        Some(i) if !i.termination_protection => {
            cfn::enable_termination_protection(&client, name).await
        }
        _ => Ok(()),
    }
}
