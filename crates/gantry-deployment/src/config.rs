//! Arguments → configuration: every input is checked here, before GitHub is called, and a bad
//! one is exit 2 naming the input and what is accepted (docs/contracts.md, "Exit codes").

use crate::choose::Target;
use crate::cli::{FinishArgs, GitHubArgs, LastGoodArgs, MarkArgs, ReleaseArgs, StartArgs};
use crate::description::{self, Cut};
use crate::record::StatusState;
use crate::release::{self, Release, ServiceRef, SiteRelease, StackChange};
use gantry_kit::Error;
use gantry_kit::cli::split_list;
use gantry_kit::github::RunIdentity;
use gantry_kit::github_api::{ApiSettings, Token};
use serde_json::Value;
use std::time::Duration;

/// The permission named when GitHub refuses.
pub const PERMISSION: &str = "deployments: write";

/// A repository, `OWNER/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// `repos/OWNER/NAME`, the REST path prefix.
    pub fn path(&self) -> String {
        format!("repos/{}/{}", self.owner, self.name)
    }
}

/// The workflow run this command runs in (empty outside Actions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFacts {
    /// `…/actions/runs/ID`: the run, whatever the attempt.
    pub run_url: Option<String>,
    /// `…/actions/runs/ID/attempts/N`: this attempt's log, for `log_url`.
    pub log_url: Option<String>,
    pub actor: Option<String>,
    pub job: Option<String>,
}

impl RunFacts {
    /// The kit's [`RunIdentity`] (repository, run id, job) plus what a record also shows:
    /// `GITHUB_SERVER_URL`, `GITHUB_RUN_ATTEMPT` and `GITHUB_ACTOR`.
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let id = RunIdentity::from_lookup(env);
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let run_url = id.run_url(&server);
        let log_url = run_url.as_ref().map(|u| match get("GITHUB_RUN_ATTEMPT") {
            Some(a) => format!("{u}/attempts/{a}"),
            None => u.clone(),
        });
        Self {
            run_url,
            log_url,
            actor: get("GITHUB_ACTOR"),
            job: id.job,
        }
    }
}

/// GitHub settings and the repository.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    pub api: ApiSettings,
    pub repo: Repo,
}

#[derive(Debug, Clone)]
pub struct StartConfig {
    pub github: GitHubConfig,
    pub environment: String,
    pub git_ref: String,
    /// The release with the recording run's `run-url`, `actor` and `job`.
    pub release: Release,
    pub description: Cut,
    pub production_environment: Option<bool>,
    pub transient_environment: bool,
    pub max_scan: usize,
    pub dry_run: bool,
    pub run: RunFacts,
}

#[derive(Debug, Clone)]
pub struct FinishConfig {
    pub github: GitHubConfig,
    pub deployment_id: u64,
    pub state: StatusState,
    pub environment_url: Option<String>,
    pub description: Option<Cut>,
    pub dry_run: bool,
    pub run: RunFacts,
}

#[derive(Debug, Clone)]
pub struct LastGoodConfig {
    pub github: GitHubConfig,
    pub environment: String,
    pub target: Target,
    pub sha: Option<String>,
    pub min_age: Option<Duration>,
    pub max_scan: usize,
}

#[derive(Debug, Clone)]
pub struct MarkConfig {
    pub github: GitHubConfig,
    pub deployment_id: u64,
    pub reason: String,
    pub description: Cut,
    pub dry_run: bool,
    pub run: RunFacts,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn environment(v: &Option<String>) -> Result<String, Error> {
    let e = given(v).ok_or_else(|| {
        Error::input("environment: empty")
            .with_hint("name the environment, e.g. `--environment staging` (input `environment`)")
    })?;
    if e.chars().count() > 255 || e.chars().any(char::is_control) {
        return Err(Error::input(format!(
            "environment: `{}` is not an environment name",
            e.escape_debug()
        ))
        .with_hint("use at most 255 printable characters, e.g. `staging`"));
    }
    Ok(e.to_owned())
}

fn deployment_id(v: &Option<String>) -> Result<u64, Error> {
    let hint = "give the `deployment-id` output of `start` (a positive number, e.g. `1234567890`)";
    let s = given(v).ok_or_else(|| Error::input("deployment-id: required").with_hint(hint))?;
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(
            Error::input(format!("deployment-id: `{s}` is not a deployment id")).with_hint(hint),
        ),
    }
}

