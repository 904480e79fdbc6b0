//! gantry-image: container images to ECR over the registry protocol — a daemonless push that
//! skips what is there, and promotion between repositories and registries by digest.
//!
//! [`source`] reads images from disk, [`plan`] holds the pure decisions, [`registry`] is the OCI
//! distribution client, [`ecr`] the ECR API edge; [`push`] and [`promote`] glue them.

pub mod ecr;
pub mod plan;
pub mod reference;
pub mod registry;
pub mod source;

use clap::{Parser, Subcommand};
use futures::{StreamExt, TryStreamExt};
use gantry_kit::aws::AwsArgs;
use gantry_kit::cli::{split_list, split_unique};
use gantry_kit::{Error, Outputs, Report};
use plan::{BlobOutcome, Row, TagStep};
use reference::{REPOSITORY_RULE, Reference, RegistryAddr, TAG_RULE};
use registry::{Mount, Registry, RegistryError, short};
use serde_json::json;
use source::{Blob, Descriptor, Image, Source};
use std::time::Instant;

/// Untagged images expire after this many days under the lifecycle policy `--create-repository` sets.
pub const UNTAGGED_DAYS: u32 = 7;

/// Push a container image from disk to ECR, or promote one between repositories by digest.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-image", version)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON", global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Push an image a build left on disk (OCI layout, OCI archive, docker save archive).
    Push(PushArgs),
    /// Copy an image by digest to another repository or registry and tag it there.
    Promote(PromoteArgs),
}

/// Repository settings for `--create-repository`.
#[derive(clap::Args, Debug, Clone)]
pub struct RepoArgs {
    /// Create the repository when it does not exist (with the settings below and a lifecycle
    /// policy). An existing repository is left as it is, with a warning where it differs.
    #[arg(long, env = "GANTRY_CREATE_REPOSITORY")]
    pub create_repository: bool,

    /// Scan images on push (a created repository): `true` or `false`.
    #[arg(long, env = "GANTRY_SCAN_ON_PUSH", default_value = "true")]
    pub scan_on_push: String,

    /// Tag mutability of a created repository: `MUTABLE` or `IMMUTABLE`.
    #[arg(long, env = "GANTRY_TAG_MUTABILITY", default_value = "MUTABLE")]
    pub tag_mutability: String,

    /// Lifecycle policy of a created repository: keep the last N images (untagged ones expire
    /// after 7 days).
    #[arg(long, env = "GANTRY_LIFECYCLE_KEEP", default_value = "50")]
    pub lifecycle_keep: String,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PushArgs {
    /// The image on disk: `oci:DIR[:TAG]`, `oci-archive:FILE` or `docker-archive:FILE`.
    #[arg(long, env = "GANTRY_SOURCE")]
    pub source: Option<String>,

    /// The repository to push to, e.g. `shop/api`.
    #[arg(long, env = "GANTRY_REPOSITORY")]
    pub repository: Option<String>,

    /// Tags to apply, e.g. `sha-abc1234 latest`. Repeatable; split on newlines, a single line
    /// on whitespace. Without tags the image is pushed by digest only.
    #[arg(long = "tags", alias = "tag", env = "GANTRY_TAGS", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// The registry: `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (default: the caller's account and
    /// region), or `http://127.0.0.1:PORT` for a local registry (plain HTTP only on loopback).
    #[arg(long, env = "GANTRY_REGISTRY")]
    pub registry: Option<String>,

    /// Repositories of the same registry to mount missing blobs from (e.g. the base image's).
    #[arg(long = "mount-from", env = "GANTRY_MOUNT_FROM", value_name = "REPOS")]
    pub mount_from: Vec<String>,

    /// Blobs uploaded (and verified) at once.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value = "4")]
    pub concurrency: String,

    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print what would be uploaded and tagged; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PromoteArgs {
    /// The image to promote: `REPO@sha256:…` or `REPO:TAG`.
    #[arg(long, env = "GANTRY_FROM")]
    pub from: Option<String>,

    /// Where to: `REPO[:TAG]`. With no tag here nor in `--tags`, a `--from` tag is reused.
    #[arg(long, env = "GANTRY_TO")]
    pub to: Option<String>,

    /// More tags to apply in the destination. Repeatable; split like every list.
    #[arg(long = "tags", alias = "tag", env = "GANTRY_TAGS", value_name = "TAGS")]
    pub tags: Vec<String>,

    /// The source registry (default: the caller's ECR registry).
    #[arg(long, env = "GANTRY_FROM_REGISTRY")]
    pub from_registry: Option<String>,

    /// The destination registry (default: the caller's ECR registry).
    #[arg(long, env = "GANTRY_TO_REGISTRY")]
    pub to_registry: Option<String>,

    /// Blobs copied at once.
    #[arg(long, env = "GANTRY_CONCURRENCY", default_value = "4")]
    pub concurrency: String,

    #[command(flatten)]
    pub repo: RepoArgs,

    /// Print what would be copied and tagged; write nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Validated repository settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    pub create: bool,
    pub settings: ecr::RepoSettings,
}

/// A validated push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushConfig {
    pub source: Source,
    pub repository: String,
    pub tags: Vec<String>,
    pub registry: Option<RegistryAddr>,
    pub mount_from: Vec<String>,
    pub concurrency: usize,
    pub repo: RepoConfig,
    pub dry_run: bool,
}

/// A validated promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteConfig {
    pub from_repo: String,
    pub from_ref: Reference,
    pub to_repo: String,
    pub tags: Vec<String>,
    pub from_registry: Option<RegistryAddr>,
    pub to_registry: Option<RegistryAddr>,
    pub concurrency: usize,
    pub repo: RepoConfig,
    pub dry_run: bool,
}

