//! S3 in the local emulator: a path-style client, site buckets, object bodies.

use super::env::aws_endpoint;
/// An S3 client for the local emulator (path-style, as gantry's own clients).
pub async fn site_s3() -> aws_sdk_s3::Client {
    aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    gantry_kit::aws::s3_client(&sdk)
}

/// Creates bucket `name` for a site; `versioned` turns on object versions (what rollback uses).
pub async fn create_site_bucket(s3: &aws_sdk_s3::Client, name: &str, versioned: bool) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateBucket {name}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    if versioned {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PutBucketVersioning {name}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
}

/// The body of `s3://bucket/key` as text, or `None` when there is no such object.
pub async fn site_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    let bytes = o.body.collect().await.ok()?.into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
