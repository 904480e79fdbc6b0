//! CloudFormation behaviour moto cannot show, as aws-smithy-mocks sequences shaped like AWS's
//! documented responses (API_DescribeChangeSet, API_DescribeStacks, API_DescribeStackEvents):
//! both wordings of an empty change set, ROLLBACK_COMPLETE and REVIEW_IN_PROGRESS stacks, OBSOLETE
//! and EXECUTE_FAILED change sets, a failed update that rolls back, throttling, the deadline,
//! nested change sets, and a replacement of an RDS instance refused by the gate.

use super::{apply_config, plan_config, write};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeSetType, ChangeSource, ChangeType,
    ExecutionStatus, Replacement, RequiresRecreation, ResourceAttribute, ResourceChange,
    ResourceChangeDetail, ResourceStatus, ResourceTargetDefinition, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use gantry_kit::ExitCode;
use gantry_kit::poll::FakeClock;
use gantry_stack::Aws;
use gantry_stack::commands::{apply, plan};
use gantry_stack::template::digest;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const STACK_ID: &str =
    "arn:aws:cloudformation:eu-west-1:111111111111:stack/app/6f1e0c60-0000-0000-0000-000000000001";
const T: &str = "Parameters:\n  DbPassword: {Type: String, NoEcho: true, Default: ''}\nResources:\n  Bucket: {Type: AWS::S3::Bucket, Properties: {BucketName: app-data}}\n  Database: {Type: AWS::RDS::DBInstance, Properties: {DBName: app, DBInstanceIdentifier: app-db}}\n  Data: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: https://example.com/d.yaml}}\n";

fn cs_arn(n: u32) -> String {
    format!("arn:aws:cloudformation:eu-west-1:111111111111:changeSet/gantry-{n}/0000000{n}")
}

struct Fixture {
    _dir: tempfile::TempDir,
    template: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let template = write(dir.path(), "app.yaml", T);
        Self {
            _dir: dir,
            template,
        }
    }

    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "--stack-name",
            "app",
            "--template",
            self.template.to_str().unwrap(),
            "--poll-interval",
            "10s",
        ];
        a.extend_from_slice(extra);
        a
    }
}

/// The plan digest of a one-stack plan of `T`.
fn plan_digest_of_t() -> String {
    gantry_stack::plan::plan_digest([("app", digest(T.as_bytes()).as_str())])
}

/// A CloudFormation (query protocol) error response.
fn error_response(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::new(
        status.try_into().unwrap(),
        SdkBody::from(format!(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )),
    )
}

fn stack_missing() -> HttpResponse {
    error_response(400, "ValidationError", "Stack with id app does not exist")
}

fn stack(status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_id(STACK_ID)
                .stack_name("app")
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(1_700_000_000))
                .outputs(
                    aws_sdk_cloudformation::types::Output::builder()
                        .output_key("BucketName")
                        .output_value("app-data")
                        .build(),
                )
                .build(),
        )
        .build()
}

fn resource_change(action: &str, id: &str, ty: &str, replacement: Option<&str>) -> ResourceChange {
    ResourceChange::builder()
        .action(ChangeAction::from(action))
        .logical_resource_id(id)
        .resource_type(ty)
        .set_replacement(replacement.map(Replacement::from))
        .build()
}

fn change(rc: ResourceChange) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(rc)
        .build()
}

fn change_set(
    id: &str,
    status: &str,
    execution: &str,
    reason: Option<&str>,
    changes: Vec<Change>,
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(id)
        .change_set_name(id.split('/').nth(1).unwrap_or(id))
        .stack_id(STACK_ID)
        .stack_name("app")
        .status(ChangeSetStatus::from(status))
        .execution_status(ExecutionStatus::from(execution))
        .set_status_reason(reason.map(str::to_owned))
        .set_changes(Some(changes))
        .build()
}

