//! gantry-invalidate: CloudFront invalidation that plans its paths, is safe to re-run, and waits
//! with a fixed interval.
//!
//! [`plan`] is pure; [`execute`] is the AWS edge; [`run`] glues flags to both.

pub mod plan;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use clap::Parser;
use gantry_kit::aws::{AwsArgs, aws_error};
use gantry_kit::cli::{format_duration, parse_duration, split_list};
use gantry_kit::poll::{Clock, PollError, Probe, Schedule, poll};
use gantry_kit::{Error, Outputs, Report};
use plan::{FREE_PATHS_PER_MONTH, Limits, Plan};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Invalidate paths in a CloudFront distribution: planned, batched within CloudFront's limits,
/// idempotent across re-runs, optionally waiting for completion.
#[derive(Parser, Debug, Clone)]
#[command(name = "gantry-invalidate", version)]
pub struct Args {
    /// The distribution's id (e.g. `E2QWRUHAPOMQZL`).
    #[arg(long, env = "GANTRY_DISTRIBUTION_ID")]
    pub distribution_id: Option<String>,

    /// Paths to invalidate, e.g. `/index.html /app/*`. Repeatable; each value is split on newlines,
    /// a single line on whitespace.
    #[arg(
        long = "paths",
        alias = "path",
        env = "GANTRY_PATHS",
        value_name = "PATHS"
    )]
    pub paths: Vec<String>,

    /// A file with one path per line (blank lines and `#` comments ignored), added to `--paths`.
    #[arg(long, env = "GANTRY_PATHS_FILE", value_name = "FILE")]
    pub paths_file: Option<PathBuf>,

    /// Wait until every invalidation is Completed (exit 4 if the timeout passes first).
    #[arg(long, env = "GANTRY_WAIT")]
    pub wait: bool,

    /// Deadline for the whole run, creation retries and waiting included: `90`, `90s`, `15m`.
    #[arg(long, env = "GANTRY_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Fixed time between polls (no exponential back-off).
    #[arg(long, env = "GANTRY_POLL_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// CallerReference to send (a `-N` suffix is added per batch when there are several).
    /// Default: derived from the run id, job, step, distribution and paths, so a re-run of the
    /// same job reuses the same invalidation instead of paying for a new one.
    #[arg(long, env = "GANTRY_CALLER_REFERENCE")]
    pub caller_reference: Option<String>,

    /// Most paths one run may bill; above it paths are collapsed into wildcard prefixes.
    /// `unlimited` never collapses (paths are only split into batches).
    #[arg(long, env = "GANTRY_MAX_PATHS", default_value = "3000")]
    pub max_paths: String,

    /// Compute and print the plan; call nothing, change nothing.
    #[arg(long, env = "GANTRY_DRY_RUN")]
    pub dry_run: bool,

    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub distribution_id: String,
    pub plan: Plan,
    pub wait: bool,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub caller_reference: Option<String>,
    pub dry_run: bool,
}

impl Config {
    /// Polls every `poll_interval` within `timeout`.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            interval: self.poll_interval,
            deadline: self.timeout,
        }
    }
}

/// Checks every input before anything is called. Errors are exit 2 and name the input.
pub fn validate(args: &Args) -> Result<Config, Error> {
    let distribution_id = args
        .distribution_id
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Error::input("distribution-id: required").with_hint(
                "pass --distribution-id (input `distribution-id`), e.g. `E2QWRUHAPOMQZL`",
            )
        })?;
    check_distribution_id(distribution_id)?;
    let mut raw = split_list(&args.paths);
    if let Some(file) = &args.paths_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::input(format!("paths-file: cannot read {}: {e}", file.display()))
                .with_hint("give a readable file with one path per line")
        })?;
        raw.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    let max_paths = match args.max_paths.trim() {
        "unlimited" => None,
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(
                    Error::input(format!("max-paths: `{n}` is not a positive number"))
                        .with_hint("use a number of paths such as `3000`, or `unlimited`"),
                );
            }
        },
    };
    let limits = Limits {
        max_paths,
        ..Limits::default()
    };
    let plan = plan::plan(&raw, &limits).map_err(|e| {
        let input = if args.paths_file.is_some() {
            "paths/paths-file"
        } else {
            "paths"
        };
        Error::input(format!("{input}: {e}")).with_hint(e.hint())
    })?;
    check_poll_interval(args.poll_interval)?;
    let caller_reference = match args.caller_reference.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(r) if r.len() > 200 || r.chars().any(char::is_control) => {
            return Err(
                Error::input("caller-reference: too long or contains control characters")
                    .with_hint("use a short printable string, at most 200 characters"),
            );
        }
        Some(r) => Some(r.to_owned()),
    };
    Ok(Config {
        distribution_id: distribution_id.to_owned(),
        plan,
        wait: args.wait,
        timeout: args.timeout,
        poll_interval: args.poll_interval,
        caller_reference,
        dry_run: args.dry_run,
    })
}

