//! End-to-end tests of actions/rollout against local AWS: moto through our launcher, which
//! patches ECS deployments to the documented lifecycle (each test starts its own, so it picks
//! the deployment duration and shares nothing). The launcher itself is tested first.

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use gantry_tests::{RolloutMoto, bin_dir, repo_root, unique_name};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const SECONDS: f64 = 1.5;

struct World {
    moto: RolloutMoto,
    ecs: aws_sdk_ecs::Client,
    cw: aws_sdk_cloudwatch::Client,
    cluster: String,
    service: String,
}

/// A cluster, a service on task definition `good:1` settled (COMPLETED), and the emulator.
async fn world(prefix: &str) -> (World, String) {
    let moto = RolloutMoto::start(SECONDS);
    let sdk = moto.sdk().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let cluster = unique_name(prefix);
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let first = register(&ecs, &cluster, "busybox:1").await;
    let service = "web".to_owned();
    ecs.create_service()
        .cluster(&cluster)
        .service_name(&service)
        .task_definition(&first)
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    let w = World {
        moto,
        ecs,
        cw,
        cluster,
        service,
    };
    w.settle().await;
    (w, first)
}

/// Registers a task definition in family `<cluster>-app` with this image; returns its ARN.
async fn register(ecs: &aws_sdk_ecs::Client, cluster: &str, image: &str) -> String {
    ecs.register_task_definition()
        .family(format!("{cluster}-app"))
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .memory(128)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned()
}

