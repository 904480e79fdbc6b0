//! End-to-end tests of the pipeline (docs/workflows.md): examples/caller's workflows — and a
//! one-environment caller workflow (fixtures/pipeline/deploy-one.yml) — calling gantry's
//! deploy.yml and rollback.yml through gantry-act's workflow mode, against local AWS (moto through
//! the launcher, the CNCF registry) and the local GitHub API; and the root action's discovery and
//! overrides, run as an action. Each test makes its own environments and GitHub repository.

use gantry_tests::pipeline::{
    Caller, completed, explain, index_html, registry_tags, revisions, running, set_alarm,
};
use gantry_tests::{bin_dir, create_site_bucket, image_example_layout, image_registry, repo_root};
use serde_json::Value;

const DEPLOY_ONE: &str = include_str!("fixtures/pipeline/deploy-one.yml");

struct Aws {
    ecs: aws_sdk_ecs::Client,
    s3: aws_sdk_s3::Client,
    cw: aws_sdk_cloudwatch::Client,
}

async fn aws() -> Aws {
    gantry_tests::aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    Aws {
        ecs: aws_sdk_ecs::Client::new(&sdk),
        s3: gantry_tests::site_s3().await,
        cw: aws_sdk_cloudwatch::Client::new(&sdk),
    }
}

/// A caller with deploy-one.yml beside examples/caller's workflows.
fn caller(prefix: &str, envs: &[&str]) -> Caller {
    let c = Caller::new(prefix, envs, &[]);
    c.change(
        ".github/workflows/deploy-one.yml",
        DEPLOY_ONE,
        "deploy one environment",
    );
    c
}

/// Runs `w` on a blocking thread (gantry-act waits on processes), returning its result.
async fn run(w: gantry_act::WorkflowRun) -> gantry_act::workflow::WorkflowResult {
    tokio::task::spawn_blocking(move || gantry_act::workflow::run(&w.log_to(std::io::sink())))
        .await
        .expect("join")
        .expect("the workflow runs")
}

