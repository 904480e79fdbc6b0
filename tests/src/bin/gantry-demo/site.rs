//! actions/site: publish examples/frontend, publish it again from a fresh copy (nothing
//! written), publish a changed page, then roll back.

use super::{Ctx, DemoResult, action, failed, show};
use gantry_tests::{
    create_site_bucket, repo_root, site_copy_dir, site_object, site_s3, unique_name,
};
use std::io::Write;
use std::path::Path;

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let dist = super::invalidate::distribution(ctx).await;
    let s3 = site_s3().await;
    let bucket = unique_name("demo-site");
    create_site_bucket(&s3, &bucket, true).await;
    writeln!(
        out,
        "\n== actions/site: examples/frontend to s3://{bucket}/ (versioned) behind {dist}"
    )?;
    let deploy = |dir: &Path| {
        action("site")
            .input("dir", dir.to_string_lossy())
            .input("bucket", &bucket)
            .input("distribution-id", &dist)
            .log_to(std::io::sink())
    };

    writeln!(out, "\n   publish")?;
    let r = deploy(&repo_root().join("examples/frontend")).run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/site deploy", &r);
    }
    let first = r.outputs.get("release-id").cloned().unwrap_or_default();

    let checkout = tempfile::tempdir()?;
    site_copy_dir(&repo_root().join("examples/frontend"), checkout.path())?;
    writeln!(
        out,
        "\n   publish again from a fresh checkout (new mtimes, same bytes)"
    )?;
    let r = deploy(checkout.path()).run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/site re-deploy", &r);
    }

    let page = checkout.path().join("docs/index.html");
    let text =
        std::fs::read_to_string(&page)?.replace("<h1>Documentation</h1>", "<h1>Docs v2</h1>");
    std::fs::write(&page, text)?;
    writeln!(out, "\n   publish a changed docs page")?;
    let r = deploy(checkout.path()).run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/site deploy of the change", &r);
    }

    writeln!(out, "\n   roll back")?;
    let r = action("site")
        .input("mode", "rollback")
        .input("bucket", &bucket)
        .input("distribution-id", &dist)
        .log_to(std::io::sink())
        .run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/site rollback", &r);
    }
    let docs = site_object(&s3, &bucket, "docs/index.html")
        .await
        .unwrap_or_default();
    let live = r.outputs.get("release-id").cloned().unwrap_or_default();
    writeln!(
        out,
        "\nDeployed: s3://{bucket}/ serves release {live} (the first: {}); docs page heading: {}.",
        if live == first { "yes" } else { "no" },
        if docs.contains("<h1>Documentation</h1>") {
            "\"Documentation\" again"
        } else {
            "still the changed one"
        }
    )?;
    Ok(live == first)
}
