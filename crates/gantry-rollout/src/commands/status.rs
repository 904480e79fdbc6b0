//! `status`: the service's task definition and deployments (read-only).

use crate::aws::Clients;
use crate::aws::ecs;
use crate::checks;
use crate::config::ServiceRef;
use crate::report::{self, ServiceStatus};
use gantry_kit::{Error, Report};

/// Describes the service; changes nothing.
pub async fn status(aws: &Clients, target: &ServiceRef) -> Result<Report, Error> {
    let s = ecs::describe_service(aws, &target.cluster, &target.service).await?;
    let found = ServiceStatus {
        task_definition: ecs::current_task_definition(&s).to_owned(),
        previous: ecs::rollout_tags(&s)
            .previous
            .unwrap_or_default()
            .to_owned(),
        busy: checks::busy(&ecs::deployments_of(&s)).is_some(),
        deployments: ecs::deployment_lines(&s),
    };
    Ok(report::status(target, &found))
}