impl World {
    async fn service(&self) -> aws_sdk_ecs::types::Service {
        self.ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    /// `(status, rolloutState, taskDefinition)` of each deployment.
    async fn deployments(&self) -> Vec<(String, String, String)> {
        self.service()
            .await
            .deployments()
            .iter()
            .map(|d| {
                (
                    d.status().unwrap().to_owned(),
                    d.rollout_state().unwrap().as_str().to_owned(),
                    d.task_definition().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until the service has one COMPLETED deployment.
    async fn settle(&self) {
        for _ in 0..100 {
            let d = self.deployments().await;
            if d.len() == 1 && d[0].1 == "COMPLETED" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("service did not settle: {:?}", self.deployments().await);
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = gantry_tests::json_command("gantry-rollout", args);
        c.envs(self.moto.env());
        c
    }

    fn run(&self, args: &[&str]) -> (i32, Value, String) {
        gantry_tests::json_output(self.command(args))
    }

    fn deploy_args<'a>(&'a self, td: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec![
            "deploy",
            "--cluster",
            &self.cluster,
            "--service",
            &self.service,
            "--task-definition",
            td,
            "--poll-interval",
            "1s",
            "--timeout",
            "60s",
        ];
        v.extend_from_slice(extra);
        v
    }
}

use gantry_tests::json_parts as parse;

/// The launcher's patch: UpdateService starts a new PRIMARY IN_PROGRESS and turns the old one
/// ACTIVE; after the period the new one is COMPLETED alone; a task definition marked to fail
/// ends FAILED with ECS's rollback to the last COMPLETED one; forceNewDeployment starts one too.
#[tokio::test]
async fn launcher_follows_the_documented_ecs_lifecycle() {
    let (w, first) = world("lc").await;
    let second = register(&w.ecs, &w.cluster, "busybox:2").await;
    let failing = register(&w.ecs, &w.cluster, "busybox:gantry-fail").await;
    let d0 = w.service().await.deployments()[0].id().unwrap().to_owned();

    let up = w
        .ecs
        .update_service()
        .cluster(&w.cluster)
        .service(&w.service)
        .task_definition(&second)
        .send()
        .await
        .unwrap();
    let deps = up.service().unwrap().deployments();
    assert_eq!(deps.len(), 2);
    assert_eq!(deps[0].status(), Some("PRIMARY"));
    assert_eq!(deps[0].rollout_state().unwrap().as_str(), "IN_PROGRESS");
    assert_eq!(deps[0].task_definition(), Some(second.as_str()));
    assert_ne!(
        deps[0].id(),
        Some(d0.as_str()),
        "a new deployment, a new id"
    );
    assert_eq!(deps[1].status(), Some("ACTIVE"));
    assert_eq!(deps[1].id(), Some(d0.as_str()));
    assert_eq!(deps[1].task_definition(), Some(first.as_str()));
    w.settle().await;
    assert_eq!(
        w.deployments().await,
        vec![("PRIMARY".into(), "COMPLETED".into(), second.clone())]
    );

    w.ecs
        .update_service()
        .cluster(&w.cluster)
        .service(&w.service)
        .task_definition(&failing)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs_f64(SECONDS + 0.3)).await;
    let s = w.service().await;
    assert_eq!(
        s.task_definition(),
        Some(second.as_str()),
        "ECS put it back"
    );
    let got: Vec<(String, String, String)> = w.deployments().await;
    assert_eq!(
        got,
        vec![
            ("PRIMARY".into(), "COMPLETED".into(), second.clone()),
            ("ACTIVE".into(), "FAILED".into(), failing.clone()),
        ]
    );
    let failed = &s.deployments()[1];
    assert!(
        failed
            .rollout_state_reason()
            .unwrap()
            .contains("circuit breaker")
    );
    assert!(
        failed.updated_at().unwrap().secs() >= failed.created_at().unwrap().secs(),
        "updatedAt is when it turned"
    );
    let events: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        events[0].contains("has reached a steady state"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.contains("deployment failed")),
        "{events:?}"
    );
    // The FAILED one goes after another period.
    w.settle().await;

    let forced = w
        .ecs
        .update_service()
        .cluster(&w.cluster)
        .service(&w.service)
        .force_new_deployment(true)
        .send()
        .await
        .unwrap();
    let deps = forced.service().unwrap().deployments();
    assert_eq!(deps.len(), 2, "forceNewDeployment starts a deployment");
    assert_eq!(deps[0].task_definition(), Some(second.as_str()));
    // A desired-count change alone starts none.
    w.settle().await;
    let n = w
        .ecs
        .update_service()
        .cluster(&w.cluster)
        .service(&w.service)
        .desired_count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(n.service().unwrap().deployments().len(), 1);
}

/// The launcher's CloudWatch shim: the Rust client's RPC v2 CBOR requests are answered, errors
/// included, with AWS's codes.
#[tokio::test]
async fn launcher_serves_cloudwatch_to_the_rust_client() {
    let moto = RolloutMoto::start(SECONDS);
    let cw = aws_sdk_cloudwatch::Client::new(&moto.sdk().await);
    let name = unique_name("cbor");
    cw.put_metric_alarm()
        .alarm_name(&name)
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(60)
        .evaluation_periods(2)
        .threshold(90.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cw.set_alarm_state()
        .alarm_name(&name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("injected")
        .send()
        .await
        .unwrap();
    let got = cw
        .describe_alarms()
        .alarm_names(&name)
        .send()
        .await
        .unwrap();
    let a = &got.metric_alarms()[0];
    assert_eq!(
        a.state_value(),
        Some(&aws_sdk_cloudwatch::types::StateValue::Alarm)
    );
    assert_eq!(a.state_reason(), Some("injected"));
    assert_eq!(a.threshold(), Some(90.0));
    assert!(a.state_updated_timestamp().is_some(), "timestamps survive");
    let err = cw
        .set_alarm_state()
        .alarm_name("no-such-alarm")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("x")
        .send()
        .await
        .unwrap_err();
    let code = aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&err).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("ResourceNotFound"), "{err:?}");
}

#[tokio::test]
async fn deploy_completes_and_records_the_previous_task_definition() {
    let (w, first) = world("ok").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let (code, out, stderr) = w.run(&w.deploy_args(&next, &["--bake-time", "2s"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["status"], "completed");
    assert_eq!(out["task-definition-arn"], next.as_str());
    assert_eq!(out["previous-task-definition-arn"], first.as_str());
    let s = w.service().await;
    assert_eq!(s.task_definition(), Some(next.as_str()));
    assert!(
        out["deployment-id"]
            .as_str()
            .is_some_and(|id| id == s.deployments()[0].id().unwrap()),
        "{out}"
    );
    assert!(
        stderr.contains("ServiceDeployment API not available"),
        "{stderr}"
    );
    assert!(
        stderr.contains("deployment completed."),
        "events printed: {stderr}"
    );
    let tags = w
        .ecs
        .list_tags_for_resource()
        .resource_arn(s.service_arn().unwrap())
        .send()
        .await
        .unwrap();
    let tag = |k: &str| {
        tags.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag("gantry:previous-task-definition"), Some(first.clone()));
    assert_eq!(tag("gantry:task-definition"), Some(next.clone()));
    assert_eq!(tag("gantry:rolled-back-to").as_deref(), Some("none"));

    // rollback --to previous (from the tag: moto has no ServiceDeployment history).
    let rollback_previous = [
        "rollback",
        "--cluster",
        &w.cluster,
        "--service",
        &w.service,
        "--poll-interval",
        "1s",
        "--timeout",
        "60s",
    ];
    let (code, out, stderr) = w.run(&rollback_previous);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["rolled-back-to"], first.as_str());
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));

    // "Re-run failed jobs": the same rollback again changes nothing and succeeds.
    let (code, out, stderr) = w.run(&rollback_previous);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["status"], "completed", "{out}");
    assert_eq!(out["reason"], "already on the target", "{out}");
    assert_eq!(out["rolled-back-to"], first.as_str());
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));
    assert_eq!(w.deployments().await.len(), 1, "no deployment started");
}

