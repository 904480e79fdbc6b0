//! Responses shaped like ECS's and CloudWatch's documented JSON, and a client set whose
//! unmocked operations answer like an account without the ServiceDeployment API.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::tag_resource::TagResourceOutput;
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{
    ContainerDefinition, Deployment, DeploymentRolloutState, Service, ServiceEvent, TaskDefinition,
    TaskDefinitionStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use gantry_rollout::Clients;
use std::time::SystemTime;

pub(crate) const CLUSTER: &str = "prod";
pub(crate) const SERVICE: &str = "web";
pub(crate) const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:6";
pub(crate) const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";
pub(crate) const OTHER: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8";
pub(crate) const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";

/// One `service.deployments` entry.
pub(crate) fn dep(id: &str, status: &str, td: &str, rollout: &str) -> Deployment {
    let done = rollout == "COMPLETED";
    Deployment::builder()
        .id(id)
        .status(status)
        .task_definition(td)
        .desired_count(2)
        .running_count(if done { 2 } else { 1 })
        .pending_count(if done { 0 } else { 1 })
        .failed_tasks(if rollout == "FAILED" { 3 } else { 0 })
        .rollout_state(DeploymentRolloutState::from(rollout))
        .rollout_state_reason(match rollout {
            "FAILED" => "ECS deployment circuit breaker: tasks failed to start.".to_owned(),
            "COMPLETED" => format!("ECS deployment {id} completed."),
            _ => format!("ECS deployment {id} in progress."),
        })
        .created_at(DateTime::from_secs(1_800_000_000))
        .build()
}

/// A service with these deployments (the PRIMARY's task definition is the service's) and events.
pub(crate) fn svc(deps: Vec<Deployment>, events: &[(&str, &str)]) -> Service {
    let td = deps
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.task_definition())
        .unwrap_or(OLD)
        .to_owned();
    let mut b = Service::builder()
        .service_arn(SERVICE_ARN)
        .service_name(SERVICE)
        .cluster_arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod")
        .status("ACTIVE")
        .desired_count(2)
        .task_definition(td)
        .set_deployments(Some(deps));
    for (id, message) in events {
        b = b.events(
            ServiceEvent::builder()
                .id(*id)
                .created_at(DateTime::from_secs(1_800_000_000))
                .message(*message)
                .build(),
        );
    }
    b.build()
}

/// The steady service before a deploy: one COMPLETED PRIMARY of OLD.
pub(crate) fn steady() -> Service {
    svc(
        vec![dep("ecs-svc/old", "PRIMARY", OLD, "COMPLETED")],
        &[("e0", "(service web) has reached a steady state.")],
    )
}

/// DescribeServices answering `services` in turn, the last one for ever.
pub(crate) fn describe(services: Vec<Service>) -> Rule {
    let mut seq = mock!(Client::describe_services).sequence();
    for s in services {
        seq = seq.output(move || {
            DescribeServicesOutput::builder()
                .services(s.clone())
                .build()
        });
    }
    seq.repeatedly().build()
}

pub(crate) fn task_definition(status: TaskDefinitionStatus, containers: &[&str]) -> Rule {
    let containers: Vec<String> = containers.iter().map(|c| (*c).to_owned()).collect();
    mock!(Client::describe_task_definition).then_compute_output(move |req| {
        let mut td = TaskDefinition::builder()
            .task_definition_arn(req.task_definition().unwrap_or_default())
            .family("web")
            .status(status.clone());
        for c in &containers {
            td = td.container_definitions(
                ContainerDefinition::builder()
                    .name(c)
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7")
                    .essential(true)
                    .build(),
            );
        }
        DescribeTaskDefinitionOutput::builder()
            .task_definition(td.build())
            .build()
    })
}

/// DescribeAlarms answering these states in turn (the last for ever).
pub(crate) fn alarms(states: Vec<Vec<(&'static str, StateValue)>>) -> Rule {
    let mut seq = mock!(aws_sdk_cloudwatch::Client::describe_alarms).sequence();
    for set in states {
        seq = seq.output(move || {
            let mut out = DescribeAlarmsOutput::builder();
            for (name, state) in &set {
                out = out.metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name(*name)
                        .state_value(state.clone())
                        .state_reason(if *state == StateValue::Alarm {
                            "Threshold Crossed: 1 out of the last 1 datapoints [12.0] was greater than the threshold (5.0)."
                        } else {
                            "Threshold Crossed: no datapoints were greater than the threshold (5.0)."
                        })
                        .build(),
                );
            }
            out.build()
        });
    }
    seq.repeatedly().build()
}

/// The body of an awsJson1_1 error.
pub(crate) fn json_error(
    status: u16,
    code: &'static str,
    message: &'static str,
) -> impl Fn() -> aws_smithy_runtime_api::client::orchestrator::HttpResponse + Send + Sync + 'static
{
    move || {
        aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::from(format!(
                r#"{{"__type":"{code}","message":"{message}"}}"#
            )),
        )
    }
}

/// What an account without the ServiceDeployment API answers, and the calls every run makes.
pub(crate) fn defaults() -> Vec<Rule> {
    vec![
        mock!(Client::list_service_deployments).then_http_response(json_error(
            400,
            "UnknownOperationException",
            "Unknown operation",
        )),
        mock!(Client::describe_service_deployments).then_http_response(json_error(
            400,
            "UnknownOperationException",
            "Unknown operation",
        )),
        mock!(Client::list_tasks).then_output(|| ListTasksOutput::builder().build()),
        mock!(Client::tag_resource).then_output(|| TagResourceOutput::builder().build()),
        task_definition(TaskDefinitionStatus::Active, &["web"]),
    ]
}

/// The clients with these rules first, then [`defaults`]; credentials expiring at `expiry`.
pub(crate) fn aws(ecs: &[&Rule], cw: &[&Rule], expiry: Option<SystemTime>) -> Clients {
    let d = defaults();
    let all: Vec<&Rule> = ecs.iter().copied().chain(d.iter()).collect();
    let no_alarms = alarms(vec![vec![]]);
    let cw_all: Vec<&Rule> = cw.iter().copied().chain([&no_alarms]).collect();
    let retry = aws_sdk_ecs::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(1));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, all, |b| b
        .retry_config(retry.clone()));
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, cw_all);
    Clients {
        ecs,
        cw,
        credentials: Some(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("token".into()),
            expiry,
            "test",
        ))),
    }
}