/// Checks a (trimmed, non-empty) distribution id: upper-case letters and digits (exit 2).
pub fn check_distribution_id(id: &str) -> Result<(), Error> {
    if id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Ok(());
    }
    Err(Error::input(format!(
        "distribution-id: `{id}` is not a CloudFront distribution id"
    ))
    .with_hint("an id is upper-case letters and digits, e.g. `E2QWRUHAPOMQZL` (not the domain name or ARN)"))
}

/// Checks the time between invalidation status polls: at least a second (exit 2).
pub fn check_poll_interval(interval: Duration) -> Result<(), Error> {
    if interval >= Duration::from_secs(1) {
        return Ok(());
    }
    Err(Error::input(format!(
        "poll-interval: `{}` is too short",
        format_duration(interval)
    ))
    .with_hint("use at least `1s`; `10s` is a good interval for CloudFront"))
}

/// The current time in milliseconds: what makes each invocation outside Actions its own
/// CallerReference (see [`caller_reference`]).
pub fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// What identifies "this step of this run" across re-runs (never `GITHUB_RUN_ATTEMPT`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    pub repository: Option<String>,
    pub run_id: Option<String>,
    pub job: Option<String>,
    pub step: Option<String>,
    /// Which invalidation of the same distribution and paths this is within the job (1, 2, …):
    /// two identical invalidate steps in one job (deploy, change, deploy again) must not share a
    /// reference, or CloudFront would answer the second with the first. Counted in
    /// `RUNNER_TEMP`, which every job attempt starts empty, so a re-run counts the same way.
    pub occurrence: u32,
}

impl RunIdentity {
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            repository: get("GITHUB_REPOSITORY"),
            run_id: get("GITHUB_RUN_ID"),
            job: get("GITHUB_JOB"),
            step: get("GITHUB_ACTION"),
            occurrence: 1,
        }
    }

    /// Claims the next occurrence of `key` (distribution + paths) in this job, from a counter
    /// file in `runner_temp`. Without a runner temp dir (outside Actions) it stays 1.
    pub fn claim_occurrence(
        &mut self,
        runner_temp: Option<&Path>,
        key: &str,
    ) -> std::io::Result<()> {
        let Some(dir) = runner_temp else {
            return Ok(());
        };
        let digest: String = Sha256::digest(key.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let file = dir.join(format!("gantry-invalidate-{digest}.count"));
        let seen: u32 = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&file, (seen + 1).to_string())?;
        self.occurrence = seen + 1;
        Ok(())
    }
}