#[tokio::test]
async fn failing_task_definition_ends_rolled_back_by_ecs_without_a_second_rollback() {
    let (w, first) = world("fail").await;
    let failing = register(&w.ecs, &w.cluster, "busybox:gantry-fail").await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = w
        .command(&w.deploy_args(&failing, &["--bake-time", "2s"]))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let (code, out, stderr) = parse(out);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(out["exit-code"], 3, "{out}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&format!("| task definition | `{first}` → `{failing}` |")),
        "{md}"
    );
    let id = out["deployment-id"].as_str().unwrap();
    assert!(id.starts_with("ecs-svc/"), "{out}");
    assert!(md.contains(&format!("| deployment | `{id}` |")), "{md}");
    assert!(
        md.contains("| timeline | started +0s · completed — · baked — ·"),
        "{md}"
    );
    assert!(md.contains("| service events | "), "{md}");
    assert!(
        md.contains("| verdict | **rolled-back** ECS rolled deployment"),
        "{md}"
    );
    assert_eq!(out["status"], "rolled-back");
    assert_eq!(out["rolled-back-to"], first.as_str());
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("ECS rolled deployment"),
        "{out}"
    );
    assert!(
        !stderr.contains("==> Rollback"),
        "no rollback of ours: {stderr}"
    );
    let s = w.service().await;
    assert_eq!(s.task_definition(), Some(first.as_str()));
    let started = s
        .events()
        .iter()
        .filter(|e| {
            e.message()
                .is_some_and(|m| m.contains("deployment started"))
        })
        .count();
    assert_eq!(started, 1, "one UpdateService: ours");
}

#[tokio::test]
async fn alarm_flipped_during_the_bake_puts_the_service_back() {
    let (w, first) = world("bake").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let alarm = unique_name("web-5xx");
    w.cw.put_metric_alarm()
        .alarm_name(&alarm)
        .metric_name("HTTPCode_Target_5XX_Count")
        .namespace("AWS/ApplicationELB")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    w.cw.set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("quiet")
        .send()
        .await
        .unwrap();
    let args = w.deploy_args(&next, &["--alarms", &alarm, "--bake-time", "60s"]);
    let child = w
        .command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the new deployment COMPLETED (the bake has begun), then flip the alarm.
    for _ in 0..200 {
        let d = w.deployments().await;
        if d.len() == 1 && d[0].1 == "COMPLETED" && d[0].2 == next {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.cw.set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (5.0).")
        .send()
        .await
        .unwrap();
    let (code, out, stderr) = parse(child.wait_with_output().unwrap());
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(out["status"], "rolled-back");
    assert!(out["reason"].as_str().unwrap().contains(&alarm), "{out}");
    assert!(
        out["duration-seconds"].as_u64().unwrap() < 30,
        "noticed during the bake, not at its end: {out}"
    );
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));
}

