//! `plan`: one change set per stack (in the environment's order), waited for, described with
//! nested stacks and property values, gated; nothing executed.

use crate::aws::Aws;
use crate::aws::cloudformation::{self as cfn, ChangeSetRequest, Created, TemplateSource};
use crate::changes::{Action, ResourceChange};
use crate::config::{CommentConfig, PlanConfig, StacksConfig};
use crate::diff::Masking;
use crate::environment::{self, StackSpec};
use crate::gate::{self, Destruction};
use crate::github::upsert_comment;
use crate::plan::{self, ChangeSetKind, Creation, Start, stack_state};
use crate::report;
use crate::running::{self, ClusterRef, Keep};
use crate::template::{self, Template};
use gantry_kit::github::{Actions, Annotation, Level, write_annotation};
use gantry_kit::github_api::GitHubApi;
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use gantry_kit::{Error, Report};
use indexmap::IndexMap;

/// What planning found for one stack.
#[derive(Debug, Clone)]
pub struct Planned {
    pub stack: String,
    pub region: Option<String>,
    pub outcome: Outcome,
    /// Digest of the template the plan used.
    pub digest: String,
    pub destructions: Vec<Destruction>,
    pub replacements: Vec<String>,
    pub masking: Masking,
    /// What the plan did with `TaskDefinitionArn` (`None`: the template has no service that
    /// takes its task definition from it).
    pub task_definition: Option<Keep>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// An executable change set (it may have no resource changes: an outputs-only edit).
    Changes {
        change_set_id: String,
        kind: ChangeSetKind,
        changes: Vec<ResourceChange>,
    },
    /// Nothing to change (the empty change set was deleted).
    NoChanges,
    /// ROLLBACK_COMPLETE: to be deleted and created again (`--replace-failed`); the changes are
    /// the template's resources.
    Recreate { changes: Vec<ResourceChange> },
    /// An earlier stack's output it needs does not exist yet (that stack is not deployed).
    Blocked { missing: Vec<String> },
}

impl Planned {
    pub fn has_changes(&self) -> bool {
        !matches!(self.outcome, Outcome::NoChanges)
    }
}

pub async fn run(aws: &Aws, clock: &impl Clock, cfg: &PlanConfig) -> Result<Report, Error> {
    check_account(aws, &cfg.stacks).await?;
    let mut outputs: IndexMap<String, String> = IndexMap::new();
    let mut planned = Vec::new();
    for spec in &cfg.stacks.stacks {
        let client = aws.cloudformation.client(spec.region.as_deref());
        if cfg.stacks.selected(spec) {
            let p =
                plan_stack(aws, clock, cfg.schedule, &cfg.stacks, spec, &outputs, false).await?;
            planned.push(p);
        }
        if let Some(info) = cfn::describe_stack(&client, &spec.name).await? {
            outputs.extend(info.outputs);
        }
    }
    let env = cfg.stacks.environment.as_ref();
    let comment_url = match &cfg.comment {
        Some(c) => comment(c, report::plan_comment(&planned, &cfg.allow, env, &c.name)).await,
        None => None,
    };
    report::plan(&planned, &cfg.allow, env, comment_url.as_deref())
}

/// Writes the sticky comment; a failure is a warning, not a failed plan. Returns its URL.
async fn comment(c: &CommentConfig, (marker, body): (String, String)) -> Option<String> {
    let Some(pr) = &c.pull_request else {
        tracing::info!("not a pull request run: no plan comment");
        return None;
    };
    let written = match GitHubApi::new(c.settings.clone()) {
        Ok(api) => upsert_comment(&api, pr, &marker, &body)
            .await
            .map_err(|e| e.into_error("writing the plan comment")),
        Err(e) => Err(e),
    };
    match written {
        Ok(w) => {
            let how = if w.created { "created" } else { "updated" };
            tracing::info!("plan comment {how}: {}", w.url);
            Some(w.url)
        }
        Err(e) => {
            let a = Annotation::new(Level::Warning, e.render()).title("gantry: no plan comment");
            let github = Actions::from_env().github;
            let _ = write_annotation(&mut std::io::stderr().lock(), &a, github);
            None
        }
    }
}

/// Refuses credentials of another account than the environment file's `AccountId`.
pub async fn check_account(aws: &Aws, stacks: &StacksConfig) -> Result<(), Error> {
    let (Some(sts), Some(env)) = (&aws.sts, &stacks.environment) else {
        return Ok(());
    };
    let Some(want) = env.account_id.as_deref() else {
        return Ok(());
    };
    let got = crate::aws::sts::caller_account(sts).await?;
    if got == want {
        return Ok(());
    }
    Err(Error::failed(format!(
        "the credentials are for account {got}; environment {} lives in account {want}: refusing",
        env.name
    ))
    .with_hint("assume a role in the environment's account (aws-actions/configure-aws-credentials), or fix AccountId in its environment file"))
}

