//! The only builder of the site's outputs, step summaries and `--dry-run` plan JSON, and the
//! dry runs' plans as a human reads them on stderr.

use crate::config::Cdn;
use crate::manifest;
use crate::plan::{PublishPhase, PublishPlan, RollbackPlan, Upload};
use gantry_invalidate::plan::FREE_PATHS_PER_MONTH;
use gantry_kit::fmt::{human_bytes, log_safe};
use gantry_kit::{Error, Outputs, Report};
use serde::Serialize;

/// What a finished (or failed) deploy or rollback reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublishTally {
    pub(crate) release_id: String,
    pub(crate) previous_release_id: String,
    /// Files put in place: uploaded (deploy) or restored (rollback).
    pub(crate) uploaded: usize,
    pub(crate) skipped: usize,
    pub(crate) deleted: usize,
    /// Bytes sent from the runner (a restore is a copy inside S3: none).
    pub(crate) bytes: u64,
    pub(crate) invalidation_id: String,
    pub(crate) invalidated: Vec<String>,
    pub(crate) url: Option<String>,
}

impl PublishTally {
    pub(crate) fn outputs(&self) -> Outputs {
        let mut o = Outputs::new();
        o.set("release-id", self.release_id.as_str())
            .set("previous-release-id", self.previous_release_id.as_str())
            .set("uploaded", self.uploaded)
            .set("skipped", self.skipped)
            .set("deleted", self.deleted)
            .set("bytes-uploaded", self.bytes)
            .set("invalidation-id", self.invalidation_id.as_str())
            .set_list("invalidated-paths", self.invalidated.iter().cloned());
        if let Some(u) = &self.url {
            o.set("url", u.as_str());
        }
        o
    }

    /// `e` with the outputs known when it happened, for an `if: failure()` step.
    pub(crate) fn attach(&self, e: Error) -> Error {
        e.with_outputs(self.outputs())
    }
}

/// A publish that found its release live already.
pub(crate) fn already_live(tally: &PublishTally) -> Report {
    Report {
        outputs: tally.outputs(),
        plan: None,
        summary: Some(format!(
            "Release `{}` is already live: nothing was written.",
            tally.release_id
        )),
    }
}

/// A deploy that published its release.
pub(crate) fn deployed(tally: &PublishTally, p: &PublishPlan) -> Report {
    Report {
        outputs: tally.outputs(),
        plan: None,
        summary: Some(summary_table(p)),
    }
}

/// A rollback that made `tally.release_id` live again.
pub(crate) fn rolled_back(tally: &PublishTally, from: &str) -> Report {
    Report {
        outputs: tally.outputs(),
        plan: None,
        summary: Some(format!(
            "Rolled back from `{from}` to `{}`: {} file(s) restored.",
            tally.release_id, tally.uploaded
        )),
    }
}

/// A deploy's dry run: what it would upload, delete and invalidate, and the plan.
pub(crate) fn deploy_dry_run(
    tally: &PublishTally,
    p: &PublishPlan,
    inv: Option<&gantry_invalidate::Config>,
) -> Result<Report, Error> {
    let mut outputs = tally.outputs();
    outputs
        .set("uploaded", p.uploads.len())
        .set("deleted", p.prune.len())
        .set("bytes-uploaded", p.bytes_to_upload())
        .set_list("invalidated-paths", p.invalidation_paths.iter().cloned());
    Ok(Report {
        outputs,
        plan: Some(to_json(&DeployPlanJson::new(p, inv))?),
        summary: Some(format!(
            "Dry run: nothing was written.\n\n{}",
            summary_table(p)
        )),
    })
}

/// A rollback's dry run: what it would restore and invalidate, and the plan.
pub(crate) fn rollback_dry_run(
    tally: &PublishTally,
    rb: &RollbackPlan,
    inv: Option<&gantry_invalidate::Config>,
) -> Result<Report, Error> {
    let mut outputs = tally.outputs();
    outputs
        .set("uploaded", rb.restores.len())
        .set_list("invalidated-paths", rb.invalidation_paths.iter().cloned());
    let plan = RollbackPlanJson {
        plan: rb,
        invalidation: inv.map(InvalidationJson::new),
    };
    Ok(Report {
        outputs,
        plan: Some(to_json(&plan)?),
        summary: Some("Dry run: nothing was written.".into()),
    })
}

/// One kept release as `releases` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ReleaseRow {
    pub(crate) release_id: String,
    pub(crate) live: bool,
    pub(crate) files: usize,
    pub(crate) bytes: u64,
}

