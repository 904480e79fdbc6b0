//! S3 faults moto cannot show, with aws-smithy-mocks shaped like S3's responses: a 503 on some
//! PUTs is retried by the SDK and the publish completes; S3 throttling (`SlowDown`) that outlasts
//! the retries fails the deploy with exit 1, a hint, and no pointer written; a conditional
//! pointer write that meets a concurrent one (`409 ConditionalRequestConflict`, which moto never
//! sends) stops the deploy as a lost race.

use super::{deploy_config, write_tree};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use gantry_kit::ExitCode;
use gantry_kit::poll::SystemClock;
use std::time::Duration;

fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

fn site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_tree(
        d.path(),
        &[
            (
                "index.html",
                "<script src=/assets/app-D_6Ay_gG.js></script>",
            ),
            ("assets/app-D_6Ay_gG.js", "console.log(1)"),
            ("robots.txt", "User-agent: *"),
        ],
    );
    d
}

fn slow_down() -> HttpResponse {
    HttpResponse::new(
        503.try_into().unwrap(),
        SdkBody::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>",
        ),
    )
}

#[tokio::test]
async fn a_503_on_some_puts_is_retried_and_the_publish_completes() {
    let no_pointer = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let empty = mock!(Client::list_objects_v2)
        .then_output(|| ListObjectsV2Output::builder().key_count(0).build());
    let flaky = mock!(Client::put_object)
        .match_requests(|r| r.key() == Some("web/assets/app-D_6Ay_gG.js"))
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(|| PutObjectOutput::builder().version_id("v-app").build())
        .build();
    let html_puts = mock!(Client::put_object)
        .match_requests(|r| r.key() == Some("web/index.html"))
        .then_output(|| PutObjectOutput::builder().version_id("v-html").build());
    let other_puts = mock!(Client::put_object)
        .then_output(|| PutObjectOutput::builder().version_id("v").build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&no_pointer, &empty, &flaky, &html_puts, &other_puts],
        |b| b.retry_config(retry())
    );
    let d = site();
    let cfg = deploy_config(&[
        "--dir",
        d.path().to_str().unwrap(),
        "--bucket",
        "my-site",
        "--prefix",
        "web",
    ]);
    let report = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(report.outputs.get("uploaded").unwrap(), 3);
    assert_eq!(
        flaky.num_calls(),
        3,
        "two 503s, then the PUT that succeeded"
    );
    assert_eq!(html_puts.num_calls(), 1);
    // robots.txt, the manifest and the pointer.
    assert_eq!(other_puts.num_calls(), 3);
}

#[tokio::test]
async fn throttling_past_the_retries_fails_before_html_and_pointer() {
    let no_pointer = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let empty = mock!(Client::list_objects_v2)
        .then_output(|| ListObjectsV2Output::builder().key_count(0).build());
    let throttled = mock!(Client::put_object)
        .match_requests(|r| r.key() == Some("assets/app-D_6Ay_gG.js"))
        .then_http_response(slow_down);
    let others = mock!(Client::put_object)
        .then_output(|| PutObjectOutput::builder().version_id("v").build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&no_pointer, &empty, &throttled, &others],
        |b| b.retry_config(retry())
    );
    let d = site();
    let cfg = deploy_config(&["--dir", d.path().to_str().unwrap(), "--bucket", "my-site"]);
    let err = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    let text = err.render();
    assert!(
        text.contains("SlowDown: Please reduce your request rate."),
        "{text}"
    );
    assert!(text.contains("help: AWS kept throttling"), "{text}");
    assert_eq!(throttled.num_calls(), 3, "max-attempts");
    // The immutable phase failed: no other file, no HTML, no manifest, no pointer was written.
    assert_eq!(others.num_calls(), 0);
    assert_eq!(
        err.outputs().unwrap().get("uploaded").unwrap(),
        0,
        "partial outputs are reported"
    );
}

/// S3's answer to a conditional write while another write of the key is in flight
/// (PutObject: "If a conflicting operation occurs during the upload S3 returns a 409
/// ConditionalRequestConflict response").
fn conditional_conflict() -> HttpResponse {
    HttpResponse::new(
        409.try_into().unwrap(),
        SdkBody::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.</Message><RequestId>R2</RequestId><HostId>H2</HostId></Error>",
        ),
    )
}

#[tokio::test]
async fn a_first_deploy_writes_the_pointer_only_if_none_exists_and_a_conflict_is_a_lost_race() {
    let no_pointer = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let empty = mock!(Client::list_objects_v2)
        .then_output(|| ListObjectsV2Output::builder().key_count(0).build());
    // Only a pointer PUT that carries `If-None-Match: *` matches; any other pointer PUT would
    // reach `files` and succeed.
    let pointer = mock!(Client::put_object)
        .match_requests(|r| r.key() == Some(".gantry/live.json") && r.if_none_match() == Some("*"))
        .then_http_response(conditional_conflict);
    let files =
        mock!(Client::put_object).then_output(|| PutObjectOutput::builder().e_tag("\"e\"").build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&no_pointer, &empty, &pointer, &files],
        |b| b.retry_config(retry())
    );
    let d = site();
    let cfg = deploy_config(&["--dir", d.path().to_str().unwrap(), "--bucket", "my-site"]);
    let err = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    assert!(
        err.message().starts_with(
            "another publish changed s3://my-site/.gantry/live.json while this one ran (it read no release live)"
        ),
        "{}",
        err.message()
    );
    assert!(
        pointer.num_calls() >= 1,
        "the pointer write was conditional"
    );
    // The three files and the manifest: the pointer never went through.
    assert_eq!(files.num_calls(), 4);
}

#[tokio::test]
async fn slowdowns_under_auto_concurrency_are_retried_and_every_file_lands() {
    // 64 assets, each answered first with S3's 503 SlowDown: the publish halves its limit
    // (crates/gantry-site/src/pace.rs), the SDK retries each, and all of them land.
    let d = tempfile::tempdir().unwrap();
    let files: Vec<(String, String)> = (0..64)
        .map(|i| (format!("assets/chunk-{i:02}-aBcDeF9.js"), format!("x({i})")))
        .collect();
    write_tree(d.path(), &files);
    write_tree(d.path(), &[("index.html", "<p>hi</p>")]);
    let no_pointer = mock!(Client::get_object)
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let empty = mock!(Client::list_objects_v2)
        .then_output(|| ListObjectsV2Output::builder().key_count(0).build());
    let asset_rules: Vec<_> = files
        .iter()
        .map(|(k, _)| {
            let key = k.clone();
            mock!(Client::put_object)
                .match_requests(move |r| r.key() == Some(key.as_str()))
                .sequence()
                .http_response(slow_down)
                .output(|| PutObjectOutput::builder().version_id("v").build())
                .build()
        })
        .collect();
    let others = mock!(Client::put_object)
        .then_output(|| PutObjectOutput::builder().version_id("v").build());
    let mut rules: Vec<&aws_smithy_mocks::Rule> = vec![&no_pointer, &empty];
    rules.extend(asset_rules.iter());
    rules.push(&others);
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |b| b
        .retry_config(retry()));
    let cfg = deploy_config(&[
        "--dir",
        d.path().to_str().unwrap(),
        "--bucket",
        "my-site",
        "--concurrency",
        "auto",
    ]);
    let report = gantry_site::deploy(&s3, None, &SystemClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(report.outputs.get("uploaded").unwrap(), 65);
    for r in &asset_rules {
        assert_eq!(
            r.num_calls(),
            2,
            "one SlowDown, then the PUT that succeeded"
        );
    }
}