fn boolean(name: &str, v: &str) -> Result<bool, Error> {
    match v.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Error::input(format!(
            "{name}: `{other}` is not `true` or `false`"
        ))),
    }
}

fn max_scan(v: &str) -> Result<usize, Error> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(Error::input(format!(
            "max-scan: `{}` is not a number from 1 to 1000",
            v.trim()
        ))
        .with_hint("the default `100` reads one page of deployments")),
    }
}

fn url(name: &str, v: &Option<String>) -> Result<Option<String>, Error> {
    let Some(u) = given(v) else { return Ok(None) };
    let ok = (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() > "https://".len()
        && !u.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(Some(u.to_owned()))
    } else {
        Err(Error::input(format!("{name}: `{u}` is not an http(s) URL"))
            .with_hint("e.g. `https://staging.example.com`"))
    }
}

fn github(args: &GitHubArgs, env: Env<'_>) -> Result<GitHubConfig, Error> {
    let token = args
        .github_token
        .as_deref()
        .and_then(Token::from_input)
        .ok_or_else(|| {
            Error::input("github-token: empty").with_hint(
                "the action passes the workflow's `github.token` by default; outside Actions pass `--github-token` or set GANTRY_GITHUB_TOKEN",
            )
        })?;
    let repo_text = given(&args.repository)
        .map(str::to_owned)
        .or_else(|| env("GITHUB_REPOSITORY").filter(|v| !v.trim().is_empty()))
        .ok_or_else(|| {
            Error::input("repository: not given and GITHUB_REPOSITORY is not set")
                .with_hint("pass `--repository OWNER/NAME`")
        })?;
    let repo = match repo_text.trim().split_once('/') {
        Some((o, n))
            if !o.is_empty()
                && !n.is_empty()
                && [o, n].iter().all(|p| {
                    p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                }) =>
        {
            Repo {
                owner: o.to_owned(),
                name: n.to_owned(),
            }
        }
        _ => {
            return Err(Error::input(format!(
                "repository: `{}` is not OWNER/NAME",
                repo_text.trim()
            ))
            .with_hint("e.g. `octo-org/web-app`"));
        }
    };
    let api = ApiSettings::from_lookup(|k| env(k), token, PERMISSION, args.timeout)?;
    Ok(GitHubConfig { api, repo })
}

/// The most a `--release @FILE` may hold (a release record is a few hundred bytes).
const MAX_RELEASE_FILE: u64 = 1024 * 1024;

/// Reads `--release`: inline JSON, or `@FILE`.
fn release_input(v: &Option<String>) -> Result<Release, Error> {
    let hint = "pass the gantry.release/v1 JSON inline or as `@FILE` (the `release` output of `gantry-deployment release`)";
    let text = given(v).ok_or_else(|| Error::input("release: required").with_hint(hint))?;
    let text = match text.strip_prefix('@') {
        Some(path) => {
            gantry_kit::cli::read_input_file(std::path::Path::new(path), MAX_RELEASE_FILE).map_err(
                |e| Error::input(format!("release: cannot read `{path}`: {e}")).with_hint(hint),
            )?
        }
        None => text.to_owned(),
    };
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("release: not JSON ({e})")).with_hint(hint))?;
    Release::from_json(&doc).map_err(|e| {
        Error::input(format!("release: {e}"))
            .with_hint("the schema is docs/schemas/gantry.release.v1.json")
    })
}

pub fn start(args: &StartArgs, env: Env<'_>) -> Result<StartConfig, Error> {
    let environment = environment(&args.environment)?;
    let mut release = release_input(&args.release)?;
    let git_ref = given(&args.git_ref).unwrap_or(&release.sha).to_owned();
    if git_ref.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            Error::input(format!("ref: `{}` is not a ref", git_ref.escape_debug()))
                .with_hint("a branch, tag or commit SHA, e.g. `main`"),
        );
    }
    let production_environment = given(&args.production_environment)
        .map(|v| boolean("production-environment", v))
        .transpose()?;
    let transient_environment = boolean("transient-environment", &args.transient_environment)?;
    let max_scan = max_scan(&args.max_scan)?;
    let run = RunFacts::from_lookup(env);
    // The record names the run that made it: what a re-run of this job finds it by.
    if run.run_url.is_some() {
        release.run_url.clone_from(&run.run_url);
        release.actor = run.actor.clone().or(release.actor);
        release.job = run.job.clone().or(release.job);
    }
    let description = match given(&args.description) {
        Some(d) => description::cut(d),
        None => description::cut(&format!("gantry: {} to {environment}", release.short_sha())),
    };
    let github = github(&args.github, env)?;
    Ok(StartConfig {
        github,
        environment,
        git_ref,
        release,
        description,
        production_environment,
        transient_environment,
        max_scan,
        dry_run: args.dry_run,
        run,
    })
}

