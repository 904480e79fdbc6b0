//! `rollback`: read the live pointer, pick the release to go back to, restore its changed files
//! from their stored versions phase by phase, invalidate, flip the pointer, and wait.

use super::site_url;
use crate::aws::s3::{self, Multipart};
use crate::config::{self, RollbackConfig};
use crate::invalidation;
use crate::manifest::{self, Pointer};
use crate::plan::{self, RollbackError};
use crate::publish::{Put, publish_phases};
use crate::report::{self, PublishTally};
use aws_sdk_cloudfront::Client as CloudFront;
use aws_sdk_s3::Client as S3;
use gantry_kit::fmt::log_safe;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use std::collections::BTreeSet;

/// Makes an earlier release live again (or finds it live already).
pub async fn rollback<C: Clock>(
    s3: &S3,
    cf: Option<&CloudFront>,
    clock: &C,
    cfg: &RollbackConfig,
) -> Result<Report, Error> {
    let site = &cfg.publish.location;
    let read = s3::read_pointer(s3, site)
        .await?
        .ok_or_else(|| config::nothing_live(site))?;
    let live = &read.pointer;
    let target_id = match plan::rollback_target(live, cfg.to.as_deref(), cfg.run.as_deref()) {
        Ok(id) => id,
        Err(RollbackError::AlreadyLive(id)) => {
            // A re-run of a rollback that completed: nothing to do.
            let tally = PublishTally {
                release_id: id,
                previous_release_id: live.previous.clone().unwrap_or_default(),
                url: site_url(cf, &cfg.publish).await?,
                ..PublishTally::default()
            };
            return Ok(report::already_live(&tally));
        }
        Err(e) => return Err(config::to_refused(e)),
    };
    // The listing (in ranges split on the live release's keys) and the target's manifest are
    // read side by side.
    let splits = plan::list_splits(
        live.manifest.files.keys().map(String::as_str),
        cfg.publish.list_range,
    );
    let (listing, target) = tokio::join!(
        s3::list(s3, site, &splits, cfg.publish.concurrency.fixed()),
        s3::read_manifest(s3, site, &target_id)
    );
    let listing = listing?;
    let target = target?.ok_or_else(|| config::to_manifest_gone(&target_id))?;
    let rb = plan::plan_rollback(live, &target, &listing.sizes, &listing.etags).map_err(|e| {
        Error::failed(e.to_string()).with_hint(
            "turn on versioning on the bucket: rollback restores overwritten files from their versions",
        )
    })?;
    let mut tally = PublishTally {
        release_id: rb.release_id.clone(),
        previous_release_id: rb.previous_release_id.clone(),
        url: site_url(cf, &cfg.publish).await?,
        ..PublishTally::default()
    };
    let cdn = cfg.publish.cdn.as_ref();
    // Planned before the first restore: a path CloudFront would refuse stops it here.
    let inv = invalidation::plan(cdn, &rb.invalidation_paths).map_err(|e| tally.attach(e))?;
    if cfg.publish.dry_run {
        report::log_rollback_plan(&rb, &live.release, inv.as_ref());
        return report::rollback_dry_run(&tally, &rb, inv.as_ref());
    }

    let puts: Vec<Put> = rb.restores.iter().map(Put::Restore).collect();
    // Restores are copies inside S3: the multipart settings of uploads do not apply.
    let restored = publish_phases(
        s3,
        &cfg.publish,
        Multipart::default(),
        &puts,
        &target,
        &mut tally,
    )
    .await?;

    let mut pending = None;
    if let (Some(cf), Some(cdn), Some(planned)) = (cf, cdn, &inv) {
        let change = (live.release.as_str(), rb.release_id.as_str());
        pending = Some(invalidation::create(cf, clock, cdn, planned, change, &mut tally).await?);
    }
    // Files not restored are the live release's objects: record what the listing shows.
    let restored_keys: BTreeSet<&str> = rb.restores.iter().map(|r| r.key.as_str()).collect();
    let mut now_live = restored.manifest;
    for (key, e) in &mut now_live.files {
        if !restored_keys.contains(key.as_str()) {
            e.etag = listing.etags.get(key).cloned();
        }
    }
    let pointer = Pointer {
        format: manifest::FORMAT,
        release: rb.release_id.clone(),
        previous: Some(live.release.clone()),
        history: live.history.clone(),
        manifest: now_live,
        rolled_back_by: cfg.run.clone(),
    };
    s3::put_pointer(s3, site, &pointer, Some(&read))
        .await
        .map_err(|e| tally.attach(e))?;
    tracing::info!(
        "release {} is live again (was {})",
        log_safe(&rb.release_id),
        log_safe(&live.release)
    );
    if let (Some(cf), Some(cdn), Some(pending)) = (cf, cdn, &pending)
        && cdn.wait
    {
        invalidation::wait(cf, clock, cdn, pending, &tally).await?;
    }
    Ok(report::rolled_back(&tally, &live.release))
}
