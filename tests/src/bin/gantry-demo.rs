//! `make demo`: every gantry action that exists, run through the composite-action runner
//! against local AWS, with what each one did. It grows with each action.

use gantry_tests::{bin_dir, cloudfront, create_distribution, repo_root, unique_name};
use std::io::Write;
use std::process::ExitCode;

fn action(name: &str) -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions").join(name))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .github("run_id", "1001")
        .github("job", "demo")
}

const PATHS: &str = "/index.html /assets/* /assets/app-4f3a.js /blog/ünïcode.html";

/// actions/invalidate on `dist` for the demo's paths.
fn invalidate(dist: &str) -> gantry_act::Runner {
    action("invalidate")
        .input("distribution-id", dist)
        .input("paths", PATHS)
}

fn show(out: &mut impl Write, r: &gantry_act::RunResult) -> std::io::Result<()> {
    for (k, v) in &r.outputs {
        writeln!(out, "     {k:<18} {}", v.replace('\n', ", "))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut out = std::io::stdout().lock();
    match demo(&mut out).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            let _ = writeln!(out, "demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(out: &mut impl Write) -> Result<bool, Box<dyn std::error::Error>> {
    let endpoint = gantry_tests::aws_endpoint();
    writeln!(out, "gantry demo against local AWS at {endpoint}\n")?;

    let cf = cloudfront().await;
    let name = unique_name("demo");
    let dist = create_distribution(&cf, &name).await;
    writeln!(out, "1. CloudFront distribution {dist} (origin {name}.s3…)")?;

    writeln!(
        out,
        "\n2. actions/invalidate — dry run (plans, calls nothing)"
    )?;
    let plan = invalidate(&dist)
        .input("dry-run", "true")
        .log_to(std::io::sink())
        .run()?;
    show(out, &plan)?;

    writeln!(out, "\n3. actions/invalidate — invalidate and wait")?;
    let r = invalidate(&dist)
        .input("wait", "true")
        .input("poll-interval", "1s")
        .log_to(std::io::stderr())
        .run()?;
    show(out, &r)?;
    if !r.success {
        writeln!(out, "\n   the action failed: {:?}", r.annotations)?;
        return Ok(false);
    }

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
