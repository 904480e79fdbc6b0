//! actions/image: build the example image without Docker (umoci + busybox), push it to an ECR
//! repository in moto with the registry protocol going to the local CNCF registry, push it
//! again (nothing uploaded), and promote it by digest to a "prod" repository.

use super::{Ctx, DemoResult, action, failed, show};
use gantry_tests::{image_example_layout, image_registry, unique_name};
use std::io::Write;

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let registry = image_registry();
    let dir = tempfile::tempdir()?;
    let source = image_example_layout(dir.path(), "demo");
    let repo = unique_name("demo/app");
    let prod = unique_name("demo/app-prod");
    writeln!(
        out,
        "\n== actions/image: examples/image to ECR repository {repo} (ECR API: moto; registry: {registry})"
    )?;
    let push = || {
        action("image")
            .input("source", &source)
            .input("repository", &repo)
            .input("tags", "sha-0000001 latest")
            .input("registry", &registry)
            .input("create-repository", "true")
    };

    writeln!(out, "\n   push (creates the repository, uploads the blobs)")?;
    let r = push().log_to(std::io::stderr()).run()?;
    show(out, &r)?;
    if !r.success {
        return failed(out, "actions/image push", &r);
    }

    writeln!(
        out,
        "\n   the same push again (a re-run: nothing to upload)"
    )?;
    let again = push().log_to(std::io::sink()).run()?;
    show(out, &again)?;
    if !again.success {
        return failed(out, "actions/image push (again)", &again);
    }

    let image = r.outputs.get("image").cloned().unwrap_or_default();
    let digest = r.outputs.get("digest").cloned().unwrap_or_default();
    writeln!(out, "\n   promote by digest to {prod}:v1")?;
    let p = action("image")
        .input("mode", "promote")
        .input("from", format!("{repo}@{digest}"))
        .input("to", format!("{prod}:v1"))
        .input("from-registry", &registry)
        .input("to-registry", &registry)
        .input("create-repository", "true")
        .log_to(std::io::sink())
        .run()?;
    show(out, &p)?;
    if !p.success {
        return failed(out, "actions/image promote", &p);
    }
    writeln!(
        out,
        "\nDeployed: {image} (re-push uploaded {} blob(s)); promoted with the same digest: {}.",
        again
            .outputs
            .get("pushed-blobs")
            .map(String::as_str)
            .unwrap_or("?"),
        p.outputs.get("digest") == Some(&digest),
    )?;
    ctx.image = Some(image);
    Ok(true)
}