fn event(
    id: &str,
    secs: i64,
    logical: &str,
    ty: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id(STACK_ID)
        .stack_name("app")
        .logical_resource_id(logical)
        .physical_resource_id(if ty == "AWS::CloudFormation::Stack" {
            STACK_ID
        } else {
            logical
        })
        .resource_type(ty)
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(secs))
        .build()
}

fn events(list: Vec<StackEvent>) -> DescribeStackEventsOutput {
    // DescribeStackEvents lists newest first.
    let mut list = list;
    list.reverse();
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list))
        .build()
}

fn template_answer() -> Rule {
    mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(T).build())
}

fn created(n: u32) -> Rule {
    mock!(Client::create_change_set).then_output(move || {
        CreateChangeSetOutput::builder()
            .id(cs_arn(n))
            .stack_id(STACK_ID)
            .build()
    })
}

fn aws(client: Client) -> Aws {
    Aws::with_cloudformation(client)
}

fn output<'a>(o: &'a gantry_kit::Outputs, name: &str) -> &'a Value {
    o.get(name).unwrap_or_else(|| panic!("no output {name}"))
}

#[tokio::test]
async fn an_empty_change_set_in_the_failed_status_wording_is_success_and_is_deleted() {
    let f = Fixture::new();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set(&cs_arn(1), "CREATE_PENDING", "UNAVAILABLE", None, vec![]))
        .output(|| change_set(&cs_arn(1), "FAILED", "UNAVAILABLE", Some("The submitted information didn't contain changes. Submit different information to create a change set."), vec![]))
        .repeatedly()
        .build();
    let delete = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(cs_arn(1).as_str()))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let (t, c) = (template_answer(), created(1));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe, &delete]
    );
    let clock = FakeClock::new();
    let r = plan::run(&aws(client), &clock, &plan_config(&f.args(&[])))
        .await
        .unwrap();
    assert_eq!(output(&r.outputs, "has-changes"), &json!(false));
    assert_eq!(output(&r.outputs, "change-set-ids"), &json!({}));
    assert_eq!(output(&r.outputs, "status"), &json!({"app": "no changes"}));
    assert_eq!(delete.num_calls(), 1, "the empty change set is deleted");
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(10)],
        "one wait at the fixed interval"
    );
}

#[tokio::test]
async fn an_empty_change_set_refused_as_no_updates_is_success_too() {
    let f = Fixture::new();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let create = mock!(Client::create_change_set).then_http_response(|| {
        error_response(400, "ValidationError", "No updates are to be performed.")
    });
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set(&cs_arn(1), "CREATE_COMPLETE", "AVAILABLE", None, vec![]));
    let t = template_answer();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &create, &describe]
    );
    let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
        .await
        .unwrap();
    assert_eq!(output(&r.outputs, "has-changes"), &json!(false));
    assert_eq!(output(&r.outputs, "changes-count"), &json!(0));
    assert_eq!(describe.num_calls(), 0);
}

#[tokio::test]
async fn an_outputs_only_edit_is_a_change_decided_by_status_not_count() {
    let f = Fixture::new();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set(&cs_arn(2), "CREATE_COMPLETE", "AVAILABLE", None, vec![]));
    let (t, c) = (template_answer(), created(2));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe]
    );
    let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
        .await
        .unwrap();
    assert_eq!(output(&r.outputs, "has-changes"), &json!(true));
    assert_eq!(output(&r.outputs, "changes-count"), &json!(0));
    assert_eq!(
        output(&r.outputs, "change-set-ids"),
        &json!({"app": cs_arn(2)})
    );
    assert_eq!(
        output(&r.outputs, "template-digest"),
        &json!(plan_digest_of_t())
    );
    assert!(r.summary.unwrap().contains("outputs or metadata only"));
}

