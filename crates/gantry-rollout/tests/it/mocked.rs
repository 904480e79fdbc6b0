use crate::fake::*;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_service_revisions::DescribeServiceRevisionsOutput;
use aws_sdk_ecs::operation::describe_services::{DescribeServicesError, DescribeServicesOutput};
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::error::ClusterNotFoundException;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, Container, Failure, LoadBalancer, Rollback, ServiceDeployment,
    ServiceDeploymentBrief, ServiceDeploymentStatus, ServiceRevision, Tag, Task,
    TaskDefinitionStatus,
};
use aws_smithy_mocks::{Rule, mock};
use gantry_kit::poll::FakeClock;
use gantry_kit::{Error, ExitCode, Report};
use gantry_rollout::{Cli, Clients, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

fn cli(args: &[&str]) -> Command {
    let mut argv = vec!["gantry-rollout"];
    argv.extend_from_slice(args);
    gantry_kit::cli::try_parse_from::<Cli, _, _>(argv, |_| None)
        .unwrap()
        .command
}

async fn deploy(aws: &Clients, extra: &[&str]) -> (Result<Report, Error>, FakeClock) {
    let mut args = vec![
        "deploy",
        "--cluster",
        CLUSTER,
        "--service",
        SERVICE,
        "--task-definition",
        NEW,
    ];
    if !extra.contains(&"--bake-time") {
        args.extend(["--bake-time", "10s"]);
    }
    args.extend_from_slice(extra);
    let Command::Deploy(a) = cli(&args) else {
        unreachable!()
    };
    let cfg = gantry_rollout::validate_deploy(&a).unwrap();
    let clock = FakeClock::new();
    let r = gantry_rollout::deploy(aws, &clock, &cfg).await;
    (r, clock)
}

fn out<'a>(r: &'a Result<Report, Error>, key: &str) -> &'a str {
    let o = match r {
        Ok(rep) => &rep.outputs,
        Err(e) => e.outputs().unwrap(),
    };
    o.get(key).and_then(|v| v.as_str()).unwrap_or_default()
}

fn err(r: &Result<Report, Error>) -> &Error {
    r.as_ref().expect_err("an error")
}

/// UpdateService that records the task definitions it was sent; a rollback to OLD starts
/// `ecs-svc/rb`, anything else `ecs-svc/new`.
fn recording_update() -> (Rule, Arc<Mutex<Vec<String>>>) {
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = sent.clone();
    let rule = mock!(Client::update_service)
        .match_requests(move |req| {
            s.lock()
                .unwrap()
                .push(req.task_definition().unwrap_or_default().to_owned());
            true
        })
        .then_compute_output(|req| {
            let td = req.task_definition().unwrap_or_default().to_owned();
            let id = if td == OLD {
                "ecs-svc/rb"
            } else {
                "ecs-svc/new"
            };
            aws_sdk_ecs::operation::update_service::UpdateServiceOutput::builder()
                .service(svc(
                    vec![
                        dep(id, "PRIMARY", &td, "IN_PROGRESS"),
                        dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
                    ],
                    &[],
                ))
                .build()
        });
    (rule, sent)
}

/// TagResource that records the tags it was sent, as `key=value`.
fn recording_tags() -> (Rule, Arc<Mutex<Vec<String>>>) {
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = sent.clone();
    let rule = mock!(Client::tag_resource)
        .match_requests(move |req| {
            assert_eq!(req.resource_arn(), Some(SERVICE_ARN));
            s.lock().unwrap().extend(req.tags().iter().map(|t| {
                format!(
                    "{}={}",
                    t.key().unwrap_or_default(),
                    t.value().unwrap_or_default()
                )
            }));
            true
        })
        .then_output(|| aws_sdk_ecs::operation::tag_resource::TagResourceOutput::builder().build());
    (rule, sent)
}

fn in_progress() -> aws_sdk_ecs::types::Service {
    svc(
        vec![
            dep("ecs-svc/new", "PRIMARY", NEW, "IN_PROGRESS"),
            dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
        ],
        &[
            (
                "e1",
                "(service web) has started 2 tasks: (task 1a2b) (task 3c4d).",
            ),
            ("e0", "(service web) has reached a steady state."),
        ],
    )
}

fn completed() -> aws_sdk_ecs::types::Service {
    svc(
        vec![dep("ecs-svc/new", "PRIMARY", NEW, "COMPLETED")],
        &[
            (
                "e2",
                "(service web) (deployment ecs-svc/new) deployment completed.",
            ),
            (
                "e1",
                "(service web) has started 2 tasks: (task 1a2b) (task 3c4d).",
            ),
        ],
    )
}

#[tokio::test]
async fn success_follows_bakes_and_tags() {
    let desc = describe(vec![steady(), in_progress(), completed()]);
    let (upd, sent) = recording_update();
    let (tags, tagged) = recording_tags();
    let guard = alarms(vec![vec![("web-5xx", StateValue::Ok)]]);
    let aws = aws(&[&desc, &upd, &tags], &[&guard], None);
    let (r, clock) = deploy(&aws, &["--alarms", "web-5xx", "--poll-interval", "5s"]).await;
    assert_eq!(
        *tagged.lock().unwrap(),
        vec![
            format!("gantry:task-definition={NEW}"),
            format!("gantry:previous-task-definition={OLD}"),
            "gantry:rolled-back-to=none".to_owned(),
        ]
    );
    let report = r.as_ref().unwrap();
    assert_eq!(out(&r, "status"), "completed");
    assert_eq!(out(&r, "deployment-id"), "ecs-svc/new");
    assert_eq!(out(&r, "previous-task-definition-arn"), OLD);
    assert_eq!(out(&r, "rolled-back-to"), "");
    assert_eq!(*sent.lock().unwrap(), vec![NEW.to_owned()]);
    // Fixed interval: poll at 0 and 5 s (COMPLETED), bake 10 s at 5 s steps.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 3]);
    assert_eq!(report.outputs.get("duration-seconds").unwrap(), 15);
    let md = report.summary.as_deref().unwrap();
    assert!(md.contains(&format!("`{OLD}` → `{NEW}`")), "{md}");
    assert!(md.contains("completed +5s · baked +15s"), "{md}");
    assert!(md.contains("| service events | 2 |"), "{md}");
    // Pre-flight, and one per bake poll: at +5 s (COMPLETED seen), +10 s and +15 s (the end).
    assert_eq!(guard.num_calls(), 4);
}

