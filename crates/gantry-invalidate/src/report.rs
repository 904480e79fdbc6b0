//! The only builder of outputs, the step summary and the `--dry-run` plan JSON.

use crate::aws::cloudfront::Created;
use crate::command::Interrupted;
use crate::config::Config;
use crate::plan::{Dropped, FREE_PATHS_PER_MONTH};
use gantry_kit::{Error, Outputs, Report};
use serde::Serialize;

/// The outputs for the invalidations `created` so far (none on a dry run).
fn outputs(cfg: &Config, created: &[Created]) -> Outputs {
    let mut o = Outputs::new();
    let last = created.last();
    o.set(
        "invalidation-id",
        last.map(|c| c.id.clone()).unwrap_or_default(),
    )
    .set_list("invalidation-ids", created.iter().map(|c| c.id.clone()))
    .set("status", last.map(|c| c.status.clone()).unwrap_or_default())
    .set_list("paths", cfg.plan.paths.iter().cloned())
    .set("path-count", cfg.plan.paths.len())
    .set("billed-paths", cfg.plan.billed_paths);
    o
}

/// One line on the plan: paths, batches, billing, what was collapsed or left out.
fn plan_summary(cfg: &Config) -> String {
    let p = &cfg.plan;
    let mut s = format!(
        "{} path(s) in {} batch(es); {} billed (the first {FREE_PATHS_PER_MONTH} paths a month are free, then each is charged).",
        p.paths.len(),
        p.batches.len(),
        p.billed_paths
    );
    if !p.collapsed_into.is_empty() {
        s.push_str(&format!(
            " Collapsed into {} to stay within max-paths.",
            p.collapsed_into.join(", ")
        ));
    }
    if !p.dropped.is_empty() {
        s.push_str(&format!(
            " {} path(s) left out as duplicates or covered by a wildcard.",
            p.dropped.len()
        ));
    }
    s
}

/// The plan in the log (stderr), in its own group.
pub(crate) fn log_plan(cfg: &Config) {
    let _g = gantry_kit::report::group("Plan");
    tracing::info!("{}", plan_summary(cfg));
    for d in &cfg.plan.dropped {
        tracing::debug!("left out {}: {}", d.path, d.reason);
    }
}

/// The plan as `--dry-run --json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct PlanJson<'a> {
    distribution_id: &'a str,
    batches: Vec<BatchJson<'a>>,
    billed_paths: usize,
    dropped: &'a [Dropped],
    collapsed_into: &'a [String],
    wait: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct BatchJson<'a> {
    caller_reference: &'a str,
    paths: &'a [String],
}

/// A dry run: the plan with the CallerReference of each batch; nothing was invalidated.
pub(crate) fn dry_run(cfg: &Config, references: &[String]) -> Result<Report, Error> {
    let plan = PlanJson {
        distribution_id: &cfg.distribution_id,
        batches: cfg
            .plan
            .batches
            .iter()
            .zip(references)
            .map(|(paths, r)| BatchJson {
                caller_reference: r,
                paths,
            })
            .collect(),
        billed_paths: cfg.plan.billed_paths,
        dropped: &cfg.plan.dropped,
        collapsed_into: &cfg.plan.collapsed_into,
        wait: cfg.wait,
    };
    let plan = serde_json::to_value(&plan)
        .map_err(|e| Error::failed(format!("internal: the plan as JSON: {e}")))?;
    let mut outputs = outputs(cfg, &[]);
    outputs.set("status", "dry-run");
    Ok(Report {
        outputs,
        plan: Some(plan),
        summary: Some(format!(
            "Dry run: nothing was invalidated. {}",
            plan_summary(cfg)
        )),
    })
}

/// Every batch created (and waited for where asked).
pub(crate) fn done(cfg: &Config, created: &[Created]) -> Report {
    Report {
        outputs: outputs(cfg, created),
        plan: None,
        summary: Some(plan_summary(cfg)),
    }
}

/// A run that stopped part-way: its error, with the outputs of what it created.
pub(crate) fn interrupted(cfg: &Config, stopped: Interrupted) -> Error {
    stopped.error.with_outputs(outputs(cfg, &stopped.created))
}
