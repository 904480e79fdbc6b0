//! gantry-taskdef against moto, as a binary and as the composite action through gantry-act.
//! moto keeps every container field it is given and fills in ECS's container defaults
//! (cpu 0, essential, empty lists) and networkMode, which the comparison must see through.

use gantry_tests::{bin_dir, ecs_fixture, repo_root, unique_name};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn taskdef(args: &[&str]) -> (i32, Value, String) {
    gantry_tests::json_output(gantry_tests::json_command("gantry-taskdef", args))
}

async fn ecs() -> aws_sdk_ecs::Client {
    gantry_tests::aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_ecs::Client::new(&sdk)
}

/// A Fargate task definition with an app, a worker and a firelens log router.
fn multi(family: &str) -> Value {
    json!({
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 30},
        "containerDefinitions": [
            {
                "name": "app",
                "image": "public.ecr.aws/docker/library/nginx:1.27",
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}],
                "healthCheck": {"command": ["CMD-SHELL", "true"]},
                "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "stdout"}}
            },
            {
                "name": "worker",
                "image": "public.ecr.aws/docker/library/busybox:stable",
                "essential": false,
                "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]
            },
            {
                "name": "log_router",
                "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                "firelensConfiguration": {"type": "fluentbit"}
            }
        ]
    })
}

