//! The ECS edge: which task definition a stack's service runs now (`running`).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::Region;
use gantry_kit::Error;
use gantry_kit::aws::aws_error;

/// ECS clients per region.
pub type Regional = super::Regional<Client>;

/// The client for `region` (`None`: the configured one).
pub fn build(sdk: &aws_types::SdkConfig, region: Option<&str>) -> Client {
    let mut b = aws_sdk_ecs::config::Builder::from(sdk);
    if let Some(r) = region {
        b = b.region(Region::new(r.to_owned()));
    }
    Client::from_conf(b.build())
}

/// The task definition ARN the service runs (DescribeServices); `None` when ECS does not know
/// the service (a `MISSING` failure) or it is INACTIVE (deleted).
pub async fn service_task_definition(
    client: &Client,
    cluster: Option<&str>,
    service: &str,
) -> Result<Option<String>, Error> {
    let out = client
        .describe_services()
        .set_cluster(cluster.map(str::to_owned))
        .services(service)
        .send()
        .await
        .map_err(|e| aws_error("ECS DescribeServices", &e))?;
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .and_then(|s| s.task_definition())
        .map(str::to_owned))
}
