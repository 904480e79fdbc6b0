//! `push`: load the image from disk, ask the registry what it has, verify what would be sent,
//! then upload (or mount) the missing blobs, put the manifests and write the tags.

use super::{by_deadline, create_missing, registry};
use crate::aws::ecr::Ecr;
use crate::config::{PushConfig, source_rejected};
use crate::plan::{self, BlobOutcome};
use crate::registry::{Mount, Registry, RegistryError, RunDeadline, short};
use crate::report::{self, Landed};
use crate::source::{self, Blob, Image};
use crate::tally::PushTally;
use crate::transfer::{self, apply_tags, missing_blobs, put_manifests, send_blobs, tag_heads};
use futures::{StreamExt, TryStreamExt};
use gantry_kit::aws::AwsArgs;
use gantry_kit::fmt::human_bytes;
use gantry_kit::{Error, Report};
use std::time::Instant;

/// Runs a validated push.
pub(crate) async fn push(cfg: &PushConfig, aws: &AwsArgs) -> Result<Report, Error> {
    let deadline = RunDeadline::after(cfg.timeout);
    let src = cfg.source.clone();
    let image: Image = tokio::task::spawn_blocking(move || source::load(&src))
        .await
        .map_err(|e| Error::failed(format!("internal: {e}")))?
        .map_err(|e| source_rejected(&e))?;
    let top = image.top().clone();
    tracing::info!(
        "image {} ({} manifest(s), {} blob(s), {})",
        top.digest,
        image.manifests.len(),
        image.blobs.len(),
        human_bytes(image.total_bytes())
    );
    let mut ecr = Ecr::connect(aws, cfg.registry.as_ref()).await;
    let reg = registry(&mut ecr, &deadline, cfg.registry.as_ref(), "--registry").await?;
    let repo = cfg.repository.as_str();
    // The ECR API (repository settings) and the registry (is the image there?) are asked at
    // once: a re-run is these few round trips.
    // An image whose manifest is there has every blob there: nothing to read or upload.
    let (state, there, heads) = tokio::join!(
        by_deadline(
            &deadline,
            "ECR DescribeRepositories",
            ecr.repository(&reg.addr, repo, &cfg.repo)
        ),
        reg.manifest_digest(repo, &top.digest),
        tag_heads(&reg, repo, &cfg.tags)
    );
    let state = state?;
    let manifest_there = there?.is_some();
    let mut tally = PushTally::default();
    let missing = missing_blobs(
        &reg,
        repo,
        &image.blobs,
        manifest_there,
        cfg.concurrency.fixed(),
        &mut tally,
    )
    .await?;
    verify(&missing, cfg.concurrency.fixed()).await?;
    let tag_steps = plan::decide_tags(repo, &top.digest, &cfg.tags, heads?, state.immutable)
        .map_err(transfer::refused)?;
    let host = reg.addr.host.clone();
    let landed = Landed {
        host: &host,
        repo,
        digest: &top.digest,
        tags: &cfg.tags,
    };

    if cfg.dry_run {
        for b in &missing {
            tracing::info!(
                "would upload {} ({})",
                short(&b.digest),
                human_bytes(b.size)
            );
        }
        return Ok(report::push_dry_run(
            landed,
            &tally,
            &tag_steps,
            &missing,
            state.create,
        ));
    }

    create_missing(&ecr, &deadline, &reg.addr, repo, &cfg.repo, &state).await?;
    {
        let _g = gantry_kit::report::group("Upload");
        let results = send_blobs(
            cfg.concurrency,
            &missing,
            || reg.throttled(),
            |b| {
                let reg = &reg;
                async move {
                    let started = Instant::now();
                    let outcome = send_blob(reg, repo, b, &cfg.mount_from).await?;
                    tracing::info!(
                        "{} {} {} in {:.1}s",
                        outcome.as_str(),
                        short(&b.digest),
                        human_bytes(b.size),
                        started.elapsed().as_secs_f64()
                    );
                    Ok::<_, Error>(outcome)
                }
            },
        )
        .await
        .map_err(|e: Error| {
            e.with_outputs(report::outputs(
                Landed {
                    tags: &[],
                    ..landed
                },
                &tally,
            ))
        })?;
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
        human_bytes(tally.bytes),
        tally.mounted,
        tally.skipped
    );
    Ok(report::done(landed, &tally))
}

/// Reads and checks every blob that would be sent: a corrupt one stops the push before
/// anything is written.
async fn verify(missing: &[&Blob], concurrency: usize) -> Result<(), Error> {
    let _g = gantry_kit::report::group("Verify");
    let started = Instant::now();
    futures::stream::iter(missing.iter().map(|b| {
        let b = (*b).clone();
        async move {
            tokio::task::spawn_blocking(move || source::verify(&b))
                .await
                .map_err(|e| Error::failed(format!("internal: {e}")))?
                .map_err(|e| source_rejected(&e))
        }
    }))
    .buffer_unordered(concurrency)
    .try_collect::<Vec<()>>()
    .await?;
    tracing::info!(
        "verified {} blob(s) to send ({}) in {:.1}s",
        missing.len(),
        human_bytes(missing.iter().map(|b| b.size).sum()),
        started.elapsed().as_secs_f64()
    );
    Ok(())
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
