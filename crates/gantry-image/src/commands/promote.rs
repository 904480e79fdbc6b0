//! `promote`: copy an image by digest (manifests, then the blobs the destination lacks —
//! mounted within one registry, streamed across two), then tag it there.

use super::{by_deadline, create_missing, registry};
use crate::aws::ecr::Ecr;
use crate::config::PromoteConfig;
use crate::plan::BlobOutcome;
use crate::reference::Reference;
use crate::registry::{Mount, Registry, RegistryError, RemoteManifest, RunDeadline, short};
use crate::report::{self, Landed};
use crate::source::{self, Descriptor, Manifest};
use crate::tally::PushTally;
use crate::transfer::{apply_tags, missing_blobs, plan_tags, put_manifests, send_blobs};
use gantry_kit::aws::AwsArgs;
use gantry_kit::fmt::human_bytes;
use gantry_kit::{Error, Report};

/// Runs a validated promotion.
pub(crate) async fn promote(cfg: &PromoteConfig, aws: &AwsArgs) -> Result<Report, Error> {
    let deadline = RunDeadline::after(cfg.timeout);
    let mut ecr = Ecr::connect(aws, cfg.to_registry.as_ref()).await;
    let src = registry(
        &mut ecr,
        &deadline,
        cfg.from_registry.as_ref(),
        "--from-registry",
    )
    .await?;
    let dst = registry(
        &mut ecr,
        &deadline,
        cfg.to_registry.as_ref(),
        "--to-registry",
    )
    .await?;
    let from = cfg.from_repo.as_str();
    let to = cfg.to_repo.as_str();
    let top = src
        .manifest_get(from, cfg.from_ref.as_str())
        .await?
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
    let state = by_deadline(
        &deadline,
        "ECR DescribeRepositories",
        ecr.repository(&dst.addr, to, &cfg.repo),
    )
    .await?;
    let there = dst.manifest_digest(to, &digest).await?.is_some();
    let mut tally = PushTally::default();
    let missing =
        missing_blobs(&dst, to, &blobs, there, cfg.concurrency.fixed(), &mut tally).await?;
    let tag_steps = plan_tags(&dst, to, &digest, &cfg.tags, state.immutable).await?;
    let same_registry = src.addr.host == dst.addr.host;
    let landed = Landed {
        host: &dst.addr.host,
        repo: to,
        digest: &digest,
        tags: &cfg.tags,
    };
    if cfg.dry_run {
        return Ok(report::promote_dry_run(
            landed,
            &tally,
            &tag_steps,
            &missing,
            same_registry,
            state.create,
        ));
    }
    create_missing(&ecr, &deadline, &dst.addr, to, &cfg.repo, &state).await?;
    let results = send_blobs(
        cfg.concurrency,
        &missing,
        // Either side may be the one throttling (the copy reads one and writes the other).
        || src.throttled() | dst.throttled(),
        |b| {
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
                    human_bytes(b.size)
                );
                Ok::<_, RegistryError>(outcome)
            }
        },
    )
    .await?;
    tally.record(&missing, results);
    let top_local = manifests.last().expect("collect pushes the top manifest");
    if !there {
        put_manifests(&dst, to, &manifests).await?;
    }
    apply_tags(&dst, to, top_local, &tag_steps).await?;
    let now = dst.manifest_digest(to, &digest).await?;
    if now.as_deref() != Some(digest.as_str()) {
        return Err(Error::failed(format!(
            "{to}@{digest} is not in the destination after the copy"
        )));
    }
    Ok(report::done(landed, &tally))
}

/// Gathers manifests (children first) and blob descriptors below `m`.
async fn collect(
    reg: &Registry,
    repo: &str,
    m: RemoteManifest,
    manifests: &mut Vec<Manifest>,
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
            .await?
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
    manifests.push(Manifest {
        digest: m.digest,
        media_type,
        bytes: m.bytes,
    });
    Ok(())
}
