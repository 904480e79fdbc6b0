//! `deploy`: plan and apply each stack in turn, so every stack sees the fresh outputs of the
//! ones before it. The diff of each stack is printed before it is applied, and the gate holds.

use crate::aws::Aws;
use crate::aws::cloudformation as cfn;
use crate::commands::apply::{Applied, execute, protect};
use crate::commands::plan::{Outcome, Planned, check_account, plan_stack};
use crate::config::DeployConfig;
use crate::events::Finish;
use crate::gate;
use crate::plan::Execution;
use crate::report;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use indexmap::IndexMap;

pub async fn run(aws: &Aws, clock: &impl Clock, cfg: &DeployConfig) -> Result<Report, Error> {
    check_account(aws, &cfg.stacks).await?;
    let mut outputs: IndexMap<String, String> = IndexMap::new();
    let mut planned: Vec<Planned> = Vec::new();
    let mut applied: Vec<Applied> = Vec::new();
    for spec in &cfg.stacks.stacks {
        let client = aws.cloudformation.client(spec.region.as_deref());
        if !cfg.stacks.selected(spec) {
            if let Some(info) = cfn::describe_stack(&client, &spec.name).await? {
                outputs.extend(info.outputs);
            }
            continue;
        }
        let p = plan_stack(
            aws,
            clock,
            cfg.schedule,
            &cfg.stacks,
            spec,
            &outputs,
            cfg.replace_failed,
        )
        .await?;
        report::print_stack_plan(&p);
        let refused: Vec<gate::Destruction> = gate::refused(&p.destructions, &cfg.allow)
            .into_iter()
            .cloned()
            .collect();
        let outcome = p.outcome.clone();
        planned.push(p);
        if !refused.is_empty() {
            return Err(report::deploy_stopped(
                &planned,
                &applied,
                report::gate_refusal(&refused),
            ));
        }
        match outcome {
            Outcome::Changes { change_set_id, .. } => {
                let a = execute(
                    &client,
                    clock,
                    cfg.schedule,
                    &spec.name,
                    &change_set_id,
                    &Execution::Available,
                )
                .await?;
                let done = a.finish == Finish::Complete;
                applied.push(a);
                if !done {
                    return report::deploy(&planned, &applied);
                }
                protect(aws, &cfg.stacks, &spec.name).await?;
            }
            Outcome::NoChanges => {}
            Outcome::Recreate { .. } => {
                let e = Error::failed(format!(
                    "{}: the stack is ROLLBACK_COMPLETE (a failed first create): it must be deleted and created again",
                    spec.name
                ))
                .with_hint("run deploy with replace-failed to do that");
                return Err(report::deploy_stopped(&planned, &applied, e));
            }
            Outcome::Blocked { missing } => {
                let e = Error::failed(format!(
                    "{}: no earlier stack has the output(s) {} (a conditional output that is absent?)",
                    spec.name,
                    missing.join(", ")
                ));
                return Err(report::deploy_stopped(&planned, &applied, e));
            }
        }
        if let Some(info) = cfn::describe_stack(&client, &spec.name).await? {
            outputs.extend(info.outputs);
        }
    }
    report::deploy(&planned, &applied)
}
