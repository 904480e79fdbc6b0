//! CloudFront in the local emulator: a client and a distribution in front of an S3 origin.

use super::env::aws_endpoint;
/// A CloudFront client for the local emulator (the env from `scripts/local-aws env`).
pub async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_cloudfront::Client::new(&sdk)
}

/// Creates a distribution in front of an S3 origin named after `name`; returns its id.
pub async fn create_distribution(cf: &aws_sdk_cloudfront::Client, name: &str) -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{name}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .expect("origin");
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment(format!("gantry test {name}"))
        .enabled(true)
        .default_root_object("index.html")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .expect("cache behavior"),
        )
        .build()
        .expect("distribution config");
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateDistribution: {}",
                aws_sdk_cloudfront::error::DisplayErrorContext(&e)
            )
        });
    out.distribution()
        .expect("distribution in response")
        .id()
        .to_owned()
}
