//! `prune`: deregister old ACTIVE revisions of a family, never the newest, the `--keep` newest
//! or one a service of `--clusters` uses.

use crate::aws::ecs;
use crate::cli::PruneArgs;
use crate::config;
use crate::prune;
use crate::report;
use gantry_kit::{Error, Report};

pub(crate) async fn prune(a: PruneArgs) -> Result<Report, Error> {
    let cfg = config::validate_prune(&a)?;
    let c = ecs::connect(&a.aws).await;
    let active = ecs::list_active(&c, &cfg.family).await?;
    let mut used = Vec::new();
    for cl in &cfg.clusters {
        used.extend(ecs::in_use(&c, cl).await?);
    }
    let plan = prune::plan(&cfg.family, &active, cfg.keep, &used);
    let kept = report::kept(&plan);
    for k in &kept {
        tracing::info!("keep {k}");
    }
    if a.dry_run {
        for arn in &plan.deregister {
            tracing::info!("would deregister {arn}");
        }
        return Ok(report::prune_dry_run(&cfg.family, &plan, kept));
    }
    let mut done = Vec::new();
    for arn in &plan.deregister {
        ecs::deregister(&c, arn)
            .await
            .map_err(|e| e.with_outputs(report::pruned_outputs(&cfg.family, &done, None)))?;
        tracing::info!("deregistered {arn}");
        done.push(arn.clone());
    }
    Ok(report::pruned(&cfg.family, done, kept))
}
