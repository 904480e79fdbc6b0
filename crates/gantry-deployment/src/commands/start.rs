//! `start`: create the deployment record — or, on a re-run of the same run and job, find the
//! one it made — and set it `in_progress` with this run's log.

use crate::api::deployments::{Deployment, Deployments, NewDeployment, NewStatus};
use crate::config::StartConfig;
use crate::record::StatusState;
use crate::release::{Payload, Release};
use crate::report::{self, Started};
use gantry_kit::github_api::GitHubApi;
use gantry_kit::{Error, Report};

pub async fn run(cfg: StartConfig) -> Result<Report, Error> {
    let new = NewDeployment {
        git_ref: cfg.git_ref.clone(),
        environment: cfg.environment.clone(),
        task: "deploy",
        description: cfg.description.text.clone(),
        payload: cfg.release.to_value(),
        required_contexts: Vec::new(),
        auto_merge: false,
        production_environment: cfg.production_environment,
        transient_environment: cfg.transient_environment,
    };
    let mut status = NewStatus::new(StatusState::InProgress, cfg.description.text.clone());
    status.log_url.clone_from(&cfg.run.log_url);
    if cfg.description.cut {
        tracing::warn!(
            "description: longer than GitHub's 140 characters; cut to `{}`",
            cfg.description.text
        );
    }

    let api = GitHubApi::new(cfg.github.api.clone())?;
    let deployments = Deployments {
        api: &api,
        repo: &cfg.github.repo,
    };
    let own = find_own(&deployments, &cfg).await?;
    if cfg.dry_run {
        return Ok(report::start_plan(&cfg, &new, &status, own.as_ref()));
    }
    let reused = own.is_some();
    let deployment = match own {
        Some(d) => {
            tracing::info!(
                "deployment {} was made by this run and job: reusing it (a re-run)",
                d.id
            );
            d
        }
        None => {
            let d = deployments.create(&new).await?;
            tracing::info!("created deployment {} in {}", d.id, d.environment);
            d
        }
    };
    let started = Started {
        deployment,
        reused,
        release: cfg.release.clone(),
        description: cfg.description.text.clone(),
    };
    deployments
        .post_status(started.deployment.id, &status)
        .await
        .map_err(|e| e.with_outputs(report::started(&started).outputs))?;
    Ok(report::started(&started))
}

/// On a re-run, the record this run and job made for the same release; none outside Actions.
async fn find_own(d: &Deployments<'_>, cfg: &StartConfig) -> Result<Option<Deployment>, Error> {
    let (Some(run), Some(job)) = (&cfg.run.run_url, &cfg.run.job) else {
        return Ok(None);
    };
    let listed = d.list(&cfg.environment, cfg.max_scan).await?;
    for dep in listed {
        let Payload::Release(r) = Release::read_payload(&dep.payload) else {
            continue;
        };
        if r.run_url.as_deref() != Some(run) || r.job.as_deref() != Some(job) {
            continue;
        }
        if r.identity() == cfg.release.identity() {
            return Ok(Some(dep));
        }
        tracing::warn!(
            "deployment {} was made by this run and job for another release ({}): recording this one anew",
            dep.id,
            r.short_sha()
        );
    }
    Ok(None)
}
