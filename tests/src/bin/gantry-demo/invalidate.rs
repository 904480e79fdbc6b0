//! actions/invalidate: a dry run, then an invalidation that waits.

use super::{Ctx, DemoResult, action, failed, show};
use gantry_tests::{cloudfront, create_distribution, unique_name};
use std::io::Write;

const PATHS: &str = "/index.html /assets/* /assets/app-4f3a.js /blog/ünïcode.html";

/// actions/invalidate on `dist` for the demo's paths.
fn invalidate(dist: &str) -> gantry_act::Runner {
    action("invalidate")
        .input("distribution-id", dist)
        .input("paths", PATHS)
}

/// The distribution the site and invalidate parts share (created on first use).
pub(crate) async fn distribution(ctx: &mut Ctx) -> String {
    if ctx.distribution_id.is_empty() {
        let cf = cloudfront().await;
        ctx.distribution_id = create_distribution(&cf, &unique_name("demo")).await;
    }
    ctx.distribution_id.clone()
}

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let dist = distribution(ctx).await;
    writeln!(
        out,
        "\n== actions/invalidate on CloudFront distribution {dist}"
    )?;

    writeln!(out, "\n   dry run (plans, calls nothing)")?;
    let plan = invalidate(&dist)
        .input("dry-run", "true")
        .log_to(std::io::sink())
        .run()?;
    show(out, &plan)?;

    writeln!(out, "\n   invalidate and wait")?;
    let r = invalidate(&dist)
        .input("wait", "true")
        .input("poll-interval", "1s")
        .log_to(std::io::stderr())
        .run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/invalidate", &r);
    }

    let cf = cloudfront().await;
    let listed = cf
        .list_invalidations()
        .distribution_id(&dist)
        .send()
        .await?;
    let count = listed
        .invalidation_list()
        .map(|l| l.items().len())
        .unwrap_or(0);
    writeln!(
        out,
        "\nDeployed: distribution {dist} has {count} invalidation(s); status {}.",
        r.outputs.get("status").map(String::as_str).unwrap_or("?")
    )?;
    Ok(true)
}