/// The kept releases, newest first. JSON keys: `live-release-id`, `releases` (objects with
/// `release-id`, `live`, `files`, `bytes`); the summary is the same as a table.
pub(crate) fn releases(live: Option<&str>, rows: &[ReleaseRow]) -> Result<Report, Error> {
    let mut o = Outputs::new();
    o.set("live-release-id", live.unwrap_or(""))
        .set("releases", to_json(&rows)?);
    if live.is_none() {
        return Ok(Report::new(o));
    }
    let mut table = String::from("| release | live | files | bytes |\n| --- | --- | --- | --- |\n");
    for r in rows {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.release_id,
            if r.live { "live" } else { "" },
            r.files,
            human_bytes(r.bytes)
        ));
    }
    Ok(Report {
        outputs: o,
        plan: None,
        summary: Some(table),
    })
}

fn to_json(value: &impl Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::failed(format!("internal: the plan as JSON: {e}")))
}

/// What an invalidation of `billed` paths costs.
fn cost(billed: usize) -> String {
    format!(
        "{billed} billed path(s); the first {FREE_PATHS_PER_MONTH} a month are free, then USD 0.005 each"
    )
}

/// A dry run's planned invalidation: paths, batches and what they cost.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct InvalidationJson<'a> {
    distribution_id: &'a str,
    paths: &'a [String],
    batches: usize,
    billed_paths: usize,
    cost: String,
}

impl<'a> InvalidationJson<'a> {
    fn new(c: &'a gantry_invalidate::Config) -> Self {
        Self {
            distribution_id: &c.distribution_id,
            paths: &c.plan.paths,
            batches: c.plan.batches.len(),
            billed_paths: c.plan.billed_paths,
            cost: cost(c.plan.billed_paths),
        }
    }
}

/// A deploy's `--dry-run` plan: the uploads by phase, then what is written, kept, pruned and
/// invalidated.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct DeployPlanJson<'a> {
    release_id: &'a str,
    noop: bool,
    phases: PhasesJson<'a>,
    skipped: &'a [String],
    write_manifest: bool,
    write_pointer: bool,
    history: &'a [String],
    prune: &'a [String],
    expired_releases: &'a [String],
    invalidation: Option<InvalidationJson<'a>>,
    invalidation_paths: &'a [String],
}

#[derive(Serialize)]
struct PhasesJson<'a> {
    immutable: PhaseJson<'a>,
    other: PhaseJson<'a>,
    html: PhaseJson<'a>,
}

#[derive(Serialize)]
struct PhaseJson<'a> {
    files: usize,
    bytes: u64,
    uploads: Vec<&'a Upload>,
}

impl<'a> PhaseJson<'a> {
    fn new(p: &'a PublishPlan, phase: PublishPhase) -> Self {
        let uploads: Vec<&Upload> = p.phase(phase).collect();
        Self {
            files: uploads.len(),
            bytes: uploads.iter().map(|u| u.size).sum(),
            uploads,
        }
    }
}

impl<'a> DeployPlanJson<'a> {
    fn new(p: &'a PublishPlan, inv: Option<&'a gantry_invalidate::Config>) -> Self {
        Self {
            release_id: &p.release_id,
            noop: p.noop,
            phases: PhasesJson {
                immutable: PhaseJson::new(p, PublishPhase::Immutable),
                other: PhaseJson::new(p, PublishPhase::Other),
                html: PhaseJson::new(p, PublishPhase::Html),
            },
            skipped: &p.skipped,
            write_manifest: p.write_manifest,
            write_pointer: p.write_pointer,
            history: &p.history,
            prune: &p.prune,
            expired_releases: &p.expired_releases,
            invalidation: inv.map(InvalidationJson::new),
            invalidation_paths: &p.invalidation_paths,
        }
    }
}

/// A rollback's `--dry-run` plan: the plan itself and the invalidation it would create.
#[derive(Serialize)]
struct RollbackPlanJson<'a> {
    #[serde(flatten)]
    plan: &'a RollbackPlan,
    invalidation: Option<InvalidationJson<'a>>,
}

/// Uploads of one phase: how many, how many bytes.
fn phase_size(p: &PublishPlan, phase: PublishPhase) -> (usize, u64) {
    p.phase(phase)
        .fold((0, 0), |(files, bytes), u| (files + 1, bytes + u.size))
}

