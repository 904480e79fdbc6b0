//! The pipeline (docs/workflows.md): examples/caller's workflows run through gantry-act's workflow
//! mode against local AWS and the local GitHub API. Release one goes dev → staging → prod (prod
//! approved); release two reaches prod, where the guard alarm fires during the bake and the rollout
//! rolls back; then the rollback workflow is dispatched for prod. It ends with each environment's
//! release, read from the deployment records, and prod's index.html, read from its bucket.

use super::DemoResult;
use gantry_tests::pipeline::{Caller, completed, index_html, running, set_alarm};
use std::io::Write;
use std::time::{Duration, Instant};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn short(s: &str, n: usize) -> &str {
    &s[..s.len().min(n)]
}

/// One line per job: result, duration, the deploy's status.
fn jobs(out: &mut dyn Write, r: &gantry_act::workflow::WorkflowResult) -> std::io::Result<()> {
    for j in &r.jobs {
        let status = j.outputs.get("status").map(String::as_str).unwrap_or("");
        writeln!(
            out,
            "     {:<22} {:<10} {:>5.1}s  {status}",
            j.id,
            format!("{:?}", j.result).to_lowercase(),
            j.duration.as_secs_f64()
        )?;
    }
    for a in r
        .annotations
        .iter()
        .filter(|a| a.level == gantry_act::AnnotationLevel::Error)
    {
        writeln!(out, "     error: {}", a.message.replace('\n', " "))?;
    }
    Ok(())
}

/// Runs `w` on a blocking thread (gantry-act waits on processes).
async fn workflow(
    w: gantry_act::WorkflowRun,
) -> Result<gantry_act::workflow::WorkflowResult, String> {
    tokio::task::spawn_blocking(move || gantry_act::workflow::run(&w.log_to(std::io::sink())))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn push(c: &Caller) -> gantry_act::WorkflowRun {
    c.workflow("pipeline.yml")
        .event("push")
        .approve("dev")
        .approve("staging")
        .approve("prod")
}

pub(crate) async fn run(out: &mut dyn Write) -> DemoResult {
    let started = Instant::now();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let s3 = gantry_tests::site_s3().await;
    let c = Caller::new("demo", &ENVIRONMENTS, &[("prod", "BAKE_TIME", "8s")]);
    writeln!(
        out,
        "\n== the pipeline: examples/caller in {} (GitHub repository {}, local), environments dev, staging, prod",
        c.path().display(),
        c.repository
    )?;

    let one = c.head();
    writeln!(
        out,
        "\n   release one ({}): pipeline.yml on push, prod approved",
        short(&one, 12)
    )?;
    let r = workflow(push(&c)).await?;
    jobs(out, &r)?;
    if !r.success {
        writeln!(out, "\n   the first release did not go through")?;
        return Ok(false);
    }
    let prod = c.env("prod").clone();
    let prod_one = running(&ecs, &prod).await;

    let two = c.change(
        "frontend/index.html",
        &std::fs::read_to_string(c.path().join("frontend/index.html"))?
            .replace("</body>", "<p>release two</p></body>"),
        "release two",
    );
    writeln!(
        out,
        "\n   release two ({}): the guard alarm {} fires during prod's bake",
        short(&two, 12),
        prod.alarms[0]
    )?;
    let job = tokio::spawn(workflow(push(&c)));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let td = running(&ecs, &prod).await;
        if td != prod_one && completed(&ecs, &prod, &td).await {
            tokio::time::sleep(Duration::from_secs(2)).await;
            set_alarm(&cw, &prod.alarms[0], true).await;
            break;
        }
        if job.is_finished() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let r = job.await??;
    jobs(out, &r)?;
    let verdict = r
        .job("prod/deploy")
        .and_then(|j| j.outputs.get("status"))
        .cloned()
        .unwrap_or_default();
    if r.success || verdict != "rolled-back" {
        writeln!(
            out,
            "\n   expected prod's rollout to be rolled back, got {verdict:?}"
        )?;
        return Ok(false);
    }
    set_alarm(&cw, &prod.alarms[0], false).await;

    writeln!(
        out,
        "\n   rollback.yml for prod (workflow_dispatch: to last-good), approved"
    )?;
    let r = workflow(
        c.workflow("rollback.yml")
            .event("workflow_dispatch")
            .input("environment", "prod")
            .input("to", "last-good")
            .input("reason", "guard alarm during release two's bake")
            .approve("prod"),
    )
    .await?;
    jobs(out, &r)?;
    if !r.success {
        return Ok(false);
    }

    writeln!(
        out,
        "\n   the pipeline's three runs took {:.0}s",
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "\n   what each environment runs, from its deployment records:"
    )?;
    for env in ENVIRONMENTS {
        match c.last_good(env) {
            Some(g) => {
                let field = |k: &str| g[k].as_str().unwrap_or_default().to_owned();
                let image = field("image");
                let digest = image.split_once('@').map_or("", |(_, d)| d);
                writeln!(
                    out,
                    "     {env:<8} {} (deployment {})  image {}  task definition {}  site {}",
                    short(&field("sha"), 12),
                    g["deployment-id"],
                    short(digest, 19),
                    field("task-definition-arn")
                        .rsplit('/')
                        .next()
                        .unwrap_or_default(),
                    field("site-release-id"),
                )?;
            }
            None => writeln!(out, "     {env:<8} no good release")?,
        }
    }
    let running_now = running(&ecs, &prod).await;
    let index = index_html(&s3, &prod).await.unwrap_or_default();
    writeln!(
        out,
        "\n   prod's service runs {} (release one's: {}); s3://{}/index.html:",
        running_now.rsplit('/').next().unwrap_or_default(),
        if running_now == prod_one { "yes" } else { "no" },
        prod.bucket
    )?;
    for line in index.lines().take(12) {
        writeln!(out, "     | {line}")?;
    }
    writeln!(
        out,
        "     release two's text on prod's site: {}",
        if index.contains("release two") {
            "yes"
        } else {
            "no"
        }
    )?;
    Ok(running_now == prod_one && !index.contains("release two"))
}
