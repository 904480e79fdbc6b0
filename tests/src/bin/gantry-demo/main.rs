//! `make demo`: every gantry action that exists, run through the composite-action runner
//! against local AWS, with what each one did, then the pipeline that chains them
//! (examples/caller's workflows through gantry-act's workflow mode, `pipeline`). Each action's
//! part lives in its own module, in pipeline order.

mod deployment;
mod image;
mod invalidate;
mod pipeline;
mod rollout;
mod site;
mod stack;
mod taskdef;

use gantry_tests::{bin_dir, repo_root};
use std::io::Write;
use std::process::ExitCode;

/// What one part of the demo hands to the next (pipeline order: stack → image → task definition
/// → rollout → site → invalidate → deployment records).
#[derive(Debug, Default)]
pub struct Ctx {
    /// The CloudFront distribution the site and invalidate parts use.
    pub distribution_id: String,
    /// `registry/repo@sha256:…` pushed by the image part.
    pub image: Option<String>,
    /// The task definition ARN registered by the task-definition part.
    pub task_definition_arn: Option<String>,
}

pub type DemoResult = Result<bool, Box<dyn std::error::Error>>;

/// A runner for `actions/<name>` with the demo's binaries and run identity.
pub fn action(name: &str) -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions").join(name))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .github("run_id", "1001")
        .github("job", "demo")
}

/// Print a run's outputs, indented.
pub fn show(out: &mut dyn Write, r: &gantry_act::RunResult) -> std::io::Result<()> {
    for (k, v) in &r.outputs {
        writeln!(out, "     {k:<22} {}", v.replace('\n', ", "))?;
    }
    Ok(())
}

/// Report a failed run and return `false`.
pub fn failed(out: &mut dyn Write, what: &str, r: &gantry_act::RunResult) -> DemoResult {
    writeln!(out, "\n   {what} failed: {:?}", r.annotations)?;
    Ok(false)
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

async fn demo(out: &mut dyn Write) -> DemoResult {
    let endpoint = gantry_tests::aws_endpoint();
    writeln!(out, "gantry demo against local AWS at {endpoint}")?;
    let mut ctx = Ctx::default();
    type Part = for<'a> fn(
        &'a mut dyn Write,
        &'a mut Ctx,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = DemoResult> + 'a>>;
    let parts: [(&str, Part); 7] = [
        ("stack", |o, c| Box::pin(stack::run(o, c))),
        ("image", |o, c| Box::pin(image::run(o, c))),
        ("task-definition", |o, c| Box::pin(taskdef::run(o, c))),
        ("rollout", |o, c| Box::pin(rollout::run(o, c))),
        ("site", |o, c| Box::pin(site::run(o, c))),
        ("invalidate", |o, c| Box::pin(invalidate::run(o, c))),
        ("deployment", |o, c| Box::pin(deployment::run(o, c))),
    ];
    for (name, part) in parts {
        if !part(out, &mut ctx).await? {
            writeln!(out, "\ndemo stopped: the {name} part failed")?;
            return Ok(false);
        }
    }
    if !pipeline::run(out).await? {
        writeln!(out, "\ndemo stopped: the pipeline part failed")?;
        return Ok(false);
    }
    Ok(true)
}
