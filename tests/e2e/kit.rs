//! gantry-kit's AWS set-up against the emulator: what unit tests cannot show.

use gantry_kit::aws::{AwsArgs, s3_client, sdk_config};
use gantry_tests::unique_name;
use std::time::Duration;

fn config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
    let b = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .http_client(gantry_kit::aws::http_client())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()));
    match endpoint {
        Some(e) => b.endpoint_url(e).build(),
        None => b.build(),
    }
}

async fn presigned_uri(sdk: &aws_config::SdkConfig) -> String {
    let expires =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(60)).unwrap();
    s3_client(sdk)
        .get_object()
        .bucket("site-bucket")
        .key("index.html")
        .presigned(expires)
        .await
        .unwrap()
        .uri()
        .to_owned()
}

#[tokio::test]
async fn s3_client_uses_path_style_only_with_an_endpoint() {
    // A host name, not an IP: for an IP endpoint the SDK's rules pick path style by themselves.
    let local = presigned_uri(&config(Some("http://localhost:4566"))).await;
    assert!(
        local.starts_with("http://localhost:4566/site-bucket/index.html?"),
        "{local}"
    );
    let aws = presigned_uri(&config(None)).await;
    assert!(
        aws.starts_with("https://site-bucket.s3.us-east-1.amazonaws.com/index.html?"),
        "{aws}"
    );
}

#[tokio::test]
async fn s3_client_works_against_the_emulator() {
    let endpoint = gantry_tests::aws_endpoint();
    let sdk = sdk_config(&AwsArgs::default(), None).await;
    assert_eq!(
        sdk.endpoint_url(),
        Some(endpoint.as_str()),
        "AWS_ENDPOINT_URL reaches the SdkConfig"
    );
    let s3 = s3_client(&sdk);
    let bucket = unique_name("kit");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("a.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

#[tokio::test]
async fn sdk_errors_map_to_exit_1_with_the_aws_code() {
    gantry_tests::aws_endpoint();
    let sdk = sdk_config(&AwsArgs::default(), None).await;
    let s3 = s3_client(&sdk);
    let err = s3
        .list_objects_v2()
        .bucket(unique_name("missing"))
        .send()
        .await
        .unwrap_err();
    let e = gantry_kit::aws::aws_error("S3 ListObjectsV2", &err);
    assert_eq!(e.exit_code(), gantry_kit::ExitCode::Failed);
    assert!(
        e.message().starts_with("S3 ListObjectsV2: NoSuchBucket: "),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn unreachable_endpoint_is_a_network_fault_with_a_hint() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .http_client(gantry_kit::aws::http_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    let err = cf.list_distributions().send().await.unwrap_err();
    let fault = gantry_kit::aws::classify(&err);
    assert_eq!(fault.kind, gantry_kit::aws::FaultKind::Network, "{fault:?}");
    assert!(
        fault
            .into_error("CloudFront ListDistributions")
            .render()
            .contains("help: could not reach AWS")
    );
}