#[tokio::test]
async fn bad_inputs_found_in_aws_are_exit_2_and_change_nothing() {
    let (w, first) = world("bad").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let gone = register(&w.ecs, &w.cluster, "busybox:3").await;
    w.ecs
        .deregister_task_definition()
        .task_definition(&gone)
        .send()
        .await
        .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            w.deploy_args(&next, &["--alarms", "no-such-alarm"]),
            "alarms: CloudWatch has no alarm named `no-such-alarm`",
        ),
        (w.deploy_args(&gone, &[]), "is INACTIVE"),
        (
            w.deploy_args(
                &next,
                &[
                    "--pre-deploy-task",
                    "migrate",
                    "--pre-deploy-container",
                    "db",
                ],
            ),
            "pre-deploy-container: `db` is not a container",
        ),
        (
            w.deploy_args(&next, &["--strategy", "blue-green"]),
            "strategy: `blue-green` needs a load balancer",
        ),
        (
            w.deploy_args(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/nope:1",
                &[],
            ),
            "task-definition: ECS does not know",
        ),
    ];
    for (args, says) in cases {
        let (code, out, stderr) = w.run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            out["error"].as_str().unwrap().contains(says),
            "{args:?}: {out}"
        );
        assert_eq!(out["exit-code"], 2, "{out}");
        assert_eq!(out["status"], "failed", "outputs on every exit: {out}");
        assert_eq!(out["deployment-id"], "", "{out}");
        assert!(
            out["reason"].as_str().unwrap().contains(says),
            "{args:?}: {out}"
        );
    }
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));
    assert_eq!(w.deployments().await.len(), 1, "no deployment was started");

    let mut unknown = w.deploy_args(&next, &[]);
    unknown[2] = "no-such-cluster";
    let (code, out, _) = w.run(&unknown);
    assert_eq!(code, 1);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("ClusterNotFoundException"),
        "{out}"
    );
}

#[tokio::test]
async fn composite_action_deploys_and_rolls_back_through_the_runner() {
    let (w, first) = world("act").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let action = || {
        let mut r = gantry_act::Runner::new(repo_root().join("actions/rollout"))
            .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
            .log_to(std::io::sink());
        for (k, v) in w.moto.env() {
            r = r.env(k, v);
        }
        r.input("cluster", &w.cluster)
            .input("service", &w.service)
            .input("poll-interval", "1s")
            .input("timeout", "60s")
    };
    let r = action()
        .input("task-definition", &next)
        .input("bake-time", "1s")
        .run()
        .unwrap();
    assert!(r.success, "{:?}", r.annotations);
    assert_eq!(r.outputs["status"], "completed");
    assert_eq!(r.outputs["previous-task-definition-arn"], first);
    assert!(
        r.summary.contains("| verdict | **completed**"),
        "{}",
        r.summary
    );

    let r = action().input("mode", "rollback").run().unwrap();
    assert!(r.success, "{:?}", r.annotations);
    assert_eq!(r.outputs["rolled-back-to"], first);
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));

    let r = action().input("mode", "sideways").run().unwrap();
    assert!(!r.success);
    assert!(
        r.annotations
            .iter()
            .any(|a| a.message.contains("is not deploy or rollback")),
        "{:?}",
        r.annotations
    );
    assert_eq!(r.outputs["status"], "failed", "outputs on every exit");
}

#[tokio::test]
async fn status_reports_the_task_definition_deployments_and_business() {
    let (w, first) = world("status").await;
    let status = || w.run(&["status", "--cluster", &w.cluster, "--service", &w.service]);
    let (code, out, stderr) = status();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["cluster"], w.cluster.as_str());
    assert_eq!(out["service"], w.service.as_str());
    assert_eq!(out["task-definition-arn"], first.as_str());
    assert_eq!(out["previous-task-definition-arn"], "");
    assert_eq!(out["busy"], false);
    let deps = out["deployments"].as_array().unwrap();
    assert_eq!(deps.len(), 1, "{out}");
    let line = deps[0].as_str().unwrap();
    assert!(line.starts_with("ecs-svc/"), "{line}");
    assert!(
        line.ends_with(&format!(" PRIMARY COMPLETED {first}")),
        "{line}"
    );

    // Someone else's deployment in progress: busy, both deployments listed, nothing changed.
    let second = register(&w.ecs, &w.cluster, "busybox:2").await;
    w.ecs
        .update_service()
        .cluster(&w.cluster)
        .service(&w.service)
        .task_definition(&second)
        .send()
        .await
        .unwrap();
    let (code, out, stderr) = status();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["busy"], true, "{out}");
    assert_eq!(out["task-definition-arn"], second.as_str());
    let deps: Vec<&str> = out["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(deps.len(), 2, "{out}");
    assert!(
        deps[0].ends_with(&format!(" PRIMARY IN_PROGRESS {second}")),
        "{deps:?}"
    );
    assert!(
        deps[1].ends_with(&format!(" ACTIVE COMPLETED {first}")),
        "{deps:?}"
    );
    w.settle().await;

    // After a gantry deploy, the previous task definition comes from the tag it wrote.
    let third = register(&w.ecs, &w.cluster, "busybox:3").await;
    let (code, _, stderr) = w.run(&w.deploy_args(&third, &["--bake-time", "0"]));
    assert_eq!(code, 0, "{stderr}");
    let (_, out, _) = status();
    assert_eq!(out["task-definition-arn"], third.as_str());
    assert_eq!(out["previous-task-definition-arn"], second.as_str());
    assert_eq!(out["busy"], false);

    let (code, out, _) = w.run(&[
        "status",
        "--cluster",
        &w.cluster,
        "--service",
        "no-such-service",
    ]);
    assert_eq!(code, 1);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("service `no-such-service` not found"),
        "{out}"
    );
}

