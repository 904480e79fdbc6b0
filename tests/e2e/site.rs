//! gantry-site against moto, as a binary and as the composite action through gantry-act: the
//! example frontend published, re-published from a fresh copy (nothing written: the bucket's
//! object versions are counted), changed, rolled back; dry run; bad input; a missing bucket.

use gantry_tests::{
    bin_dir, cloudfront, create_distribution, create_site_bucket, repo_root, site_copy_dir,
    site_object, site_s3, unique_name,
};
use serde_json::Value;
use std::path::Path;

fn site(args: &[&str]) -> (i32, Value, String) {
    gantry_tests::json_output(gantry_tests::json_command("gantry-site", args))
}

/// A copy of examples/frontend in a new directory (a fresh checkout: new mtimes).
fn frontend_copy() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    site_copy_dir(&repo_root().join("examples/frontend"), d.path()).unwrap();
    d
}

async fn object_versions(s3: &aws_sdk_s3::Client, bucket: &str) -> usize {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.versions().len() + out.delete_markers().len()
}

#[tokio::test]
async fn publish_republish_change_and_rollback_the_example_frontend() {
    let s3 = site_s3().await;
    let bucket = unique_name("site-e2e");
    create_site_bucket(&s3, &bucket, true).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &bucket).await;
    let first = frontend_copy();
    let dir = first.path().to_str().unwrap();
    let base = [
        "--bucket",
        bucket.as_str(),
        "--prefix",
        "web",
        "--distribution-id",
        dist.as_str(),
    ];

    let (code, out, stderr) = site(&[&["deploy", "--dir", dir][..], &base].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["uploaded"], 6, "{out}");
    assert_eq!(out["previous-release-id"], "");
    assert!(
        out["url"].as_str().unwrap().starts_with("https://"),
        "{out}"
    );
    // One group per phase, in phase order, with its count and bytes.
    let groups: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("==> Upload "))
        .collect();
    assert_eq!(groups.len(), 3, "{stderr}");
    assert!(
        groups[0].starts_with("==> Upload immutable files: 2 file(s), "),
        "{groups:?}"
    );
    assert!(
        groups[1].starts_with("==> Upload other files: 2 file(s), "),
        "{groups:?}"
    );
    assert!(
        groups[2].starts_with("==> Upload HTML: 2 file(s), "),
        "{groups:?}"
    );
    assert!(groups.iter().all(|g| g.ends_with(" B")), "{groups:?}");
    let r1 = out["release-id"].as_str().unwrap().to_owned();
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("web/assets/index-D_6Ay_gG.js")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(head.content_type(), Some("text/javascript; charset=utf-8"));
    let versions = object_versions(&s3, &bucket).await;

    // A fresh checkout: every mtime differs, nothing is written, nothing invalidated.
    let fresh = frontend_copy();
    let (code, out, stderr) = site(
        &[
            &["deploy", "--dir", fresh.path().to_str().unwrap()][..],
            &base,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["release-id"], r1.as_str());
    assert_eq!(
        (out["uploaded"].as_u64(), out["skipped"].as_u64()),
        (Some(0), Some(6))
    );
    assert_eq!(out["invalidation-id"], "");
    assert_eq!(
        object_versions(&s3, &bucket).await,
        versions,
        "no write at all"
    );

    // Dry run of a change: the plan, nothing written.
    let page = fresh.path().join("docs/index.html");
    let text = std::fs::read_to_string(&page)
        .unwrap()
        .replace("Documentation", "Handbook gone");
    std::fs::write(&page, text).unwrap();
    let dir2 = fresh.path().to_str().unwrap();
    let (code, out, stderr) = site(&[&["deploy", "--dir", dir2, "--dry-run"][..], &base].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["plan"]["phases"]["html"]["files"], 1, "{out}");
    assert_eq!(
        out["plan"]["invalidation"]["paths"],
        serde_json::json!(["/docs/", "/docs/index.html"])
    );
    assert_eq!(out["plan"]["invalidation"]["billed-paths"], 2, "{out}");
    assert!(
        out["url"].as_str().unwrap().starts_with("https://"),
        "{out}"
    );
    assert!(
        stderr.contains("invalidate 2 path(s)") && stderr.contains("2 billed"),
        "the plan on stderr names the paths and their cost: {stderr}"
    );
    assert_eq!(object_versions(&s3, &bucket).await, versions);

    let (code, out, stderr) = site(
        &[
            &["deploy", "--dir", dir2, "--wait", "--poll-interval", "1s"][..],
            &base,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.to_lowercase().contains(": completed"),
        "waited: {stderr}"
    );
    assert_eq!(out["uploaded"], 1);
    assert_eq!(out["previous-release-id"], r1.as_str());
    assert_ne!(out["invalidation-id"], "");
    // The content PUT, the manifest and the pointer.
    assert_eq!(object_versions(&s3, &bucket).await, versions + 3);
    let r2 = out["release-id"].as_str().unwrap().to_owned();

    let (code, out, stderr) = site(&["releases", "--bucket", &bucket, "--prefix", "web"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["live-release-id"], r2.as_str());
    assert_eq!(out["releases"][1]["release-id"], r1.as_str());

    let (code, out, stderr) = site(&[&["rollback"][..], &base].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["release-id"], r1.as_str());
    assert_eq!(
        out["invalidated-paths"],
        serde_json::json!(["/docs/", "/docs/index.html"])
    );
    let docs = site_object(&s3, &bucket, "web/docs/index.html")
        .await
        .unwrap();
    assert!(docs.contains("<h1>Documentation</h1>"), "{docs}");
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_exit_1_with_the_aws_message() {
    gantry_tests::aws_endpoint();
    let d = frontend_copy();
    let missing = unique_name("no-such-bucket");
    let (code, out, stderr) = site(&[
        "deploy",
        "--dir",
        d.path().to_str().unwrap(),
        "--bucket",
        &missing,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(out["exit-code"], 1);
    assert!(
        out["error"].as_str().unwrap().contains("NoSuchBucket"),
        "{out}"
    );
}

#[tokio::test]
async fn toml_rules_and_an_explicit_release_id_that_is_never_reused_for_other_content() {
    let s3 = site_s3().await;
    let bucket = unique_name("site-ids");
    create_site_bucket(&s3, &bucket, true).await;
    let d = frontend_copy();
    let rules_dir = tempfile::tempdir().unwrap();
    let rules = rules_dir.path().join("cache-rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nglob = 'docs/**'\ncache-control = 'public, max-age=60'\n",
    )
    .unwrap();
    let deploy = |id: &str| {
        site(&[
            "deploy",
            "--dir",
            d.path().to_str().unwrap(),
            "--bucket",
            &bucket,
            "--cache-rules",
            rules.to_str().unwrap(),
            "--release-id",
            id,
        ])
    };
    let (code, out, stderr) = deploy("v1");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["release-id"], "v1");
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("docs/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some("public, max-age=60"));

    // The same tree and id again: nothing written.
    let before = object_versions(&s3, &bucket).await;
    let (code, out, stderr) = deploy("v1");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["uploaded"], 0);
    assert_eq!(object_versions(&s3, &bucket).await, before);

    // Other content under the same id: refused, nothing written.
    std::fs::write(d.path().join("index.html"), "<!doctype html><p>v2</p>").unwrap();
    let (code, out, stderr) = deploy("v1");
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        out["error"],
        "release-id: `v1` already exists with other content: choose a new id, or omit --release-id to use the content hash"
    );
    assert_eq!(object_versions(&s3, &bucket).await, before);
    let (code, out, stderr) = deploy("v2");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["previous-release-id"], "v1");
    assert_eq!(out["uploaded"], 1);
}

fn action() -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions/site"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .log_to(std::io::sink())
}

#[tokio::test]
async fn composite_action_deploys_and_rolls_back_through_the_runner() {
    let s3 = site_s3().await;
    let bucket = unique_name("site-act");
    create_site_bucket(&s3, &bucket, true).await;
    let dist = create_distribution(&cloudfront().await, &bucket).await;
    let d = frontend_copy();
    let rules = "- glob: 'docs/**'\n  cache-control: 'public, max-age=60'\n";
    let deploy = |dir: &Path| {
        action()
            .input("dir", dir.to_string_lossy())
            .input("bucket", &bucket)
            .input("distribution-id", &dist)
            .input("cache-rules", rules)
            .run()
            .unwrap()
    };
    let r = deploy(d.path());
    assert!(
        r.success,
        "steps: {:?} annotations: {:?}",
        r.steps, r.annotations
    );
    assert_eq!(r.outputs["uploaded"], "6");
    assert!(r.outputs["url"].starts_with("https://"), "{:?}", r.outputs);
    assert_eq!(
        r.outputs["invalidation-id"], "",
        "nothing was cached before"
    );
    assert!(r.summary.contains("| release-id |"), "{}", r.summary);
    assert!(r.summary.contains("| HTML | 2 |"), "{}", r.summary);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("docs/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some("public, max-age=60"));
    let r1 = r.outputs["release-id"].clone();

    std::fs::write(d.path().join("index.html"), "<!doctype html><p>v2</p>").unwrap();
    let r = deploy(d.path());
    assert!(r.success, "{:?}", r.annotations);
    assert_eq!(r.outputs["uploaded"], "1");
    assert_eq!(r.outputs["previous-release-id"], r1);
    assert_eq!(
        r.outputs["invalidated-paths"], "/\n/index.html",
        "one a line"
    );
    assert_ne!(r.outputs["invalidation-id"], "");

    let rollback = |run_id: &str| {
        action()
            .github("run_id", run_id)
            .input("mode", "rollback")
            .input("bucket", &bucket)
            .run()
            .unwrap()
    };
    let back = rollback("700");
    assert!(back.success, "{:?}", back.annotations);
    assert_eq!(back.outputs["release-id"], r1);
    let index = site_object(&s3, &bucket, "index.html").await.unwrap();
    assert!(index.contains("gantry example shop"), "{index}");

    // "Re-run failed jobs" (same run, job and step): the rollback is done, not repeated.
    let rerun = rollback("700");
    assert!(rerun.success, "{:?}", rerun.annotations);
    assert_eq!(rerun.outputs["release-id"], r1);
    assert_eq!(rerun.outputs["uploaded"], "0");
    // Another run would go one release further back: there is none.
    let other = rollback("701");
    assert!(!other.success);
    assert!(
        other
            .annotations
            .iter()
            .any(|a| a.message.contains("no previous release")),
        "{:?}",
        other.annotations
    );
}

#[test]
fn a_mode_with_a_newline_does_not_become_a_workflow_command() {
    let r = action()
        .input("mode", "x\n::warning title=pwned::injected")
        .input("bucket", "my-site")
        .run()
        .unwrap();
    assert!(!r.success);
    assert!(
        r.annotations
            .iter()
            .all(|a| a.title.as_deref() != Some("pwned") && !a.message.starts_with("injected")),
        "{:?}",
        r.annotations
    );
    assert!(
        r.annotations.iter().any(|a| a
            .message
            .contains("mode: `x ::warning title=pwned::injected` is not deploy or rollback")),
        "{:?}",
        r.annotations
    );
}

#[test]
fn composite_action_rejects_bad_input_with_an_annotation() {
    let d = frontend_copy();
    let r = action()
        .input("dir", d.path().to_string_lossy())
        .input("bucket", "Not_A_Bucket")
        .run()
        .unwrap();
    assert!(!r.success);
    let msgs: Vec<&str> = r.annotations.iter().map(|a| a.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("bucket: `Not_A_Bucket` is not a valid S3 bucket name")),
        "{msgs:?}"
    );
    let r = action()
        .input("mode", "publish")
        .input("bucket", "my-site")
        .run()
        .unwrap();
    assert!(!r.success);
    let msgs: Vec<&str> = r.annotations.iter().map(|a| a.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("mode: `publish` is not deploy or rollback")),
        "{msgs:?}"
    );
}