pub fn finish(args: &FinishArgs, env: Env<'_>) -> Result<FinishConfig, Error> {
    let deployment_id = deployment_id(&args.deployment_id)?;
    let state = match given(&args.state) {
        Some("success") => StatusState::Success,
        Some("failure") => StatusState::Failure,
        Some("error") => StatusState::Error,
        other => {
            return Err(Error::input(match other {
                Some(s) => format!("state: `{s}` is not success, failure or error"),
                None => "state: required".to_owned(),
            })
            .with_hint("`success` when the deploy worked, `failure` when it did not, `error` when it could not run"));
        }
    };
    let environment_url = url("environment-url", &args.environment_url)?;
    let description = given(&args.description).map(description::cut);
    let github = github(&args.github, env)?;
    Ok(FinishConfig {
        github,
        deployment_id,
        state,
        environment_url,
        description,
        dry_run: args.dry_run,
        run: RunFacts::from_lookup(env),
    })
}

pub fn last_good(args: &LastGoodArgs, env: Env<'_>) -> Result<LastGoodConfig, Error> {
    let environment = environment(&args.environment)?;
    let target = match args.to.trim() {
        "" | "last-good" => Target::LastGood,
        "previous" => Target::Previous,
        id => match id.parse::<u64>() {
            Ok(n) if n > 0 => Target::Deployment(n),
            _ => {
                return Err(Error::input(format!(
                    "to: `{id}` is not last-good, previous or a deployment id"
                ))
                .with_hint("e.g. `--to previous` or `--to 1234567890`"));
            }
        },
    };
    let sha = match given(&args.sha) {
        None => None,
        Some(s) if s.len() >= 7 && s.len() <= 64 && s.chars().all(|c| c.is_ascii_hexdigit()) => {
            Some(s.to_ascii_lowercase())
        }
        Some(s) => {
            return Err(Error::input(format!("sha: `{s}` is not a commit id"))
                .with_hint("a full SHA or a prefix of at least 7 hex digits"));
        }
    };
    let max_scan = max_scan(&args.max_scan)?;
    let github = github(&args.github, env)?;
    Ok(LastGoodConfig {
        github,
        environment,
        target,
        sha,
        min_age: args.min_age,
        max_scan,
    })
}

pub fn mark(args: &MarkArgs, env: Env<'_>) -> Result<MarkConfig, Error> {
    let deployment_id = deployment_id(&args.deployment_id)?;
    if !args.bad {
        return Err(Error::input("bad: required").with_hint(
            "pass `--bad` (input `bad: true`): marking a release bad is the one mark there is",
        ));
    }
    let reason = given(&args.reason).ok_or_else(|| {
        Error::input("reason: empty")
            .with_hint("say why, e.g. `--reason \"rolled back: p99 latency alarm\"`")
    })?;
    let github = github(&args.github, env)?;
    Ok(MarkConfig {
        github,
        deployment_id,
        reason: reason.to_owned(),
        description: description::mark(reason),
        dry_run: args.dry_run,
        run: RunFacts::from_lookup(env),
    })
}