fn check_tags(tags: &[String], input: &str) -> Result<(), Error> {
    for t in tags {
        reference::check_tag(t)
            .map_err(|e| Error::input(format!("{input}: {e}")).with_hint(TAG_RULE))?;
    }
    Ok(())
}

fn check_repo(name: &str, input: &str) -> Result<(), Error> {
    reference::check_repository(name)
        .map_err(|e| Error::input(format!("{input}: {e}")).with_hint(REPOSITORY_RULE))
}

/// A text input, trimmed; None when not given or blank.
fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A text input that must be given (exit 2 naming it, with `hint`, when it is not).
fn required<'a>(s: Option<&'a str>, input: &str, hint: &str) -> Result<&'a str, Error> {
    given(s).ok_or_else(|| Error::input(format!("{input}: required")).with_hint(hint))
}

fn registry_opt(s: Option<&str>, input: &str) -> Result<Option<RegistryAddr>, Error> {
    given(s)
        .map(|s| {
            reference::parse_registry(s).map_err(|e| {
                Error::input(format!("{input}: {e}")).with_hint(
                    "use ACCOUNT.dkr.ecr.REGION.amazonaws.com, or http://127.0.0.1:PORT for a local registry",
                )
            })
        })
        .transpose()
}

fn concurrency(s: &str) -> Result<usize, Error> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(Error::input(format!(
            "concurrency: `{}` is not a number from 1 to 64",
            s.trim()
        ))
        .with_hint("use e.g. `4` (blobs transferred at once)")),
    }
}

fn repo_config(a: &RepoArgs) -> Result<RepoConfig, Error> {
    let scan_on_push = match a.scan_on_push.trim().to_ascii_lowercase().as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(
                Error::input(format!("scan-on-push: `{other}` is not true or false"))
                    .with_hint("use `true` or `false`"),
            );
        }
    };
    let immutable = match a.tag_mutability.trim().to_ascii_uppercase().as_str() {
        "IMMUTABLE" => true,
        "MUTABLE" => false,
        other => {
            return Err(Error::input(format!(
                "tag-mutability: `{other}` is not MUTABLE or IMMUTABLE"
            ))
            .with_hint("use `MUTABLE` or `IMMUTABLE`"));
        }
    };
    let lifecycle_keep = match a.lifecycle_keep.trim().parse::<u32>() {
        Ok(n) if (1..=10_000).contains(&n) => n,
        _ => {
            return Err(Error::input(format!(
                "lifecycle-keep: `{}` is not a number from 1 to 10000",
                a.lifecycle_keep.trim()
            ))
            .with_hint("use e.g. `50` (images kept)"));
        }
    };
    Ok(RepoConfig {
        create: a.create_repository,
        settings: ecr::RepoSettings {
            scan_on_push,
            immutable,
            lifecycle_keep,
            untagged_days: UNTAGGED_DAYS,
        },
    })
}

