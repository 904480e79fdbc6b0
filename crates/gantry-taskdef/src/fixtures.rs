//! Realistic task definitions for unit tests: Fargate on ARM64 with ephemeral storage, an API
//! with secrets from Secrets Manager and SSM and a health check, a worker waiting for it to be
//! HEALTHY, and a firelens log router.

use serde_json::{Map, Value, json};

pub(crate) fn realistic() -> Map<String, Value> {
    let v = json!({
        "family": "shop-api",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "1024",
        "memory": "2048",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 40},
        "executionRoleArn": "arn:aws:iam::123456789012:role/shop-exec",
        "containerDefinitions": [
            {
                "name": "api",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:old",
                "essential": true,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "PORT", "value": "8080"}
                ],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf"},
                    {"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/api-key"}
                ],
                "healthCheck": {"command": ["CMD-SHELL", "wget -qO- localhost:8080/health || exit 1"], "interval": 15},
                "dependsOn": [{"containerName": "log_router", "condition": "START"}],
                "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch_logs", "region": "eu-west-1"}}
            },
            {
                "name": "worker",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-worker:old",
                "essential": false,
                "dependsOn": [{"containerName": "api", "condition": "HEALTHY"}]
            },
            {
                "name": "log_router",
                "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                "essential": true,
                "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}}
            }
        ]
    });
    v.as_object().unwrap().clone()
}