/// The CallerReference for batch `index` of `batches`. Inside Actions it is a pure function of
/// the run, job, step, distribution and paths, so "Re-run failed jobs" sends the same reference
/// and CloudFront returns the invalidation it already has. Outside Actions there is no run to
/// tie it to, so `nonce` (the current time) makes each invocation its own invalidation.
pub fn caller_reference(
    explicit: Option<&str>,
    id: &RunIdentity,
    distribution_id: &str,
    index: usize,
    batches: usize,
    paths: &[String],
    nonce: u128,
) -> String {
    if let Some(r) = explicit {
        return if batches > 1 {
            format!("{r}-{}", index + 1)
        } else {
            r.to_owned()
        };
    }
    let mut h = Sha256::new();
    for part in [
        id.repository.as_deref().unwrap_or(""),
        id.run_id.as_deref().unwrap_or(""),
        id.job.as_deref().unwrap_or(""),
        id.step.as_deref().unwrap_or(""),
        distribution_id,
        &index.to_string(),
        &id.occurrence.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for p in paths {
        h.update(p.as_bytes());
        h.update([b'\n']);
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(10)
        .map(|b| format!("{b:02x}"))
        .collect();
    match &id.run_id {
        Some(run) => format!("gantry-{run}-{digest}"),
        None => format!("gantry-local-{nonce}-{digest}"),
    }
}

/// One created (or found) invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub status: String,
}

fn completed(status: &str) -> bool {
    // moto says COMPLETED, AWS says Completed.
    status.eq_ignore_ascii_case("completed")
}

fn outputs_for(cfg: &Config, created: &[Created]) -> Outputs {
    let mut o = Outputs::new();
    let last = created.last();
    o.set(
        "invalidation-id",
        last.map(|c| c.id.clone()).unwrap_or_default(),
    )
    .set_list("invalidation-ids", created.iter().map(|c| c.id.clone()))
    .set("status", last.map(|c| c.status.clone()).unwrap_or_default())
    .set_list("paths", cfg.plan.paths.iter().cloned())
    .set("path-count", cfg.plan.paths.len())
    .set("billed-paths", cfg.plan.billed_paths);
    o
}

fn plan_summary(cfg: &Config) -> String {
    let p = &cfg.plan;
    let mut s = format!(
        "{} path(s) in {} batch(es); {} billed (the first {FREE_PATHS_PER_MONTH} paths a month are free, then each is charged).",
        p.paths.len(),
        p.batches.len(),
        p.billed_paths
    );
    if !p.collapsed_into.is_empty() {
        s.push_str(&format!(
            " Collapsed into {} to stay within max-paths.",
            p.collapsed_into.join(", ")
        ));
    }
    if !p.dropped.is_empty() {
        s.push_str(&format!(
            " {} path(s) left out as duplicates or covered by a wildcard.",
            p.dropped.len()
        ));
    }
    s
}

/// The plan as `--dry-run --json` prints it.
pub fn plan_json(cfg: &Config, references: &[String]) -> serde_json::Value {
    json!({
        "distribution-id": cfg.distribution_id,
        "batches": cfg.plan.batches.iter().zip(references).map(|(b, r)| json!({
            "caller-reference": r,
            "paths": b,
        })).collect::<Vec<_>>(),
        "billed-paths": cfg.plan.billed_paths,
        "dropped": cfg.plan.dropped,
        "collapsed-into": cfg.plan.collapsed_into,
        "wait": cfg.wait,
    })
}

/// The CallerReference of each planned batch, in order.
pub fn references(cfg: &Config, id: &RunIdentity, nonce: u128) -> Vec<String> {
    let n = cfg.plan.batches.len();
    cfg.plan
        .batches
        .iter()
        .enumerate()
        .map(|(i, batch)| {
            caller_reference(
                cfg.caller_reference.as_deref(),
                id,
                &cfg.distribution_id,
                i,
                n,
                batch,
                nonce,
            )
        })
        .collect()
}

/// Creates the planned invalidations (retrying `TooManyInvalidationsInProgress` at the poll
/// interval within the deadline) and, with `--wait` or between batches, waits for completion.
pub async fn execute<C: Clock>(
    client: &Client,
    clock: &C,
    cfg: &Config,
    id: &RunIdentity,
    nonce: u128,
) -> Result<Report, Error> {
    let n = cfg.plan.batches.len();
    let mut created: Vec<Created> = Vec::new();
    let refs = references(cfg, id, nonce);
    for (i, (batch, reference)) in cfg.plan.batches.iter().zip(&refs).enumerate() {
        let c = create(client, clock, cfg, batch, reference)
            .await
            .map_err(|e| e.with_outputs(outputs_for(cfg, &created)))?;
        tracing::info!(
            "invalidation {} ({} path(s), batch {}/{n}): {}",
            c.id,
            batch.len(),
            i + 1,
            c.status
        );
        created.push(c);
        let last = i + 1 == n;
        if cfg.wait || !last {
            let status = wait_completed(client, clock, cfg, &created[i].id)
                .await
                .map_err(|e| e.with_outputs(outputs_for(cfg, &created)))?;
            created[i].status = status;
        }
    }
    Ok(Report {
        outputs: outputs_for(cfg, &created),
        plan: None,
        summary: Some(plan_summary(cfg)),
    })
}

async fn create<C: Clock>(
    client: &Client,
    clock: &C,
    cfg: &Config,
    batch: &[String],
    reference: &str,
) -> Result<Created, Error> {
    let quantity =
        i32::try_from(batch.len()).map_err(|_| Error::failed("internal: batch larger than i32"))?;
    let invalidation_batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(quantity)
                .set_items(Some(batch.to_vec()))
                .build()
                .map_err(|e| Error::failed(format!("internal: building paths: {e}")))?,
        )
        .caller_reference(reference)
        .build()
        .map_err(|e| Error::failed(format!("internal: building batch: {e}")))?;
    let result = poll(clock, cfg.schedule(), |attempt| {
        let req = client
            .create_invalidation()
            .distribution_id(&cfg.distribution_id)
            .invalidation_batch(invalidation_batch.clone());
        async move {
            match req.send().await {
                Ok(out) => {
                    let inv = out.invalidation();
                    Ok(Probe::Ready(Created {
                        id: inv.map(|i| i.id().to_owned()).unwrap_or_default(),
                        status: inv.map(|i| i.status().to_owned()).unwrap_or_default(),
                    }))
                }
                Err(e) if matches!(e.as_service_error(), Some(CreateInvalidationError::TooManyInvalidationsInProgress(_))) => {
                    tracing::warn!(
                        "CloudFront has too many invalidations in progress on {} (attempt {attempt}); \
                         retrying in {} within the deadline",
                        cfg.distribution_id,
                        format_duration(cfg.poll_interval)
                    );
                    Ok(Probe::Pending("TooManyInvalidationsInProgress".into()))
                }
                Err(e) => {
                    let err = aws_error("CloudFront CreateInvalidation", &e);
                    let code = gantry_kit::aws::classify(&e).code;
                    Err(match e.as_service_error() {
                        _ if code.as_deref() == Some("InvalidationBatchAlreadyExists") => err.with_hint(
                            "this caller-reference was used before with other paths; leave caller-reference empty to derive one",
                        ),
                        Some(CreateInvalidationError::NoSuchDistribution(_)) => err.with_hint(format!(
                            "check distribution-id `{}` and that the credentials are for its account",
                            cfg.distribution_id
                        )),
                        _ => err,
                    })
                }
            }
        }
    })
    .await;
    result.map_err(|e| match e {
        PollError::Probe(err) => err,
        PollError::Deadline { elapsed, last, .. } => Error::deadline(format!(
            "could not create the invalidation within {}: CloudFront still answers {last}",
            format_duration(elapsed)
        ))
        .with_hint("other invalidations are in progress on this distribution; re-run later or raise `timeout`"),
    })
}

