//! actions/stack: an environment of two stacks (the second wired to the first's outputs) planned
//! deployed stack by stack, then planned again in a pull request: nothing left to do, said in a
//! sticky comment in the fake GitHub.

use super::{DemoResult, action, failed, show};
use gantry_tests::unique_name;
use std::io::Write;
use std::path::Path;

const REPOSITORY: &str = "gantry-actions/example-infra";

const NETWORK: &str = r#"Parameters:
  ProjectName: {Type: String}
  EnvironmentName: {Type: String}
Resources:
  Alerts:
    Type: AWS::SNS::Topic
    Properties: {TopicName: !Sub "${ProjectName}-${EnvironmentName}-alerts"}
  Logs:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${ProjectName}-${EnvironmentName}-logs"}
Outputs:
  AlarmTopicArn: {Value: !Ref Alerts}
  LogBucketName: {Value: !Ref Logs}
"#;

const APP: &str = r#"Parameters:
  ProjectName: {Type: String}
  AlarmTopicArn: {Type: String}
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${ProjectName}-jobs"
      Tags: [{Key: alarms, Value: !Ref AlarmTopicArn}]
Outputs:
  QueueUrl: {Value: !Ref Jobs}
"#;

fn write(dir: &Path, name: &str, body: &str) -> std::io::Result<()> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, body)
}

fn stack(dir: &Path, mode: &str) -> gantry_act::Runner {
    action("stack")
        .workspace(dir)
        .github("repository", REPOSITORY)
        .input("mode", mode)
        .input("environment", "dev")
        .input("poll-interval", "1s")
        .input("timeout", "5m")
        .log_to(std::io::sink())
}

pub(crate) async fn run(out: &mut dyn Write, _ctx: &mut super::Ctx) -> DemoResult {
    let dir = tempfile::tempdir()?;
    let project = unique_name("demo");
    let file = serde_json::json!({
        "Project": project, "Environment": "dev", "Region": "us-east-1",
        "Tags": {"Project": project},
        "Stacks": [{"Layer": "network"}, {"Layer": "app"}]
    });
    write(dir.path(), "infra/environments/dev.json", &file.to_string())?;
    write(dir.path(), "infra/templates/network.yaml", NETWORK)?;
    write(dir.path(), "infra/templates/app.yaml", APP)?;
    writeln!(
        out,
        "\n== actions/stack on environment dev (stacks {project}-dev-network, {project}-dev-app)"
    )?;

    writeln!(
        out,
        "\n   deploy (each stack planned, shown, applied; the next one wired to its outputs)"
    )?;
    let deploy = stack(dir.path(), "deploy").run()?;
    if !deploy.success {
        return failed(out, "actions/stack deploy", &deploy);
    }
    writeln!(
        out,
        "     status                 {}",
        deploy.outputs["status"]
    )?;

    writeln!(
        out,
        "\n   plan in pull request #7: nothing to change, said in a sticky comment"
    )?;
    let again = stack(dir.path(), "plan")
        .github("ref", "refs/pull/7/merge")
        .github("event_name", "pull_request")
        .input("comment", "true")
        .run()?;
    if !again.success {
        return failed(out, "actions/stack plan", &again);
    }
    show(out, &again)?;

    writeln!(
        out,
        "\nDeployed: {}; a re-plan has changes: {}.",
        deploy.outputs["stack-outputs"], again.outputs["has-changes"]
    )?;
    Ok(true)
}