/// Plans one stack with the outputs of the stacks before it. With `replace_failed`, a stack in
/// ROLLBACK_COMPLETE is deleted and planned as a new one.
pub async fn plan_stack(
    aws: &Aws,
    clock: &impl Clock,
    schedule: Schedule,
    cfg: &StacksConfig,
    spec: &StackSpec,
    outputs: &IndexMap<String, String>,
    replace_failed: bool,
) -> Result<Planned, Error> {
    let client = aws.cloudformation.client(spec.region.as_deref());
    let masking = masking(spec);
    let planned =
        |outcome, destructions: Vec<Destruction>, replacements, task_definition| Planned {
            stack: spec.name.clone(),
            region: spec.region.clone(),
            outcome,
            digest: spec.template.digest.clone(),
            destructions,
            replacements,
            masking: masking.clone(),
            task_definition,
        };
    let mut parameters = match environment::parameters(spec, outputs) {
        Ok(p) => p,
        Err(u) => {
            return Ok(planned(
                Outcome::Blocked {
                    missing: u.parameters,
                },
                vec![],
                vec![],
                None,
            ));
        }
    };
    let info = cfn::describe_stack(&client, &spec.name).await?;
    let mut state = stack_state(info.as_ref().map(|i| i.status.as_str()));
    if replace_failed && state == plan::StackState::RollbackComplete {
        tracing::info!(
            "{}: ROLLBACK_COMPLETE: deleting it to create it again",
            spec.name
        );
        cfn::delete_stack(&client, &spec.name).await?;
        wait_deleted(&client, clock, schedule, &spec.name).await?;
        state = plan::StackState::Absent;
    }
    let kind = match plan::start(&state) {
        Start::ChangeSet(kind) => kind,
        Start::Recreate => {
            let changes = all_added(&spec.template);
            let destructions = gate::destructions(&spec.name, &[], None, &spec.template);
            return Ok(planned(
                Outcome::Recreate { changes },
                destructions,
                vec![],
                None,
            ));
        }
        Start::Refuse(why) => return Err(Error::failed(format!("{}: {why}", spec.name))),
    };
    let keep = keep_task_definition(aws, &client, spec, &parameters, kind).await?;
    if let Some(k) = &keep {
        if let Some(line) = k.describe() {
            match k {
                Keep::NotFound { .. } => tracing::warn!("{}: {line}", spec.name),
                _ => tracing::info!("{}: {line}", spec.name),
            }
        }
        if let Some(arn) = k.value() {
            parameters.push((running::PARAMETER.to_owned(), arn.to_owned()));
        }
    }
    let deployed: Option<Template> = match kind {
        ChangeSetKind::Update => cfn::stack_template(&client, &spec.name)
            .await?
            .and_then(|body| template::parse(&body).ok()),
        ChangeSetKind::Create => None,
    };
    let source = match &cfg.template_bucket {
        Some(bucket) => {
            let s3 = aws
                .s3
                .as_ref()
                .ok_or_else(|| Error::failed("template-bucket: no S3 client"))?;
            let region = spec.region.as_deref().unwrap_or("us-east-1");
            TemplateSource::Url(
                crate::aws::s3::upload_template(
                    s3,
                    bucket,
                    region,
                    &spec.name,
                    &spec.template.digest,
                    &spec.template.body,
                )
                .await?,
            )
        }
        None => TemplateSource::Body(&spec.template.body),
    };
    let request = ChangeSetRequest {
        stack_name: &spec.name,
        change_set_name: change_set_name(&spec.template.digest),
        kind,
        template: source,
        parameters: &parameters,
        tags: &spec.tags,
        capabilities: &cfg.capabilities,
        role_arn: cfg.role_for(spec),
        description: format!("gantry-stack plan of template {}", spec.template.digest),
    };
    let _group = gantry_kit::report::group(&format!("Plan {} ({})", spec.name, kind.as_str()));
    let id = match cfn::create_change_set(&client, &request).await? {
        Created::NoChanges => return Ok(planned(Outcome::NoChanges, vec![], vec![], keep)),
        Created::Id(id) => id,
    };
    tracing::info!("{}: change set {id}", spec.name);
    let probe = |_| {
        let (client, id) = (client.clone(), id.clone());
        async move {
            let view = cfn::describe_change_set(&client, &id).await?;
            Ok::<_, Error>(match plan::creation(&view.status, view.reason.as_deref()) {
                Creation::Pending(s) => Probe::Pending(s),
                other => Probe::Ready((other, view)),
            })
        }
    };
    let (creation, view) = match poll(clock, schedule, probe).await {
        Ok(r) => r,
        Err(PollError::Probe(e)) => return Err(e),
        Err(PollError::Deadline { last, .. }) => {
            return Err(Error::deadline(format!(
                "{}: change set {id} still {last} at the deadline",
                spec.name
            ))
            .with_hint(
                "raise `timeout`; the change set is left as it is (plan again, or delete it)",
            ));
        }
    };
    match creation {
        Creation::Empty => {
            tracing::info!("{}: no changes; deleting the empty change set", spec.name);
            cfn::delete_change_set(&client, &id).await?;
            Ok(planned(Outcome::NoChanges, vec![], vec![], keep))
        }
        Creation::Failed(reason) => Err(Error::failed(format!(
            "{}: change set {id} failed: {reason}",
            spec.name
        ))),
        Creation::Ready | Creation::Pending(_) => {
            let destructions =
                gate::destructions(&spec.name, &view.changes, deployed.as_ref(), &spec.template);
            let replacements = gate::replacements(&view.changes, &destructions);
            Ok(planned(
                Outcome::Changes {
                    change_set_id: id,
                    kind,
                    changes: view.changes,
                },
                destructions,
                replacements,
                keep,
            ))
        }
    }
}

