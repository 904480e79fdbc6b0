//! Publishing against moto (the env from `scripts/local-aws env`), through a client that counts
//! every request by verb — or refuses requests after a number of PUTs, to stop a publish at any
//! point as a killed runner would.

use super::{deploy_config, rollback_config, write_tree};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use gantry_kit::ExitCode;
use gantry_kit::poll::SystemClock;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Records every request (`VERB path?query`) and, with `fail_after_puts`, refuses every PUT
/// after that many.
#[derive(Debug, Default, Clone)]
pub(crate) struct Recorder {
    log: Arc<Mutex<Vec<(String, String)>>>,
    fail_after_puts: Option<usize>,
}

impl Recorder {
    pub(crate) fn failing_after(puts: usize) -> Self {
        Self {
            fail_after_puts: Some(puts),
            ..Self::default()
        }
    }

    pub(crate) fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }

    pub(crate) fn by_verb(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for (verb, _) in self.requests() {
            *m.entry(verb).or_default() += 1;
        }
        m
    }

    /// Paths of the PUT requests (object keys with the bucket).
    pub(crate) fn puts(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|(v, _)| v == "PUT")
            .map(|(_, p)| p)
            .collect()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let uri = req.uri().to_owned();
        let path = uri
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(_, p)| format!("/{p}"))
            .unwrap_or(uri);
        let verb = req.method().to_owned();
        let mut log = self.log.lock().unwrap();
        let puts = log.iter().filter(|(v, _)| v == "PUT").count();
        if verb == "PUT"
            && let Some(max) = self.fail_after_puts
            && puts >= max
        {
            return Err("the runner was killed (test)".into());
        }
        log.push((verb, path));
        Ok(())
    }
}

