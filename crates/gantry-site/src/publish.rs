//! Putting a release's objects in place, phase by phase — deploy's uploads and rollback's
//! restores alike. A phase starts only when the one before it is complete, so a publish stopped
//! anywhere never leaves live HTML referencing a missing file. How many are in flight is
//! gantry-kit's `pace`'s answer, told of every completion and of every 503 the server sent
//! (seen by an interceptor on each attempt, the ones the SDK retries included).

use crate::aws::s3::{self, Multipart, Source, Written};
use crate::config::PublishConfig;
use crate::manifest::{Entry, ReleaseManifest};
use crate::plan::{PublishPhase, Restore, Upload};
use crate::report::PublishTally;
use aws_sdk_s3::Client as S3;
use aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use gantry_kit::Error;
use gantry_kit::fmt::human_bytes;
use gantry_kit::pace::{self, Pace};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the attempts S3 answered with 503 (SlowDown, or Service Unavailable): throttling,
/// whether or not the SDK's retry then succeeded.
#[derive(Debug, Clone, Default)]
struct Throttles(Arc<AtomicUsize>);

impl Throttles {
    /// Throttled attempts since the last call.
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl Intercept for Throttles {
    fn name(&self) -> &'static str {
        "Throttles"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.response().status().as_u16() == 503 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// One object a publish puts in place.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Put<'a> {
    /// A file of the tree, uploaded from the bytes its hashing held, or from disk.
    Upload {
        upload: &'a Upload,
        source: &'a Source,
    },
    /// A stored version, copied back inside S3 (no bytes travel through the runner).
    Restore(&'a Restore),
}

impl Put<'_> {
    fn key(&self) -> &str {
        match self {
            Put::Upload { upload, .. } => &upload.key,
            Put::Restore(r) => &r.key,
        }
    }

    fn phase(&self) -> PublishPhase {
        match self {
            Put::Upload { upload, .. } => upload.phase,
            Put::Restore(r) => r.phase,
        }
    }

    /// Bytes sent from the runner.
    pub(crate) fn bytes(&self) -> u64 {
        match self {
            Put::Upload { upload, .. } => upload.size,
            Put::Restore(_) => 0,
        }
    }

    async fn send(
        &self,
        client: &S3,
        cfg: &PublishConfig,
        multipart: Multipart,
        entry: &Entry,
    ) -> Result<Written, Error> {
        let site = &cfg.location;
        match self {
            Put::Upload { upload, source } => {
                s3::upload(client, site, &upload.key, source, entry, multipart).await
            }
            Put::Restore(r) => s3::restore(client, site, &r.key, &r.version_id, entry).await,
        }
    }

    /// Records the version and ETag S3 gave the object in its manifest entry.
    fn record(&self, entry: &mut Entry, written: Written) {
        // The ETag tells a later deploy whether the object is still this one.
        entry.etag = written.etag;
        match self {
            // The upload is the object's bytes now; without versioning there is no version.
            Put::Upload { .. } => entry.version_id = written.version_id,
            // The copy is now the current version: record it, so a lifecycle rule that expires
            // noncurrent versions never takes the bytes of the live release.
            Put::Restore(_) => {
                if let Some(v) = written.version_id {
                    entry.version_id = Some(v);
                }
            }
        }
    }
}

/// A release's objects, in place.
#[derive(Debug)]
pub(crate) struct Published {
    /// `release` with the version id of every object put.
    pub(crate) manifest: ReleaseManifest,
    /// An upload came back without a version id: the bucket does not keep versions.
    pub(crate) unversioned: bool,
}

/// Puts `puts` in place phase by phase (within a phase in the order given, as many at a time
/// as `cfg.concurrency` allows: pinned, or adapted to what the publish observes), with the
/// headers of their entries in `release`, counting each in `tally`.
pub(crate) async fn publish_phases(
    client: &S3,
    cfg: &PublishConfig,
    multipart: Multipart,
    puts: &[Put<'_>],
    release: &ReleaseManifest,
    tally: &mut PublishTally,
) -> Result<Published, Error> {
    let throttles = Throttles::default();
    let client = &S3::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(throttles.clone())
            .build(),
    );
    let mut pace = Pace::new(cfg.concurrency);
    let origin = tokio::time::Instant::now();
    let mut manifest = release.clone();
    let mut unversioned = false;
    for ph in PublishPhase::ALL {
        let phase: Vec<&Put> = puts.iter().filter(|p| p.phase() == ph).collect();
        let Some(first) = phase.first() else {
            continue;
        };
        let uploads = matches!(first, Put::Upload { .. });
        let bytes: u64 = phase.iter().map(|p| p.bytes()).sum();
        let _g = gantry_kit::report::group(&if uploads {
            format!(
                "Upload {}: {} file(s), {}",
                ph.name(),
                phase.len(),
                human_bytes(bytes)
            )
        } else {
            format!("Restore {}: {} file(s)", ph.name(), phase.len())
        });
        let (mut files_done, mut bytes_done) = (0usize, 0u64);
        let paced = pace::drive(
            &mut pace,
            origin,
            phase,
            |put| {
                let entry = &release.files[put.key()];
                async move {
                    let written = put.send(client, cfg, multipart, entry).await?;
                    Ok::<_, Error>(((put, written), put.bytes()))
                }
            },
            || throttles.take() > 0,
            |(put, written)| {
                if let Put::Upload { upload, .. } = put {
                    tracing::debug!(
                        "uploaded {} ({:?})",
                        gantry_kit::fmt::log_safe(&upload.key),
                        upload.reason
                    );
                    unversioned |= written.version_id.is_none();
                }
                if let Some(e) = manifest.files.get_mut(put.key()) {
                    put.record(e, written);
                }
                tally.uploaded += 1;
                tally.bytes += put.bytes();
                files_done += 1;
                bytes_done += put.bytes();
            },
        )
        .await;
        let paced = paced.map_err(|e| tally.attach(e))?;
        tracing::debug!("{}: {paced}", ph.name());
        if uploads {
            tracing::info!(
                "{}: {files_done} file(s), {} uploaded",
                ph.name(),
                human_bytes(bytes_done)
            );
        }
    }
    Ok(Published {
        manifest,
        unversioned,
    })
}
