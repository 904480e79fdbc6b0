//! The AWS edge with responses shaped like real ECS (moto covers the happy paths end to end;
//! these show what moto does not: AWS's own describe output with its filled-in defaults, its
//! not-found error, and services mid-deployment).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::list_services::ListServicesOutput;
use aws_sdk_ecs::types::{Deployment, Service};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use gantry_taskdef::aws::ecs;
use gantry_taskdef::{compare, load};
use serde_json::{Value, json};

fn http(status: u16, body: Value) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body.to_string()))
}

/// What `aws ecs describe-task-definition --include TAGS` returns for the file below.
fn aws_describe() -> Value {
    json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42",
            "containerDefinitions": [
                {
                    "name": "api",
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    "cpu": 0,
                    "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                    "essential": true,
                    "environment": [
                        {"name": "PORT", "value": "8080"},
                        {"name": "LOG_LEVEL", "value": "info"}
                    ],
                    "mountPoints": [],
                    "volumesFrom": [],
                    "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf"}],
                    "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080/health"], "interval": 30, "timeout": 5, "retries": 3},
                    "systemControls": []
                }
            ],
            "family": "shop-api",
            "executionRoleArn": "arn:aws:iam::123456789012:role/shop-exec",
            "networkMode": "awsvpc",
            "revision": 42,
            "volumes": [],
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
            "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"],
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "registeredAt": 1764300000.123,
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/gh",
            "enableFaultInjection": false
        },
        "tags": [{"key": "team", "value": "shop"}]
    })
}

/// The same task definition as a user keeps it in the repository.
fn repo_file() -> Value {
    json!({
        "family": "shop-api",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "0.5 vCPU",
        "memory": "1 GB",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "executionRoleArn": "arn:aws:iam::123456789012:role/shop-exec",
        "containerDefinitions": [{
            "name": "api",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8080"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf"}],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080/health"]}
        }],
        "tags": [{"key": "team", "value": "shop"}]
    })
}

#[tokio::test]
async fn aws_describe_output_compares_equal_to_the_repository_file() {
    let rule =
        mock!(Client::describe_task_definition).then_http_response(|| http(200, aws_describe()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let live = ecs::latest_active(&client, "shop-api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.revision, 42);
    assert_eq!(live.status, "ACTIVE");
    assert_eq!(live.def["tags"], json!([{"key": "team", "value": "shop"}]));
    let mine = load::from_value(repo_file(), "td.json").unwrap().def;
    assert_eq!(compare::normalise(&live.def), compare::normalise(&mine));
    let changed = compare::changes(Some(&live.def), &mine);
    assert!(changed.is_empty(), "{changed:?}");

    // The describe output itself is an accepted input: describe-only keys dropped.
    let from_describe = load::from_value(aws_describe(), "describe.json").unwrap();
    assert!(from_describe.dropped.contains(&"registeredAt".to_owned()));
    assert_eq!(
        compare::normalise(&from_describe.def),
        compare::normalise(&mine)
    );
}

#[tokio::test]
async fn unknown_family_is_none_not_an_error() {
    let rule = mock!(Client::describe_task_definition).then_http_response(|| {
        http(
            400,
            json!({"__type": "ClientException", "message": "Unable to describe task definition."}),
        )
    });
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    assert_eq!(ecs::describe(&client, "nope").await.unwrap(), None);
    let rule = mock!(Client::describe_task_definition).then_http_response(|| {
        http(
            400,
            json!({"__type": "AccessDeniedException", "message": "not allowed"}),
        )
    });
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let e = ecs::describe(&client, "web").await.unwrap_err();
    assert_eq!(e.exit_code().code(), 1);
    assert!(
        e.render().contains("check the AWS credentials"),
        "{}",
        e.render()
    );
}

#[tokio::test]
async fn in_use_counts_running_and_deploying_revisions() {
    let arn = |r: u32| format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:{r}");
    let list = mock!(Client::list_services).then_output(|| {
        ListServicesOutput::builder()
            .service_arns("arn:aws:ecs:eu-west-1:123456789012:service/prod/api")
            .service_arns("arn:aws:ecs:eu-west-1:123456789012:service/prod/worker")
            .build()
    });
    let (a7, a6, a5) = (arn(7), arn(6), arn(5));
    let describe = mock!(Client::describe_services).then_output(move || {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("api")
                    .task_definition(a7.clone())
                    .deployments(
                        Deployment::builder()
                            .status("PRIMARY")
                            .task_definition(a7.clone())
                            .build(),
                    )
                    .deployments(
                        Deployment::builder()
                            .status("ACTIVE")
                            .task_definition(a6.clone())
                            .build(),
                    )
                    .build(),
            )
            .services(
                Service::builder()
                    .service_name("worker")
                    .task_definition(a5.clone())
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&list, &describe]);
    let used = ecs::in_use(&client, "prod").await.unwrap();
    assert_eq!(used, vec![arn(5), arn(6), arn(7)]);
    let active: Vec<String> = (1..=8).map(arn).collect();
    let plan = gantry_taskdef::prune::plan("shop-api", &active, 2, &used);
    assert_eq!(plan.deregister, vec![arn(1), arn(2), arn(3), arn(4)]);
}