/// Checks every push input before anything is called. Errors are exit 2 and name the input.
pub fn validate_push(a: &PushArgs) -> Result<PushConfig, Error> {
    let raw = required(
        a.source.as_deref(),
        "source",
        "pass --source (input `source`): oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE",
    )?;
    let source = source::parse_source(raw)
        .map_err(|e| Error::input(format!("source: {e}")).with_hint(e.hint()))?;
    let repository = required(
        a.repository.as_deref(),
        "repository",
        "pass --repository, e.g. `shop/api`",
    )?
    .to_owned();
    check_repo(&repository, "repository")?;
    let tags = split_unique(&a.tags);
    check_tags(&tags, "tags")?;
    let mount_from = split_list(&a.mount_from);
    for m in &mount_from {
        check_repo(m, "mount-from")?;
    }
    Ok(PushConfig {
        source,
        repository,
        tags,
        registry: registry_opt(a.registry.as_deref(), "registry")?,
        mount_from,
        concurrency: concurrency(&a.concurrency)?,
        repo: repo_config(&a.repo)?,
        dry_run: a.dry_run,
    })
}

/// Checks every promote input before anything is called.
pub fn validate_promote(a: &PromoteArgs) -> Result<PromoteConfig, Error> {
    let from = required(
        a.from.as_deref(),
        "from",
        "pass --from REPO@sha256:… or REPO:TAG",
    )?;
    let (from_repo, from_ref) = reference::parse_from(from).map_err(|e| {
        Error::input(format!("from: {e}"))
            .with_hint("use REPO@sha256:<64 hex> or REPO:TAG, e.g. `staging/api:sha-abc1234`")
    })?;
    let to = required(
        a.to.as_deref(),
        "to",
        "pass --to REPO[:TAG], e.g. `prod/api:v1.4.0`",
    )?;
    let (to_repo, to_tag) = reference::parse_to(to).map_err(|e| {
        Error::input(format!("to: {e}")).with_hint("use REPO[:TAG], e.g. `prod/api:v1.4.0`")
    })?;
    let extra = split_list(&a.tags);
    check_tags(&extra, "tags")?;
    // A tag given twice is written once (checked tags hold no whitespace, so nothing is re-split).
    let mut tags = split_unique(to_tag.into_iter().chain(extra));
    if tags.is_empty()
        && let Reference::Tag(t) = &from_ref
    {
        tags.push(t.clone());
    }
    Ok(PromoteConfig {
        from_repo,
        from_ref,
        to_repo,
        tags,
        from_registry: registry_opt(a.from_registry.as_deref(), "from-registry")?,
        to_registry: registry_opt(a.to_registry.as_deref(), "to-registry")?,
        concurrency: concurrency(&a.concurrency)?,
        repo: repo_config(&a.repo)?,
        dry_run: a.dry_run,
    })
}

/// Counts and rows of what happened to the blobs.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub rows: Vec<Row>,
    pub pushed: usize,
    pub mounted: usize,
    pub skipped: usize,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, b: &impl BlobRef, outcome: BlobOutcome) {
        let (digest, media_type, size) = b.parts();
        match outcome {
            BlobOutcome::Uploaded => {
                self.pushed += 1;
                self.bytes += size;
            }
            BlobOutcome::Mounted => self.mounted += 1,
            BlobOutcome::Present => self.skipped += 1,
        }
        self.rows.push(Row {
            digest: digest.to_owned(),
            media_type: media_type.to_owned(),
            size,
            status: outcome.as_str().to_owned(),
        });
    }

    /// Counts what happened to the blobs sent (`results` by index into `sent`, in any order),
    /// in the order of `sent`.
    fn record<B: BlobRef>(&mut self, sent: &[&B], mut results: Vec<(usize, BlobOutcome)>) {
        results.sort_by_key(|(i, _)| *i);
        for (i, outcome) in results {
            self.add(sent[i], outcome);
        }
    }

    /// The outputs of a dry run: nothing sent, only what is there already counted.
    fn dry_run(&self) -> Self {
        Self {
            skipped: self.skipped,
            ..Self::default()
        }
    }
}

/// A blob as the tally sees it: one on disk ([`Blob`]) or one a registry lists ([`Descriptor`]).
trait BlobRef {
    /// Digest, media type, size.
    fn parts(&self) -> (&str, &str, u64);
}

impl BlobRef for Blob {
    fn parts(&self) -> (&str, &str, u64) {
        (&self.digest, &self.media_type, self.size)
    }
}

impl BlobRef for Descriptor {
    fn parts(&self) -> (&str, &str, u64) {
        (&self.digest, &self.media_type, self.size)
    }
}

