//! `register`: render, compare with the family's latest ACTIVE revision, and register a new
//! revision only when something changed (or `--force`).

use super::prepare::{load_source, write_rendered};
use crate::aws::ecs;
use crate::cli::RegisterArgs;
use crate::compare;
use crate::config;
use crate::report::{self, Registration};
use gantry_kit::{Error, Report};

pub(crate) async fn register(a: RegisterArgs) -> Result<Report, Error> {
    let cfg = config::validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let path = write_rendered(&r, a.out.as_deref())?;
    let family = r.family().to_owned();
    let c = ecs::connect(&a.aws).await;
    let live = ecs::latest_active(&c, &family).await?;
    let lines = compare::changes(live.as_ref().map(|l| &l.def), &r.def);
    let against = report::against_latest(live.as_ref(), &family);
    let register = compare::should_register(live.is_some(), &lines, a.force);
    {
        let _g = gantry_kit::report::group("Diff");
        if live.is_none() {
            tracing::info!("nothing to compare with: {against}");
        } else if lines.is_empty() {
            tracing::info!("no change against {against}");
        }
        for l in &lines {
            tracing::info!("{l}");
        }
    }
    let done = Registration {
        rendered: &r,
        path: &path,
        live: live.as_ref(),
        against: &against,
        diff: lines,
        changed: register,
    };
    if a.dry_run {
        tracing::info!(
            "dry run: would {}; nothing registered",
            report::would(register)
        );
        return Ok(report::register_dry_run(done));
    }
    let registered = match (&live, register) {
        (Some(l), false) => {
            tracing::info!("unchanged: reusing {}", l.arn);
            (l.arn.clone(), l.revision)
        }
        _ => {
            if a.force && live.is_some() && done.diff.is_empty() {
                tracing::info!("unchanged, but --force: registering a new revision");
            }
            let (arn, rev) = ecs::register(&c, &r.def).await?;
            tracing::info!("registered {arn}");
            (arn, rev)
        }
    };
    Ok(report::registered(done, registered))
}
