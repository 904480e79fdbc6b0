//! The one command, top to bottom: validate, identify the run, log the plan, then print it
//! (`--dry-run`) or create the invalidations batch by batch.

use crate::aws::cloudfront::{self, Created};
use crate::cli::Cli;
use crate::config::{Config, validate};
use crate::reference::{nonce, references};
use crate::report;
use aws_sdk_cloudfront::Client;
use gantry_kit::action::Action;
use gantry_kit::github::RunIdentity;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use std::path::PathBuf;

impl Action for Cli {
    fn title(&self) -> &'static str {
        "CloudFront invalidation"
    }

    fn json(&self) -> bool {
        self.output.json
    }

    /// The whole command: validate, plan, then either print the plan (`--dry-run`) or execute.
    async fn run(self) -> Result<Report, Error> {
        let cfg = validate(&self)?;
        let mut id = RunIdentity::from_env();
        if !cfg.dry_run && id.run_id.is_some() {
            let runner_temp = std::env::var_os("RUNNER_TEMP")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from);
            let key = format!("{}\n{}", cfg.distribution_id, cfg.plan.paths.join("\n"));
            id.claim_occurrence(runner_temp.as_deref(), "gantry-invalidate", &key)
                .map_err(|e| {
                    Error::failed(format!("could not count invalidations in RUNNER_TEMP: {e}"))
                })?;
        }
        let nonce = nonce();
        report::log_plan(&cfg);
        if cfg.dry_run {
            return report::dry_run(&cfg, &references(&cfg, &id, nonce));
        }
        let sdk = gantry_kit::aws::sdk_config(&self.aws, Some("us-east-1")).await;
        let client = Client::new(&sdk);
        let clock = gantry_kit::poll::SystemClock::new();
        invalidate(&client, &clock, &cfg, &id, nonce).await
    }
}

/// [`execute`], reported: the outputs of what was created, also when it stopped part-way.
pub async fn invalidate<C: Clock>(
    client: &Client,
    clock: &C,
    cfg: &Config,
    id: &RunIdentity,
    nonce: u128,
) -> Result<Report, Error> {
    match execute(client, clock, cfg, id, nonce).await {
        Ok(created) => Ok(report::done(cfg, &created)),
        Err(stopped) => Err(report::interrupted(cfg, stopped)),
    }
}

/// A run that stopped part-way: why, and the invalidations created before it stopped.
#[derive(Debug)]
pub struct Interrupted {
    pub error: Error,
    pub created: Vec<Created>,
}

/// Creates the planned invalidations (retrying `TooManyInvalidationsInProgress` at the poll
/// interval within the deadline) and, with `--wait` or between batches, waits for completion.
pub async fn execute<C: Clock>(
    client: &Client,
    clock: &C,
    cfg: &Config,
    id: &RunIdentity,
    nonce: u128,
) -> Result<Vec<Created>, Interrupted> {
    let n = cfg.plan.batches.len();
    let mut created: Vec<Created> = Vec::new();
    let refs = references(cfg, id, nonce);
    for (i, (batch, reference)) in cfg.plan.batches.iter().zip(&refs).enumerate() {
        let schedule = cfg.schedule();
        let c = match cloudfront::create(
            client,
            clock,
            schedule,
            &cfg.distribution_id,
            batch,
            reference,
        )
        .await
        {
            Ok(c) => c,
            Err(error) => return Err(Interrupted { error, created }),
        };
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
            let waited = cloudfront::wait_completed(
                client,
                clock,
                schedule,
                &cfg.distribution_id,
                &created[i].id,
            )
            .await;
            match waited {
                Ok(status) => created[i].status = status,
                Err(error) => return Err(Interrupted { error, created }),
            }
        }
    }
    Ok(created)
}