#[tokio::test]
async fn stopped_tasks_are_described_once_each() {
    let desc = describe(vec![steady(), in_progress(), in_progress(), completed()]);
    let (upd, _) = recording_update();
    let task = |id: &'static str| format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}");
    // Before the deploy: one old stopped task (not news). Then a new one appears, and stays.
    let list = mock!(Client::list_tasks)
        .sequence()
        .output(move || {
            aws_sdk_ecs::operation::list_tasks::ListTasksOutput::builder()
                .task_arns(task("old"))
                .build()
        })
        .output(move || {
            aws_sdk_ecs::operation::list_tasks::ListTasksOutput::builder()
                .task_arns(task("old"))
                .task_arns(task("crash1"))
                .build()
        })
        .repeatedly()
        .build();
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let s2 = seen.clone();
    let described = mock!(Client::describe_tasks)
        .match_requests(move |r| {
            s2.lock().unwrap().push(r.tasks().to_vec());
            true
        })
        .then_output(move || {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn(task("crash1"))
                        .last_status("STOPPED")
                        .stopped_reason("Essential container in task exited")
                        .containers(
                            Container::builder()
                                .name("web")
                                .exit_code(137)
                                .reason("OutOfMemoryError: Container killed due to memory usage")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let aws = aws(&[&desc, &upd, &list, &described], &[], None);
    let (r, _) = deploy(&aws, &["--bake-time", "0"]).await;
    let report = r.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![vec![task("crash1")]],
        "only the new stopped task, and only once"
    );
    let md = report.summary.unwrap();
    assert!(md.contains("| stopped tasks | 1 |"), "{md}");
    assert!(md.contains("| service events | 2 |"), "{md}");
}

#[tokio::test]
async fn circuit_breaker_failure_is_ecs_rollback_without_a_second_one() {
    let desc = describe(vec![
        steady(),
        in_progress(),
        svc(
            vec![
                dep("ecs-svc/ecsrb", "PRIMARY", OLD, "IN_PROGRESS"),
                dep("ecs-svc/new", "ACTIVE", NEW, "FAILED"),
            ],
            &[(
                "e3",
                "(service web) (deployment ecs-svc/new) deployment failed: tasks failed to start.",
            )],
        ),
        svc(
            vec![
                dep("ecs-svc/ecsrb", "PRIMARY", OLD, "COMPLETED"),
                dep("ecs-svc/new", "ACTIVE", NEW, "FAILED"),
            ],
            &[],
        ),
    ]);
    let (upd, sent) = recording_update();
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws, &[]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::RolledBack);
    assert!(
        e.message()
            .contains("ECS rolled deployment ecs-svc/new back"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("circuit breaker"), "{}", e.message());
    assert_eq!(out(&r, "status"), "rolled-back");
    assert_eq!(out(&r, "rolled-back-to"), OLD);
    assert_eq!(
        sent.lock().unwrap().len(),
        1,
        "no second rollback on top of ECS's"
    );
}

#[tokio::test]
async fn our_deployment_disappearing_with_the_old_one_primary_is_rolled_back() {
    let desc = describe(vec![
        steady(),
        in_progress(),
        svc(vec![dep("ecs-svc/ecsrb", "PRIMARY", OLD, "COMPLETED")], &[]),
    ]);
    let (upd, sent) = recording_update();
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws, &[]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::RolledBack);
    assert!(
        err(&r)
            .message()
            .contains("no longer in the service's deployments")
    );
    assert_eq!(sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn alarm_already_in_alarm_is_refused_before_anything_changes() {
    let desc = describe(vec![steady()]);
    let (upd, sent) = recording_update();
    let guard = alarms(vec![vec![
        ("web-5xx", StateValue::Alarm),
        ("web-latency", StateValue::Ok),
    ]]);
    let aws = aws(&[&desc, &upd], &[&guard], None);
    let (r, _) = deploy(&aws, &["--alarms", "web-5xx web-latency"]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message()
            .starts_with("alarm `web-5xx` is already in ALARM (Threshold Crossed"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("ECS ignores an alarm"),
        "{}",
        e.message()
    );
    assert!(sent.lock().unwrap().is_empty());
    // A refusal still sets every output.
    assert_eq!(out(&r, "status"), "failed");
    assert_eq!(out(&r, "task-definition-arn"), NEW);
    assert_eq!(out(&r, "deployment-id"), "");
    assert!(
        out(&r, "reason").contains("web-5xx"),
        "{}",
        out(&r, "reason")
    );
    let o = e.outputs().unwrap();
    for key in [
        "status",
        "deployment-id",
        "task-definition-arn",
        "previous-task-definition-arn",
        "rolled-back-to",
        "reason",
        "duration-seconds",
    ] {
        assert!(o.get(key).is_some(), "output {key} missing");
    }
}

#[tokio::test]
async fn alarm_during_the_bake_puts_the_service_back() {
    let desc = describe(vec![
        steady(),
        completed(),
        completed(),
        completed(),
        svc(
            vec![
                dep("ecs-svc/rb", "PRIMARY", OLD, "IN_PROGRESS"),
                dep("ecs-svc/new", "ACTIVE", NEW, "COMPLETED"),
            ],
            &[],
        ),
        svc(vec![dep("ecs-svc/rb", "PRIMARY", OLD, "COMPLETED")], &[]),
    ]);
    let (upd, sent) = recording_update();
    let guard = alarms(vec![
        vec![("web-5xx", StateValue::Ok)],
        vec![("web-5xx", StateValue::Ok)],
        vec![("web-5xx", StateValue::Alarm)],
    ]);
    let (tags, tagged) = recording_tags();
    let aws = aws(&[&desc, &upd, &tags], &[&guard], None);
    let (r, clock) = deploy(&aws, &["--alarm", "web-5xx", "--bake-time", "5m"]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::RolledBack, "{}", e.message());
    assert!(
        e.message()
            .starts_with("alarm in ALARM during the bake: web-5xx (Threshold Crossed"),
        "{}",
        e.message()
    );
    assert_eq!(*sent.lock().unwrap(), vec![NEW.to_owned(), OLD.to_owned()]);
    assert_eq!(out(&r, "rolled-back-to"), OLD);
    assert_eq!(
        *tagged.lock().unwrap(),
        vec![format!("gantry:rolled-back-to={OLD}")],
        "only the rollback is recorded: the release did not succeed"
    );
    // Noticed at the poll after the flip: one interval, never a back-off.
    assert!(
        clock.sleeps().iter().all(|s| *s == Duration::from_secs(5)),
        "{:?}",
        clock.sleeps()
    );
}

#[tokio::test]
async fn deadline_rolls_back_exit_3_or_exit_4_without_rollback() {
    let mut seq = vec![steady()];
    seq.extend(std::iter::repeat_n(in_progress(), 5));
    seq.push(svc(
        vec![dep("ecs-svc/rb", "PRIMARY", OLD, "COMPLETED")],
        &[],
    ));
    let desc = describe(seq);
    let (upd, sent) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let (r, clock) = deploy(&aws1, &["--timeout", "20s"]).await;
    let e = err(&r);
    assert_eq!(
        e.exit_code(),
        ExitCode::RolledBack,
        "a deadline that led to a completed rollback"
    );
    assert!(
        e.message().contains("did not complete before the deadline"),
        "{}",
        e.message()
    );
    assert_eq!(*sent.lock().unwrap(), vec![NEW.to_owned(), OLD.to_owned()]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 4]);

    let desc = describe(vec![steady(), in_progress()]);
    let (upd, sent) = recording_update();
    let aws2 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws2, &["--timeout", "20s", "--rollback", "never"]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::DeadlineExceeded);
    assert_eq!(out(&r, "status"), "timeout");
    assert_eq!(sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn someone_elses_deployment_replacing_ours_is_failed_naming_it() {
    let desc = describe(vec![
        steady(),
        in_progress(),
        svc(
            vec![
                dep("ecs-svc/theirs", "PRIMARY", OTHER, "IN_PROGRESS"),
                dep("ecs-svc/new", "ACTIVE", NEW, "IN_PROGRESS"),
            ],
            &[],
        ),
    ]);
    let (upd, sent) = recording_update();
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws, &[]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message()
            .contains(&format!("replaced by deployment ecs-svc/theirs of {OTHER}")),
        "{}",
        e.message()
    );
    assert_eq!(
        sent.lock().unwrap().len(),
        1,
        "we do not fight another deployment"
    );
}

#[tokio::test]
async fn throttled_describe_services_is_retried_then_reported() {
    let throttled = json_error(400, "ThrottlingException", "Rate exceeded");
    let desc = mock!(Client::describe_services)
        .sequence()
        .output(|| DescribeServicesOutput::builder().services(steady()).build())
        .http_response(json_error(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .output(|| {
            DescribeServicesOutput::builder()
                .services(completed())
                .build()
        })
        .repeatedly()
        .build();
    let (upd, _) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws1, &["--bake-time", "0"]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(
        desc.num_calls(),
        5,
        "pre-flight, two throttled attempts, the answer, then the (zero-length) bake's one poll"
    );

    let always = mock!(Client::describe_services)
        .sequence()
        .output(|| DescribeServicesOutput::builder().services(steady()).build())
        .http_response(throttled)
        .repeatedly()
        .build();
    let (upd, _) = recording_update();
    let aws2 = aws(&[&always, &upd], &[], None);
    let (r, _) = deploy(&aws2, &[]).await;
    let e = err(&r);
    // Throttling that does not end is "unknown, keep polling" until each deadline, never the
    // end of the rollout by itself: the deadline rolls back, whose outcome is then unknown.
    assert_eq!(e.exit_code(), ExitCode::DeadlineExceeded, "{}", e.render());
    assert_eq!(out(&r, "status"), "unknown");
    assert!(
        e.render().contains(
            "deployment ecs-svc/new did not complete: unknown: ECS DescribeServices: ThrottlingException: Rate exceeded"
        ),
        "{}",
        e.render()
    );
    assert!(
        e.render()
            .contains("gantry-rollout rollback --cluster prod --service web --to "),
        "{}",
        e.render()
    );
    assert_eq!(
        out(&r, "deployment-id"),
        "ecs-svc/new",
        "the deployment that goes on in ECS"
    );
}

#[tokio::test]
async fn expiring_credentials_refuse_or_warn() {
    let desc = describe(vec![steady(), completed()]);
    let (upd, sent) = recording_update();
    let soon = SystemTime::now() + Duration::from_secs(120);
    let aws1 = aws(&[&desc, &upd], &[], Some(soon));
    let (r, _) = deploy(&aws1, &["--bake-time", "5m"]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message().contains("credentials expire at"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("before the bake of 5m could end"),
        "{}",
        e.message()
    );
    assert!(sent.lock().unwrap().is_empty());

    // Expiring within timeout + bake but after the bake could end: a warning, and the deploy runs.
    let desc = describe(vec![steady(), completed()]);
    let (upd, sent) = recording_update();
    let later = SystemTime::now() + Duration::from_secs(20 * 60);
    let aws2 = aws(&[&desc, &upd], &[], Some(later));
    let (r, _) = deploy(&aws2, &["--bake-time", "5m", "--timeout", "30m"]).await;
    assert_eq!(out(&r, "status"), "completed");
    assert_eq!(sent.lock().unwrap().len(), 1);
}

fn run_task(command: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::run_task)
        .match_requests(move |req| {
            let o = req.overrides().unwrap();
            let c = &o.container_overrides()[0];
            assert_eq!(c.name(), Some("web"));
            *command.lock().unwrap() = c.command().to_vec();
            true
        })
        .then_output(|| {
            RunTaskOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c")
                        .last_status("PROVISIONING")
                        .build(),
                )
                .build()
        })
}

fn stopped_task(exit: i32) -> Rule {
    let task = move |status: &str| {
        let mut t = Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c")
            .last_status(status);
        if status == "STOPPED" {
            t = t
                .stopped_reason("Essential container in task exited")
                .containers(Container::builder().name("web").exit_code(exit).build())
                .containers(Container::builder().name("log-router").exit_code(0).build());
        }
        DescribeTasksOutput::builder().tasks(t.build()).build()
    };
    mock!(Client::describe_tasks)
        .sequence()
        .output(move || task("RUNNING"))
        .output(move || task("STOPPED"))
        .repeatedly()
        .build()
}

#[tokio::test]
async fn migration_task_exiting_1_stops_before_the_update() {
    let desc = describe(vec![steady(), completed()]);
    let (upd, sent) = recording_update();
    let cmd: Arc<Mutex<Vec<String>>> = Arc::default();
    let rt = run_task(cmd.clone());
    let dt = stopped_task(1);
    let td = task_definition(TaskDefinitionStatus::Active, &["web", "log-router"]);
    let aws1 = aws(&[&desc, &upd, &rt, &dt, &td], &[], None);
    let (r, _) = deploy(
        &aws1,
        &[
            "--pre-deploy-task",
            "bin/migrate --to 'v 7'",
            "--pre-deploy-container",
            "web",
        ],
    )
    .await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::Failed);
    assert!(
        e.message()
            .contains("container `web` exited 1 (Essential container in task exited)"),
        "{}",
        e.message()
    );
    assert_eq!(*cmd.lock().unwrap(), vec!["bin/migrate", "--to", "v 7"]);
    assert!(sent.lock().unwrap().is_empty(), "the service is untouched");
    assert_eq!(out(&r, "status"), "failed");
    assert!(
        out(&r, "reason").contains("exited 1"),
        "{}",
        out(&r, "reason")
    );

    let desc = describe(vec![steady(), completed()]);
    let (upd, sent) = recording_update();
    let rt = run_task(cmd.clone());
    let dt = stopped_task(0);
    let aws2 = aws(&[&desc, &upd, &rt, &dt], &[], None);
    let (r, _) = deploy(&aws2, &["--pre-deploy-task", r#"["bin/migrate"]"#]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(*cmd.lock().unwrap(), vec!["bin/migrate"]);
    assert_eq!(sent.lock().unwrap().len(), 1);
}

fn brief(
    id: &str,
    status: ServiceDeploymentStatus,
    created: i64,
    revision: &str,
) -> ServiceDeploymentBrief {
    ServiceDeploymentBrief::builder()
        .service_deployment_arn(format!(
            "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/{id}"
        ))
        .service_arn(SERVICE_ARN)
        .status(status)
        .created_at(DateTime::from_secs(created))
        .target_service_revision_arn(revision)
        .build()
}

#[tokio::test]
async fn service_deployment_api_reports_ecs_rollback() {
    let desc = describe(vec![steady(), in_progress()]);
    let (upd, sent) = recording_update();
    let now = DateTime::from(SystemTime::now()).secs();
    let list = mock!(Client::list_service_deployments).then_output(move || {
        ListServiceDeploymentsOutput::builder()
            .service_deployments(brief(
                "new",
                ServiceDeploymentStatus::InProgress,
                now,
                "rev/7",
            ))
            .service_deployments(brief(
                "old",
                ServiceDeploymentStatus::Successful,
                now - 3600,
                "rev/6",
            ))
            .build()
    });
    let sd = |status: ServiceDeploymentStatus, rollback: bool| {
        let mut b = ServiceDeployment::builder()
            .service_deployment_arn("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/new")
            .status(status)
            .status_reason("Service deployment rolled back because the circuit breaker threshold was exceeded.");
        if rollback {
            b = b.rollback(
                Rollback::builder()
                    .reason("Service deployment rolled back because the circuit breaker threshold was exceeded.")
                    .service_revision_arn("rev/6")
                    .build(),
            );
        }
        DescribeServiceDeploymentsOutput::builder()
            .service_deployments(b.build())
            .build()
    };
    let described = mock!(Client::describe_service_deployments)
        .sequence()
        .output(move || sd(ServiceDeploymentStatus::InProgress, false))
        .output(move || sd(ServiceDeploymentStatus::RollbackInProgress, true))
        .output(move || sd(ServiceDeploymentStatus::RollbackSuccessful, true))
        .repeatedly()
        .build();
    let aws = aws(&[&desc, &upd, &list, &described], &[], None);
    let (r, _) = deploy(&aws, &[]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::RolledBack, "{}", e.message());
    assert!(
        e.message()
            .contains("circuit breaker threshold was exceeded"),
        "{}",
        e.message()
    );
    assert_eq!(
        list.num_calls(),
        1,
        "our ServiceDeployment is found once, by id"
    );
    assert_eq!(described.num_calls(), 3);
    assert_eq!(sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_inputs_found_by_reads_are_exit_2_and_change_nothing() {
    let lb = |advanced: bool| {
        let mut b = LoadBalancer::builder()
            .target_group_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
            )
            .container_name("web")
            .container_port(8080);
        if advanced {
            b = b.advanced_configuration(
                AdvancedConfiguration::builder()
                    .alternate_target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2")
                    .production_listener_rule("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3")
                    .role_arn("arn:aws:iam::123456789012:role/ecs-blue-green")
                    .build(),
            );
        }
        b.build()
    };
    type Case<'a> = (
        Vec<&'a str>,
        Rule,
        Option<Rule>,
        aws_sdk_ecs::types::Service,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            vec![],
            task_definition(TaskDefinitionStatus::Inactive, &["web"]),
            None,
            steady(),
            "is INACTIVE",
        ),
        (
            vec!["--alarms", "web-5xx nope"],
            task_definition(TaskDefinitionStatus::Active, &["web"]),
            Some(alarms(vec![vec![("web-5xx", StateValue::Ok)]])),
            steady(),
            "alarms: CloudWatch has no alarm named `nope`",
        ),
        (
            vec![
                "--pre-deploy-task",
                "migrate",
                "--pre-deploy-container",
                "db",
            ],
            task_definition(TaskDefinitionStatus::Active, &["web", "log-router"]),
            None,
            steady(),
            "pre-deploy-container: `db` is not a container",
        ),
        (
            vec!["--strategy", "blue-green"],
            task_definition(TaskDefinitionStatus::Active, &["web"]),
            None,
            steady(),
            "strategy: `blue-green` needs a load balancer",
        ),
        (
            vec!["--strategy", "canary"],
            task_definition(TaskDefinitionStatus::Active, &["web"]),
            None,
            {
                let mut s = steady();
                s.load_balancers = Some(vec![lb(false)]);
                s
            },
            "strategy: `canary` needs a load balancer",
        ),
    ];
    for (args, td, guard, service, says) in cases {
        let desc = describe(vec![service]);
        let (upd, sent) = recording_update();
        let cw: Vec<&Rule> = guard.iter().collect();
        let aws = aws(&[&desc, &upd, &td], &cw, None);
        let (r, _) = deploy(&aws, &args).await;
        let e = err(&r);
        assert_eq!(
            e.exit_code(),
            ExitCode::InputRejected,
            "{args:?}: {}",
            e.message()
        );
        assert!(e.message().contains(says), "{args:?}: {}", e.message());
        assert!(sent.lock().unwrap().is_empty(), "{args:?}");
    }
    // With the load balancer's advanced configuration, blue-green is passed to ECS as given.
    let mut s = steady();
    s.load_balancers = Some(vec![lb(true)]);
    let desc = describe(vec![s, completed()]);
    let strategy: Arc<Mutex<Option<String>>> = Arc::default();
    let st = strategy.clone();
    let upd = mock!(Client::update_service)
        .match_requests(move |req| {
            *st.lock().unwrap() = req
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map(|s| s.as_str().to_owned());
            true
        })
        .then_output(|| {
            aws_sdk_ecs::operation::update_service::UpdateServiceOutput::builder()
                .service(in_progress())
                .build()
        });
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws, &["--strategy", "blue-green", "--bake-time", "0"]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(strategy.lock().unwrap().as_deref(), Some("BLUE_GREEN"));
}

#[tokio::test]
async fn unknown_cluster_or_service_is_exit_1_with_aws_words() {
    let desc = mock!(Client::describe_services).then_error(|| {
        DescribeServicesError::ClusterNotFoundException(
            ClusterNotFoundException::builder()
                .message("Cluster not found.")
                .build(),
        )
    });
    let (upd, sent) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws1, &[]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::Failed);
    assert!(sent.lock().unwrap().is_empty());
    assert_eq!(out(&r, "status"), "failed");
    assert!(
        err(&r)
            .message()
            .contains("ClusterNotFoundException: Cluster not found."),
        "{}",
        err(&r).message()
    );

    let missing = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .failures(
                Failure::builder()
                    .arn(SERVICE_ARN)
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let aws2 = aws(&[&missing], &[], None);
    let (r, _) = deploy(&aws2, &[]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::Failed);
    assert!(
        err(&r)
            .message()
            .contains("service `web` not found in cluster `prod` (MISSING)")
    );
}

#[tokio::test]
async fn busy_service_is_refused_or_waited_for() {
    let busy = svc(
        vec![
            dep("ecs-svc/x", "PRIMARY", OTHER, "IN_PROGRESS"),
            dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
        ],
        &[],
    );
    let desc = describe(vec![busy.clone()]);
    let (upd, sent) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws1, &[]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::Failed);
    assert!(
        err(&r)
            .message()
            .contains("is busy: deployment ecs-svc/x of"),
        "{}",
        err(&r).message()
    );
    assert!(sent.lock().unwrap().is_empty());

    let desc = describe(vec![busy.clone(), busy, steady(), completed()]);
    let (upd, sent) = recording_update();
    let aws2 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws2, &["--on-busy", "wait", "--bake-time", "0"]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(sent.lock().unwrap().len(), 1);
}

async fn rollback(aws: &Clients, extra: &[&str]) -> Result<Report, Error> {
    let mut args = vec!["rollback", "--cluster", CLUSTER, "--service", SERVICE];
    args.extend_from_slice(extra);
    let Command::Rollback(a) = cli(&args) else {
        unreachable!()
    };
    let cfg = gantry_rollout::validate_rollback(&a).unwrap();
    gantry_rollout::rollback(aws, &FakeClock::new(), &cfg).await
}

fn on_new() -> aws_sdk_ecs::types::Service {
    svc(vec![dep("ecs-svc/new", "PRIMARY", NEW, "COMPLETED")], &[])
}

fn rolled_back() -> aws_sdk_ecs::types::Service {
    svc(vec![dep("ecs-svc/rb", "PRIMARY", OLD, "COMPLETED")], &[])
}

#[tokio::test]
async fn rollback_previous_from_service_deployment_history() {
    let desc = describe(vec![on_new(), rolled_back()]);
    let (upd, sent) = recording_update();
    let list = mock!(Client::list_service_deployments)
        .match_requests(|r| r.status() == [ServiceDeploymentStatus::Successful])
        .then_output(|| {
            ListServiceDeploymentsOutput::builder()
                .service_deployments(brief(
                    "d6",
                    ServiceDeploymentStatus::Successful,
                    1_000,
                    "rev/6",
                ))
                .service_deployments(brief(
                    "d7",
                    ServiceDeploymentStatus::Successful,
                    2_000,
                    "rev/7",
                ))
                .service_deployments(brief(
                    "d5",
                    ServiceDeploymentStatus::Successful,
                    500,
                    "rev/5",
                ))
                .build()
        });
    let revisions = mock!(Client::describe_service_revisions).then_output(|| {
        let rev = |arn: &str, td: &str| {
            ServiceRevision::builder()
                .service_revision_arn(arn)
                .task_definition(td)
                .build()
        };
        DescribeServiceRevisionsOutput::builder()
            .service_revisions(rev("rev/7", NEW))
            .service_revisions(rev("rev/6", OLD))
            .service_revisions(rev("rev/5", OTHER))
            .build()
    });
    let aws = aws(&[&desc, &upd, &list, &revisions], &[], None);
    let r = rollback(&aws, &[]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(*sent.lock().unwrap(), vec![OLD.to_owned()]);
    assert_eq!(out(&r, "rolled-back-to"), OLD);
    assert_eq!(out(&r, "previous-task-definition-arn"), NEW);
}

#[tokio::test]
async fn rollback_previous_falls_back_to_the_tag_and_refuses_when_unknown() {
    let tagged = |deployed: &str| {
        let mut s = on_new();
        s.tags = Some(vec![
            Tag::builder()
                .key("gantry:task-definition")
                .value(deployed)
                .build(),
            Tag::builder()
                .key("gantry:previous-task-definition")
                .value(OLD)
                .build(),
        ]);
        s
    };
    let desc = describe(vec![tagged(NEW), rolled_back()]);
    let (upd, sent) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let r = rollback(&aws1, &["--to", "previous"]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(*sent.lock().unwrap(), vec![OLD.to_owned()]);

    // The service changed since gantry's last deploy: the tag is stale, so no guess.
    let desc = describe(vec![tagged(OTHER)]);
    let (upd, sent) = recording_update();
    let aws2 = aws(&[&desc, &upd], &[], None);
    let r = rollback(&aws2, &[]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::Failed);
    assert!(
        err(&r).render().contains("pass --to"),
        "{}",
        err(&r).render()
    );
    assert!(sent.lock().unwrap().is_empty());

    // --to ARN, and a rollback that fails is exit 1.
    let desc = describe(vec![
        on_new(),
        svc(vec![dep("ecs-svc/rb", "PRIMARY", OLD, "FAILED")], &[]),
    ]);
    let (upd, sent) = recording_update();
    let aws3 = aws(&[&desc, &upd], &[], None);
    let r = rollback(&aws3, &["--to", OLD]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::Failed);
    assert_eq!(out(&r, "status"), "failed");
    assert_eq!(
        *sent.lock().unwrap(),
        vec![OLD.to_owned()],
        "--to is the target"
    );
    assert_eq!(out(&r, "task-definition-arn"), OLD);
    assert_eq!(out(&r, "rolled-back-to"), "", "it did not get there");
    assert!(
        err(&r).message().contains("the rollback to") && err(&r).message().contains("FAILED"),
        "{}",
        err(&r).message()
    );
}

#[tokio::test]
async fn dry_run_reads_and_plans_but_does_not_update() {
    let desc = describe(vec![steady()]);
    let (upd, sent) = recording_update();
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws, &["--dry-run", "--desired-count", "3"]).await;
    let rep = r.unwrap();
    assert_eq!(rep.outputs.get("status").unwrap(), "dry-run");
    let plan = rep.plan.unwrap();
    assert_eq!(plan["previous-task-definition-arn"], OLD);
    assert_eq!(plan["update-service"]["desired-count"], 3);
    assert_eq!(plan["update-service"]["circuit-breaker"]["rollback"], true);
    assert!(sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn on_busy_wait_reaching_the_deadline_is_exit_4_and_changes_nothing() {
    let busy = svc(
        vec![
            dep("ecs-svc/x", "PRIMARY", OTHER, "IN_PROGRESS"),
            dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
        ],
        &[],
    );
    let desc = describe(vec![busy]);
    let (upd, sent) = recording_update();
    let aws = aws(&[&desc, &upd], &[], None);
    let (r, clock) = deploy(&aws, &["--on-busy", "wait", "--timeout", "20s"]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::DeadlineExceeded, "{}", e.message());
    assert!(
        e.message()
            .contains("was still busy at the deadline: deployment ecs-svc/x of"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("nothing was changed"),
        "{}",
        e.message()
    );
    assert_eq!(out(&r, "status"), "timeout");
    assert!(sent.lock().unwrap().is_empty(), "no UpdateService");
    // Waited at the fixed interval up to the deadline: 0, 5, 10, 15, 20 s.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 4]);
    assert_eq!(desc.num_calls(), 6, "pre-flight, then five polls");
}

#[tokio::test]
async fn migration_task_still_running_at_its_deadline_stops_before_the_update() {
    let desc = describe(vec![steady(), completed()]);
    let (upd, sent) = recording_update();
    let cmd: Arc<Mutex<Vec<String>>> = Arc::default();
    let rt = run_task(cmd.clone());
    let running = mock!(Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c")
                    .last_status("RUNNING")
                    .desired_status("RUNNING")
                    .build(),
            )
            .build()
    });
    let aws = aws(&[&desc, &upd, &rt, &running], &[], None);
    let (r, clock) = deploy(
        &aws,
        &[
            "--pre-deploy-task",
            "bin/migrate",
            "--pre-deploy-timeout",
            "30s",
        ],
    )
    .await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::Failed, "{}", e.message());
    assert!(
        e.message()
            .contains("did not stop within 30s (last status RUNNING)"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("the service was not updated"),
        "{}",
        e.message()
    );
    assert!(
        e.render().contains("may still be running"),
        "{}",
        e.render()
    );
    assert_eq!(out(&r, "status"), "failed");
    assert!(sent.lock().unwrap().is_empty(), "the service is untouched");
    assert_eq!(*cmd.lock().unwrap(), vec!["bin/migrate"]);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 6]);
    assert_eq!(running.num_calls(), 7);
}

#[tokio::test]
async fn update_service_carries_every_field_asked_for() {
    type Seen = Option<aws_sdk_ecs::operation::update_service::UpdateServiceInput>;
    let run = |extra: &'static [&'static str]| async move {
        let desc = describe(vec![steady(), completed()]);
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let s2 = seen.clone();
        let upd = mock!(Client::update_service)
            .match_requests(move |req| {
                *s2.lock().unwrap() = Some(req.clone());
                true
            })
            .then_output(|| {
                aws_sdk_ecs::operation::update_service::UpdateServiceOutput::builder()
                    .service(in_progress())
                    .build()
            });
        let guard = alarms(vec![vec![
            ("web-5xx", StateValue::Ok),
            ("web-latency", StateValue::InsufficientData),
        ]]);
        let aws = aws(&[&desc, &upd], &[&guard], None);
        let mut args = vec!["--bake-time", "0"];
        args.extend_from_slice(extra);
        let (r, _) = deploy(&aws, &args).await;
        assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
        seen.lock()
            .unwrap()
            .take()
            .expect("UpdateService was called")
    };
    let req = run(&[
        "--desired-count",
        "3",
        "--force-new-deployment",
        "--alarms",
        "web-5xx\nweb-latency",
    ])
    .await;
    assert_eq!(req.cluster(), Some(CLUSTER));
    assert_eq!(req.service(), Some(SERVICE));
    assert_eq!(req.task_definition(), Some(NEW));
    assert_eq!(req.desired_count(), Some(3));
    assert_eq!(req.force_new_deployment(), Some(true));
    let config = req.deployment_configuration().unwrap();
    let cb = config.deployment_circuit_breaker().unwrap();
    assert!(
        cb.enable() && cb.rollback(),
        "circuit breaker with rollback by default"
    );
    let a = config.alarms().expect("guard alarms passed to ECS");
    assert_eq!(a.alarm_names(), ["web-5xx", "web-latency"]);
    assert!(a.enable() && a.rollback());

    let req = run(&["--circuit-breaker", "off"]).await;
    assert_eq!(req.desired_count(), None, "unchanged unless asked");
    assert_eq!(req.force_new_deployment(), Some(false));
    let config = req.deployment_configuration().unwrap();
    let cb = config.deployment_circuit_breaker().unwrap();
    assert!(!cb.enable() && !cb.rollback());
    assert!(config.alarms().is_none(), "no alarms asked, none sent");
}

#[tokio::test]
async fn failed_while_still_primary_waits_for_ecs_rollback_instead_of_starting_ours() {
    // The circuit breaker marks our deployment FAILED a poll before its rollback deployment
    // shows: gantry waits for ECS instead of racing it with an UpdateService of its own.
    let desc = describe(vec![
        steady(),
        in_progress(),
        svc(
            vec![
                dep("ecs-svc/new", "PRIMARY", NEW, "FAILED"),
                dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
            ],
            &[],
        ),
        svc(
            vec![
                dep("ecs-svc/ecsrb", "PRIMARY", OLD, "IN_PROGRESS"),
                dep("ecs-svc/new", "ACTIVE", NEW, "FAILED"),
            ],
            &[],
        ),
        svc(
            vec![
                dep("ecs-svc/ecsrb", "PRIMARY", OLD, "COMPLETED"),
                dep("ecs-svc/new", "ACTIVE", NEW, "FAILED"),
            ],
            &[],
        ),
    ]);
    let (upd, sent) = recording_update();
    let aws1 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws1, &[]).await;
    let e = err(&r);
    assert_eq!(e.exit_code(), ExitCode::RolledBack, "{}", e.message());
    assert_eq!(out(&r, "rolled-back-to"), OLD);
    assert_eq!(
        *sent.lock().unwrap(),
        vec![NEW.to_owned()],
        "no second rollback on top of ECS's"
    );

    // With the circuit breaker off nothing in ECS rolls back: that FAILED is ours to undo.
    let desc = describe(vec![
        steady(),
        svc(
            vec![
                dep("ecs-svc/new", "PRIMARY", NEW, "FAILED"),
                dep("ecs-svc/old", "ACTIVE", OLD, "COMPLETED"),
            ],
            &[],
        ),
        svc(vec![dep("ecs-svc/rb", "PRIMARY", OLD, "COMPLETED")], &[]),
    ]);
    let (upd, sent) = recording_update();
    let aws2 = aws(&[&desc, &upd], &[], None);
    let (r, _) = deploy(&aws2, &["--circuit-breaker", "off"]).await;
    assert_eq!(err(&r).exit_code(), ExitCode::RolledBack);
    assert_eq!(*sent.lock().unwrap(), vec![NEW.to_owned(), OLD.to_owned()]);
}

#[tokio::test]
async fn rollback_previous_rerun_after_a_rollback_changes_nothing() {
    // The bake's alarm rolled NEW back to OLD. The history lists NEW as SUCCESSFUL (it completed
    // before the alarm fired): `previous` must not roll forward to it on a re-run.
    let mut s = rolled_back();
    s.tags = Some(vec![
        Tag::builder()
            .key("gantry:task-definition")
            .value(OLD)
            .build(),
        Tag::builder()
            .key("gantry:rolled-back-to")
            .value(OLD)
            .build(),
    ]);
    let desc = describe(vec![s]);
    let (upd, sent) = recording_update();
    let history = mock!(Client::list_service_deployments).then_output(|| {
        ListServiceDeploymentsOutput::builder()
            .service_deployments(brief(
                "d7",
                ServiceDeploymentStatus::Successful,
                2_000,
                "rev/7",
            ))
            .build()
    });
    let revisions = mock!(Client::describe_service_revisions).then_output(|| {
        DescribeServiceRevisionsOutput::builder()
            .service_revisions(
                ServiceRevision::builder()
                    .service_revision_arn("rev/7")
                    .task_definition(NEW)
                    .build(),
            )
            .build()
    });
    let aws1 = aws(&[&desc, &upd, &history, &revisions], &[], None);
    let r = rollback(&aws1, &[]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(out(&r, "rolled-back-to"), OLD);
    assert_eq!(out(&r, "reason"), "already on the target");
    assert!(sent.lock().unwrap().is_empty(), "no UpdateService");
    assert_eq!(history.num_calls(), 0, "the tag answers first");

    // After a later successful deploy the tag says `none`: the history decides again.
    let mut s = rolled_back();
    s.tags = Some(vec![
        Tag::builder()
            .key("gantry:rolled-back-to")
            .value("none")
            .build(),
    ]);
    let desc = describe(vec![s, on_new()]);
    let (upd, sent) = recording_update();
    let aws2 = aws(&[&desc, &upd, &history, &revisions], &[], None);
    let r = rollback(&aws2, &[]).await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    assert_eq!(*sent.lock().unwrap(), vec![NEW.to_owned()]);
}

#[tokio::test]
async fn migration_task_runs_in_the_services_network_configuration() {
    use aws_sdk_ecs::types::{
        AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration,
    };
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0a1b2c3d")
                .security_groups("sg-0a1b2c3d")
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .unwrap(),
        )
        .build();
    let mut s = steady();
    s.network_configuration = Some(network.clone());
    s.launch_type = Some(LaunchType::Fargate);
    s.platform_version = Some("1.4.0".into());
    let desc = describe(vec![s, completed()]);
    let (upd, sent) = recording_update();
    type Seen = Option<aws_sdk_ecs::operation::run_task::RunTaskInput>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s2 = seen.clone();
    let rt = mock!(Client::run_task)
        .match_requests(move |req| {
            *s2.lock().unwrap() = Some(req.clone());
            true
        })
        .then_output(|| {
            RunTaskOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c")
                        .last_status("PROVISIONING")
                        .build(),
                )
                .build()
        });
    let dt = stopped_task(0);
    let aws = aws(&[&desc, &upd, &rt, &dt], &[], None);
    let (r, _) = deploy(
        &aws,
        &["--pre-deploy-task", "bin/migrate up", "--bake-time", "0"],
    )
    .await;
    assert_eq!(out(&r, "status"), "completed", "{:?}", r.as_ref().err());
    let req = seen.lock().unwrap().take().expect("RunTask was called");
    assert_eq!(req.cluster(), Some(CLUSTER));
    assert_eq!(req.task_definition(), Some(NEW), "the new task definition");
    assert_eq!(req.count(), Some(1));
    assert_eq!(req.network_configuration(), Some(&network));
    assert_eq!(req.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(req.platform_version(), Some("1.4.0"));
    let o = &req.overrides().unwrap().container_overrides()[0];
    assert_eq!(o.name(), Some("web"), "the only container by default");
    assert_eq!(o.command(), ["bin/migrate", "up"]);
    assert_eq!(
        *sent.lock().unwrap(),
        vec![NEW.to_owned()],
        "then the update"
    );
}