#[tokio::test]
async fn a_stack_in_review_in_progress_or_absent_gets_a_create_change_set() {
    let f = Fixture::new();
    for first in [Some("REVIEW_IN_PROGRESS"), None] {
        let stacks = match first {
            Some(s) => mock!(Client::describe_stacks).then_output(move || stack(s)),
            None => mock!(Client::describe_stacks).then_http_response(stack_missing),
        };
        let create = mock!(Client::create_change_set)
            .match_requests(|r| {
                r.change_set_type() == Some(&ChangeSetType::Create)
                    && r.include_nested_stacks() == Some(true)
                    && r.capabilities().len() == 3
            })
            .then_output(|| CreateChangeSetOutput::builder().id(cs_arn(3)).build());
        let describe = mock!(Client::describe_change_set).then_output(|| {
            change_set(
                &cs_arn(3),
                "CREATE_COMPLETE",
                "AVAILABLE",
                None,
                vec![change(resource_change(
                    "Add",
                    "Bucket",
                    "AWS::S3::Bucket",
                    None,
                ))],
            )
        });
        let t = template_answer();
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&stacks, &t, &create, &describe]
        );
        let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
            .await
            .unwrap();
        assert_eq!(
            create.num_calls(),
            1,
            "{first:?}: a CREATE change set with nested stacks and capabilities"
        );
        assert_eq!(output(&r.outputs, "status"), &json!({"app": "CREATE"}));
        assert_eq!(output(&r.outputs, "changes-count"), &json!(1));
    }
}

#[tokio::test]
async fn rollback_complete_is_reported_and_only_replace_failed_recreates_it() {
    let f = Fixture::new();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("ROLLBACK_COMPLETE"));
    let create = created(4);
    let t = template_answer();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &create]
    );
    let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
        .await
        .unwrap();
    assert_eq!(create.num_calls(), 0, "the plan creates nothing");
    assert_eq!(output(&r.outputs, "change-set-ids"), &json!({"app": null}));
    assert_eq!(output(&r.outputs, "has-changes"), &json!(true));
    let summary = r.summary.unwrap();
    assert!(
        summary.contains("will be deleted and re-created"),
        "{summary}"
    );
    assert!(
        summary.contains("`Database` | AWS::RDS::DBInstance | Add"),
        "{summary}"
    );
    let digest = output(&r.outputs, "template-digest")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(digest, plan_digest_of_t());

    // apply --replace-failed: delete, wait, CREATE change set, execute, follow.
    let stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("ROLLBACK_COMPLETE"))
        .output(|| stack("DELETE_IN_PROGRESS"))
        .http_response(stack_missing)
        .output(|| stack("REVIEW_IN_PROGRESS"))
        .output(|| stack("CREATE_IN_PROGRESS"))
        .output(|| stack("CREATE_COMPLETE"))
        .repeatedly()
        .build();
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(|| CreateChangeSetOutput::builder().id(cs_arn(4)).build());
    let describe = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            &cs_arn(4),
            "CREATE_COMPLETE",
            "AVAILABLE",
            None,
            vec![change(resource_change(
                "Add",
                "Bucket",
                "AWS::S3::Bucket",
                None,
            ))],
        )
    });
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let evs = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![event(
            "e1",
            1_700_000_100,
            "app",
            "AWS::CloudFormation::Stack",
            "REVIEW_IN_PROGRESS",
            None,
        )])
    });
    let t = template_answer();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &delete, &create, &describe, &execute, &evs]
    );
    let ids = json!({"app": null}).to_string();
    let cfg = apply_config(&f.args(&[
        "--change-set-ids",
        &ids,
        "--template-digest",
        &digest,
        "--replace-failed",
    ]));
    let r = apply::run(&aws(client), &FakeClock::new(), &cfg)
        .await
        .unwrap();
    assert_eq!(
        (delete.num_calls(), create.num_calls(), execute.num_calls()),
        (1, 1, 1)
    );
    assert_eq!(
        output(&r.outputs, "status"),
        &json!({"app": "CREATE_COMPLETE"})
    );
    assert_eq!(
        output(&r.outputs, "stack-outputs"),
        &json!({"BucketName": "app-data"})
    );
}

