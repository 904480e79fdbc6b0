//! `last-good`: read the environment's newest deployments in one GraphQL query (paged), judge
//! them (`choose`), and answer with the release asked for — or exit 1 saying why there is none.

use crate::api::deployments::Deployments;
use crate::choose::{self, NotFound, Target};
use crate::config::LastGoodConfig;
use crate::report::{self, Current, Found};
use gantry_kit::fmt::format_duration;
use gantry_kit::github_api::GitHubApi;
use gantry_kit::{Error, Report};
use std::time::{Duration, SystemTime};

pub async fn run(cfg: LastGoodConfig, now: SystemTime) -> Result<Report, Error> {
    let env = cfg.environment.as_str();
    let api = GitHubApi::new(cfg.github.api.clone())?;
    let deployments = Deployments {
        api: &api,
        repo: &cfg.github.repo,
    };
    let records = deployments.records(env, cfg.max_scan).await?;
    let judged = choose::judge(&records);
    for j in &judged {
        if let Err(skip) = &j.verdict {
            tracing::info!("deployment {}: skipped: {}", j.id, skip.describe());
        }
    }
    let current = Current::of(records.first());
    let scanned = records.len();
    let known = report::current_outputs(&current, scanned);
    let table = report::verdicts(&judged, None);
    let failed = |message: String| {
        Error::failed(message)
            .with_outputs(known.clone())
            .with_summary(table.clone())
    };

    let (j, good) = choose::pick(&judged, cfg.target).map_err(|nf| {
        let more = if scanned >= cfg.max_scan {
            format!(" (raise max-scan to read more than {})", cfg.max_scan)
        } else {
            String::new()
        };
        failed(match (nf, &cfg.sha) {
            (NotFound::NoGood, Some(sha)) => format!(
                "{env} has no good release — deploy {} to {env} first{more}",
                short(sha)
            ),
            (NotFound::NoGood, None) => {
                format!("{env} has no good release among its {scanned} newest deployments{more}")
            }
            (NotFound::NoPrevious { last_good }, _) => {
                format!("{env} has no good release before deployment {last_good}'s{more}")
            }
            (NotFound::NotScanned { id }, _) => format!(
                "deployment {id} is not among the {scanned} newest deployments of {env}{more}"
            ),
            (NotFound::NotGood { id, skip }, _) => format!(
                "deployment {id} in {env} is not a good release: {}",
                skip.describe()
            ),
        })
    })?;
    let found = Found {
        id: j.id,
        good: good.clone(),
        age: choose::age(good, now),
        current,
        scanned,
        judged: judged.clone(),
    };

    if let Some(want) = &cfg.sha
        && !choose::same_commit(&good.release, want)
    {
        return Err(failed(format!(
            "the last good release of {env} is {} (deployment {}), not {} — deploy {} to {env} first",
            good.release.short_sha(),
            j.id,
            short(want),
            short(want)
        ))
        .with_outputs(report::found_outputs(&found)));
    }
    if let Some(min) = cfg.min_age {
        let age = found.age.unwrap_or(Duration::ZERO);
        if age < min {
            return Err(failed(format!(
                "{} has been good in {env} for {}; min-age is {} — promote in {}",
                good.release.short_sha(),
                format_duration(age),
                format_duration(min),
                format_duration(min - age)
            ))
            .with_outputs(report::found_outputs(&found)));
        }
    }
    tracing::info!(
        "{} {target} release: deployment {} ({})",
        env,
        j.id,
        good.release.short_sha(),
        target = match cfg.target {
            Target::LastGood => "last good",
            Target::Previous => "previous good",
            Target::Deployment(_) => "requested",
        }
    );
    Ok(report::found(&found))
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