/// Keeps the service on the task definition it runs (`running`): for an existing stack whose
/// template sets an ECS service's task definition from `TaskDefinitionArn`, and a run that gives
/// no value for it, reads the service (ListStackResources, then ECS DescribeServices).
async fn keep_task_definition(
    aws: &Aws,
    client: &aws_sdk_cloudformation::Client,
    spec: &StackSpec,
    parameters: &[(String, String)],
    kind: ChangeSetKind,
) -> Result<Option<Keep>, Error> {
    let (Some(target), Some(ecs)) = (running::service_of(&spec.template), &aws.ecs) else {
        return Ok(None);
    };
    let given = parameters.iter().any(|(k, _)| k == running::PARAMETER);
    if given || kind == ChangeSetKind::Create {
        return Ok(Some(running::decide(given, false, None, None, &[])));
    }
    let resources = cfn::stack_resources(client, &spec.name).await?;
    let physical = |id: &str| {
        resources
            .iter()
            .find(|r| r.logical_id == id)
            .and_then(|r| r.physical_id.clone())
    };
    let own: Vec<String> = resources
        .iter()
        .filter(|r| r.resource_type == "AWS::ECS::TaskDefinition")
        .filter_map(|r| r.physical_id.clone())
        .collect();
    let (label, arn) = match physical(&target.service) {
        None => (None, None),
        Some(id) => {
            let cluster = match &target.cluster {
                Some(ClusterRef::Resource(c)) => physical(c),
                Some(ClusterRef::Literal(c)) => Some(c.clone()),
                None => None,
            };
            let (cluster, service) = running::describe_target(&id, cluster.as_deref());
            let arn = crate::aws::ecs::service_task_definition(
                &ecs.client(spec.region.as_deref()),
                cluster.as_deref(),
                &service,
            )
            .await?;
            let name = service.rsplit('/').next().unwrap_or(&service);
            let label = match &cluster {
                Some(c) => format!("{}/{name}", c.rsplit('/').next().unwrap_or(c)),
                None => name.to_owned(),
            };
            (Some(label), arn)
        }
    };
    Ok(Some(running::decide(
        false,
        true,
        label.as_deref(),
        arn.as_deref(),
        &own,
    )))
}

/// NoEcho parameter names and the values given for them.
fn masking(spec: &StackSpec) -> Masking {
    let no_echo = environment::no_echo(spec);
    let secrets: Vec<String> = no_echo
        .iter()
        .filter_map(|k| spec.given.get(k).cloned())
        .filter(|v| !v.is_empty())
        .collect();
    for s in &secrets {
        gantry_kit::report::mask(s.as_str());
    }
    Masking { no_echo, secrets }
}

/// Every resource of a template as an `Add` (what re-creating a failed stack does).
fn all_added(t: &Template) -> Vec<ResourceChange> {
    t.resources
        .iter()
        .map(|(id, r)| ResourceChange::new(Action::Add, id, &r.resource_type))
        .collect()
}

/// `gantry-<12 hex of the template digest>-<unix seconds>`: unique per plan, and it says which
/// template it carries.
fn change_set_name(digest: &str) -> String {
    let hex: String = digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("gantry-{hex}-{secs}")
}

async fn wait_deleted(
    client: &aws_sdk_cloudformation::Client,
    clock: &impl Clock,
    schedule: Schedule,
    name: &str,
) -> Result<(), Error> {
    let probe = |_| {
        let client = client.clone();
        async move {
            Ok::<_, Error>(match cfn::describe_stack(&client, name).await? {
                None => Probe::Ready(Ok(())),
                Some(i) if i.status == "DELETE_COMPLETE" => Probe::Ready(Ok(())),
                Some(i) if i.status == "DELETE_FAILED" => {
                    Probe::Ready(Err(i.reason.unwrap_or_default()))
                }
                Some(i) => Probe::Pending(i.status),
            })
        }
    };
    match poll(clock, schedule, probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(Error::failed(format!("{name}: DELETE_FAILED: {reason}"))),
        Err(PollError::Probe(e)) => Err(e),
        Err(PollError::Deadline { last, .. }) => Err(Error::deadline(format!(
            "{name}: still {last} at the deadline while deleting it to create it again"
        ))),
    }
}