#[tokio::test]
async fn an_obsolete_or_execute_failed_change_set_is_refused_and_named() {
    let f = Fixture::new();
    for (execution, says) in [
        ("OBSOLETE", "is OBSOLETE"),
        ("EXECUTE_FAILED", "is EXECUTE_FAILED"),
    ] {
        let describe = mock!(Client::describe_change_set).then_output(move || {
            change_set(&cs_arn(5), "CREATE_COMPLETE", execution, None, vec![])
        });
        let execute = mock!(Client::execute_change_set)
            .then_output(|| ExecuteChangeSetOutput::builder().build());
        let t = template_answer();
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &t, &execute]
        );
        let cfg = apply_config(&f.args(&[
            "--change-set-ids",
            &cs_arn(5),
            "--template-digest",
            &plan_digest_of_t(),
        ]));
        let e = apply::run(&aws(client), &FakeClock::new(), &cfg)
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::Failed);
        assert!(
            e.message().contains(says) && e.message().ends_with("re-plan"),
            "{}",
            e.message()
        );
        assert_eq!(execute.num_calls(), 0);
    }
}

#[tokio::test]
async fn a_change_set_whose_template_is_not_the_plans_is_refused() {
    let f = Fixture::new();
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set(&cs_arn(6), "CREATE_COMPLETE", "AVAILABLE", None, vec![]));
    let other = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body(format!("{T}# edited\n"))
            .build()
    });
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &other, &execute]
    );
    let cfg = apply_config(&f.args(&[
        "--change-set-ids",
        &cs_arn(6),
        "--template-digest",
        &plan_digest_of_t(),
    ]));
    let e = apply::run(&aws(client), &FakeClock::new(), &cfg)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message().contains("are not the ones the plan reviewed")
            && e.message().contains("re-plan"),
        "{}",
        e.message()
    );
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test]
async fn a_failed_update_that_rolls_back_is_exit_3_with_the_first_failure_as_reason() {
    let f = Fixture::new();
    let describe = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            &cs_arn(7),
            "CREATE_COMPLETE",
            "AVAILABLE",
            None,
            vec![change(resource_change(
                "Modify",
                "Bucket",
                "AWS::S3::Bucket",
                Some("False"),
            ))],
        )
    });
    let stacks = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_COMPLETE"))
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .repeatedly()
        .build();
    let old = event(
        "e0",
        1_700_000_000,
        "app",
        "AWS::CloudFormation::Stack",
        "UPDATE_COMPLETE",
        None,
    );
    let e1 = event(
        "e1",
        1_700_000_100,
        "app",
        "AWS::CloudFormation::Stack",
        "UPDATE_IN_PROGRESS",
        Some("User Initiated"),
    );
    let e2 = event(
        "e2",
        1_700_000_110,
        "Bucket",
        "AWS::S3::Bucket",
        "UPDATE_FAILED",
        Some("Resource handler returned message: \"app-data already exists\""),
    );
    let e3 = event(
        "e3",
        1_700_000_111,
        "Topic",
        "AWS::SNS::Topic",
        "UPDATE_FAILED",
        Some("Resource update cancelled"),
    );
    let e4 = event(
        "e4",
        1_700_000_112,
        "app",
        "AWS::CloudFormation::Stack",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        Some("The following resource(s) failed to update: [Bucket]."),
    );
    let e5 = event(
        "e5",
        1_700_000_150,
        "app",
        "AWS::CloudFormation::Stack",
        "UPDATE_ROLLBACK_COMPLETE",
        None,
    );
    let (a, b, c, d) = (
        vec![old.clone()],
        vec![old.clone(), e1.clone(), e2.clone()],
        vec![old.clone(), e1.clone(), e2.clone(), e3.clone(), e4.clone()],
        vec![old, e1, e2, e3, e4, e5],
    );
    let evs = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || events(a.clone()))
        .output(move || events(b.clone()))
        .output(move || events(c.clone()))
        .output(move || events(d.clone()))
        .repeatedly()
        .build();
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let t = template_answer();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &t, &stacks, &evs, &execute]
    );
    let cfg = apply_config(&f.args(&[
        "--change-set-ids",
        &cs_arn(7),
        "--template-digest",
        &plan_digest_of_t(),
    ]));
    let e = apply::run(&aws(client), &FakeClock::new(), &cfg)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::RolledBack);
    let reason = e
        .outputs()
        .unwrap()
        .get("reason")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("Bucket (AWS::S3::Bucket) UPDATE_FAILED")
            && reason.contains("already exists"),
        "{reason}"
    );
    assert!(
        e.message()
            .contains("rolled back (UPDATE_ROLLBACK_COMPLETE)")
            && e.message().contains("app-data already exists"),
        "{}",
        e.message()
    );
    assert_eq!(
        e.outputs().unwrap().get("status").unwrap(),
        &json!({"app": "UPDATE_ROLLBACK_COMPLETE"})
    );
    assert_eq!(execute.num_calls(), 1);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let f = Fixture::new();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .http_response(|| error_response(400, "Throttling", "Rate exceeded"))
        .times(2)
        .output(|| {
            change_set(
                &cs_arn(8),
                "CREATE_COMPLETE",
                "AVAILABLE",
                None,
                vec![change(resource_change(
                    "Add",
                    "Bucket",
                    "AWS::S3::Bucket",
                    None,
                ))],
            )
        })
        .repeatedly()
        .build();
    let (t, c) = (template_answer(), created(8));
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe],
        |b| b.retry_config(retry.clone())
    );
    let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
        .await
        .unwrap();
    assert_eq!(output(&r.outputs, "has-changes"), &json!(true));
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn the_deadline_is_exit_4_for_a_change_set_and_for_an_execution() {
    let f = Fixture::new();
    // A change set that stays CREATE_IN_PROGRESS.
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let describe = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            &cs_arn(9),
            "CREATE_IN_PROGRESS",
            "UNAVAILABLE",
            None,
            vec![],
        )
    });
    let (t, c) = (template_answer(), created(9));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe]
    );
    let clock = FakeClock::new();
    let e = plan::run(
        &aws(client),
        &clock,
        &plan_config(&f.args(&["--timeout", "30s"])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::DeadlineExceeded);
    assert!(
        e.message()
            .contains("still CREATE_IN_PROGRESS at the deadline"),
        "{}",
        e.message()
    );
    assert_eq!(clock.sleeps(), [Duration::from_secs(10); 3]);

    // An update that never settles.
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set(&cs_arn(9), "CREATE_COMPLETE", "AVAILABLE", None, vec![]));
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
    let evs = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let t = template_answer();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &t, &stacks, &evs, &execute]
    );
    let cfg = apply_config(&f.args(&[
        "--change-set-ids",
        &cs_arn(9),
        "--template-digest",
        &plan_digest_of_t(),
        "--timeout",
        "25s",
    ]));
    let clock = FakeClock::new();
    let e = apply::run(&aws(client), &clock, &cfg).await.unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::DeadlineExceeded);
    assert!(
        e.message()
            .contains("still UPDATE_IN_PROGRESS at the deadline"),
        "{}",
        e.message()
    );
    assert_eq!(
        clock
            .sleeps()
            .iter()
            .map(Duration::as_secs)
            .collect::<Vec<_>>(),
        [10, 10, 5]
    );
}