/// The blobs `repo` lacks, in order; those it has are counted as present. When its manifest
/// is there every blob is, and nothing is asked; else each blob is asked for (HEAD).
async fn missing_blobs<'a, B: BlobRef>(
    reg: &Registry,
    repo: &str,
    blobs: &'a [B],
    manifest_there: bool,
    concurrency: usize,
    tally: &mut Tally,
) -> Result<Vec<&'a B>, Error> {
    let present: Vec<bool> = if manifest_there {
        vec![true; blobs.len()]
    } else {
        futures::stream::iter(blobs.iter().map(|b| reg.blob_exists(repo, b.parts().0)))
            .buffered(concurrency * 2)
            .try_collect()
            .await
            .map_err(reg_err)?
    };
    let mut missing = Vec::new();
    for (b, there) in blobs.iter().zip(present) {
        if there {
            tally.add(b, BlobOutcome::Present);
        } else {
            missing.push(b);
        }
    }
    Ok(missing)
}

/// The outputs every mode writes.
pub fn outputs(host: &str, repo: &str, digest: &str, tags: &[String], t: &Tally) -> Outputs {
    let mut o = Outputs::new();
    o.set("image", format!("{host}/{repo}@{digest}"))
        .set("digest", digest)
        .set(
            "uri",
            tags.first()
                .map(|t| format!("{host}/{repo}:{t}"))
                .unwrap_or_default(),
        )
        .set_list("tags", tags.iter().cloned())
        .set("pushed-blobs", t.pushed)
        .set("mounted-blobs", t.mounted)
        .set("skipped-blobs", t.skipped)
        .set("bytes-pushed", t.bytes);
    o
}

