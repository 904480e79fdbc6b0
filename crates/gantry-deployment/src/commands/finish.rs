//! `finish`: set the record's final state. On `success`, its release is what the environment
//! runs (GitHub turns the environment's earlier successes `inactive`).

use super::read_record;
use crate::api::deployments::{Deployments, NewStatus};
use crate::config::FinishConfig;
use crate::description;
use crate::record::StatusState;
use crate::report::{self, Finished};
use gantry_kit::github_api::GitHubApi;
use gantry_kit::{Error, Report};

pub async fn run(cfg: FinishConfig) -> Result<Report, Error> {
    let api = GitHubApi::new(cfg.github.api.clone())?;
    let deployments = Deployments {
        api: &api,
        repo: &cfg.github.repo,
    };
    let (deployment, release) =
        read_record(&deployments, cfg.deployment_id, "finishing the deployment").await?;
    let text = match &cfg.description {
        Some(d) => {
            if d.cut {
                tracing::warn!(
                    "description: longer than GitHub's 140 characters; cut to `{}`",
                    d.text
                );
            }
            d.text.clone()
        }
        None => {
            let (sha, env) = (release.short_sha(), &deployment.environment);
            description::cut(&match cfg.state {
                StatusState::Success => format!("gantry: {sha} is live in {env}"),
                StatusState::Failure => format!("gantry: {sha} failed in {env}"),
                _ => format!("gantry: {sha} could not be deployed to {env}"),
            })
            .text
        }
    };
    let mut status = NewStatus::new(cfg.state, text);
    status.log_url.clone_from(&cfg.run.log_url);
    status.environment_url.clone_from(&cfg.environment_url);
    let finished = Finished {
        deployment,
        release,
        status,
    };
    if cfg.dry_run {
        return Ok(report::finish_plan(&finished));
    }
    deployments
        .post_status(finished.deployment.id, &finished.status)
        .await?;
    tracing::info!(
        "deployment {} in {}: {}",
        finished.deployment.id,
        finished.deployment.environment,
        finished.status.state
    );
    Ok(report::finished(&finished))
}