fn deploy_one(c: &Caller, env: &str, promote_from: &str, soak: &str) -> gantry_act::WorkflowRun {
    c.workflow("deploy-one.yml")
        .event("workflow_dispatch")
        .input("environment", env)
        .input("promote-from", promote_from)
        .input("soak-time", soak)
        .approve(env)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn digest(image: &str) -> &str {
    image.split_once('@').map_or("", |(_, d)| d)
}

fn annotations(r: &gantry_act::workflow::WorkflowResult) -> String {
    r.annotations
        .iter()
        .map(|a| a.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn one_release_goes_through_dev_staging_and_prod() {
    let aws = aws().await;
    let c = Caller::new("promo", &["dev", "staging", "prod"], &[]);
    let sha = c.head();
    let r = run(c
        .workflow("pipeline.yml")
        .event("push")
        .approve("dev")
        .approve("staging")
        .approve("prod"))
    .await;
    assert!(r.success, "{}", explain(&r));
    let frontend =
        std::fs::read_to_string(repo_root().join("examples/frontend/index.html")).unwrap();
    let mut digests = Vec::new();
    for env in ["dev", "staging", "prod"] {
        let e = c.env(env);
        let good = c
            .last_good(env)
            .unwrap_or_else(|| panic!("{env} has a good release"));
        assert_eq!(text(&good, "sha"), sha, "{env}: {good}");
        let image = text(&good, "image");
        assert!(
            image.contains(&format!("/{}@sha256:", e.repository)),
            "{env}: {image}"
        );
        digests.push(digest(&image).to_owned());
        assert_eq!(
            running(&aws.ecs, e).await,
            text(&good, "task-definition-arn"),
            "{env}"
        );
        assert_eq!(
            index_html(&aws.s3, e).await.as_deref(),
            Some(frontend.as_str()),
            "{env}"
        );
        // One record per deploy, gantry's own: re-checks and retries write no second. (On GitHub,
        // `deployment: false` keeps it from adding its own; gantry-act models no such records.)
        let records = c.records(env).await;
        assert_eq!(records.len(), 1, "{env}: {records:#?}");
        assert_eq!(records[0]["statuses"][0]["state"], "success", "{env}");
        assert_eq!(
            records[0]["statuses"][0]["environment_url"],
            e.site_url.as_str(),
            "{env}"
        );
    }
    assert!(
        digests.iter().all(|d| d == &digests[0]),
        "promoted by digest: {digests:?}"
    );
    let prod = r.job("prod/deploy").expect("prod's deploy job");
    assert_eq!(prod.outputs["status"], "success");
    assert_eq!(prod.environment.as_deref(), Some("prod"));
    let jobs: Vec<&str> = r.jobs.iter().map(|j| j.id.as_str()).collect();
    assert!(
        jobs.contains(&"staging/order") && jobs.contains(&"prod/order"),
        "{jobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_before_staging_and_a_release_younger_than_soak_time_are_refused() {
    let aws = aws().await;
    let c = caller("order", &["dev", "staging", "prod"]);
    let r = run(deploy_one(&c, "dev", "", "0")).await;
    assert!(r.success, "{}", explain(&r));

    // prod straight after dev: staging has no good release.
    let r = run(deploy_one(&c, "prod", "staging", "0")).await;
    assert!(!r.success, "{}", explain(&r));
    let order = r.job("deploy/order").expect("the order job");
    assert_eq!(format!("{:?}", order.result).to_lowercase(), "failure");
    let said = annotations(&r);
    assert!(
        said.contains("staging"),
        "names the environment that lacks it: {said}"
    );
    let prod = c.env("prod");
    assert_eq!(
        running(&aws.ecs, prod).await,
        prod.baseline,
        "prod untouched"
    );
    assert!(c.records("prod").await.is_empty(), "no prod record");
    assert_eq!(index_html(&aws.s3, prod).await, None);

    // staging right after dev, with a soak time of an hour.
    let r = run(deploy_one(&c, "staging", "dev", "1h")).await;
    assert!(!r.success, "{}", explain(&r));
    let said = annotations(&r);
    assert!(
        said.contains("dev") && said.contains("1h"),
        "says how long it soaked: {said}"
    );
    let staging = c.env("staging");
    assert_eq!(
        running(&aws.ecs, staging).await,
        staging.baseline,
        "staging untouched"
    );
    assert!(c.records("staging").await.is_empty());

    // The same promotion without a soak time goes through, with dev's image by digest.
    let r = run(deploy_one(&c, "staging", "dev", "0")).await;
    assert!(r.success, "{}", explain(&r));
    let (dev, staging) = (c.last_good("dev").unwrap(), c.last_good("staging").unwrap());
    assert_eq!(
        digest(&text(&dev, "image")),
        digest(&text(&staging, "image"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_prod_approval_leaves_prod_untouched() {
    let aws = aws().await;
    let c = Caller::new("reject", &["dev", "staging", "prod"], &[]);
    let r = run(c
        .workflow("pipeline.yml")
        .event("push")
        .approve("dev")
        .approve("staging")
        .reject("prod"))
    .await;
    assert!(!r.success, "{}", explain(&r));
    assert!(c.last_good("staging").is_some(), "staging deployed");
    let prod = c.env("prod");
    assert_eq!(running(&aws.ecs, prod).await, prod.baseline);
    assert_eq!(
        revisions(&aws.ecs, prod).await,
        1,
        "no revision registered in prod"
    );
    assert!(c.records("prod").await.is_empty(), "no prod record");
    assert_eq!(index_html(&aws.s3, prod).await, None, "no prod frontend");
    assert!(
        registry_tags(prod).await.is_empty(),
        "nothing promoted to prod"
    );
}

/// Two releases in dev (the second with another index.html); returns their commits.
async fn two_releases(c: &Caller) -> (String, String) {
    let first = c.head();
    let r = run(deploy_one(c, "dev", "", "0")).await;
    assert!(r.success, "{}", explain(&r));
    let second = c.change(
        "frontend/index.html",
        "<!doctype html><title>two</title>release two\n",
        "release two",
    );
    let r = run(deploy_one(c, "dev", "", "0")).await;
    assert!(r.success, "{}", explain(&r));
    (first, second)
}

fn rollback(c: &Caller, env: &str, to: &str, dry_run: bool) -> gantry_act::WorkflowRun {
    c.workflow("rollback.yml")
        .event("workflow_dispatch")
        .input("environment", env)
        .input("to", to)
        .input("reason", "release two breaks checkout")
        .input("dry-run", if dry_run { "true" } else { "false" })
        .approve(env)
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restores_service_and_frontend_and_marks_the_release_bad() {
    let aws = aws().await;
    let c = caller("rollback", &["dev"]);
    let dev = c.env("dev");
    let (first, second) = two_releases(&c).await;
    let one_td = c.records("dev").await[1]["payload"]["task-definition-arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let two_td = running(&aws.ecs, dev).await;
    assert_ne!(one_td, two_td);

    // A dry run shows both halves and changes nothing.
    let r = run(rollback(&c, "dev", "previous", true)).await;
    assert!(r.success, "{}", explain(&r));
    assert_eq!(
        r.job("rollback/rollback").unwrap().outputs["status"],
        "planned"
    );
    assert_eq!(running(&aws.ecs, dev).await, two_td);
    assert!(
        index_html(&aws.s3, dev)
            .await
            .unwrap()
            .contains("release two")
    );
    assert_eq!(c.records("dev").await.len(), 2, "no record from a dry run");

    let r = run(rollback(&c, "dev", "previous", false)).await;
    assert!(r.success, "{}", explain(&r));
    assert_eq!(
        running(&aws.ecs, dev).await,
        one_td,
        "service back on release one"
    );
    let index = index_html(&aws.s3, dev).await.unwrap();
    assert!(
        !index.contains("release two"),
        "frontend back on release one: {index}"
    );
    let good = c.last_good("dev").expect("a good release");
    assert_eq!(
        text(&good, "sha"),
        first,
        "the restore is the newest good release"
    );
    let records = c.records("dev").await;
    assert_eq!(
        records.len(),
        3,
        "the restore is a new record: {records:#?}"
    );
    assert_eq!(records[0]["statuses"][0]["state"], "success");
    let two = records
        .iter()
        .find(|d| d["payload"]["sha"] == second.as_str())
        .unwrap();
    let marked = two["statuses"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        marked.contains("release two breaks checkout"),
        "release two marked bad: {marked}"
    );
    // Never offered again: release one is the only good release left, so there is no `previous`.
    let r = run(rollback(&c, "dev", "previous", true)).await;
    assert!(!r.success, "release two offered again: {}", explain(&r));
    let said = annotations(&r);
    assert!(
        said.contains("dev has no good release before deployment"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_whose_frontend_half_fails_marks_nothing() {
    let aws = aws().await;
    let c = caller("halffail", &["dev"]);
    let dev = c.env("dev");
    let (_first, second) = two_releases(&c).await;
    let one = &c.records("dev").await[1]["payload"];
    let one_td = one["task-definition-arn"].as_str().unwrap().to_owned();
    let one_site = one["site"]["release-id"].as_str().unwrap().to_owned();
    // The frontend half cannot work: release one's site record is gone from the bucket.
    aws.s3
        .delete_object()
        .bucket(&dev.bucket)
        .key(format!(".gantry/releases/{one_site}.json"))
        .send()
        .await
        .unwrap();

    let r = run(rollback(&c, "dev", "previous", false)).await;
    assert!(!r.success, "{}", explain(&r));
    let said = annotations(&r) + &r.summary;
    assert!(
        said.contains("frontend") && said.contains("nothing was marked bad"),
        "{said}"
    );
    assert_eq!(
        running(&aws.ecs, dev).await,
        one_td,
        "the service half is done"
    );
    assert!(
        index_html(&aws.s3, dev)
            .await
            .unwrap()
            .contains("release two"),
        "frontend unchanged"
    );
    let good = c.last_good("dev").unwrap();
    assert_eq!(text(&good, "sha"), second, "release two is not marked bad");
    let records = c.records("dev").await;
    assert_eq!(
        records[0]["statuses"][0]["state"], "failure",
        "the restore record says failure"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_of_a_failed_deploy_is_safe() {
    let aws = aws().await;
    let c = caller("rerun", &["dev"]);
    let dev = c.env("dev");
    set_alarm(&aws.cw, &dev.alarms[0], true).await;
    let w = deploy_one(&c, "dev", "", "0");
    let run_id = w.github["run_id"].clone();
    let r = run(w).await;
    assert!(
        !r.success,
        "refused behind an alarm in ALARM: {}",
        explain(&r)
    );
    assert_eq!(running(&aws.ecs, dev).await, dev.baseline);
    let records = c.records("dev").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["statuses"][0]["state"], "failure");

    set_alarm(&aws.cw, &dev.alarms[0], false).await;
    let r = run(c
        .rerun("deploy-one.yml", &run_id, 2)
        .event("workflow_dispatch")
        .input("environment", "dev")
        .approve("dev"))
    .await;
    assert!(r.success, "{}", explain(&r));
    let records = c.records("dev").await;
    assert_eq!(
        records.len(),
        1,
        "the re-run reuses its record: {records:#?}"
    );
    assert_eq!(records[0]["statuses"][0]["state"], "success");
    assert_eq!(
        revisions(&aws.ecs, dev).await,
        2,
        "one revision registered across both attempts"
    );
    let good = c.last_good("dev").unwrap();
    assert!(completed(&aws.ecs, dev, &text(&good, "task-definition-arn")).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_nothing() {
    let aws = aws().await;
    let c = caller("dryrun", &["dev"]);
    let dev = c.env("dev");
    let r = run(deploy_one(&c, "dev", "", "0").input("dry-run", "true")).await;
    assert!(r.success, "{}", explain(&r));
    assert_eq!(r.job("deploy/deploy").unwrap().outputs["status"], "planned");
    assert_eq!(running(&aws.ecs, dev).await, dev.baseline);
    assert_eq!(revisions(&aws.ecs, dev).await, 1);
    assert_eq!(index_html(&aws.s3, dev).await, None);
    assert!(c.records("dev").await.is_empty());
    assert!(registry_tags(dev).await.is_empty(), "nothing pushed");
}

fn root_action(c: &Caller, source: &str) -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root())
        .workspace(c.path())
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .input(
            "environments-dir",
            c.path().join("infra/environments").to_string_lossy(),
        )
        .input("image-source", source)
        .input("registry", image_registry())
        .input("record", "false")
        .input("bake-time", "1s")
        .input("poll-interval", "1s")
        .log_to(std::io::sink())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_root_action_discovers_its_targets_and_explicit_inputs_win() {
    let aws = aws().await;
    let c = Caller::new("discover", &["dev"], &[]);
    let dev = c.env("dev").clone();
    let image = tempfile::tempdir().unwrap();
    let source = image_example_layout(image.path(), "app");
    let other = gantry_tests::unique_name("override-site");
    create_site_bucket(&aws.s3, &other, true).await;
    let site = c.path().join("frontend").to_string_lossy().into_owned();
    let (runner, s, b) = (root_action(&c, &source), site.clone(), other.clone());
    let r = tokio::task::spawn_blocking(move || {
        runner
            .input("environment", "dev")
            .input("site-dir", s)
            .input("bucket", b)
            .run()
    })
    .await
    .unwrap()
    .expect("the action runs");
    assert!(r.success, "{:?}", r.annotations);
    assert_eq!(r.outputs["status"], "success");
    let td = &r.outputs["task-definition-arn"];
    assert!(
        td.contains(&format!("task-definition/{}:", dev.family)),
        "discovered family: {td}"
    );
    assert_eq!(
        &running(&aws.ecs, &dev).await,
        td,
        "discovered cluster and service"
    );
    assert!(r.outputs["image"].contains(&format!("/{}@sha256:", dev.repository)));
    let release: Value = serde_json::from_str(&r.outputs["release"]).unwrap();
    assert_eq!(
        release["site"]["bucket"],
        other.as_str(),
        "the input wins over SiteBucketName"
    );
    assert_eq!(release["services"][0]["cluster"], dev.cluster.as_str());
    assert!(
        gantry_tests::site_object(&aws.s3, &other, "index.html")
            .await
            .is_some()
    );
    assert_eq!(
        index_html(&aws.s3, &dev).await,
        None,
        "the discovered bucket is left alone"
    );
    assert_eq!(r.outputs["environment-url"], dev.site_url, "SiteUrl");

    // An environment without stacks and no overrides: refused, naming what is missing.
    let qa = serde_json::json!({"Project": c.project, "Environment": "qa", "Region": "us-east-1",
        "AccountId": "123456789012", "Stacks": [{"Layer": "service"}]});
    std::fs::write(c.path().join("infra/environments/qa.json"), qa.to_string()).unwrap();
    let runner = root_action(&c, &source);
    let r = tokio::task::spawn_blocking(move || runner.input("environment", "qa").run())
        .await
        .unwrap()
        .expect("the action runs");
    assert!(!r.success);
    let said: Vec<&str> = r.annotations.iter().map(|a| a.message.as_str()).collect();
    assert!(
        said.iter()
            .any(|m| m.contains("input `cluster`, or stack output ClusterName")),
        "{said:?}"
    );
}