/// Waits until invalidation `invalidation_id` is Completed, polling every `cfg.poll_interval`
/// within `cfg.timeout` (exit 4 past it). Also for callers that create with `wait: false` and
/// wait later, after other work.
pub async fn wait_completed<C: Clock>(
    client: &Client,
    clock: &C,
    cfg: &Config,
    invalidation_id: &str,
) -> Result<String, Error> {
    let result = poll(clock, cfg.schedule(), |_| {
        let req = client
            .get_invalidation()
            .distribution_id(&cfg.distribution_id)
            .id(invalidation_id);
        async move {
            let out = req
                .send()
                .await
                .map_err(|e| aws_error("CloudFront GetInvalidation", &e))?;
            let status = out
                .invalidation()
                .map(|i| i.status().to_owned())
                .unwrap_or_default();
            if completed(&status) {
                Ok(Probe::Ready(status))
            } else {
                tracing::info!("invalidation {invalidation_id}: {status}");
                Ok(Probe::Pending(status))
            }
        }
    })
    .await;
    result.map_err(|e| match e {
        PollError::Probe(err) => err,
        PollError::Deadline { elapsed, last, .. } => Error::deadline(format!(
            "invalidation {invalidation_id} is still {last} after {}",
            format_duration(elapsed)
        ))
        .with_hint(
            "the invalidation goes on in CloudFront; re-running the job waits for the same one",
        ),
    })
}