fn reg_err(e: RegistryError) -> Error {
    let hint = match e.status {
        Some(401 | 403) => Some(
            "the registry refused the credentials; check the role may push to this repository (ecr:InitiateLayerUpload, ecr:PutImage, …)",
        ),
        None => Some("could not reach the registry; check --registry and the network"),
        _ => None,
    };
    let err = Error::failed(e.message);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The ECR side of a run: a client, and (unless the registry is a loopback HTTP one) a token.
struct Aws {
    client: aws_sdk_ecr::Client,
}

impl Aws {
    /// The ECR client, in the region of `registry` when it is an ECR host (its token only
    /// works there), else in the SDK's region.
    async fn new(args: &AwsArgs, registry: Option<&RegistryAddr>) -> Self {
        let sdk = gantry_kit::aws::sdk_config(args, Some("us-east-1")).await;
        let mut conf = aws_sdk_ecr::config::Builder::from(&sdk);
        if let Some(region) = registry.and_then(RegistryAddr::ecr_region) {
            conf = conf.region(aws_sdk_ecr::config::Region::new(region.to_owned()));
        }
        Self {
            client: aws_sdk_ecr::Client::from_conf(conf.build()),
        }
    }

    /// A registry client for `addr` (or the caller's ECR registry), with credentials when it
    /// is not a loopback HTTP registry. The token is fetched once.
    async fn registry(
        &self,
        addr: Option<&RegistryAddr>,
        token: &mut Option<ecr::Token>,
        input: &str,
    ) -> Result<Registry, Error> {
        if let Some(a) = addr.filter(|a| a.insecure) {
            return Registry::new(a.clone(), None).map_err(Error::failed);
        }
        if token.is_none() {
            *token = Some(ecr::token(&self.client).await?);
        }
        let t = token.as_ref().expect("set above");
        let addr = match addr {
            Some(a) => a.clone(),
            None => {
                let host = t.registry.as_deref().ok_or_else(|| {
                    Error::failed("ECR GetAuthorizationToken named no registry")
                        .with_hint(format!("pass {input} explicitly"))
                })?;
                reference::parse_registry(host).map_err(Error::failed)?
            }
        };
        Registry::new(addr, Some(&t.basic)).map_err(Error::failed)
    }

    /// Describes `repo` (read-only): whether its tags are immutable, and whether it still has
    /// to be created (only with `--create-repository`; otherwise a missing one is exit 1).
    async fn repository(
        &self,
        reg: &RegistryAddr,
        repo: &str,
        rc: &RepoConfig,
    ) -> Result<RepoState, Error> {
        match ecr::describe(&self.client, reg.ecr_account(), repo).await? {
            Some(info) => {
                if rc.create {
                    for d in ecr::differences(&info, &rc.settings) {
                        tracing::warn!("repository {repo} exists and is left as it is: {d}");
                    }
                }
                Ok(RepoState { immutable: info.immutable(), create: false })
            }
            None if rc.create => Ok(RepoState { immutable: rc.settings.immutable, create: true }),
            None => Err(Error::failed(format!("repository {repo} does not exist in ECR"))
                .with_hint("create it (infra/) or pass --create-repository (input `create-repository: true`)")),
        }
    }

    /// Creates the repository a [`RepoState`] says is missing: the first write of a run.
    async fn create(
        &self,
        reg: &RegistryAddr,
        repo: &str,
        rc: &RepoConfig,
        state: &RepoState,
    ) -> Result<(), Error> {
        if state.create && ecr::create(&self.client, reg.ecr_account(), repo, &rc.settings).await? {
            tracing::info!(
                "created repository {repo} (scan on push: {}, tags {}, keep the last {} images)",
                rc.settings.scan_on_push,
                if rc.settings.immutable {
                    "immutable"
                } else {
                    "mutable"
                },
                rc.settings.lifecycle_keep
            );
        }
        Ok(())
    }
}

/// What DescribeRepositories said about the destination.
#[derive(Debug, Clone, Copy)]
struct RepoState {
    immutable: bool,
    create: bool,
}

/// Where each tag points now and what to do about it; refuses (exit 1) before any write when a
/// tag of an immutable repository points elsewhere.
async fn plan_tags(
    reg: &Registry,
    repo: &str,
    digest: &str,
    tags: &[String],
    immutable: bool,
) -> Result<Vec<(String, TagStep)>, Error> {
    let heads = tag_heads(reg, repo, tags).await;
    decide_tags(repo, digest, tags, heads?, immutable)
}

/// Where each tag points now (HEAD, all at once).
async fn tag_heads(
    reg: &Registry,
    repo: &str,
    tags: &[String],
) -> Result<Vec<Option<String>>, Error> {
    futures::future::try_join_all(tags.iter().map(|t| reg.manifest_digest(repo, t)))
        .await
        .map_err(reg_err)
}

fn decide_tags(
    repo: &str,
    digest: &str,
    tags: &[String],
    heads: Vec<Option<String>>,
    immutable: bool,
) -> Result<Vec<(String, TagStep)>, Error> {
    let mut steps = Vec::new();
    for (tag, existing) in tags.iter().zip(heads) {
        let step = plan::tag_step(existing.as_deref(), digest, immutable);
        if let TagStep::Refuse { existing } = &step {
            return Err(refusal(repo, tag, existing, digest));
        }
        steps.push((tag.clone(), step));
    }
    Ok(steps)
}

fn refusal(repo: &str, tag: &str, existing: &str, digest: &str) -> Error {
    Error::failed(format!(
        "tag {tag} in immutable repository {repo} points to {existing}, not to {digest}; nothing was tagged"
    ))
    .with_hint("use a new tag (e.g. the commit sha), or make the repository MUTABLE if moving tags is intended")
}

/// Applies the planned tags by manifest PUT (as `docker push` does).
async fn apply_tags(
    reg: &Registry,
    repo: &str,
    top: &source::Manifest,
    steps: &[(String, TagStep)],
) -> Result<(), Error> {
    for (tag, step) in steps {
        match step {
            TagStep::Keep => tracing::info!("tag {tag} already points to {}", short(&top.digest)),
            TagStep::Move { from } => {
                tracing::warn!(
                    "moving tag {tag} from {} to {}",
                    short(from),
                    short(&top.digest)
                );
            }
            TagStep::Write => tracing::info!("tagging {tag}"),
            TagStep::Refuse { .. } => unreachable!("refused in plan_tags"),
        }
        if matches!(step, TagStep::Keep) {
            continue;
        }
        if let Err(e) = reg
            .manifest_put(repo, tag, &top.media_type, &top.bytes)
            .await
        {
            if plan::is_immutable_tag_conflict(e.status.unwrap_or(0), &e.body) {
                // Another run wrote the tag between our HEAD and PUT.
                let now = reg
                    .manifest_digest(repo, tag)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "another image".into());
                if now == top.digest {
                    continue;
                }
                return Err(refusal(repo, tag, &now, &top.digest));
            }
            return Err(reg_err(e));
        }
    }
    Ok(())
}

/// PUTs manifests by digest, children before the index that lists them.
async fn put_manifests(
    reg: &Registry,
    repo: &str,
    manifests: &[source::Manifest],
) -> Result<(), Error> {
    for m in manifests {
        reg.manifest_put(repo, &m.digest, &m.media_type, &m.bytes)
            .await
            .map_err(reg_err)?;
    }
    Ok(())
}