pub fn release(args: &ReleaseArgs, env: Env<'_>) -> Result<Release, Error> {
    let run = RunFacts::from_lookup(env);
    let from_env = |v: &Option<String>, k: &str| {
        given(v)
            .map(str::to_owned)
            .or_else(|| env(k).filter(|v| !v.trim().is_empty()))
    };
    let git_ref = from_env(&args.git_ref, "GITHUB_REF").ok_or_else(|| {
        Error::input("ref: not given and GITHUB_REF is not set").with_hint("pass `--ref main`")
    })?;
    let sha = from_env(&args.sha, "GITHUB_SHA").ok_or_else(|| {
        Error::input("sha: not given and GITHUB_SHA is not set")
            .with_hint("pass `--sha` with the full commit id")
    })?;
    let services = split_list(&args.services)
        .into_iter()
        .map(|s| match s.rsplit_once('/') {
            Some((c, v)) if !c.is_empty() && !v.is_empty() => Ok(ServiceRef {
                cluster: c.to_owned(),
                service: v.to_owned(),
            }),
            _ => Err(
                Error::input(format!("services: `{s}` is not CLUSTER/SERVICE"))
                    .with_hint("e.g. `--service prod/web`"),
            ),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stacks = split_list(&args.stacks)
        .into_iter()
        .map(|s| match s.split_once('=') {
            Some((n, c)) if !n.is_empty() && !c.is_empty() => Ok(StackChange {
                name: n.to_owned(),
                change_set_id: c.to_owned(),
            }),
            _ => Err(
                Error::input(format!("stacks: `{s}` is not STACK=CHANGE_SET_ID"))
                    .with_hint("e.g. `--stack app-prod=arn:aws:cloudformation:…:changeSet/c1/…`"),
            ),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let site = match (given(&args.site_bucket), given(&args.site_release_id)) {
        (None, None) => None,
        (Some(b), Some(r)) => Some(SiteRelease {
            bucket: b.to_owned(),
            prefix: given(&args.site_prefix).unwrap_or("").to_owned(),
            release_id: r.to_owned(),
        }),
        (Some(_), None) => {
            return Err(Error::input("site-release-id: required with site-bucket")
                .with_hint("the `release-id` output of the site action (or its dry run)"));
        }
        (None, Some(_)) => return Err(Error::input("site-bucket: required with site-release-id")),
    };
    let r = Release {
        schema: release::SCHEMA.to_owned(),
        git_ref,
        sha,
        image: given(&args.image).map(str::to_owned),
        task_definition_arn: given(&args.task_definition_arn).map(str::to_owned),
        services,
        site,
        stacks,
        run_url: run.run_url,
        actor: run.actor,
        job: run.job,
    };
    // The same checks as every reader makes: the message names the field (as its input).
    Release::from_json(&r.to_value()).map_err(|e| {
        Error::input(format!("{}: {}", input_of(&e.field), e.problem))
            .with_hint("the schema is docs/schemas/gantry.release.v1.json")
    })
}

/// The input that sets a release field.
fn input_of(field: &str) -> String {
    match field {
        f if f.starts_with("services") => "services".into(),
        f if f.starts_with("stacks") => "stacks".into(),
        "site.bucket" => "site-bucket".into(),
        "site.prefix" => "site-prefix".into(),
        "site.release-id" => "site-release-id".into(),
        f => f.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_facts_from_the_runner() {
        let env = |k: &str| {
            Some(
                match k {
                    "GITHUB_SERVER_URL" => "https://github.com",
                    "GITHUB_REPOSITORY" => "o/r",
                    "GITHUB_RUN_ID" => "42",
                    "GITHUB_RUN_ATTEMPT" => "2",
                    "GITHUB_ACTOR" => "octocat",
                    "GITHUB_JOB" => "deploy",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let r = RunFacts::from_lookup(&env);
        assert_eq!(
            r.run_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        assert_eq!(
            r.log_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/42/attempts/2")
        );
        assert_eq!(r.job.as_deref(), Some("deploy"));
        assert_eq!(RunFacts::from_lookup(&|_| None), RunFacts::default());
    }

    #[test]
    fn small_checks() {
        assert_eq!(deployment_id(&Some(" 17 ".into())).unwrap(), 17);
        for bad in ["abc", "0", "-1", "1.5", "12abc"] {
            let e = deployment_id(&Some(bad.into())).unwrap_err();
            assert!(e.message().starts_with("deployment-id:"), "{bad}");
        }
        assert!(environment(&Some("  ".into())).is_err());
        assert!(environment(&Some("a\nb".into())).is_err());
        assert_eq!(max_scan("100").unwrap(), 100);
        assert!(max_scan("0").is_err());
        assert!(url("environment-url", &Some("staging.example.com".into())).is_err());
        assert_eq!(input_of("site.release-id"), "site-release-id");
    }
}