/// The whole command: validate, plan, then either print the plan (`--dry-run`) or execute.
pub async fn run(args: Args) -> Result<Report, Error> {
    let cfg = validate(&args)?;
    let mut id = RunIdentity::from_env();
    if !cfg.dry_run && id.run_id.is_some() {
        let runner_temp = std::env::var_os("RUNNER_TEMP")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let key = format!("{}\n{}", cfg.distribution_id, cfg.plan.paths.join("\n"));
        id.claim_occurrence(runner_temp.as_deref(), &key)
            .map_err(|e| {
                Error::failed(format!("could not count invalidations in RUNNER_TEMP: {e}"))
            })?;
    }
    let nonce = nonce();
    {
        let _g = gantry_kit::report::group("Plan");
        tracing::info!("{}", plan_summary(&cfg));
        for d in &cfg.plan.dropped {
            tracing::debug!("left out {}: {}", d.path, d.reason);
        }
    }
    if cfg.dry_run {
        let refs = references(&cfg, &id, nonce);
        let mut outputs = outputs_for(&cfg, &[]);
        outputs.set("status", "dry-run");
        return Ok(Report {
            outputs,
            plan: Some(plan_json(&cfg, &refs)),
            summary: Some(format!(
                "Dry run: nothing was invalidated. {}",
                plan_summary(&cfg)
            )),
        });
    }
    let sdk = gantry_kit::aws::sdk_config(&args.aws, Some("us-east-1")).await;
    let client = Client::new(&sdk);
    let clock = gantry_kit::poll::SystemClock::new();
    execute(&client, &clock, &cfg, &id, nonce).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> RunIdentity {
        RunIdentity {
            repository: Some("acme/shop".into()),
            run_id: Some(id.into()),
            job: Some("deploy".into()),
            step: Some("invalidate".into()),
            occurrence: 1,
        }
    }

    fn reference(id: &RunIdentity, paths: &[&str]) -> String {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        caller_reference(None, id, "E1", 0, 1, &paths, 0)
    }

    #[test]
    fn reference_depends_on_run_step_paths_and_occurrence_only() {
        let a = reference(&run("7"), &["/a"]);
        assert!(a.starts_with("gantry-7-"), "{a}");
        assert_eq!(a, reference(&run("7"), &["/a"]), "deterministic");
        assert_ne!(a, reference(&run("8"), &["/a"]), "another run");
        assert_ne!(a, reference(&run("7"), &["/b"]), "other paths");
        let mut other_step = run("7");
        other_step.step = Some("invalidate-again".into());
        assert_ne!(a, reference(&other_step, &["/a"]));
        let mut second = run("7");
        second.occurrence = 2;
        assert_ne!(
            a,
            reference(&second, &["/a"]),
            "the second identical step in a job"
        );
        let local = RunIdentity::default();
        let l1 = caller_reference(None, &local, "E1", 0, 1, &["/a".into()], 1);
        let l2 = caller_reference(None, &local, "E1", 0, 1, &["/a".into()], 2);
        assert!(l1.starts_with("gantry-local-1-"));
        assert_ne!(l1, l2, "outside Actions every invocation is its own");
        assert_eq!(
            caller_reference(Some("mine"), &local, "E1", 1, 3, &[], 0),
            "mine-2"
        );
        assert_eq!(
            caller_reference(Some("mine"), &local, "E1", 0, 1, &[], 0),
            "mine"
        );
    }

    #[test]
    fn occurrences_count_per_key_within_a_job_and_restart_with_a_fresh_runner_temp() {
        let job = tempfile::tempdir().unwrap();
        let mut first = run("7");
        first.claim_occurrence(Some(job.path()), "E1\n/a").unwrap();
        let mut second = run("7");
        second.claim_occurrence(Some(job.path()), "E1\n/a").unwrap();
        let mut other = run("7");
        other.claim_occurrence(Some(job.path()), "E1\n/b").unwrap();
        assert_eq!(
            (first.occurrence, second.occurrence, other.occurrence),
            (1, 2, 1)
        );
        // "Re-run failed jobs" runs on a fresh runner: RUNNER_TEMP starts empty again.
        let rerun_job = tempfile::tempdir().unwrap();
        let mut again = run("7");
        again
            .claim_occurrence(Some(rerun_job.path()), "E1\n/a")
            .unwrap();
        assert_eq!(again.occurrence, 1);
        let mut nowhere = run("7");
        nowhere.claim_occurrence(None, "E1\n/a").unwrap();
        assert_eq!(nowhere.occurrence, 1);
    }
}