fn plan_json(
    tally: &Tally,
    tags: &[(String, TagStep)],
    would_upload: &[&Blob],
) -> serde_json::Value {
    json!({
        "upload": would_upload.iter().map(|b| json!({"digest": b.digest, "size": b.size, "media-type": b.media_type})).collect::<Vec<_>>(),
        "upload-bytes": would_upload.iter().map(|b| b.size).sum::<u64>(),
        "present": tally.rows.iter().filter(|r| r.status == BlobOutcome::Present.as_str()).map(|r| r.digest.clone()).collect::<Vec<_>>(),
        "tags": tags.iter().map(|(t, s)| json!({"tag": t, "step": match s {
            TagStep::Write => "write".to_owned(),
            TagStep::Keep => "keep".to_owned(),
            TagStep::Move { from } => format!("move from {from}"),
            TagStep::Refuse { existing } => format!("refuse: points to {existing}"),
        }})).collect::<Vec<_>>(),
    })
}

/// `push`: load, check, plan, upload what is missing, put manifests, tag.
pub async fn push(cfg: &PushConfig, aws: &AwsArgs) -> Result<Report, Error> {
    let src = cfg.source.clone();
    let image: Image = tokio::task::spawn_blocking(move || source::load(&src))
        .await
        .map_err(|e| Error::failed(format!("internal: {e}")))?
        .map_err(|e| Error::input(format!("source: {e}")).with_hint(e.hint()))?;
    let top = image.top().clone();
    tracing::info!(
        "image {} ({} manifest(s), {} blob(s), {})",
        top.digest,
        image.manifests.len(),
        image.blobs.len(),
        plan::human_bytes(image.total_bytes())
    );
    let aws_side = Aws::new(aws, cfg.registry.as_ref()).await;
    let mut token = None;
    let reg = aws_side
        .registry(cfg.registry.as_ref(), &mut token, "--registry")
        .await?;
    let repo = cfg.repository.as_str();
    // The ECR API (repository settings) and the registry (is the image there?) are asked at
    // once: a re-run is these few round trips.
    // An image whose manifest is there has every blob there: nothing to read or upload.
    let (state, there, heads) = tokio::join!(
        aws_side.repository(&reg.addr, repo, &cfg.repo),
        reg.manifest_digest(repo, &top.digest),
        tag_heads(&reg, repo, &cfg.tags)
    );
    let state = state?;
    let manifest_there = there.map_err(reg_err)?.is_some();
    let mut tally = Tally::default();
    let missing = missing_blobs(
        &reg,
        repo,
        &image.blobs,
        manifest_there,
        cfg.concurrency,
        &mut tally,
    )
    .await?;
    let missing_bytes = plan::human_bytes(missing.iter().map(|b| b.size).sum());

    // Every blob that would be sent is read and checked first: a corrupt one stops the push
    // before anything is written.
    {
        let _g = gantry_kit::report::group("Verify");
        let started = Instant::now();
        futures::stream::iter(missing.iter().map(|b| {
            let b = (*b).clone();
            async move {
                tokio::task::spawn_blocking(move || source::verify(&b))
                    .await
                    .map_err(|e| Error::failed(format!("internal: {e}")))?
                    .map_err(|e| Error::input(format!("source: {e}")).with_hint(e.hint()))
            }
        }))
        .buffer_unordered(cfg.concurrency)
        .try_collect::<Vec<()>>()
        .await?;
        tracing::info!(
            "verified {} blob(s) to send ({missing_bytes}) in {:.1}s",
            missing.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let tag_steps = decide_tags(repo, &top.digest, &cfg.tags, heads?, state.immutable)?;
    let host = reg.addr.host.clone();

    if cfg.dry_run {
        let mut p = plan_json(&tally, &tag_steps, &missing);
        p["create-repository"] = json!(state.create);
        for b in &missing {
            tracing::info!(
                "would upload {} ({})",
                short(&b.digest),
                plan::human_bytes(b.size)
            );
        }
        return Ok(Report {
            outputs: outputs(&host, repo, &top.digest, &cfg.tags, &tally.dry_run()),
            plan: Some(p),
            summary: Some(format!(
                "Dry run: nothing was pushed. {} blob(s) ({missing_bytes}) would be uploaded, {} are there.",
                missing.len(),
                tally.skipped
            )),
        });
    }

    aws_side.create(&reg.addr, repo, &cfg.repo, &state).await?;
    {
        let _g = gantry_kit::report::group("Upload");
        let results: Vec<(usize, BlobOutcome)> =
            futures::stream::iter(missing.iter().enumerate().map(|(i, b)| {
                let reg = &reg;
                async move {
                    let started = Instant::now();
                    let outcome = send_blob(reg, repo, b, &cfg.mount_from)
                        .await
                        .map_err(reg_err)?;
                    tracing::info!(
                        "{} {} {} in {:.1}s",
                        outcome.as_str(),
                        short(&b.digest),
                        plan::human_bytes(b.size),
                        started.elapsed().as_secs_f64()
                    );
                    Ok::<_, Error>((i, outcome))
                }
            }))
            .buffer_unordered(cfg.concurrency)
            .try_collect()
            .await
            .map_err(|e: Error| e.with_outputs(outputs(&host, repo, &top.digest, &[], &tally)))?;
        tally.record(&missing, results);
    }
    if !manifest_there {
        put_manifests(&reg, repo, &image.manifests).await?;
    }
    apply_tags(&reg, repo, &top, &tag_steps).await?;
    tracing::info!(
        "pushed {host}/{repo}@{}: {} blob(s) uploaded ({}), {} mounted, {} already there",
        top.digest,
        tally.pushed,
        plan::human_bytes(tally.bytes),
        tally.mounted,
        tally.skipped
    );
    Ok(Report {
        outputs: outputs(&host, repo, &top.digest, &cfg.tags, &tally),
        plan: None,
        summary: Some(plan::table(&tally.rows)),
    })
}

/// Mounts (when a repository to mount from is given) or uploads one blob.
async fn send_blob(
    reg: &Registry,
    repo: &str,
    b: &Blob,
    mount_from: &[String],
) -> Result<BlobOutcome, RegistryError> {
    let mut session = None;
    for from in mount_from.iter().filter(|f| f.as_str() != repo) {
        match reg.mount(repo, &b.digest, from).await? {
            Mount::Mounted => return Ok(BlobOutcome::Mounted),
            // Not in that repository: the registry opened an upload instead; the next
            // candidate may still have it, else this session takes the upload.
            Mount::Upload(loc) => session = Some(loc),
        }
    }
    reg.upload(repo, b, session).await?;
    Ok(BlobOutcome::Uploaded)
}

/// `promote`: copy a manifest (and its blobs) by digest, then tag it.
pub async fn promote(cfg: &PromoteConfig, aws: &AwsArgs) -> Result<Report, Error> {
    let aws_side = Aws::new(aws, cfg.to_registry.as_ref()).await;
    let mut token = None;
    let src = aws_side
        .registry(cfg.from_registry.as_ref(), &mut token, "--from-registry")
        .await?;
    let dst = aws_side
        .registry(cfg.to_registry.as_ref(), &mut token, "--to-registry")
        .await?;
    let from = cfg.from_repo.as_str();
    let to = cfg.to_repo.as_str();
    let top = src
        .manifest_get(from, cfg.from_ref.as_str())
        .await
        .map_err(reg_err)?
        .ok_or_else(|| {
            Error::failed(format!("{}/{from}: no image {}", src.addr.host, cfg.from_ref.as_str()))
                .with_hint("check --from and --from-registry; promote what was pushed, by the digest the push printed")
        })?;
    if let Reference::Digest(d) = &cfg.from_ref
        && *d != top.digest
    {
        return Err(Error::failed(format!(
            "the registry answered {d} with a manifest hashing to {}",
            top.digest
        )));
    }
    let digest = top.digest.clone();
    tracing::info!(
        "promoting {}/{from}@{digest} to {}/{to}",
        src.addr.host,
        dst.addr.host
    );
    // Children (for an index) by digest, then their blobs.
    let mut manifests = Vec::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    collect(&src, from, top, &mut manifests, &mut blobs, 0).await?;
    let state = aws_side.repository(&dst.addr, to, &cfg.repo).await?;
    let there = dst
        .manifest_digest(to, &digest)
        .await
        .map_err(reg_err)?
        .is_some();
    let mut tally = Tally::default();
    let missing = missing_blobs(&dst, to, &blobs, there, cfg.concurrency, &mut tally).await?;
    let tag_steps = plan_tags(&dst, to, &digest, &cfg.tags, state.immutable).await?;
    let same_registry = src.addr.host == dst.addr.host;
    if cfg.dry_run {
        return Ok(Report {
            outputs: outputs(&dst.addr.host, to, &digest, &cfg.tags, &tally.dry_run()),
            plan: Some(json!({
                "copy": missing.iter().map(|b| json!({"digest": b.digest, "size": b.size, "by": if same_registry { "mount" } else { "copy" }})).collect::<Vec<_>>(),
                "tags": tag_steps.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
                "create-repository": state.create,
            })),
            summary: Some(format!(
                "Dry run: nothing was copied. {} blob(s) would be copied.",
                missing.len()
            )),
        });
    }
    aws_side.create(&dst.addr, to, &cfg.repo, &state).await?;
    let results: Vec<(usize, BlobOutcome)> =
        futures::stream::iter(missing.iter().enumerate().map(|(i, b)| {
            let (src, dst) = (&src, &dst);
            async move {
                let outcome = if same_registry && from != to {
                    match dst.mount(to, &b.digest, from).await? {
                        Mount::Mounted => BlobOutcome::Mounted,
                        Mount::Upload(_) => {
                            dst.upload_from(to, &b.digest, b.size, src, from).await?;
                            BlobOutcome::Uploaded
                        }
                    }
                } else {
                    dst.upload_from(to, &b.digest, b.size, src, from).await?;
                    BlobOutcome::Uploaded
                };
                tracing::info!(
                    "{} {} {}",
                    outcome.as_str(),
                    short(&b.digest),
                    plan::human_bytes(b.size)
                );
                Ok::<_, RegistryError>((i, outcome))
            }
        }))
        .buffer_unordered(cfg.concurrency)
        .try_collect()
        .await
        .map_err(reg_err)?;
    tally.record(&missing, results);
    let top_local = manifests.last().expect("collect pushes the top manifest");
    if !there {
        put_manifests(&dst, to, &manifests).await?;
    }
    apply_tags(&dst, to, top_local, &tag_steps).await?;
    let landed = dst.manifest_digest(to, &digest).await.map_err(reg_err)?;
    if landed.as_deref() != Some(digest.as_str()) {
        return Err(Error::failed(format!(
            "{to}@{digest} is not in the destination after the copy"
        )));
    }
    Ok(Report {
        outputs: outputs(&dst.addr.host, to, &digest, &cfg.tags, &tally),
        plan: None,
        summary: Some(plan::table(&tally.rows)),
    })
}

/// Gathers manifests (children first) and blob descriptors below `m`.
async fn collect(
    reg: &Registry,
    repo: &str,
    m: registry::RemoteManifest,
    manifests: &mut Vec<source::Manifest>,
    blobs: &mut Vec<Descriptor>,
    depth: u32,
) -> Result<(), Error> {
    if depth > 4 || manifests.iter().any(|x| x.digest == m.digest) {
        return Ok(());
    }
    let parsed = source::parse_manifest(&m.bytes)
        .map_err(|e| Error::failed(format!("{repo}@{}: {e}", m.digest)))?;
    for child in &parsed.children {
        let got = reg
            .manifest_get(repo, &child.digest)
            .await
            .map_err(reg_err)?
            .ok_or_else(|| {
                Error::failed(format!(
                    "{repo}: the index lists {} but the registry does not have it",
                    child.digest
                ))
            })?;
        Box::pin(collect(reg, repo, got, manifests, blobs, depth + 1)).await?;
    }
    for b in parsed.blobs {
        if !blobs.iter().any(|x| x.digest == b.digest)
            && b.urls.as_ref().is_none_or(|u| u.is_empty())
        {
            blobs.push(b);
        }
    }
    let media_type = parsed.media_type.unwrap_or(m.media_type);
    manifests.push(source::Manifest {
        digest: m.digest,
        media_type,
        bytes: m.bytes,
    });
    Ok(())
}

/// The whole command.
pub async fn run(args: Args) -> Result<Report, Error> {
    match args.command {
        Command::Push(a) => {
            let cfg = validate_push(&a)?;
            push(&cfg, &a.aws).await
        }
        Command::Promote(a) => {
            let cfg = validate_promote(&a)?;
            promote(&cfg, &a.aws).await
        }
    }
}

/// The title of the step summary for a command.
pub fn title(args: &Args) -> &'static str {
    match args.command {
        Command::Push(_) => "Image push",
        Command::Promote(_) => "Image promotion",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Command {
        gantry_kit::cli::try_parse_from::<Args, _, _>(
            std::iter::once("gantry-image").chain(args.iter().copied()),
            |_| None,
        )
        .unwrap()
        .command
    }

    #[test]
    fn a_tag_given_twice_is_written_once() {
        let Command::Push(a) = parse(&[
            "push",
            "--source",
            "oci:/img",
            "--repository",
            "shop/api",
            "--tags",
            "v1 latest",
            "--tag",
            "sha-1\nv1",
        ]) else {
            panic!("push")
        };
        assert_eq!(validate_push(&a).unwrap().tags, ["v1", "latest", "sha-1"]);
        let Command::Promote(a) = parse(&[
            "promote",
            "--from",
            "staging/api:v1",
            "--to",
            "prod/api:v2",
            "--tags",
            "stable v2 stable",
        ]) else {
            panic!("promote")
        };
        assert_eq!(validate_promote(&a).unwrap().tags, ["v2", "stable"]);
    }
}
