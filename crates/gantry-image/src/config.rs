//! Flags → a validated [`PushConfig`] or [`PromoteConfig`]: every input is checked here, before
//! anything is called, and this is the one place an input is rejected (exit 2, naming it).

use crate::aws::ecr::RepoSettings;
use crate::cli::{PromoteArgs, PushArgs, RepositoryArgs};
use crate::reference::{self, REPOSITORY_RULE, Reference, RegistryAddr, TAG_RULE};
use crate::source::{self, Source, SourceError};
use gantry_kit::Error;
use gantry_kit::cli::{split_list, split_unique};
use gantry_kit::pace::{Auto, Concurrency};

/// Untagged images expire after this many days under the lifecycle policy `--create-repository` sets.
pub(crate) const UNTAGGED_DAYS: u32 = 7;

/// Validated repository settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoConfig {
    pub(crate) create: bool,
    pub(crate) settings: RepoSettings,
}

/// A validated push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushConfig {
    pub(crate) source: Source,
    pub(crate) repository: String,
    pub(crate) tags: Vec<String>,
    pub(crate) registry: Option<RegistryAddr>,
    pub(crate) mount_from: Vec<String>,
    pub(crate) concurrency: Concurrency,
    pub(crate) repo: RepoConfig,
    pub(crate) dry_run: bool,
    /// Deadline of the whole run.
    pub(crate) timeout: std::time::Duration,
}

/// A validated promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PromoteConfig {
    pub(crate) from_repo: String,
    pub(crate) from_ref: Reference,
    pub(crate) to_repo: String,
    pub(crate) tags: Vec<String>,
    pub(crate) from_registry: Option<RegistryAddr>,
    pub(crate) to_registry: Option<RegistryAddr>,
    pub(crate) concurrency: Concurrency,
    pub(crate) repo: RepoConfig,
    pub(crate) dry_run: bool,
    /// Deadline of the whole run.
    pub(crate) timeout: std::time::Duration,
}

/// The image on disk turned out unreadable or damaged once loaded or verified: the `source`
/// input is rejected (exit 2), though it parsed.
pub(crate) fn source_rejected(e: &SourceError) -> Error {
    Error::input(format!("source: {e}")).with_hint(e.hint())
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

/// Where `concurrency: auto` starts and the bounds it moves within (docs/actions/image.md,
/// "How many at once").
pub(crate) const AUTO: Auto = Auto {
    // What was fixed before it adapted: an image's few blobs are mostly bytes, not round trips.
    start: 4,
    max: 32,
    min: 1,
};

/// `auto`, or a number from 1 to 64 that pins it.
fn concurrency(s: &str) -> Result<Concurrency, Error> {
    Concurrency::parse(s, AUTO, 64).map_err(|why| {
        Error::input(format!("concurrency: {why}")).with_hint(
            "use `auto` (the default: adapts to the link) or a number of blobs to pin it",
        )
    })
}

fn repo_config(a: &RepositoryArgs) -> Result<RepoConfig, Error> {
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
        settings: RepoSettings {
            scan_on_push,
            immutable,
            lifecycle_keep,
            untagged_days: UNTAGGED_DAYS,
        },
    })
}

/// Checks every push input before anything is called. Errors are exit 2 and name the input.
pub(crate) fn validate_push(a: &PushArgs) -> Result<PushConfig, Error> {
    let raw = required(
        a.source.as_deref(),
        "source",
        "pass --source (input `source`): oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE",
    )?;
    let source = source::parse_source(raw).map_err(|e| source_rejected(&e))?;
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
        timeout: timeout(a.deadline.timeout)?,
    })
}

/// `--timeout`: more than zero.
fn timeout(t: std::time::Duration) -> Result<std::time::Duration, Error> {
    if t.is_zero() {
        return Err(
            Error::input("timeout: `0s` leaves no time to push anything")
                .with_hint("use a deadline for the whole run, e.g. `30m` (the default)"),
        );
    }
    Ok(t)
}

/// Checks every promote input before anything is called.
pub(crate) fn validate_promote(a: &PromoteArgs) -> Result<PromoteConfig, Error> {
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
        timeout: timeout(a.deadline.timeout)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Command {
        gantry_kit::cli::try_parse_from::<Cli, _, _>(
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
