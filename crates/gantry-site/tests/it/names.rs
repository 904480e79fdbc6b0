//! Names from outside against moto: a file name CloudFront cannot invalidate is refused before
//! any request, and a name with a line break, in the tree or in a manifest in the bucket, never
//! becomes a workflow command in the log.

use super::moto::{Recorder, app, bucket, client, cloudfront, create_distribution, dir_arg, read};
use super::{deploy_config, write_tree};
use gantry_kit::ExitCode;
use gantry_kit::poll::SystemClock;

/// The binary against moto, as the runner starts it (`GITHUB_ACTIONS=true`).
fn in_actions() -> assert_cmd::Command {
    let mut c = gantry_kit::testing::offline_command(assert_cmd::cargo::cargo_bin("gantry-site"));
    c.env(
        "AWS_ENDPOINT_URL",
        std::env::var("AWS_ENDPOINT_URL").unwrap(),
    )
    .env("GITHUB_ACTIONS", "true");
    assert_cmd::Command::from_std(c)
}

/// Lines of `stderr` the runner would read as a workflow command other than gantry's own
/// groups and its error annotation.
fn injected(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("::"))
        .filter(|l| {
            !["::group::", "::endgroup::", "::error title="]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect()
}

#[tokio::test]
async fn a_name_cloudfront_cannot_invalidate_is_refused_before_any_request() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &b).await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    write_tree(d.path(), &[("docs/a*b.html", "<p>star</p>")]);
    let rec = Recorder::default();
    let err = gantry_site::deploy(
        &super::moto::recording(&rec).await,
        Some(&cf),
        &SystemClock::new(),
        &deploy_config(&[
            "--dir",
            dir_arg(&d),
            "--bucket",
            &b,
            "--distribution-id",
            &dist,
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.exit_code(),
        ExitCode::InputRejected,
        "{}",
        err.message()
    );
    assert!(
        err.message()
            .contains("dir: `docs/a*b.html` cannot be published: its name holds `*`"),
        "{}",
        err.message()
    );
    assert!(rec.requests().is_empty(), "{:?}", rec.requests());
    assert_eq!(read(&s3, &b, ".gantry/live.json").await, None);
}

#[tokio::test]
async fn a_file_name_with_a_line_break_is_refused_and_never_starts_a_command() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    write_tree(d.path(), &[("evil\n::warning title=pwned::x", "x")]);
    let out = in_actions()
        .args(["deploy", "--dir", dir_arg(&d), "--bucket", &b, "--dry-run"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(injected(&stderr), Vec::<&str>::new(), "{stderr}");
    assert!(
        stderr.contains("evil%250A::warning title=pwned::x"),
        "the annotation names the file, escaped: {stderr}"
    );
}

#[tokio::test]
async fn a_key_with_a_line_break_in_a_manifest_never_starts_a_command() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let mut ids = Vec::new();
    for n in 1..=2 {
        let d = tempfile::tempdir().unwrap();
        app(d.path(), n);
        let r = gantry_site::deploy(
            &s3,
            None,
            &SystemClock::new(),
            &deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]),
        )
        .await
        .unwrap();
        ids.push(
            r.outputs
                .get("release-id")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Someone with write access to the bucket (or another tool) put a hostile key into the
    // manifest of release 1; a rollback's dry run lists the keys it would restore.
    let key = format!(".gantry/releases/{}.json", ids[0]);
    let mut m: serde_json::Value =
        serde_json::from_str(&read(&s3, &b, &key).await.unwrap()).unwrap();
    m["files"]["evil\n::warning title=pwned::x.html"] = serde_json::json!({
        "sha256": "00", "size": 1, "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache", "version-id": "v1"
    });
    s3.put_object()
        .bucket(&b)
        .key(&key)
        .body(serde_json::to_vec(&m).unwrap().into())
        .send()
        .await
        .unwrap();
    let out = in_actions()
        .args(["rollback", "--bucket", &b, "--dry-run"])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("evil%0A::warning title=pwned::x.html"),
        "{stderr}"
    );
    assert_eq!(injected(&stderr), Vec::<&str>::new(), "{stderr}");
}
