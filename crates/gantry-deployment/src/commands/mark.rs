//! `mark --bad`: a `failure` status whose description gantry recognises, so the mark lives in
//! GitHub with the record, and last-good never offers that release again.

use super::read_record;
use crate::api::deployments::{Deployments, NewStatus};
use crate::config::MarkConfig;
use crate::record::StatusState;
use crate::report::{self, Marked};
use gantry_kit::github_api::GitHubApi;
use gantry_kit::{Error, Report};

pub async fn run(cfg: MarkConfig) -> Result<Report, Error> {
    let api = GitHubApi::new(cfg.github.api.clone())?;
    let deployments = Deployments {
        api: &api,
        repo: &cfg.github.repo,
    };
    let (deployment, release) =
        read_record(&deployments, cfg.deployment_id, "marking the release bad").await?;
    let mut status = NewStatus::new(StatusState::Failure, cfg.description.text.clone());
    status.log_url.clone_from(&cfg.run.log_url);
    let marked = Marked {
        deployment,
        release,
        reason: cfg.reason.clone(),
        status,
    };
    if cfg.dry_run {
        return Ok(report::mark_plan(&marked));
    }
    deployments
        .post_status(marked.deployment.id, &marked.status)
        .await?;
    tracing::info!(
        "deployment {} ({}) marked bad: {}",
        marked.deployment.id,
        marked.release.short_sha(),
        marked.reason
    );
    Ok(report::marked(&marked))
}