impl World {
    /// `deploy` through `proxy`, started in the background.
    fn spawn_through(
        &self,
        proxy: &gantry_tests::FaultProxy,
        args: &[&str],
    ) -> std::process::Child {
        self.command(args)
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits until `td` is the service's one COMPLETED deployment (the bake has begun).
    async fn until_completed(&self, td: &str) {
        for _ in 0..300 {
            let d = self.deployments().await;
            if d.len() == 1 && d[0].1 == "COMPLETED" && d[0].2 == td {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{td} did not complete: {:?}", self.deployments().await);
    }
}

#[tokio::test]
async fn aws_unreachable_for_seconds_during_the_bake_is_unknown_and_the_bake_goes_on() {
    let (w, _first) = world("blip").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let proxy = gantry_tests::FaultProxy::start(&w.moto.url);
    let started = std::time::Instant::now();
    // One attempt per call, so the outage reaches the poll instead of the SDK's retries.
    let args = w.deploy_args(&next, &["--bake-time", "20s", "--max-attempts", "1"]);
    let child = w.spawn_through(&proxy, &args);
    w.until_completed(&next).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.drop_for(Duration::from_secs(7));
    let (code, out, stderr) = parse(child.wait_with_output().unwrap());
    let took = started.elapsed();
    assert!(proxy.refused() > 0, "the outage was seen: {stderr}");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["status"], "completed", "{out}");
    assert!(stderr.contains("unknown: "), "{stderr}");
    assert!(stderr.contains("AWS answers again after"), "{stderr}");
    assert!(
        took >= Duration::from_secs(20),
        "the whole bake was watched, not ended at the outage: {took:?}"
    );
    assert_eq!(w.service().await.task_definition(), Some(next.as_str()));
}

#[tokio::test]
async fn a_bake_aws_does_not_answer_to_its_end_is_unknown_with_the_rollback_command() {
    let (w, first) = world("blind").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    let proxy = gantry_tests::FaultProxy::start(&w.moto.url);
    let args = w.deploy_args(&next, &["--bake-time", "8s", "--max-attempts", "1"]);
    let child = w.spawn_through(&proxy, &args);
    w.until_completed(&next).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Down past the bake's end and the rollback's attempt: neither can be made.
    proxy.drop_for(Duration::from_secs(300));
    let (code, out, stderr) = parse(child.wait_with_output().unwrap());
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(out["status"], "unknown", "{out}");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.contains("could not be watched to its end"),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "gantry-rollout rollback --cluster {} --service {} --to {first}",
            w.cluster, w.service
        )),
        "the exact rollback command: {reason}"
    );
    // Nothing was rolled back behind our back: the service is where the deploy left it.
    assert_eq!(w.service().await.task_definition(), Some(next.as_str()));
}

#[tokio::test]
async fn aws_credential_expiration_counts_for_the_expiry_pre_flight() {
    let (w, first) = world("expiry").await;
    let next = register(&w.ecs, &w.cluster, "busybox:2").await;
    // What configure-aws-credentials exports with plain environment credentials.
    let soon = rfc3339_after(Duration::from_secs(90));
    let (code, out, stderr) = gantry_tests::json_output({
        // A dry run goes through the whole pre-flight and changes nothing.
        let mut c = w.command(&w.deploy_args(&next, &["--bake-time", "5m", "--dry-run"]));
        c.env("AWS_CREDENTIAL_EXPIRATION", &soon);
        c
    });
    assert_eq!(code, 1, "{stderr}");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("the AWS credentials expire at"),
        "{out}"
    );
    assert_eq!(w.service().await.task_definition(), Some(first.as_str()));
}

/// `now + d` as RFC 3339 (`2026-12-03T14:05:00Z`).
fn rfc3339_after(d: Duration) -> String {
    let t = std::time::SystemTime::now() + d;
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
