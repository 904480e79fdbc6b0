//! The happy paths end to end against moto (the env from `scripts/local-aws env`, whose launcher
//! supplies what moto lacks: scripts/moto-launcher.py): plan → diff → apply → outputs wired into
//! the next stack → the re-plan is empty; deploy in one step; the gate catching a renamed bucket
//! from the templates alone (moto reports no replacement detail).

use super::{apply_config, deploy_config, plan_config, write};
use gantry_kit::ExitCode;
use gantry_kit::aws::AwsArgs;
use gantry_kit::poll::SystemClock;
use gantry_stack::Aws;
use gantry_stack::commands::{apply, deploy, plan};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) async fn aws() -> Aws {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run through `make test`, or `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
    );
    Aws::from_sdk(&gantry_kit::aws::sdk_config(&AwsArgs::default(), Some("us-east-1")).await)
}

/// A project name no other test (or earlier run against the same server) uses.
pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000;
    format!("{prefix}{t}{}", N.fetch_add(1, Ordering::Relaxed))
}

const NET: &str = r#"Parameters:
  ProjectName: {Type: String}
  EnvironmentName: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Sub "${ProjectName}-${EnvironmentName}-alarms"}
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${ProjectName}-${EnvironmentName}-logs"}
Outputs:
  AlarmTopicArn: {Value: !Ref Topic}
  LogBucketName: {Value: !Ref Bucket}
"#;

const APP: &str = r#"Parameters:
  ProjectName: {Type: String}
  AlarmTopicArn: {Type: String}
  LogBucketName: {Type: String}
  Retention: {Type: Number, Default: 7}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${ProjectName}-jobs"
      Tags: [{Key: alarms, Value: !Ref AlarmTopicArn}]
Outputs:
  QueueUrl: {Value: !Ref Queue}
  WiredBucket: {Value: !Ref LogBucketName}
"#;

struct Env {
    _dir: tempfile::TempDir,
    file: PathBuf,
    project: String,
}

fn environment(net: &str, account: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let project = unique("g");
    write(dir.path(), "templates/net.yaml", net);
    write(dir.path(), "templates/app.yaml", APP);
    let file = write(
        dir.path(),
        "environments/dev.json",
        &json!({
            "Project": project, "Environment": "dev", "Region": "us-east-1", "AccountId": account,
            "TerminationProtection": true,
            "Tags": {"Project": project, "Environment": "dev"},
            "Stacks": [{"Layer": "net", "Region": "eu-west-1"}, {"Layer": "app", "Parameters": {"Retention": "14"}}]
        })
        .to_string(),
    );
    Env {
        _dir: dir,
        file,
        project,
    }
}

fn env_args(e: &Env) -> Vec<&str> {
    vec![
        "--environment",
        e.file.to_str().unwrap(),
        "--poll-interval",
        "1s",
        "--timeout",
        "2m",
    ]
}

fn out<'a>(o: &'a gantry_kit::Outputs, name: &str) -> &'a Value {
    o.get(name).unwrap_or_else(|| panic!("no output {name}"))
}

fn apply_args<'a>(e: &'a Env, o: &'a gantry_kit::Outputs, ids: &'a str) -> Vec<&'a str> {
    let mut a = env_args(e);
    a.extend([
        "--change-set-ids",
        ids,
        "--template-digest",
        out(o, "template-digest").as_str().unwrap(),
    ]);
    a
}

#[tokio::test]
async fn plan_diff_apply_wire_and_replan_empty() {
    let aws = aws().await;
    let clock = SystemClock::new();
    let e = environment(NET, "123456789012");
    let (net, app) = (
        format!("{}-dev-net", e.project),
        format!("{}-dev-app", e.project),
    );

    // 1. A new environment: net gets a CREATE change set; app waits for net's outputs.
    let p = plan::run(&aws, &clock, &plan_config(&env_args(&e)))
        .await
        .unwrap();
    assert_eq!(out(&p.outputs, "has-changes"), &json!(true));
    assert_eq!(
        out(&p.outputs, "status"),
        &json!({net.clone(): "CREATE", app.clone(): "waits for AlarmTopicArn, LogBucketName"})
    );
    let summary = p.summary.clone().unwrap();
    assert!(
        summary.contains("| `Topic` | AWS::SNS::Topic | Add |"),
        "{summary}"
    );
    assert!(
        summary.contains("Not planned: 2 parameters `AlarmTopicArn`, `LogBucketName`"),
        "{summary}"
    );
    let ids = out(&p.outputs, "change-set-ids").to_string();

    // 2. Apply exactly that: net exists, its outputs are reported, termination protection is on.
    let a = apply::run(
        &aws,
        &clock,
        &apply_config(&apply_args(&e, &p.outputs, &ids)),
    )
    .await
    .unwrap();
    assert_eq!(
        out(&a.outputs, "status"),
        &json!({net.clone(): "CREATE_COMPLETE"})
    );
    let bucket = format!("{}-dev-logs", e.project);
    assert_eq!(
        out(&a.outputs, "stack-outputs")["LogBucketName"],
        json!(bucket)
    );
    let cfn = aws.cloudformation.client(Some("eu-west-1"));
    let s = cfn.describe_stacks().stack_name(&net).send().await.unwrap();
    assert_eq!(s.stacks()[0].enable_termination_protection(), Some(true));

    // 3. Re-plan: net has nothing to change; app is planned with net's outputs wired in.
    let second = plan::run(&aws, &clock, &plan_config(&env_args(&e)))
        .await
        .unwrap();
    assert_eq!(
        out(&second.outputs, "status"),
        &json!({net.clone(): "no changes", app.clone(): "CREATE"})
    );
    let ids = out(&second.outputs, "change-set-ids").to_string();
    let a = apply::run(
        &aws,
        &clock,
        &apply_config(&apply_args(&e, &second.outputs, &ids)),
    )
    .await
    .unwrap();
    assert_eq!(
        out(&a.outputs, "status"),
        &json!({app.clone(): "CREATE_COMPLETE"})
    );
    assert_eq!(
        out(&a.outputs, "stack-outputs")["WiredBucket"],
        json!(bucket),
        "net's output reached app's parameter"
    );

    // 4. The re-plan of the whole environment is empty, and its empty change sets are gone.
    let p = plan::run(&aws, &clock, &plan_config(&env_args(&e)))
        .await
        .unwrap();
    assert_eq!(out(&p.outputs, "has-changes"), &json!(false));
    assert_eq!(out(&p.outputs, "change-set-ids"), &json!({}));
    let left = cfn
        .list_change_sets()
        .stack_name(&net)
        .send()
        .await
        .unwrap();
    assert!(
        left.summaries()
            .iter()
            .all(|c| c.stack_name() != Some(net.as_str())
                || c.execution_status().map(|x| x.as_str()) != Some("AVAILABLE"))
    );

    // 5. Re-running that apply (a re-run of the job) is safe: the change set was executed
    // already, so nothing is executed again and the stack is reported as it is.
    let again = apply::run(
        &aws,
        &clock,
        &apply_config(&apply_args(&e, &second.outputs, &ids)),
    )
    .await
    .unwrap();
    assert_eq!(
        out(&again.outputs, "status"),
        &json!({app.clone(): "CREATE_COMPLETE"})
    );
}

#[tokio::test]
async fn deploy_applies_each_stack_with_the_previous_outputs_and_the_gate_catches_a_renamed_bucket()
{
    let aws = aws().await;
    let clock = SystemClock::new();
    let e = environment(NET, "123456789012");
    let d = deploy::run(&aws, &clock, &deploy_config(&env_args(&e)))
        .await
        .unwrap();
    let app = format!("{}-dev-app", e.project);
    assert_eq!(out(&d.outputs, "status")[&app], json!("CREATE_COMPLETE"));
    assert_eq!(
        out(&d.outputs, "stack-outputs")["WiredBucket"],
        json!(format!("{}-dev-logs", e.project))
    );

    // Rename the bucket: moto says only "Modify"; the schema's createOnlyProperties decide.
    let renamed = NET.replace("-logs\"}", "-logs2\"}");
    std::fs::write(
        Path::new(&e.file)
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("templates/net.yaml"),
        &renamed,
    )
    .unwrap();
    let err = plan::run(&aws, &clock, &plan_config(&env_args(&e)))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    assert!(
        err.message().contains("Bucket (AWS::S3::Bucket) in")
            && err
                .message()
                .contains("create-only property changed: BucketName"),
        "{}",
        err.message()
    );
    let mut allowed = env_args(&e);
    allowed.extend(["--allow-replacement", "Bucket"]);
    let p = plan::run(&aws, &clock, &plan_config(&allowed))
        .await
        .unwrap();
    assert_eq!(
        out(&p.outputs, "replacements"),
        &json!([format!("{}-dev-net/Bucket", e.project)])
    );
}

#[tokio::test]
async fn credentials_of_another_account_are_refused() {
    let aws = aws().await;
    let e = environment(NET, "999999999999");
    let err = plan::run(&aws, &SystemClock::new(), &plan_config(&env_args(&e)))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    assert!(
        err.message()
            .contains("lives in account 999999999999: refusing"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_new_stack_left_under_review_by_a_plan_is_created_by_a_later_deploy() {
    // A pull request's plan of a new environment leaves its first stack REVIEW_IN_PROGRESS with
    // a CREATE change set nobody executes; the deploy after the merge plans and executes its own.
    let aws = aws().await;
    let clock = SystemClock::new();
    let e = environment(NET, "123456789012");
    let net = format!("{}-dev-net", e.project);
    let p = plan::run(&aws, &clock, &plan_config(&env_args(&e)))
        .await
        .unwrap();
    assert_eq!(out(&p.outputs, "status")[&net], json!("CREATE"));
    let cfn = aws.cloudformation.client(Some("eu-west-1"));
    let reviewed = cfn.describe_stacks().stack_name(&net).send().await.unwrap();
    let reviewed = &reviewed.stacks()[0];
    assert_eq!(
        reviewed.stack_status().unwrap().as_str(),
        "REVIEW_IN_PROGRESS"
    );

    let d = deploy::run(&aws, &clock, &deploy_config(&env_args(&e)))
        .await
        .unwrap();
    assert_eq!(out(&d.outputs, "status")[&net], json!("CREATE_COMPLETE"));
    let app = format!("{}-dev-app", e.project);
    assert_eq!(out(&d.outputs, "status")[&app], json!("CREATE_COMPLETE"));
    let now = cfn.describe_stacks().stack_name(&net).send().await.unwrap();
    let now = &now.stacks()[0];
    assert_eq!(now.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert_eq!(
        now.stack_id(),
        reviewed.stack_id(),
        "the stack under review is the one created, not a second stack of the same name"
    );
}
