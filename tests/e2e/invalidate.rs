//! gantry-invalidate against moto, as a binary and as the composite action through gantry-act.

use gantry_tests::{bin_dir, cloudfront, create_distribution, repo_root, unique_name};
use serde_json::Value;

fn invalidate(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut c = gantry_tests::json_command("gantry-invalidate", args);
    c.envs(env.iter().copied());
    gantry_tests::json_output(c)
}

/// The CallerReference CloudFront recorded for the invalidation in a `--json` output.
async fn caller_reference_of(cf: &aws_sdk_cloudfront::Client, dist: &str, out: &Value) -> String {
    let got = cf
        .get_invalidation()
        .distribution_id(dist)
        .id(out["invalidation-id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let batch = got.invalidation().unwrap().invalidation_batch().unwrap();
    batch.caller_reference().to_owned()
}

#[tokio::test]
async fn invalidates_and_waits_against_moto() {
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &unique_name("inv")).await;
    let (code, out, stderr) = invalidate(
        &[
            "--distribution-id",
            &dist,
            "--paths",
            "/index.html /assets/* /assets/app.js /café.html",
            "--wait",
            "--poll-interval",
            "1s",
            "--timeout",
            "60s",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        out["status"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("completed"),
        "{out}"
    );
    let id = out["invalidation-id"].as_str().unwrap();
    let got = cf
        .get_invalidation()
        .distribution_id(&dist)
        .id(id)
        .send()
        .await
        .unwrap();
    let batch = got.invalidation().unwrap().invalidation_batch().unwrap();
    let mut sent: Vec<String> = batch.paths().unwrap().items().to_vec();
    sent.sort();
    assert_eq!(sent, vec!["/assets/*", "/caf%C3%A9.html", "/index.html"]);
    assert_eq!(out["path-count"], 3);
}

#[tokio::test]
async fn a_rerun_sends_the_same_caller_reference() {
    // moto creates a new invalidation for a repeated reference (AWS returns the existing one,
    // which the crate's mock tests cover); here we check the reference itself is identical.
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &unique_name("rerun")).await;
    let run = [
        ("GITHUB_RUN_ID", "777"),
        ("GITHUB_JOB", "deploy"),
        ("GITHUB_ACTION", "invalidate"),
    ];
    let mut refs = Vec::new();
    for attempt in ["1", "2"] {
        let mut env = run.to_vec();
        env.push(("GITHUB_RUN_ATTEMPT", attempt));
        let (code, out, stderr) = invalidate(
            &["--distribution-id", &dist, "--paths", "/index.html"],
            &env,
        );
        assert_eq!(code, 0, "{stderr}");
        refs.push(caller_reference_of(&cf, &dist, &out).await);
    }
    assert_eq!(refs[0], refs[1]);
    assert!(refs[0].starts_with("gantry-777-"), "{}", refs[0]);
}

#[test]
fn unknown_distribution_is_exit_1_with_aws_message() {
    gantry_tests::aws_endpoint();
    let (code, out, stderr) =
        invalidate(&["--distribution-id", "ENOSUCHDIST1", "--paths", "/a"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(out["exit-code"], 1);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("NoSuchDistribution"),
        "{out}"
    );
}

fn action() -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions/invalidate"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .log_to(std::io::sink())
}

#[tokio::test]
async fn composite_action_runs_through_the_runner() {
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &unique_name("act")).await;
    let r = action()
        .input("distribution-id", &dist)
        .input("paths", "/index.html\n/docs/*\n/docs/intro.html")
        .input("wait", "true")
        .input("poll-interval", "1s")
        .run()
        .unwrap();
    assert!(
        r.success,
        "steps: {:?} annotations: {:?}",
        r.steps, r.annotations
    );
    assert_eq!(
        r.step("setup")
            .unwrap()
            .outputs
            .get("source")
            .map(String::as_str),
        Some("prebuilt")
    );
    assert_eq!(r.outputs["paths"], "/docs/*\n/index.html");
    assert_eq!(r.outputs["path-count"], "2");
    assert!(r.outputs["status"].eq_ignore_ascii_case("completed"));
    let id = &r.outputs["invalidation-id"];
    let listed = cf
        .list_invalidations()
        .distribution_id(&dist)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .invalidation_list()
        .unwrap()
        .items()
        .iter()
        .map(|s| s.id())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    assert!(r.summary.contains("| invalidation-id |"), "{}", r.summary);
}

#[test]
fn composite_action_rejects_bad_input_with_an_annotation() {
    let r = action()
        .input("distribution-id", "E1")
        .input("paths", "/img/*.png")
        .run()
        .unwrap();
    assert!(!r.success);
    let step = r.step("invalidate").unwrap();
    assert_eq!(step.outcome.as_str(), "failure");
    let msgs: Vec<&str> = r.annotations.iter().map(|a| a.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("`/img/*.png` has `*` before its end")),
        "{msgs:?}"
    );
    assert!(r.outputs["invalidation-id"].is_empty());
}

#[test]
fn composite_action_requires_distribution_id() {
    let err = action().input("paths", "/a").run().unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("distribution-id"), "{err}");
}

#[tokio::test]
async fn identical_steps_in_a_job_differ_and_a_rerun_repeats_them() {
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &unique_name("twice")).await;
    let job = |runner_temp: &std::path::Path| {
        let temp = runner_temp.to_str().unwrap().to_owned();
        let mut refs = Vec::new();
        for _ in 0..2 {
            let env = [
                ("GITHUB_RUN_ID", "4242"),
                ("GITHUB_JOB", "deploy"),
                ("GITHUB_ACTION", "invalidate"),
                ("RUNNER_TEMP", temp.as_str()),
            ];
            let (code, out, stderr) =
                invalidate(&["--distribution-id", &dist, "--paths", "/*"], &env);
            assert_eq!(code, 0, "{stderr}");
            refs.push(out);
        }
        refs
    };
    let attempt1 = tempfile::tempdir().unwrap();
    let attempt2 = tempfile::tempdir().unwrap();
    let mut first = Vec::new();
    for out in job(attempt1.path()) {
        first.push(caller_reference_of(&cf, &dist, &out).await);
    }
    let mut rerun = Vec::new();
    for out in job(attempt2.path()) {
        rerun.push(caller_reference_of(&cf, &dist, &out).await);
    }
    assert_ne!(
        first[0], first[1],
        "the second deploy's invalidation is not swallowed by the first"
    );
    assert_eq!(
        first, rerun,
        "a re-run of the job sends the same references in the same order"
    );
}
