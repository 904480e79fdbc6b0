//! The site's invalidations, through gantry-invalidate's planner and CloudFront calls: keyed to
//! the release change, created once the HTML is in place, waited for at the end.

use crate::config::Cdn;
use crate::report::PublishTally;
use aws_sdk_cloudfront::Client as CloudFront;
use gantry_invalidate::plan::{self, Limits};
use gantry_kit::Error;
use gantry_kit::github::RunIdentity;
use gantry_kit::poll::{Clock, Schedule};
use std::time::Duration;

/// The invalidation of `paths` (the invalidate crate's limits, collapse and batching) for
/// the distribution: planned before anything is written, so a path CloudFront would refuse
/// stops the publish while the old release is intact. `None` without a distribution or paths.
pub(crate) fn plan(
    cdn: Option<&Cdn>,
    paths: &[String],
) -> Result<Option<gantry_invalidate::Config>, Error> {
    let Some(cdn) = cdn.filter(|_| !paths.is_empty()) else {
        return Ok(None);
    };
    let plan = plan::plan(paths, &Limits::default()).map_err(|e| {
        let hint = e.hint();
        Error::failed(format!("invalidation: {e}")).with_hint(hint)
    })?;
    Ok(Some(gantry_invalidate::Config {
        distribution_id: cdn.distribution_id.clone(),
        plan,
        wait: false,
        timeout: cdn.timeout,
        poll_interval: cdn.poll_interval,
        caller_reference: None,
        dry_run: false,
    }))
}

/// `timeout` from now on `clock`: each wait of a publish (creating, completing) gets the
/// whole `timeout`, as it did when each had a clock of its own.
fn deadline<C: Clock>(clock: &C, cdn: &Cdn) -> Duration {
    clock.elapsed() + cdn.timeout
}

/// An invalidation created and not yet waited for.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: String,
}

/// Creates the `planned` invalidation (no wait), keyed to the release change `from -> to` so
/// a re-run of the same publish sends the same CallerReference and CloudFront returns the same
/// invalidation, and a later publish of the same release gets its own. Records it in `tally`.
pub(crate) async fn create<C: Clock>(
    cf: &CloudFront,
    clock: &C,
    cdn: &Cdn,
    planned: &gantry_invalidate::Config,
    (from, to): (&str, &str),
    tally: &mut PublishTally,
) -> Result<Pending, Error> {
    let cfg = gantry_invalidate::Config {
        timeout: deadline(clock, cdn),
        ..planned.clone()
    };
    let _g = gantry_kit::report::group(&format!("Invalidate {} path(s)", cfg.plan.paths.len()));
    let identity = RunIdentity::from_env().for_purpose(format!("{from}->{to}"));
    let created =
        gantry_invalidate::execute(cf, clock, &cfg, &identity, gantry_invalidate::nonce())
            .await
            .map_err(|stopped| tally.attach(stopped.error))?;
    let id = created.last().map(|c| c.id.clone()).unwrap_or_default();
    tally.invalidation_id = id.clone();
    tally.invalidated = cfg.plan.paths;
    Ok(Pending { id })
}

/// Waits until `pending` is Completed (exit 4 past `timeout`); returns its status.
pub(crate) async fn wait<C: Clock>(
    cf: &CloudFront,
    clock: &C,
    cdn: &Cdn,
    pending: &Pending,
    tally: &PublishTally,
) -> Result<String, Error> {
    let schedule = Schedule {
        interval: cdn.poll_interval,
        deadline: deadline(clock, cdn),
    };
    gantry_invalidate::wait_completed(cf, clock, schedule, &cdn.distribution_id, &pending.id)
        .await
        .map_err(|e| tally.attach(e))
}
