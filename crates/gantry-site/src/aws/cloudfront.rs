//! CloudFront, the reads the site makes itself (invalidations go through gantry-invalidate).

use aws_sdk_cloudfront::Client;
use gantry_kit::Error;

/// The distribution's domain name (`d111111abcdef8.cloudfront.net`).
pub(crate) async fn domain_name(client: &Client, distribution_id: &str) -> Result<String, Error> {
    let d = client
        .get_distribution()
        .id(distribution_id)
        .send()
        .await
        .map_err(|e| gantry_kit::aws::aws_error("CloudFront GetDistribution", &e))?;
    Ok(d.distribution()
        .map(|d| d.domain_name().to_owned())
        .unwrap_or_default())
}