fn summary_table(p: &PublishPlan) -> String {
    let mut s = String::from("| phase | files | bytes |\n| --- | --- | --- |\n");
    for ph in PublishPhase::ALL {
        let (files, bytes) = phase_size(p, ph);
        s.push_str(&format!(
            "| {} | {files} | {} |\n",
            ph.name(),
            human_bytes(bytes)
        ));
    }
    s.push_str(&format!(
        "| unchanged (skipped) | {} | |\n| pruned | {} | |\n",
        p.skipped.len(),
        p.prune.len()
    ));
    s
}

/// The deploy's dry-run plan for a human reader (stderr): each phase, skips, prunes,
/// invalidation and its cost. Long lists show their first 20 entries.
pub(crate) fn log_deploy_plan(
    p: &PublishPlan,
    cdn: Option<&Cdn>,
    inv: Option<&gantry_invalidate::Config>,
) {
    const SHOWN: usize = 20;
    let _g = gantry_kit::report::group("Dry run: the plan");
    for ph in PublishPhase::ALL {
        let ups: Vec<&Upload> = p.phase(ph).collect();
        let (files, bytes) = phase_size(p, ph);
        tracing::info!(
            "upload {}: {files} file(s), {}",
            ph.name(),
            human_bytes(bytes)
        );
        for u in ups.iter().take(SHOWN) {
            tracing::info!(
                "  {} ({:?}, {})",
                log_safe(&u.key),
                u.reason,
                human_bytes(u.size)
            );
        }
        if ups.len() > SHOWN {
            tracing::info!("  … and {} more", ups.len() - SHOWN);
        }
    }
    tracing::info!("skip {} unchanged file(s)", p.skipped.len());
    if p.write_manifest || p.write_pointer {
        tracing::info!(
            "then write{}{}",
            if p.write_manifest {
                format!(" {}", manifest::manifest_key(&p.release_id))
            } else {
                String::new()
            },
            if p.write_pointer {
                format!(" {}", manifest::POINTER_KEY)
            } else {
                String::new()
            }
        );
    }
    tracing::info!(
        "prune {} object(s) and {} expired release(s)",
        p.prune.len(),
        p.expired_releases.len()
    );
    for k in p.prune.iter().take(SHOWN) {
        tracing::info!("  delete {}", log_safe(k));
    }
    match inv {
        Some(c) => tracing::info!(
            "invalidate {} path(s) in {} ({}): {}",
            c.plan.paths.len(),
            c.distribution_id,
            cost(c.plan.billed_paths),
            log_safe(&c.plan.paths.join(" "))
        ),
        None => tracing::info!(
            "invalidate nothing ({} changed path(s){})",
            p.invalidation_paths.len(),
            if cdn.is_none() {
                ", no distribution-id"
            } else {
                ""
            }
        ),
    }
}

/// The rollback's dry-run plan for a human reader (stderr): the restores by phase and the
/// invalidation with its cost.
pub(crate) fn log_rollback_plan(
    rb: &RollbackPlan,
    live: &str,
    inv: Option<&gantry_invalidate::Config>,
) {
    let _g = gantry_kit::report::group("Dry run: the rollback plan");
    tracing::info!(
        "make {} live again (was {})",
        log_safe(&rb.release_id),
        log_safe(live)
    );
    for ph in PublishPhase::ALL {
        let keys: Vec<&str> = rb
            .restores
            .iter()
            .filter(|r| r.phase == ph)
            .map(|r| r.key.as_str())
            .collect();
        tracing::info!(
            "restore {}: {} file(s) {}",
            ph.name(),
            keys.len(),
            log_safe(&keys.join(" "))
        );
    }
    match inv {
        Some(c) => tracing::info!(
            "invalidate {} path(s): {} ({})",
            rb.invalidation_paths.len(),
            log_safe(&rb.invalidation_paths.join(" ")),
            cost(c.plan.billed_paths)
        ),
        None => tracing::info!(
            "invalidate nothing ({} changed path(s))",
            rb.invalidation_paths.len()
        ),
    }
}

/// The plan's one line in the log: what it uploads, skips, prunes and invalidates.
pub(crate) fn log_plan_line(p: &PublishPlan) {
    let _g = gantry_kit::report::group("Plan");
    tracing::info!(
        "release {}: {} to upload ({}), {} unchanged, {} to prune, {} path(s) to invalidate{}",
        p.release_id,
        p.uploads.len(),
        human_bytes(p.bytes_to_upload()),
        p.skipped.len(),
        p.prune.len(),
        p.invalidation_paths.len(),
        if p.noop { " — nothing to do" } else { "" }
    );
}
