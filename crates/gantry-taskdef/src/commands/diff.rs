//! `diff`: what would change against the family's latest ACTIVE revision, or against the task
//! definition a service runs.

use super::prepare::load_source;
use crate::aws::ecs;
use crate::cli::DiffArgs;
use crate::compare;
use crate::config;
use crate::report;
use gantry_kit::{Error, Report};

pub(crate) async fn diff(a: DiffArgs) -> Result<Report, Error> {
    let cfg = config::validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let c = ecs::connect(&a.aws).await;
    let live = match (&a.service, &a.cluster) {
        (Some(s), Some(cl)) => {
            let arn = ecs::service_task_definition(&c, cl, s).await?;
            ecs::describe(&c, &arn).await?
        }
        _ => ecs::latest_active(&c, r.family()).await?,
    };
    let lines = compare::changes(live.as_ref().map(|l| &l.def), &r.def);
    for l in &lines {
        tracing::info!("{l}");
    }
    Ok(report::diffed(&r, live.as_ref(), lines))
}