pub(crate) async fn sdk() -> aws_sdk_s3::config::Builder {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run through `make test`, or `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
    );
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    gantry_kit::aws::s3_config(&sdk).to_builder()
}

pub(crate) async fn client() -> Client {
    Client::from_conf(sdk().await.build())
}

pub(crate) async fn recording(r: &Recorder) -> Client {
    Client::from_conf(sdk().await.interceptor(r.clone()).build())
}

pub(crate) async fn cloudfront() -> aws_sdk_cloudfront::Client {
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_cloudfront::Client::new(&sdk)
}

pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 100_000_000;
    format!(
        "{prefix}-{}-{}-{t}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A new bucket; versioned when asked (rollback needs versions).
pub(crate) async fn bucket(s3: &Client, versioned: bool) -> String {
    let name = unique("site-it");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    if versioned {
        s3.put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    name
}

pub(crate) async fn create_distribution(cf: &aws_sdk_cloudfront::Client, name: &str) -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{name}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment("gantry-site test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cf.create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .id()
        .to_owned()
}

pub(crate) async fn read(s3: &Client, bucket: &str, key: &str) -> Option<String> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(String::from_utf8(o.body.collect().await.unwrap().to_vec()).unwrap())
}

pub(crate) async fn keys(s3: &Client, bucket: &str) -> Vec<String> {
    let out = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn versions(s3: &Client, bucket: &str) -> usize {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.versions().len() + out.delete_markers().len()
}

pub(crate) async fn live_release(s3: &Client, bucket: &str, prefix: &str) -> Option<String> {
    let key = if prefix.is_empty() {
        ".gantry/live.json".to_owned()
    } else {
        format!("{prefix}/.gantry/live.json")
    };
    let text = read(s3, bucket, &key).await?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(v["release"].as_str().unwrap().to_owned())
}

/// Release `n` of a small app: the HTML references a fingerprinted script by name.
pub(crate) fn app(dir: &Path, n: u32) {
    let js = format!("assets/app-{n:04}ab12.js");
    write_tree(
        dir,
        &[
            (
                "index.html",
                format!("<!doctype html><script src=\"/{js}\"></script><p>release {n}</p>")
                    .as_str(),
            ),
            (
                "docs/index.html",
                format!("<!doctype html><script src=\"/{js}\"></script><p>docs {n}</p>").as_str(),
            ),
            (js.as_str(), format!("console.log({n})").as_str()),
            (
                "assets/logo.svg",
                "<svg xmlns='http://www.w3.org/2000/svg'/>",
            ),
            ("robots.txt", "User-agent: *\n"),
        ],
    );
}

pub(crate) fn dir_arg(d: &tempfile::TempDir) -> &str {
    d.path().to_str().unwrap()
}

#[tokio::test]
async fn a_fresh_checkout_of_the_same_tree_writes_nothing_at_all() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &b).await;
    let first = tempfile::tempdir().unwrap();
    app(first.path(), 1);
    let args = |d: &str| {
        deploy_config(&[
            "--dir",
            d,
            "--bucket",
            &b,
            "--prefix",
            "web",
            "--distribution-id",
            &dist,
        ])
    };
    let r1 = gantry_site::deploy(&s3, Some(&cf), &SystemClock::new(), &args(dir_arg(&first)))
        .await
        .unwrap();
    assert_eq!(r1.outputs.get("uploaded").unwrap(), 5);
    let before = versions(&s3, &b).await;

    // A fresh checkout: same bytes, every mtime new, another directory.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = tempfile::tempdir().unwrap();
    app(fresh.path(), 1);
    let rec = Recorder::default();
    let counted = recording(&rec).await;
    let r2 = gantry_site::deploy(
        &counted,
        Some(&cf),
        &SystemClock::new(),
        &args(dir_arg(&fresh)),
    )
    .await
    .unwrap();
    assert_eq!(r2.outputs.get("release-id"), r1.outputs.get("release-id"));
    assert_eq!(r2.outputs.get("uploaded").unwrap(), 0);
    assert_eq!(r2.outputs.get("skipped").unwrap(), 5);
    assert_eq!(r2.outputs.get("invalidation-id").unwrap(), "");
    // One GET of the pointer and one LIST: no HEAD per object, no write of any kind.
    let verbs = rec.by_verb();
    assert_eq!(
        verbs,
        BTreeMap::from([("GET".to_owned(), 2)]),
        "{:?}",
        rec.requests()
    );
    assert_eq!(
        versions(&s3, &b).await,
        before,
        "no object version was written"
    );
    let invs = cf
        .list_invalidations()
        .distribution_id(&dist)
        .send()
        .await
        .unwrap();
    assert_eq!(invs.invalidation_list().unwrap().quantity(), 0);
}

#[tokio::test]
async fn a_same_size_change_is_one_put_plus_manifest_and_pointer_and_one_invalidation() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &b).await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    let cfg = deploy_config(&[
        "--dir",
        dir_arg(&d),
        "--bucket",
        &b,
        "--distribution-id",
        &dist,
    ]);
    gantry_site::deploy(&s3, Some(&cf), &SystemClock::new(), &cfg)
        .await
        .unwrap();
    // Same size, other bytes.
    let page = d.path().join("docs/index.html");
    let text = std::fs::read_to_string(&page)
        .unwrap()
        .replace("docs 1", "DOCS 1");
    std::fs::write(&page, text).unwrap();

    let rec = Recorder::default();
    let counted = recording(&rec).await;
    let r = gantry_site::deploy(&counted, Some(&cf), &SystemClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(r.outputs.get("uploaded").unwrap(), 1);
    let puts = rec.puts();
    assert_eq!(puts.len(), 3, "{puts:?}");
    assert!(puts[0].contains("/docs/index.html?"), "{puts:?}");
    assert!(puts[1].contains("/.gantry/releases/"), "{puts:?}");
    assert!(puts[2].contains("/.gantry/live.json?"), "{puts:?}");
    assert_eq!(rec.by_verb().get("DELETE"), None);
    let paths = r.outputs.get("invalidated-paths").unwrap().clone();
    assert_eq!(paths, serde_json::json!(["/docs/", "/docs/index.html"]));
    let inv_id = r
        .outputs
        .get("invalidation-id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let got = cf
        .get_invalidation()
        .distribution_id(&dist)
        .id(&inv_id)
        .send()
        .await
        .unwrap();
    let mut sent = got
        .invalidation()
        .unwrap()
        .invalidation_batch()
        .unwrap()
        .paths()
        .unwrap()
        .items()
        .to_vec();
    sent.sort();
    assert_eq!(sent, vec!["/docs/", "/docs/index.html"]);
    assert!(
        read(&s3, &b, "docs/index.html")
            .await
            .unwrap()
            .contains("DOCS 1")
    );
}

/// Every HTML object live in the bucket references only scripts that exist.
pub(crate) async fn html_is_consistent(s3: &Client, b: &str) {
    let all = keys(s3, b).await;
    for k in all.iter().filter(|k| k.ends_with(".html")) {
        let html = read(s3, b, k).await.unwrap();
        let src = html
            .split("src=\"/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            all.iter().any(|k| k == src),
            "{k} references {src}, which is missing: {all:?}"
        );
    }
}

#[tokio::test]
async fn a_publish_stopped_after_any_put_never_breaks_html_and_a_rerun_completes_it() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    let cfg1 = deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]);
    let r1 = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg1)
        .await
        .unwrap();
    let release1 = r1
        .outputs
        .get("release-id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();

    let d2 = tempfile::tempdir().unwrap();
    app(d2.path(), 2);
    let cfg2 = deploy_config(&["--dir", dir_arg(&d2), "--bucket", &b]);
    // Release 2 writes: the new script, two HTML files, the manifest, the pointer.
    for k in 0..5 {
        let rec = Recorder::failing_after(k);
        let dying = recording(&rec).await;
        let err = gantry_site::deploy(&dying, None, &SystemClock::new(), &cfg2)
            .await
            .unwrap_err();
        assert_eq!(
            err.exit_code(),
            ExitCode::Failed,
            "stopped after {k} PUT(s)"
        );
        html_is_consistent(&s3, &b).await;
        assert_eq!(
            live_release(&s3, &b, "").await.unwrap(),
            release1,
            "stopped after {k} PUT(s): the pointer still names release 1"
        );
    }
    let r2 = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg2)
        .await
        .unwrap();
    let release2 = r2
        .outputs
        .get("release-id")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(release1, release2);
    assert_eq!(live_release(&s3, &b, "").await.unwrap(), release2);
    assert!(
        read(&s3, &b, "index.html")
            .await
            .unwrap()
            .contains("release 2")
    );
    html_is_consistent(&s3, &b).await;
    // And a re-run of the completed publish writes nothing.
    let rec = Recorder::default();
    let again = gantry_site::deploy(&recording(&rec).await, None, &SystemClock::new(), &cfg2)
        .await
        .unwrap();
    assert_eq!(again.outputs.get("uploaded").unwrap(), 0);
    assert!(rec.puts().is_empty());
}

#[tokio::test]
async fn prune_after_n_releases_keeps_the_last_ones_and_foreign_objects() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    s3.put_object()
        .bucket(&b)
        .key("site/not-ours.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let mut releases = Vec::new();
    let mut deleted = Vec::new();
    for n in 1..=4 {
        let d = tempfile::tempdir().unwrap();
        app(d.path(), n);
        let cfg = deploy_config(&[
            "--dir",
            dir_arg(&d),
            "--bucket",
            &b,
            "--prefix",
            "site",
            "--keep-releases",
            "2",
        ]);
        let r = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
            .await
            .unwrap();
        releases.push(
            r.outputs
                .get("release-id")
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
        );
        deleted.push(r.outputs.get("deleted").unwrap().as_u64().unwrap());
    }
    assert_eq!(
        deleted,
        vec![0, 0, 1, 1],
        "one expired script per deploy from the third on"
    );
    let all = keys(&s3, &b).await;
    assert!(
        !all.contains(&"site/assets/app-0001ab12.js".to_owned()),
        "{all:?}"
    );
    assert!(
        !all.contains(&"site/assets/app-0002ab12.js".to_owned()),
        "{all:?}"
    );
    assert!(
        all.contains(&"site/assets/app-0003ab12.js".to_owned()),
        "kept: {all:?}"
    );
    assert!(all.contains(&"site/assets/app-0004ab12.js".to_owned()));
    assert!(
        all.contains(&"site/not-ours.txt".to_owned()),
        "never ours, never deleted"
    );
    assert!(all.contains(&"site/assets/logo.svg".to_owned()));
    let manifests: Vec<&String> = all
        .iter()
        .filter(|k| k.contains("/.gantry/releases/"))
        .collect();
    assert_eq!(manifests.len(), 2, "{manifests:?}");
    let listed = gantry_site::releases(
        &s3,
        &gantry_site::SiteLocation {
            bucket: b.clone(),
            prefix: "site".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.outputs.get("live-release-id").unwrap(), &releases[3]);
    let rows = listed
        .outputs
        .get("releases")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["release-id"], releases[3].as_str());
    assert_eq!(rows[0]["live"], true);
    assert_eq!(rows[1]["release-id"], releases[2].as_str());
}

#[tokio::test]
async fn max_delete_refuses_the_wrong_directory_with_nothing_written() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    gantry_site::deploy(
        &s3,
        None,
        &SystemClock::new(),
        &deploy_config(&["--dir", dir_arg(&d), "--bucket", &b, "--keep-releases", "1"]),
    )
    .await
    .unwrap();
    let wrong = tempfile::tempdir().unwrap();
    write_tree(wrong.path(), &[("README.md", "not the site")]);
    let rec = Recorder::default();
    let err = gantry_site::deploy(
        &recording(&rec).await,
        None,
        &SystemClock::new(),
        &deploy_config(&[
            "--dir",
            dir_arg(&wrong),
            "--bucket",
            &b,
            "--keep-releases",
            "1",
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputRejected);
    assert!(
        err.message()
            .contains("delete 5 object(s), over the limit of 2"),
        "{}",
        err.message()
    );
    assert!(rec.puts().is_empty());
    assert_eq!(rec.by_verb().get("DELETE"), None);
    assert_eq!(rec.by_verb().get("POST"), None);
}

#[tokio::test]
async fn rollback_restores_the_previous_release_from_versions_and_invalidates() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &b).await;
    let mut ids = Vec::new();
    for n in 1..=2 {
        let d = tempfile::tempdir().unwrap();
        app(d.path(), n);
        let r = gantry_site::deploy(
            &s3,
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
    assert!(
        read(&s3, &b, "index.html")
            .await
            .unwrap()
            .contains("release 2")
    );
    let dry = gantry_site::rollback(
        &s3,
        Some(&cf),
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--dry-run"]),
    )
    .await
    .unwrap();
    assert_eq!(dry.outputs.get("uploaded").unwrap(), 2);
    assert!(
        read(&s3, &b, "index.html")
            .await
            .unwrap()
            .contains("release 2"),
        "dry run wrote nothing"
    );

    let rec = Recorder::default();
    let r = gantry_site::rollback(
        &recording(&rec).await,
        Some(&cf),
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--distribution-id", &dist]),
    )
    .await
    .unwrap();
    assert_eq!(r.outputs.get("release-id").unwrap(), &ids[0]);
    assert_eq!(r.outputs.get("previous-release-id").unwrap(), &ids[1]);
    assert_eq!(r.outputs.get("uploaded").unwrap(), 2, "the two HTML files");
    assert_eq!(
        r.outputs.get("invalidated-paths").unwrap(),
        &serde_json::json!(["/", "/docs/", "/docs/index.html", "/index.html"])
    );
    // Server-side copies and the pointer: no upload of bytes.
    assert_eq!(rec.puts().len(), 3, "{:?}", rec.requests());
    assert!(
        read(&s3, &b, "index.html")
            .await
            .unwrap()
            .contains("release 1")
    );
    html_is_consistent(&s3, &b).await;
    assert_eq!(live_release(&s3, &b, "").await.unwrap(), ids[0]);
    let head = s3
        .head_object()
        .bucket(&b)
        .key("index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some("no-cache"));
    let pointer: serde_json::Value =
        serde_json::from_str(&read(&s3, &b, ".gantry/live.json").await.unwrap()).unwrap();
    assert_eq!(
        pointer["manifest"]["files"]["index.html"]["version-id"].as_str(),
        head.version_id(),
        "the pointer records the restored copy, the current version"
    );
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));

    // Rolling back to the live release again is a no-op (a re-run); an unknown one is exit 2.
    let again = gantry_site::rollback(
        &s3,
        None,
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--to", &ids[0]]),
    )
    .await
    .unwrap();
    assert_eq!(again.outputs.get("uploaded").unwrap(), 0);
    let err = gantry_site::rollback(
        &s3,
        None,
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--to", "nope"]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputRejected);
    assert!(
        err.message()
            .contains("`nope` is not one of the kept releases"),
        "{}",
        err.message()
    );
    // A deploy after the rollback is measured against release 1.
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    let same = gantry_site::deploy(
        &s3,
        None,
        &SystemClock::new(),
        &deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]),
    )
    .await
    .unwrap();
    assert_eq!(same.outputs.get("uploaded").unwrap(), 0);
}

#[tokio::test]
async fn rollback_without_a_previous_release_is_exit_2() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let err = gantry_site::rollback(
        &s3,
        None,
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputRejected);
    assert!(
        err.message().contains("no release is live"),
        "{}",
        err.message()
    );
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    gantry_site::deploy(
        &s3,
        None,
        &SystemClock::new(),
        &deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]),
    )
    .await
    .unwrap();
    let rec = Recorder::default();
    let err = gantry_site::rollback(
        &recording(&rec).await,
        None,
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputRejected);
    assert!(
        err.message().contains("no previous release"),
        "{}",
        err.message()
    );
    assert_eq!(
        rec.by_verb().keys().collect::<Vec<_>>(),
        vec!["GET"],
        "reads only"
    );
}

#[tokio::test]
async fn large_files_go_multipart_with_sha256_parts_and_stream_from_disk() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let d = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..(13u32 << 20)).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.path().join("video.mp4"), &big).unwrap();
    write_tree(d.path(), &[("index.html", "<p>hi</p>")]);
    let rec = Recorder::default();
    let cfg = deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]);
    gantry_site::deploy(&recording(&rec).await, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    let reqs = rec.requests();
    let parts = reqs
        .iter()
        .filter(|(v, p)| v == "PUT" && p.contains("partNumber="))
        .count();
    assert_eq!(parts, 2, "8 MiB + 5 MiB: {reqs:?}");
    assert!(
        reqs.iter()
            .any(|(v, p)| v == "POST" && p.contains("uploads"))
    );
    let o = s3
        .get_object()
        .bucket(&b)
        .key("video.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(o.content_type(), Some("video/mp4"));
    let meta = o.metadata().unwrap().get("sha256").unwrap().clone();
    let body = o.body.collect().await.unwrap().to_vec();
    assert_eq!(body, big);
    use sha2::Digest;
    let hex = gantry_kit::fmt::hex(&sha2::Sha256::digest(&big));
    assert_eq!(meta, hex, "the full-object SHA-256 is kept in the metadata");
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_exit_1_with_aws_message() {
    let s3 = client().await;
    let d = tempfile::tempdir().unwrap();
    app(d.path(), 1);
    let cfg = deploy_config(&["--dir", dir_arg(&d), "--bucket", &unique("no-such-bucket")]);
    let err = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    assert!(err.message().contains("NoSuchBucket"), "{}", err.render());
}

#[tokio::test]
async fn a_rerun_of_the_rollback_step_finds_it_done_and_a_new_run_goes_further_back() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
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
    let step = |run: &str| {
        let mut cfg = rollback_config(&["--bucket", &b]);
        cfg.run = Some(format!("o/repo/{run}/frontend/site"));
        cfg
    };
    let r = gantry_site::rollback(&s3, None, &SystemClock::new(), &step("100"))
        .await
        .unwrap();
    assert_eq!(r.outputs.get("release-id").unwrap(), &ids[1]);
    assert_eq!(r.outputs.get("previous-release-id").unwrap(), &ids[2]);

    // "Re-run failed jobs": the same run, job and step. The rollback is done: nothing written.
    let rec = Recorder::default();
    let again = gantry_site::rollback(
        &recording(&rec).await,
        None,
        &SystemClock::new(),
        &step("100"),
    )
    .await
    .unwrap();
    assert_eq!(again.outputs.get("release-id").unwrap(), &ids[1]);
    assert_eq!(again.outputs.get("previous-release-id").unwrap(), &ids[2]);
    assert_eq!(again.outputs.get("uploaded").unwrap(), 0);
    assert!(rec.puts().is_empty(), "{:?}", rec.requests());
    assert_eq!(live_release(&s3, &b, "").await.unwrap(), ids[1]);

    // Another run of the rollback workflow steps one release further back.
    let r = gantry_site::rollback(&s3, None, &SystemClock::new(), &step("101"))
        .await
        .unwrap();
    assert_eq!(r.outputs.get("release-id").unwrap(), &ids[0]);
    assert!(
        read(&s3, &b, "index.html")
            .await
            .unwrap()
            .contains("release 1")
    );
}

#[tokio::test]
async fn rollback_refusals_and_dry_run_write_nothing() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let cf = cloudfront().await;
    let dist = create_distribution(&cf, &b).await;
    for n in 1..=2 {
        let d = tempfile::tempdir().unwrap();
        app(d.path(), n);
        gantry_site::deploy(
            &s3,
            None,
            &SystemClock::new(),
            &deploy_config(&["--dir", dir_arg(&d), "--bucket", &b]),
        )
        .await
        .unwrap();
    }
    let before = versions(&s3, &b).await;
    let rec = Recorder::default();
    let counted = recording(&rec).await;
    let err = gantry_site::rollback(
        &counted,
        Some(&cf),
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--to", "0123456789abcdef"]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::InputRejected);
    assert!(err.message().starts_with("to: "), "{}", err.message());

    let dry = gantry_site::rollback(
        &counted,
        Some(&cf),
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--distribution-id", &dist, "--dry-run"]),
    )
    .await
    .unwrap();
    assert!(
        dry.outputs
            .get("url")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "a dry run reports the url too"
    );
    let plan = dry.plan.unwrap();
    assert_eq!(
        plan["invalidation"]["paths"],
        serde_json::json!(["/", "/docs/", "/docs/index.html", "/index.html"])
    );
    assert_eq!(plan["invalidation"]["billed-paths"], 4);
    assert_eq!(
        rec.by_verb().keys().collect::<Vec<_>>(),
        vec!["GET"],
        "reads only: {:?}",
        rec.requests()
    );
    assert_eq!(versions(&s3, &b).await, before);
    let invs = cf
        .list_invalidations()
        .distribution_id(&dist)
        .send()
        .await
        .unwrap();
    assert_eq!(invs.invalidation_list().unwrap().quantity(), 0);
}

/// Counts requests between transmit and response: the most ever in flight at once.
#[derive(Debug, Default, Clone)]
struct InFlight {
    now: Arc<AtomicU32>,
    max: Arc<AtomicU32>,
}

impl Intercept for InFlight {
    fn name(&self) -> &'static str {
        "InFlight"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn uploads_run_in_parallel_within_the_concurrency_bound() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let d = tempfile::tempdir().unwrap();
    let files: Vec<(String, String)> = (0..48)
        .map(|i| {
            (
                format!("assets/chunk-{i:02}aBcDeF9.js"),
                format!("console.log({i})"),
            )
        })
        .collect();
    write_tree(d.path(), &files);
    write_tree(d.path(), &[("index.html", "<p>hi</p>")]);
    let counter = InFlight::default();
    let counted = Client::from_conf(sdk().await.interceptor(counter.clone()).build());
    let cfg = deploy_config(&["--dir", dir_arg(&d), "--bucket", &b, "--concurrency", "4"]);
    let r = gantry_site::deploy(&counted, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(r.outputs.get("uploaded").unwrap(), 49);
    let max = counter.max.load(Ordering::SeqCst);
    assert!(max <= 4, "never more than `concurrency` in flight: {max}");
    // Only uploads can make it past 2: the two reads (pointer, listing) are the only other
    // requests ever in flight together.
    assert!(max > 2, "uploads overlap: {max}");
}

#[tokio::test]
async fn rules_set_cache_control_content_type_and_encoding_on_the_objects() {
    let s3 = client().await;
    let b = bucket(&s3, false).await;
    let d = tempfile::tempdir().unwrap();
    write_tree(
        d.path(),
        &[
            ("index.html", "<p>hi</p>"),
            ("assets/app-D_6Ay_gG.js.br", "not really brotli"),
            ("docs/guide/index.html", "<p>guide</p>"),
        ],
    );
    let rules = "rules:\n  - glob: '**/*.js.br'\n    content-type: text/javascript; charset=utf-8\n    content-encoding: br\n  - glob: 'docs/**'\n    cache-control: public, max-age=300\n";
    let cfg = deploy_config(&["--dir", dir_arg(&d), "--bucket", &b, "--cache-rules", rules]);
    gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    let head = |key: &'static str| {
        let s3 = s3.clone();
        let b = b.clone();
        async move { s3.head_object().bucket(b).key(key).send().await.unwrap() }
    };
    let br = head("assets/app-D_6Ay_gG.js.br").await;
    assert_eq!(br.content_encoding(), Some("br"));
    assert_eq!(br.content_type(), Some("text/javascript; charset=utf-8"));
    assert_eq!(
        br.cache_control(),
        Some("public, max-age=31536000, immutable"),
        "the rule sets no cache-control: the fingerprint default"
    );
    let guide = head("docs/guide/index.html").await;
    assert_eq!(guide.cache_control(), Some("public, max-age=300"));
    assert_eq!(guide.content_type(), Some("text/html; charset=utf-8"));
    let index = head("index.html").await;
    assert_eq!(index.cache_control(), Some("no-cache"));
    assert_eq!(index.content_encoding(), None);

    // The same rules from a TOML file give the same headers: the same release, nothing written.
    let rules_dir = tempfile::tempdir().unwrap();
    let toml = rules_dir.path().join("cache-rules.toml");
    std::fs::write(
        &toml,
        "[[rules]]\nglob = '**/*.js.br'\ncontent-type = 'text/javascript; charset=utf-8'\ncontent-encoding = 'br'\n\n[[rules]]\nglob = 'docs/**'\ncache-control = 'public, max-age=300'\n",
    )
    .unwrap();
    let cfg = deploy_config(&[
        "--dir",
        dir_arg(&d),
        "--bucket",
        &b,
        "--cache-rules",
        toml.to_str().unwrap(),
    ]);
    let rec = Recorder::default();
    let r = gantry_site::deploy(&recording(&rec).await, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(r.outputs.get("uploaded").unwrap(), 0);
    assert_eq!(r.outputs.get("skipped").unwrap(), 3);
    assert!(rec.puts().is_empty(), "{:?}", rec.requests());
}

/// `dir` holds release `n` of the app and nothing else.
fn release(dir: &Path, n: u32) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    app(dir, n);
}

#[tokio::test]
async fn an_explicit_release_id_with_other_content_is_refused_before_any_write() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let d = tempfile::tempdir().unwrap();
    let args = |id: &str| {
        deploy_config(&[
            "--dir",
            dir_arg(&d),
            "--bucket",
            &b,
            "--prefix",
            "web",
            "--release-id",
            id,
        ])
    };
    release(d.path(), 1);
    gantry_site::deploy(&s3, None, &SystemClock::new(), &args("v1"))
        .await
        .unwrap();
    let v1 = read(&s3, &b, "web/.gantry/releases/v1.json").await.unwrap();
    release(d.path(), 2);
    gantry_site::deploy(&s3, None, &SystemClock::new(), &args("v2"))
        .await
        .unwrap();
    let pointer = read(&s3, &b, "web/.gantry/live.json").await.unwrap();
    let before = versions(&s3, &b).await;

    // Release 3's tree under the id of a kept release (v1) and of the live one (v2).
    release(d.path(), 3);
    for id in ["v1", "v2"] {
        let rec = Recorder::default();
        let err = gantry_site::deploy(&recording(&rec).await, None, &SystemClock::new(), &args(id))
            .await
            .unwrap_err();
        assert_eq!(
            err.exit_code(),
            ExitCode::InputRejected,
            "{}",
            err.message()
        );
        assert_eq!(
            err.message(),
            format!(
                "release-id: `{id}` already exists with other content: choose a new id, or omit --release-id to use the content hash"
            )
        );
        let verbs = rec.by_verb();
        for write in ["PUT", "POST", "DELETE"] {
            assert_eq!(verbs.get(write), None, "{id}: {:?}", rec.requests());
        }
        // The pointer and the listing; the kept release's manifest is one more GET.
        let gets = if id == "v1" { 3 } else { 2 };
        assert_eq!(verbs, BTreeMap::from([("GET".to_owned(), gets)]), "{id}");
    }
    assert_eq!(
        versions(&s3, &b).await,
        before,
        "no object version was written"
    );
    assert_eq!(
        read(&s3, &b, "web/.gantry/releases/v1.json").await.unwrap(),
        v1
    );
    assert_eq!(
        read(&s3, &b, "web/.gantry/live.json").await.unwrap(),
        pointer
    );
    assert_eq!(live_release(&s3, &b, "web").await.as_deref(), Some("v2"));

    // The live id with its own content again: a no-op, no write.
    release(d.path(), 2);
    let rec = Recorder::default();
    let r = gantry_site::deploy(
        &recording(&rec).await,
        None,
        &SystemClock::new(),
        &args("v2"),
    )
    .await
    .unwrap();
    assert_eq!(r.outputs.get("release-id").unwrap(), "v2");
    assert_eq!(r.outputs.get("uploaded").unwrap(), 0);
    assert_eq!(
        rec.by_verb(),
        BTreeMap::from([("GET".to_owned(), 2)]),
        "{:?}",
        rec.requests()
    );
    // A new id for new content is published as usual.
    release(d.path(), 3);
    gantry_site::deploy(&s3, None, &SystemClock::new(), &args("v3"))
        .await
        .unwrap();
    assert_eq!(live_release(&s3, &b, "web").await.as_deref(), Some("v3"));
}

/// 40 pages and scripts of release `n` (release 2 changes one page).
fn wide_app(dir: &Path, n: u32) {
    let files: Vec<(String, String)> = (0..20)
        .flat_map(|i| {
            let page = if i == 7 { n } else { 1 };
            [
                (
                    format!("p/{i:02}/index.html"),
                    format!("<!doctype html><p>page {i} of release {page}</p>"),
                ),
                (
                    format!("assets/s-{i:02}ab12.js"),
                    format!("console.log({i})"),
                ),
            ]
        })
        .collect();
    write_tree(dir, &files);
}

#[tokio::test]
async fn a_listing_read_in_ranges_side_by_side_sees_every_object() {
    let s3 = client().await;
    let b = bucket(&s3, true).await;
    let args = |d: &tempfile::TempDir| {
        deploy_config(&["--dir", dir_arg(d), "--bucket", &b, "--prefix", "web"]).with_list_range(4)
    };
    let first = tempfile::tempdir().unwrap();
    wide_app(first.path(), 1);
    let r1 = gantry_site::deploy(&s3, None, &SystemClock::new(), &args(&first))
        .await
        .unwrap();
    assert_eq!(r1.outputs.get("uploaded").unwrap(), 40);
    // Objects the splits do not expect: inside the prefix (between ranges and after the last)
    // and outside it.
    for key in ["web/p/05/zz.txt", "web/zz-late.txt", "outside.txt"] {
        s3.put_object()
            .bucket(&b)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }

    // A fresh checkout, listed in ten ranges (a split after every 4th of 40 keys).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let fresh = tempfile::tempdir().unwrap();
    wide_app(fresh.path(), 1);
    let rec = Recorder::default();
    let counted = recording(&rec).await;
    let r2 = gantry_site::deploy(&counted, None, &SystemClock::new(), &args(&fresh))
        .await
        .unwrap();
    assert_eq!(
        r2.outputs.get("uploaded").unwrap(),
        0,
        "{:?}",
        rec.requests()
    );
    assert_eq!(r2.outputs.get("skipped").unwrap(), 40);
    let lists: Vec<String> = rec
        .requests()
        .into_iter()
        .filter(|(v, p)| v == "GET" && p.contains("list-type=2"))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(lists.len(), 10, "one page per range: {lists:?}");
    assert_eq!(
        lists.iter().filter(|p| p.contains("start-after=")).count(),
        9,
        "{lists:?}"
    );
    assert_eq!(
        rec.by_verb(),
        BTreeMap::from([("GET".to_owned(), 11)]),
        "the pointer and ten LISTs, nothing else: {:?}",
        rec.requests()
    );

    // Release 2 changes one page; its rollback lists in ranges of the live release's keys and
    // finds every object it restores against.
    let second = tempfile::tempdir().unwrap();
    wide_app(second.path(), 2);
    let r3 = gantry_site::deploy(&s3, None, &SystemClock::new(), &args(&second))
        .await
        .unwrap();
    assert_eq!(r3.outputs.get("uploaded").unwrap(), 1);
    let rb = gantry_site::rollback(
        &s3,
        None,
        &SystemClock::new(),
        &rollback_config(&["--bucket", &b, "--prefix", "web"]).with_list_range(4),
    )
    .await
    .unwrap();
    assert_eq!(rb.outputs.get("uploaded").unwrap(), 1, "{rb:?}");
    assert_eq!(rb.outputs.get("release-id"), r1.outputs.get("release-id"));
    assert!(
        read(&s3, &b, "web/p/07/index.html")
            .await
            .unwrap()
            .contains("release 1")
    );
    // The objects gantry did not write are all still there.
    let left = keys(&s3, &b).await;
    for key in ["web/p/05/zz.txt", "web/zz-late.txt", "outside.txt"] {
        assert!(left.iter().any(|k| k == key), "{key}: {left:?}");
    }
}
