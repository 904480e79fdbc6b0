//! What push and promote both do with the destination registry: find the blobs it lacks, send
//! them (as many at once as gantry-kit's `pace` allows), ask where tags point, put manifests,
//! write tags.

use crate::plan::{self, BlobOutcome, TagRefusal, TagStep};
use crate::registry::{Registry, short};
use crate::source::Manifest;
use crate::tally::{BlobRef, PushTally};
use futures::{StreamExt, TryStreamExt};
use gantry_kit::Error;
use gantry_kit::pace::{self, Concurrency, Pace};
use std::future::Future;

/// The blobs `repo` lacks, in order; those it has are counted as present. When its manifest
/// is there every blob is, and nothing is asked; else each blob is asked for (HEAD).
pub(crate) async fn missing_blobs<'a, B: BlobRef>(
    reg: &Registry,
    repo: &str,
    blobs: &'a [B],
    manifest_there: bool,
    concurrency: usize,
    tally: &mut PushTally,
) -> Result<Vec<&'a B>, Error> {
    let present: Vec<bool> = if manifest_there {
        vec![true; blobs.len()]
    } else {
        futures::stream::iter(blobs.iter().map(|b| reg.blob_exists(repo, b.parts().0)))
            .buffered(concurrency * 2)
            .try_collect()
            .await?
    };
    let mut missing = Vec::new();
    for (b, there) in blobs.iter().zip(present) {
        if there {
            tally.add(b, BlobOutcome::Present);
        } else {
            missing.push(b);
        }
    }
    Ok(missing)
}

/// Sends every blob of `missing` by `send` (a mount, an upload or a copy), as many at once as
/// `concurrency` allows: pinned, or adapted to what completes and to `throttled` (did a
/// registry answer 429 or 503 since last asked). The outcomes by index, in the order they
/// finished; the first error ends it.
pub(crate) async fn send_blobs<'a, B, E, Fut>(
    concurrency: Concurrency,
    missing: &[&'a B],
    throttled: impl FnMut() -> bool,
    mut send: impl FnMut(&'a B) -> Fut,
) -> Result<Vec<(usize, BlobOutcome)>, E>
where
    B: BlobRef,
    Fut: Future<Output = Result<BlobOutcome, E>>,
{
    let mut results = Vec::with_capacity(missing.len());
    let paced = pace::drive(
        &mut Pace::new(concurrency),
        tokio::time::Instant::now(),
        missing.iter().copied().enumerate(),
        |(i, b)| {
            let size = b.parts().2;
            let sent = send(b);
            async move {
                let outcome = sent.await?;
                Ok(((i, outcome), outcome.bytes_sent(size)))
            }
        },
        throttled,
        |r| results.push(r),
    )
    .await?;
    tracing::debug!("blobs: {paced}");
    Ok(results)
}

/// Where each tag points now (HEAD, all at once).
pub(crate) async fn tag_heads(
    reg: &Registry,
    repo: &str,
    tags: &[String],
) -> Result<Vec<Option<String>>, Error> {
    Ok(futures::future::try_join_all(tags.iter().map(|t| reg.manifest_digest(repo, t))).await?)
}

/// Where each tag points now and what to do about it; refuses (exit 1) before any write when a
/// tag of an immutable repository points elsewhere.
pub(crate) async fn plan_tags(
    reg: &Registry,
    repo: &str,
    digest: &str,
    tags: &[String],
    immutable: bool,
) -> Result<Vec<(String, TagStep)>, Error> {
    let heads = tag_heads(reg, repo, tags).await?;
    plan::decide_tags(repo, digest, tags, heads, immutable).map_err(refused)
}

/// A tag refusal as the run ends with it (exit 1), with what to do instead.
pub(crate) fn refused(r: TagRefusal) -> Error {
    Error::failed(r.to_string())
        .with_hint("use a new tag (e.g. the commit sha), or make the repository MUTABLE if moving tags is intended")
}

/// Applies the planned tags by manifest PUT (as `docker push` does).
pub(crate) async fn apply_tags(
    reg: &Registry,
    repo: &str,
    top: &Manifest,
    steps: &[(String, TagStep)],
) -> Result<(), Error> {
    for (tag, step) in steps {
        match step {
            TagStep::Keep => tracing::info!("tag {tag} already points to {}", short(&top.digest)),
            TagStep::Move { from } => {
                tracing::warn!(
                    "moving tag {tag} from {} to {}",
                    short(from),
                    short(&top.digest)
                );
            }
            TagStep::Write => tracing::info!("tagging {tag}"),
            TagStep::Refuse { .. } => unreachable!("refused in plan::decide_tags"),
        }
        if matches!(step, TagStep::Keep) {
            continue;
        }
        if let Err(e) = reg
            .manifest_put(repo, tag, &top.media_type, &top.bytes)
            .await
        {
            if plan::is_immutable_tag_conflict(e.status.unwrap_or(0), &e.body) {
                // Another run wrote the tag between our HEAD and PUT.
                let now = reg
                    .manifest_digest(repo, tag)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "another image".into());
                if now == top.digest {
                    continue;
                }
                return Err(refused(TagRefusal {
                    repo: repo.to_owned(),
                    tag: tag.clone(),
                    existing: now,
                    digest: top.digest.clone(),
                }));
            }
            return Err(e.into());
        }
    }
    Ok(())
}

/// PUTs manifests by digest, children before the index that lists them.
pub(crate) async fn put_manifests(
    reg: &Registry,
    repo: &str,
    manifests: &[Manifest],
) -> Result<(), Error> {
    for m in manifests {
        reg.manifest_put(repo, &m.digest, &m.media_type, &m.bytes)
            .await?;
    }
    Ok(())
}