fn detail(name: &str, recreation: &str, before: &str, after: &str) -> ResourceChangeDetail {
    ResourceChangeDetail::builder()
        .target(
            ResourceTargetDefinition::builder()
                .attribute(ResourceAttribute::Properties)
                .name(name)
                .requires_recreation(RequiresRecreation::from(recreation))
                .before_value(before)
                .after_value(after)
                .build(),
        )
        .change_source(ChangeSource::DirectModification)
        .build()
}

#[tokio::test]
async fn nested_change_sets_are_expanded_into_the_diff() {
    let f = Fixture::new();
    let nested_id =
        "arn:aws:cloudformation:eu-west-1:111111111111:changeSet/gantry-10-Data/0000000a"
            .to_owned();
    let n2 = nested_id.clone();
    let parent = mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(cs_arn(10).as_str()))
        .then_output(move || {
            let rc = ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id("Data")
                .resource_type("AWS::CloudFormation::Stack")
                .replacement(Replacement::False)
                .change_set_id(&n2)
                .build();
            change_set(
                &cs_arn(10),
                "CREATE_COMPLETE",
                "AVAILABLE",
                None,
                vec![change(rc)],
            )
        });
    let nested = mock!(Client::describe_change_set)
        .match_requests(move |r| r.change_set_name() == Some(nested_id.as_str()))
        .then_output(|| {
            let rc = ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id("Queue")
                .resource_type("AWS::SQS::Queue")
                .replacement(Replacement::False)
                .details(detail("VisibilityTimeout", "Never", "30", "60"))
                .build();
            change_set(
                "nested",
                "CREATE_COMPLETE",
                "AVAILABLE",
                None,
                vec![change(rc)],
            )
        });
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let (t, c) = (template_answer(), created(10));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &parent, &nested]
    );
    let r = plan::run(&aws(client), &FakeClock::new(), &plan_config(&f.args(&[])))
        .await
        .unwrap();
    let summary = r.summary.unwrap();
    assert!(
        summary.contains("| `Data/Queue` | AWS::SQS::Queue | Modify | False |"),
        "{summary}"
    );
    assert!(
        summary.contains("- `Data/Queue` VisibilityTimeout: `30` → `60`"),
        "{summary}"
    );
    assert_eq!(output(&r.outputs, "changes-count"), &json!(2));
    assert_eq!(nested.num_calls(), 1);
}

