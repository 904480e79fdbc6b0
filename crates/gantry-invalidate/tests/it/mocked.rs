use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::config::retry::RetryConfig;
use aws_sdk_cloudfront::operation::create_invalidation::{
    CreateInvalidationError, CreateInvalidationOutput,
};
use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationOutput;
use aws_sdk_cloudfront::primitives::DateTime;
use aws_sdk_cloudfront::types::error::{NoSuchDistribution, TooManyInvalidationsInProgress};
use aws_sdk_cloudfront::types::{Invalidation, InvalidationBatch, Paths};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use gantry_invalidate::{Cli, invalidate, validate};
use gantry_kit::ExitCode;
use gantry_kit::github::RunIdentity;
use gantry_kit::poll::FakeClock;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn args(extra: &[&str]) -> Cli {
    let mut argv = vec!["gantry-invalidate", "--distribution-id", "E2QWRUHAPOMQZL"];
    argv.extend_from_slice(extra);
    gantry_kit::cli::try_parse_from(argv, |_| None).unwrap()
}

fn invalidation(id: &str, status: &str, reference: &str, paths: &[String]) -> Invalidation {
    Invalidation::builder()
        .id(id)
        .status(status)
        .create_time(DateTime::from_secs(1_700_000_000))
        .invalidation_batch(
            InvalidationBatch::builder()
                .caller_reference(reference)
                .paths(
                    Paths::builder()
                        .quantity(paths.len() as i32)
                        .set_items(Some(paths.to_vec()))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// CreateInvalidation's answer: the invalidation, InProgress.
fn created(id: &str) -> CreateInvalidationOutput {
    CreateInvalidationOutput::builder()
        .invalidation(invalidation(id, "InProgress", "r", &["/a".into()]))
        .build()
}

/// GetInvalidation's answer with `status`.
fn got(id: &str, status: &str) -> GetInvalidationOutput {
    GetInvalidationOutput::builder()
        .invalidation(invalidation(id, status, "r", &[]))
        .build()
}

fn identity(attempt_independent_run: &str) -> RunIdentity {
    RunIdentity {
        repository: Some("acme/shop".into()),
        run_id: Some(attempt_independent_run.into()),
        job: Some("deploy".into()),
        step: Some("invalidate".into()),
        purpose: None,
        occurrence: 1,
    }
}

/// CloudFront's documented behaviour for a repeated CallerReference with the same paths: it
/// returns the invalidation it already has. The fake keeps a map reference → invalidation.
#[tokio::test]
async fn rerun_of_a_job_reuses_the_same_invalidation() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let store: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let (seen2, store2) = (seen.clone(), store.clone());
    let create = mock!(Client::create_invalidation)
        .match_requests(move |req| {
            let r = req.invalidation_batch().unwrap().caller_reference().to_owned();
            seen2.lock().unwrap().push(r);
            true
        })
        .then_output(move || {
            let r = seen.lock().unwrap().last().cloned().unwrap();
            let mut s = store2.lock().unwrap();
            let id = match s.iter().find(|(k, _)| *k == r) {
                Some((_, id)) => id.clone(),
                None => {
                    let id = format!("I{}", s.len() + 1);
                    s.push((r.clone(), id.clone()));
                    id
                }
            };
            CreateInvalidationOutput::builder()
                .location(format!("https://cloudfront.amazonaws.com/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/{id}"))
                .invalidation(invalidation(&id, "InProgress", &r, &["/index.html".into()]))
                .build()
        });
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create]);
    let cfg = validate(&args(&["--paths", "/index.html"])).unwrap();

    // Attempt 1 and "Re-run failed jobs" (same run id; GITHUB_RUN_ATTEMPT is not an input).
    let first = invalidate(&client, &FakeClock::new(), &cfg, &identity("9001"), 1)
        .await
        .unwrap();
    let rerun = invalidate(&client, &FakeClock::new(), &cfg, &identity("9001"), 2)
        .await
        .unwrap();
    assert_eq!(
        first.outputs.get("invalidation-id"),
        rerun.outputs.get("invalidation-id")
    );
    assert_eq!(
        store.lock().unwrap().len(),
        1,
        "one invalidation for both attempts"
    );

    // A new run is a new invalidation.
    let next = invalidate(&client, &FakeClock::new(), &cfg, &identity("9002"), 3)
        .await
        .unwrap();
    assert_ne!(
        first.outputs.get("invalidation-id"),
        next.outputs.get("invalidation-id")
    );
    assert_eq!(create.num_calls(), 3);
}

#[tokio::test]
async fn too_many_in_progress_is_retried_at_the_poll_interval() {
    let create = mock!(Client::create_invalidation)
        .sequence()
        .error(|| {
            CreateInvalidationError::TooManyInvalidationsInProgress(
                TooManyInvalidationsInProgress::builder()
                    .message("Your request contains too many invalidations in progress.")
                    .build(),
            )
        })
        .times(2)
        .output(|| created("I9"))
        .build();
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&create]);
    let cfg = validate(&args(&["--paths", "/a", "--poll-interval", "7s"])).unwrap();
    let clock = FakeClock::new();
    let report = invalidate(&client, &clock, &cfg, &identity("1"), 0)
        .await
        .unwrap();
    assert_eq!(report.outputs.get("invalidation-id").unwrap(), "I9");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7); 2]);
}

