//! actions/deployment: the release the other parts produced, recorded as a GitHub deployment in
//! each environment (the fake GitHub of `scripts/local-aws up`), then each environment's last
//! good release read back.

use super::{Ctx, DemoResult, action, failed, show};
use std::io::Write;

const REPOSITORY: &str = "gantry-actions/example-app";
const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn deployment(mode: &str) -> gantry_act::Runner {
    action("deployment")
        .github("repository", REPOSITORY)
        .input("mode", mode)
        .log_to(std::io::sink())
}

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let api = std::env::var("GITHUB_API_URL").unwrap_or_default();
    writeln!(
        out,
        "\n== actions/deployment on the GitHub API at {api} ({REPOSITORY})"
    )?;
    let mut release = deployment("release").input("ref", "main");
    if let Some(image) = &ctx.image {
        release = release.input("image", image);
    }
    if let Some(arn) = &ctx.task_definition_arn {
        release = release.input("task-definition-arn", arn);
    }
    let release = release.run()?;
    if !release.success {
        return failed(out, "actions/deployment release", &release);
    }
    let manifest = release.outputs["release"].clone();
    writeln!(out, "\n   release manifest: {manifest}")?;

    for env in ENVIRONMENTS {
        let start = deployment("start")
            .input("environment", env)
            .input("release", &manifest)
            .run()?;
        if !start.success {
            return failed(out, "actions/deployment start", &start);
        }
        let id = start.outputs["deployment-id"].clone();
        let finish = deployment("finish")
            .input("deployment-id", &id)
            .input("state", "success")
            .run()?;
        if !finish.success {
            return failed(out, "actions/deployment finish", &finish);
        }
        writeln!(
            out,
            "   {env:<8} deployment {id} recorded: {} ({})",
            finish.outputs["state"], finish.outputs["description"]
        )?;
    }

    writeln!(
        out,
        "\n   last good release of each environment (from the deployment records)"
    )?;
    for env in ENVIRONMENTS {
        let good = deployment("last-good").input("environment", env).run()?;
        if !good.success {
            return failed(out, "actions/deployment last-good", &good);
        }
        writeln!(out, "   {env}:")?;
        show(out, &good)?;
    }
    Ok(true)
}
