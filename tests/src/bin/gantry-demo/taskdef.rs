//! actions/task-definition: register the example app's task definition with the image the image
//! part pushed, then run the same step again to show it reuses the revision.

use super::{Ctx, DemoResult, action, failed, show};
use gantry_tests::repo_root;
use std::io::Write;

/// Used when the image part did not run (or pushed nothing).
const FALLBACK_IMAGE: &str = "public.ecr.aws/docker/library/busybox:stable";

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let file = repo_root().join("examples/app/task-definition.json");
    let image = ctx
        .image
        .clone()
        .unwrap_or_else(|| FALLBACK_IMAGE.to_owned());
    writeln!(
        out,
        "\n== actions/task-definition: examples/app/task-definition.json with app={image}"
    )?;
    let register = || {
        action("task-definition")
            .input("task-definition", file.to_string_lossy())
            .input("images", format!("app={image}"))
            .input("tags", "app=gantry-example")
    };

    writeln!(out, "\n   register (only when changed)")?;
    let r = register().log_to(std::io::stderr()).run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/task-definition", &r);
    }

    writeln!(
        out,
        "\n   the same step again (a re-run, or a second service)"
    )?;
    let again = register().log_to(std::io::sink()).run()?;
    show(out, &again)?;
    if !again.success {
        return failed(out, "actions/task-definition (again)", &again);
    }

    let arn = again
        .outputs
        .get("task-definition-arn")
        .cloned()
        .unwrap_or_default();
    writeln!(
        out,
        "\nDeployed: task definition {arn} (first run changed={}, second run changed={}).",
        r.outputs.get("changed").map(String::as_str).unwrap_or("?"),
        again
            .outputs
            .get("changed")
            .map(String::as_str)
            .unwrap_or("?"),
    )?;
    ctx.task_definition_arn = Some(arn);
    Ok(true)
}