fn write(dir: &Path, v: &Value) -> PathBuf {
    let p = dir.join("task-definition.json");
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

async fn active(client: &aws_sdk_ecs::Client, family: &str) -> Vec<String> {
    let mut arns: Vec<String> = client
        .list_task_definitions()
        .family_prefix(family)
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .to_vec();
    arns.sort_by_key(|a| a.rsplit(':').next().unwrap().parse::<u32>().unwrap());
    arns
}

#[tokio::test]
async fn registers_reuses_when_unchanged_and_registers_again_when_changed() {
    let client = ecs().await;
    let family = unique_name("td");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &multi(&family));
    let file = file.to_str().unwrap();
    let app = format!("app=127.0.0.1:5000/shop/app@{DIGEST}");
    let base = [
        "register",
        "--task-definition",
        file,
        "--image",
        &app,
        "--tag",
        "team=shop",
    ];

    let (code, first, stderr) = taskdef(&base);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(first["changed"], true);
    assert_eq!(first["revision"], 1);
    assert_eq!(first["family"], family.as_str());

    let (code, again, stderr) = taskdef(&base);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["task-definition-arn"], first["task-definition-arn"]);
    assert_eq!(again["diff"], json!([]));

    let changed: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--env-var", "app:LOG_LEVEL=debug"])
        .collect();
    let (code, third, stderr) = taskdef(&changed);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(third["changed"], true);
    assert_eq!(third["revision"], 2);
    assert_eq!(
        third["diff"],
        json!(["containerDefinitions[app].environment[LOG_LEVEL].value: \"info\" → \"debug\""])
    );

    let (code, forced, stderr) = taskdef(&[&changed[..], &["--force"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (forced["changed"].clone(), forced["revision"].clone()),
        (json!(true), json!(3))
    );

    // What moto stored: the image as given (digest kept), the tags, the merged environment.
    let got = client
        .describe_task_definition()
        .task_definition(third["task-definition-arn"].as_str().unwrap())
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let td = got.task_definition().unwrap();
    let app = &td.container_definitions()[0];
    assert_eq!(
        app.image(),
        Some(format!("127.0.0.1:5000/shop/app@{DIGEST}").as_str())
    );
    assert_eq!(app.environment()[0].value(), Some("debug"));
    assert_eq!(got.tags()[0].key(), Some("team"));
    assert_eq!(td.container_definitions().len(), 3);
    // The request body is the rendered JSON itself: nested keys the SDK call never set arrive.
    let worker = &td.container_definitions()[1];
    assert_eq!(worker.depends_on()[0].container_name(), "app");
    assert_eq!(worker.essential(), Some(false));
    let router = &td.container_definitions()[2];
    assert_eq!(
        router.firelens_configuration().map(|f| f.r#type().as_str()),
        Some("fluentbit")
    );
    assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(30));
}

#[tokio::test]
async fn starts_from_a_registered_revision_and_diffs_against_a_service() {
    let client = ecs().await;
    let fx = ecs_fixture(&unique_name("tdsvc"));
    let family = unique_name("tdsvc");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &multi(&family));
    let (code, first, stderr) = taskdef(&["register", "--task-definition", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let arn1 = first["task-definition-arn"].as_str().unwrap().to_owned();
    create_service(&client, &fx, "api", &arn1).await;

    // `family:1` (no such file) starts from what is registered.
    let from = format!("{family}:1");
    let (code, second, stderr) = taskdef(&[
        "register",
        "--task-definition",
        &from,
        "--image",
        "worker=public.ecr.aws/docker/library/busybox:1.37",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(second["changed"], true);
    assert_eq!(second["revision"], 2);

    let (code, d, stderr) = taskdef(&[
        "diff",
        "--task-definition",
        second["task-definition-arn"].as_str().unwrap(),
        "--service",
        "api",
        "--cluster",
        &fx.cluster_name,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(d["live-task-definition-arn"], arn1.as_str());
    assert_eq!(
        d["diff"],
        json!([
            "containerDefinitions[worker].image: \"public.ecr.aws/docker/library/busybox:stable\" → \"public.ecr.aws/docker/library/busybox:1.37\""
        ])
    );
}

async fn create_service(
    client: &aws_sdk_ecs::Client,
    fx: &gantry_tests::EcsFixture,
    name: &str,
    td: &str,
) {
    use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration};
    client
        .create_service()
        .cluster(&fx.cluster_name)
        .service_name(name)
        .task_definition(td)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&fx.subnet_id)
                        .security_groups(&fx.security_group_id)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateService: {}",
                aws_sdk_ecs::error::DisplayErrorContext(&e)
            )
        });
}

#[tokio::test]
async fn prune_keeps_the_newest_and_the_running_revision() {
    let client = ecs().await;
    let fx = ecs_fixture(&unique_name("prune"));
    let family = unique_name("prune");
    let dir = tempfile::tempdir().unwrap();
    let mut arns = Vec::new();
    for i in 1..=4 {
        let file = write(dir.path(), &multi(&family));
        let env = format!("app:RELEASE={i}");
        let (code, out, stderr) = taskdef(&[
            "register",
            "--task-definition",
            file.to_str().unwrap(),
            "--env-var",
            &env,
        ]);
        assert_eq!(code, 0, "{stderr}");
        arns.push(out["task-definition-arn"].as_str().unwrap().to_owned());
    }
    create_service(&client, &fx, "api", &arns[1]).await;

    let args = [
        "prune",
        "--family",
        &family,
        "--keep",
        "1",
        "--cluster",
        &fx.cluster_name,
    ];
    let (code, plan, stderr) = taskdef(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(plan["plan"]["deregister"], json!([arns[0], arns[2]]));
    for arn in [&arns[0], &arns[2]] {
        assert!(
            stderr.contains(&format!("would deregister {arn}")),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("keep {} (used by a service)", arns[1])),
        "{stderr}"
    );
    assert_eq!(
        active(&client, &family).await.len(),
        4,
        "a dry run deregisters nothing"
    );

    let (code, out, stderr) = taskdef(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["deregistered"], json!([arns[0], arns[2]]));
    assert_eq!(
        active(&client, &family).await,
        vec![arns[1].clone(), arns[3].clone()]
    );

    // A re-run finds nothing more to do.
    let (code, out, stderr) = taskdef(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["deregistered"], json!([]));
}

#[test]
fn diff_against_a_family_with_nothing_registered_is_a_change() {
    gantry_tests::aws_endpoint();
    let family = unique_name("tdnew");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &multi(&family));
    let (code, out, stderr) = taskdef(&["diff", "--task-definition", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["changed"], true, "{out}");
    assert_eq!(out["live-task-definition-arn"], "");
    assert_eq!(out["diff"], json!([]));
}

#[test]
fn a_registered_reference_that_does_not_exist_is_exit_2() {
    gantry_tests::aws_endpoint();
    let (code, out, stderr) = taskdef(&["register", "--task-definition", &unique_name("nope")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("is neither a file nor a registered task definition"),
        "{out}"
    );
}

fn action() -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions/task-definition"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .log_to(std::io::sink())
}

#[tokio::test]
async fn composite_action_registers_once_and_reuses_on_rerun() {
    let client = ecs().await;
    let family = unique_name("tdact");
    let dir = tempfile::tempdir().unwrap();
    let example = repo_root().join("examples/app/task-definition.json");
    let env_file = dir.path().join("app.env");
    std::fs::write(&env_file, "FEATURE_X=on\n").unwrap();
    let run = |env_vars: &str| {
        action()
            .input("task-definition", example.to_string_lossy())
            .input("family", &family)
            .input("images", format!("app=127.0.0.1:5000/demo/app@{DIGEST}"))
            .input("env-files", format!("app:{}", env_file.display()))
            .input("env-vars", env_vars)
            .input(
                "secrets",
                "app:DB_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            )
            .input("tags", "team=web\nenv=staging")
            .run()
            .unwrap()
    };
    let r = run("app:APP_ENV=staging");
    assert!(
        r.success,
        "steps: {:?} annotations: {:?}",
        r.steps, r.annotations
    );
    assert_eq!(r.outputs["changed"], "true");
    assert_eq!(r.outputs["revision"], "1");
    assert_eq!(r.outputs["family"], family);
    // The rendered file lives in the job's RUNNER_TEMP (gone after the local run); what was
    // registered is the rendered definition.
    assert!(r.outputs["rendered-file"].ends_with(&format!("gantry-taskdef-{family}.json")));
    let got = client
        .describe_task_definition()
        .task_definition(&r.outputs["task-definition-arn"])
        .send()
        .await
        .unwrap();
    let app = &got.task_definition().unwrap().container_definitions()[0];
    let env: Vec<(&str, &str)> = app
        .environment()
        .iter()
        .map(|e| (e.name().unwrap(), e.value().unwrap()))
        .collect();
    assert_eq!(
        env,
        vec![
            ("APP_ENV", "staging"),
            ("PORT", "8080"),
            ("FEATURE_X", "on")
        ]
    );
    assert_eq!(app.secrets()[0].name(), "DB_PASSWORD");
    assert!(
        r.summary.contains("| task-definition-arn |"),
        "{}",
        r.summary
    );

    let again = run("app:APP_ENV=staging");
    assert!(again.success, "{:?}", again.annotations);
    assert_eq!(again.outputs["changed"], "false");
    assert_eq!(
        again.outputs["task-definition-arn"],
        r.outputs["task-definition-arn"]
    );
    assert!(
        again.summary.contains("No change against revision 1"),
        "{}",
        again.summary
    );
    assert_eq!(
        active(&client, &family).await.len(),
        1,
        "one build, one revision"
    );

    // A change: a new revision, the diff as an output (one change a line) and in the summary.
    let changed = run("app:APP_ENV=production");
    assert!(changed.success, "{:?}", changed.annotations);
    assert_eq!(changed.outputs["changed"], "true");
    assert_eq!(changed.outputs["revision"], "2");
    let line = "containerDefinitions[app].environment[APP_ENV].value: \"staging\" → \"production\"";
    assert_eq!(changed.outputs["diff"], line);
    assert!(
        changed.summary.contains(&format!(
            "Changes against revision 1 (`{}`)",
            r.outputs["task-definition-arn"]
        )),
        "{}",
        changed.summary
    );
    assert!(
        changed.summary.contains(&format!("\n{line}\n")),
        "{}",
        changed.summary
    );

    // The remaining inputs reach the binary: a forced dry run with new task-level values
    // plans a registration, shows the diff, and registers nothing.
    let dry = action()
        .input("task-definition", example.to_string_lossy())
        .input("family", &family)
        .input("images", format!("app=127.0.0.1:5000/demo/app@{DIGEST}"))
        .input("env-files", format!("app:{}", env_file.display()))
        .input("env-vars", "app:APP_ENV=production")
        .input(
            "secrets",
            "app:DB_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        )
        .input("tags", "team=web\nenv=staging")
        .input("cpu", "512")
        .input("memory", "1 GB")
        .input("task-role-arn", "arn:aws:iam::123456789012:role/app-task")
        .input(
            "execution-role-arn",
            "arn:aws:iam::123456789012:role/app-exec",
        )
        .input("force", "true")
        .input("dry-run", "true")
        .run()
        .unwrap();
    assert!(dry.success, "{:?}", dry.annotations);
    assert_eq!(dry.outputs["changed"], "true");
    assert_eq!(dry.outputs["task-definition-arn"], "");
    let mut diff: Vec<&str> = dry.outputs["diff"].lines().collect();
    diff.sort_unstable();
    assert_eq!(
        diff,
        vec![
            "cpu: \"256\" → \"512\"",
            "executionRoleArn: \"arn:aws:iam::123456789012:role/gantry-example-app-execution\" → \"arn:aws:iam::123456789012:role/app-exec\"",
            "memory: \"512\" → \"1024\"",
            "taskRoleArn: (absent) → \"arn:aws:iam::123456789012:role/app-task\"",
        ]
    );
    assert!(
        dry.summary.contains("Dry run: nothing was registered"),
        "{}",
        dry.summary
    );
    assert_eq!(
        active(&client, &family).await.len(),
        2,
        "a dry run registers nothing"
    );
}

#[tokio::test]
async fn composite_action_rejects_an_unknown_container_and_registers_nothing() {
    let client = ecs().await;
    let family = unique_name("tdbad");
    let r = action()
        .input(
            "task-definition",
            repo_root()
                .join("examples/app/task-definition.json")
                .to_string_lossy(),
        )
        .input("family", &family)
        .input("images", "web=nginx:1.27")
        .run()
        .unwrap();
    assert!(!r.success);
    let msgs: Vec<&str> = r.annotations.iter().map(|a| a.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("images: no container named `web`") && m.contains("`app`")),
        "{msgs:?}"
    );
    assert!(active(&client, &family).await.is_empty());
}

#[tokio::test]
async fn dry_run_plans_and_registers_nothing() {
    let client = ecs().await;
    let family = unique_name("tddry");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &multi(&family));
    let (code, out, stderr) = taskdef(&[
        "register",
        "--task-definition",
        file.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["changed"], true);
    assert_eq!(out["plan"]["action"], "register");
    assert_eq!(out["plan"]["task-definition"]["family"], family.as_str());
    assert!(active(&client, &family).await.is_empty());
}
