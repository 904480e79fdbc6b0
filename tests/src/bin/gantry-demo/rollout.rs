//! actions/rollout: a service in the local ECS, a guarded rollout of the task definition the
//! task-definition part registered, then a rollout that an alarm rolls back during the bake.

use super::{Ctx, DemoResult, action, failed, show};
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};
use gantry_tests::{ecs_fixture, unique_name};
use std::io::Write;
use std::time::Duration;

const SKIPPED: &str = "rollout skipped: the running moto predates the ECS lifecycle and CloudWatch \
     patches of scripts/moto-launcher.py (restart it: scripts/local-aws down && scripts/local-aws up)";

/// Registers `<family>` with one container of `image`; returns its ARN.
async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    image: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let out = ecs
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .build(),
        )
        .send()
        .await?;
    Ok(out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .ok_or("RegisterTaskDefinition returned no ARN")?
        .to_owned())
}

/// The service's deployments (none when it is not there).
async fn deployments(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Vec<aws_sdk_ecs::types::Deployment>, Box<dyn std::error::Error>> {
    let s = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await?;
    Ok(s.services()
        .first()
        .map(|s| s.deployments().to_vec())
        .unwrap_or_default())
}

fn rollout(cluster: &str, service: &str, td: &str, alarm: &str, bake: &str) -> gantry_act::Runner {
    action("rollout")
        .input("cluster", cluster)
        .input("service", service)
        .input("task-definition", td)
        .input("alarms", alarm)
        .input("bake-time", bake)
        .input("poll-interval", "1s")
        .input("timeout", "2m")
        .log_to(std::io::sink())
}

pub(crate) async fn run(out: &mut dyn Write, ctx: &mut Ctx) -> DemoResult {
    let name = unique_name("demo-rollout");
    let fx = ecs_fixture(&name);
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let family = format!("{name}-app");
    let first = register(&ecs, &family, "public.ecr.aws/docker/library/busybox:1.36").await?;
    let target = match &ctx.task_definition_arn {
        Some(arn) => arn.clone(),
        None => register(&ecs, &family, "public.ecr.aws/docker/library/busybox:1.37").await?,
    };
    let service = "web";
    ecs.create_service()
        .cluster(&fx.cluster_name)
        .service_name(service)
        .task_definition(&first)
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&fx.subnet_id)
                        .security_groups(&fx.security_group_id)
                        .assign_public_ip(AssignPublicIp::Disabled)
                        .build()?,
                )
                .build(),
        )
        .send()
        .await?;
    let alarm = format!("{name}-5xx");
    let created = cw
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await;
    if created.is_err() {
        // The Rust CloudWatch client speaks RPC v2 CBOR, which only the launcher's shim serves.
        writeln!(out, "\n== actions/rollout\n\n   {SKIPPED}")?;
        return Ok(true);
    }
    cw.set_alarm_state()
        .alarm_name(&alarm)
        .state_value(StateValue::Ok)
        .state_reason("no 5xx")
        .send()
        .await?;
    // The first deployment of a new service settles before the rollout (on-busy: fail).
    for _ in 0..100 {
        let deps = deployments(&ecs, &fx.cluster_name, service).await?;
        if deps.len() == 1 && deps[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    writeln!(
        out,
        "\n== actions/rollout on {}/{service} guarded by alarm {alarm}",
        fx.cluster_name
    )?;
    writeln!(out, "\n   rollout of {target} (bake 3s)")?;
    let r = rollout(&fx.cluster_name, service, &target, &alarm, "3s").run()?;
    show(out, &r)?;
    if !r.success {
        if r.annotations
            .iter()
            .any(|a| a.message.contains("did not start a deployment"))
        {
            writeln!(out, "\n   {SKIPPED}")?;
            return Ok(true);
        }
        return failed(out, "actions/rollout", &r);
    }

    let bad = register(&ecs, &family, "public.ecr.aws/docker/library/busybox:1.38").await?;
    writeln!(
        out,
        "\n   rollout of {bad} (bake 60s); the alarm goes to ALARM during the bake"
    )?;
    let (cluster, alarm2, bad2) = (fx.cluster_name.clone(), alarm.clone(), bad.clone());
    let job = tokio::task::spawn_blocking(move || {
        rollout(&cluster, service, &bad2, &alarm2, "60s").run()
    });
    for _ in 0..300 {
        let deps = deployments(&ecs, &fx.cluster_name, service).await?;
        let done = deps.len() == 1
            && deps[0].task_definition() == Some(bad.as_str())
            && deps[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED");
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cw.set_alarm_state()
        .alarm_name(&alarm)
        .state_value(StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [37.0] was greater than the threshold (5.0).")
        .send()
        .await?;
    let r = job.await??;
    show(out, &r)?;
    let status = r.outputs.get("status").map(String::as_str).unwrap_or("?");
    if status != "rolled-back" {
        return failed(out, "actions/rollout (alarm in the bake)", &r);
    }
    let now = ecs
        .describe_services()
        .cluster(&fx.cluster_name)
        .services(service)
        .send()
        .await?;
    let running = now
        .services()
        .first()
        .and_then(|s| s.task_definition())
        .unwrap_or("?")
        .to_owned();
    writeln!(
        out,
        "\nDeployed: {target} (verdict completed); then {bad} was rolled back by the alarm \
         (verdict rolled-back, exit 3) — the service runs {running} again."
    )?;
    Ok(true)
}