#[tokio::test]
async fn too_many_in_progress_until_the_deadline_is_exit_4() {
    let create = mock!(Client::create_invalidation).then_error(|| {
        CreateInvalidationError::TooManyInvalidationsInProgress(
            TooManyInvalidationsInProgress::builder()
                .message("busy")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create]);
    let cfg = validate(&args(&[
        "--paths",
        "/a",
        "--poll-interval",
        "10s",
        "--timeout",
        "35s",
    ]))
    .unwrap();
    let clock = FakeClock::new();
    let err = invalidate(&client, &clock, &cfg, &identity("1"), 0)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::DeadlineExceeded);
    assert!(
        err.message().contains("TooManyInvalidationsInProgress"),
        "{}",
        err.message()
    );
    assert_eq!(create.num_calls(), 5, "at 0, 10, 20, 30 and 35 s");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported_with_a_hint() {
    let throttled = || {
        aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
            400.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>",
            ),
        )
    };
    let recovers = mock!(Client::create_invalidation)
        .sequence()
        .http_response(throttled)
        .times(2)
        .output(|| created("I5"))
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::Sequential, [&recovers], |b| b
        .retry_config(retry.clone()));
    let cfg = validate(&args(&["--paths", "/a"])).unwrap();
    let ok = invalidate(&client, &FakeClock::new(), &cfg, &identity("1"), 0)
        .await
        .unwrap();
    assert_eq!(ok.outputs.get("invalidation-id").unwrap(), "I5");
    assert_eq!(recovers.num_calls(), 3);

    let always = mock!(Client::create_invalidation).then_http_response(throttled);
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&always], |b| b
        .retry_config(retry.clone()));
    let err = invalidate(&client, &FakeClock::new(), &cfg, &identity("1"), 0)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    assert!(
        err.render().contains("Throttling: Rate exceeded"),
        "{}",
        err.render()
    );
    assert!(
        err.render().contains("help: AWS kept throttling"),
        "{}",
        err.render()
    );
    assert_eq!(always.num_calls(), 3);
}

#[tokio::test]
async fn wait_polls_at_a_fixed_interval_until_completed() {
    let create = mock!(Client::create_invalidation).then_output(|| created("I7"));
    let get = mock!(Client::get_invalidation)
        .match_requests(|r| r.id() == Some("I7") && r.distribution_id() == Some("E2QWRUHAPOMQZL"))
        .sequence()
        .output(|| got("I7", "InProgress"))
        .times(3)
        .output(|| got("I7", "Completed"))
        .build();
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create, &get]);
    let cfg = validate(&args(&["--paths", "/a", "--wait", "--poll-interval", "5s"])).unwrap();
    let clock = FakeClock::new();
    let report = invalidate(&client, &clock, &cfg, &identity("1"), 0)
        .await
        .unwrap();
    assert_eq!(report.outputs.get("status").unwrap(), "Completed");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 3]);
}

#[tokio::test]
async fn wait_past_the_deadline_is_exit_4_with_the_id_in_outputs() {
    let create = mock!(Client::create_invalidation).then_output(|| created("I8"));
    let get = mock!(Client::get_invalidation).then_output(|| got("I8", "InProgress"));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create, &get]);
    let cfg = validate(&args(&["--paths", "/a", "--wait", "--timeout", "1m"])).unwrap();
    let clock = FakeClock::new();
    let err = invalidate(&client, &clock, &cfg, &identity("1"), 0)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::DeadlineExceeded);
    assert!(
        err.message().contains("I8 is still InProgress after 1m"),
        "{}",
        err.message()
    );
    let outputs = err.outputs().unwrap();
    assert_eq!(outputs.get("invalidation-id").unwrap(), "I8");
    assert_eq!(get.num_calls(), 7, "at 0, 10, …, 60 s");
}

#[tokio::test]
async fn several_batches_wait_for_each_other() {
    let refs: Arc<Mutex<Vec<String>>> = Arc::default();
    let refs2 = refs.clone();
    let create = mock!(Client::create_invalidation)
        .match_requests(move |req| {
            let b = req.invalidation_batch().unwrap();
            refs2.lock().unwrap().push(b.caller_reference().to_owned());
            b.paths().unwrap().quantity() <= 15
        })
        .then_output(|| created("IB"));
    let get = mock!(Client::get_invalidation).then_output(|| got("IB", "Completed"));
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create, &get]);
    // 20 wildcards: two batches (CloudFront allows 15 wildcard paths in progress).
    let wild: Vec<String> = (0..20).map(|i| format!("/d{i}/*")).collect();
    let cfg = validate(&args(&[
        "--paths",
        &wild.join(" "),
        "--max-paths",
        "unlimited",
    ]))
    .unwrap();
    assert_eq!(cfg.plan.batches.len(), 2);
    let report = invalidate(&client, &FakeClock::new(), &cfg, &identity("1"), 0)
        .await
        .unwrap();
    assert_eq!(create.num_calls(), 2);
    assert_eq!(
        get.num_calls(),
        1,
        "waited for batch 1 before batch 2, not after 2 (no --wait)"
    );
    let r = refs.lock().unwrap();
    assert_ne!(r[0], r[1], "each batch has its own CallerReference");
    assert_eq!(
        report
            .outputs
            .get("invalidation-ids")
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn unknown_distribution_is_exit_1_with_aws_message() {
    let create = mock!(Client::create_invalidation).then_error(|| {
        CreateInvalidationError::NoSuchDistribution(
            // As parsed from CloudFront's XML error: the metadata carries code and message.
            NoSuchDistribution::builder()
                .message("The specified distribution does not exist.")
                .meta(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("NoSuchDistribution")
                        .message("The specified distribution does not exist.")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, [&create]);
    let cfg = validate(&args(&["--paths", "/a"])).unwrap();
    let err = invalidate(&client, &FakeClock::new(), &cfg, &identity("1"), 0)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    insta::assert_snapshot!(err.render(), @r"
    error: CloudFront CreateInvalidation: NoSuchDistribution: The specified distribution does not exist.
      help: check distribution-id `E2QWRUHAPOMQZL` and that the credentials are for its account
    ");
}