#[tokio::test]
async fn replacing_an_rds_instance_is_refused_unless_allowed() {
    let f = Fixture::new();
    let describe = mock!(Client::describe_change_set).then_output(|| {
        let rc = ResourceChange::builder()
            .action(ChangeAction::Modify)
            .logical_resource_id("Database")
            .resource_type("AWS::RDS::DBInstance")
            .replacement(Replacement::True)
            .details(detail(
                "DBInstanceIdentifier",
                "Always",
                "app-db",
                "app-db-2",
            ))
            .details(
                ResourceChangeDetail::builder()
                    .target(
                        ResourceTargetDefinition::builder()
                            .attribute(ResourceAttribute::Properties)
                            .name("MasterUserPassword")
                            .requires_recreation(RequiresRecreation::Never)
                            .before_value("hunter2")
                            .after_value("hunter3")
                            .build(),
                    )
                    .change_source(ChangeSource::ParameterReference)
                    .causing_entity("DbPassword")
                    .build(),
            )
            .build();
        change_set(
            &cs_arn(11),
            "CREATE_COMPLETE",
            "AVAILABLE",
            None,
            vec![change(rc)],
        )
    });
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let (t, c) = (template_answer(), created(11));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe]
    );
    let e = plan::run(
        &aws(client),
        &FakeClock::new(),
        &plan_config(&f.args(&["--parameter", "DbPassword=hunter3"])),
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message()
            .contains("Database (AWS::RDS::DBInstance) in app would be replaced"),
        "{}",
        e.message()
    );
    assert!(
        e.hints()[0].contains("allow-replacement to `Database`"),
        "{:?}",
        e.hints()
    );
    let o = e.outputs().unwrap();
    assert_eq!(
        o.get("change-set-ids").unwrap(),
        &json!({"app": cs_arn(11)}),
        "the reviewer still gets the change set"
    );
    let summary = o.get("summary").unwrap().as_str().unwrap();
    assert!(
        summary.contains("**Refused**")
            && summary.contains("| `Database` | AWS::RDS::DBInstance | Modify | **True** |"),
        "{summary}"
    );
    assert!(
        !summary.contains("hunter"),
        "NoEcho values are masked: {summary}"
    );

    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &t, &c, &describe]
    );
    let r = plan::run(
        &aws(client),
        &FakeClock::new(),
        &plan_config(&f.args(&["--allow-replacement", "Database"])),
    )
    .await
    .unwrap();
    assert_eq!(output(&r.outputs, "replacements"), &json!(["app/Database"]));
}
