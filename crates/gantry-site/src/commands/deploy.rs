//! `deploy`: check and hash the tree, read the live pointer and the listing (and HEAD what the
//! listing cannot vouch for), plan, then publish phase by phase, invalidate, record the release
//! (the pointer only if no other publish moved it), prune, and wait for the invalidation.

use super::site_url;
use crate::aws::s3::{self, Source};
use crate::config::{self, DeployConfig};
use crate::invalidation;
use crate::manifest::{self, Entry, Pointer};
use crate::plan::{self, Inputs, LocalFile};
use crate::publish::{Put, publish_phases};
use crate::report::{self, PublishTally};
use crate::rules::Rules;
use crate::scan;
use aws_sdk_cloudfront::Client as CloudFront;
use aws_sdk_s3::Client as S3;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use std::collections::BTreeMap;

/// Deploys `cfg.dir` as a new release (or finds it live already).
pub async fn deploy<C: Clock>(
    s3: &S3,
    cf: Option<&CloudFront>,
    clock: &C,
    cfg: &DeployConfig,
) -> Result<Report, Error> {
    let site = &cfg.publish.location;
    // The tree and its names are checked before any call; hashing then overlaps the two reads.
    let found = scan::walk(&cfg.dir).map_err(config::dir_refused)?;
    scan::check_names(&found, &site.prefix).map_err(config::dir_refused)?;
    // The listing is read in ranges split on the tree's own keys (what the bucket will
    // mostly hold), side by side.
    let splits = plan::list_splits(found.iter().map(|f| f.key.as_str()), cfg.publish.list_range);
    let fixed = cfg.publish.concurrency.fixed();
    let (local, live, listing) = tokio::join!(
        hash_files(found, &cfg.rules),
        s3::read_pointer(s3, site),
        s3::list(s3, site, &splits, fixed)
    );
    let local = local?;
    let (live, listing) = (live?, listing?);
    let files: Vec<LocalFile> = local.iter().map(|(f, _)| f.clone()).collect();
    let sources: BTreeMap<&str, &Source> = local.iter().map(|(f, s)| (f.key.as_str(), s)).collect();
    let (no_manifests, no_heads) = (BTreeMap::new(), BTreeMap::new());
    let mut inputs = Inputs {
        local: &files,
        live: live.as_ref().map(|l| &l.pointer),
        listing: &listing.sizes,
        etags: &listing.etags,
        heads: &no_heads,
        release_id: cfg.release_id.as_deref(),
        keep_releases: cfg.keep_releases,
        max_delete: cfg.max_delete,
        manifests: &no_manifests,
    };
    let mut manifests = BTreeMap::new();
    for id in plan::manifests_to_read(&inputs) {
        if let Some(m) = s3::read_manifest(s3, site, &id).await? {
            manifests.insert(id, m);
        }
    }
    inputs.manifests = &manifests;
    // Objects the listing cannot vouch for say what they hold themselves.
    let heads = s3::heads(s3, site, plan::heads_to_read(&inputs), fixed).await?;
    inputs.heads = &heads;
    let p = plan::plan(&inputs).map_err(config::plan_refused)?;

    let mut tally = PublishTally {
        release_id: p.release_id.clone(),
        previous_release_id: p.previous_release_id.clone().unwrap_or_default(),
        skipped: p.skipped.len(),
        ..PublishTally::default()
    };
    report::log_plan_line(&p);
    // The URL is a read: a dry run reports it too.
    tally.url = site_url(cf, &cfg.publish).await?;
    let cdn = cfg.publish.cdn.as_ref();
    // Every check is made before the first write: the invalidation too.
    let inv = invalidation::plan(cdn, &p.invalidation_paths).map_err(|e| tally.attach(e))?;
    if cfg.publish.dry_run {
        report::log_deploy_plan(&p, cdn, inv.as_ref());
        return report::deploy_dry_run(&tally, &p, inv.as_ref());
    }
    if p.noop {
        return Ok(report::already_live(&tally));
    }

    // Largest first: a big file does not start last and hold its phase open alone.
    let mut puts: Vec<Put> = p
        .uploads
        .iter()
        .map(|u| Put::Upload {
            upload: u,
            source: sources[u.key.as_str()],
        })
        .collect();
    puts.sort_by_key(|put| std::cmp::Reverse(put.bytes()));
    let published = publish_phases(
        s3,
        &cfg.publish,
        cfg.multipart,
        &puts,
        &p.manifest,
        &mut tally,
    )
    .await?;
    if published.unversioned {
        tracing::warn!(
            "bucket {} does not keep object versions: files overwritten by later releases cannot be rolled back to; enable versioning on the bucket",
            site.bucket
        );
    }

    // Invalidate once the HTML is in place, before the release is recorded: a re-run after a
    // stop here sends the same CallerReference and CloudFront returns the same invalidation.
    let mut pending = None;
    if let (Some(cf), Some(cdn), Some(planned)) = (cf, cdn, &inv) {
        let from = live.as_ref().map_or("", |l| l.pointer.release.as_str());
        let to = p.release_id.as_str();
        pending =
            Some(invalidation::create(cf, clock, cdn, planned, (from, to), &mut tally).await?);
    }

    {
        let _g = gantry_kit::report::group("Record the release");
        if p.write_manifest {
            let key = manifest::manifest_key(&p.release_id);
            s3::put_json(s3, site, &key, &published.manifest)
                .await
                .map_err(|e| tally.attach(e))?;
        }
        let pointer = Pointer {
            format: manifest::FORMAT,
            release: p.release_id.clone(),
            previous: p.previous_release_id.clone(),
            history: p.history.clone(),
            manifest: published.manifest,
            rolled_back_by: None,
        };
        // Only if the pointer is still the one this deploy planned from: of two publishes at
        // once, one is made live and the other stops here.
        s3::put_pointer(s3, site, &pointer, live.as_ref())
            .await
            .map_err(|e| tally.attach(e))?;
        tracing::info!("release {} is live", p.release_id);
    }

    if !p.prune.is_empty() || !p.expired_releases.is_empty() {
        let _g = gantry_kit::report::group(&format!(
            "Prune {} object(s) and {} expired release(s)",
            p.prune.len(),
            p.expired_releases.len()
        ));
        tally.deleted = s3::delete(s3, site, &p.prune)
            .await
            .map_err(|e| tally.attach(e))?;
        let expired: Vec<String> = p
            .expired_releases
            .iter()
            .map(|r| manifest::manifest_key(r))
            .collect();
        s3::delete(s3, site, &expired)
            .await
            .map_err(|e| tally.attach(e))?;
    }

    if let (Some(cf), Some(cdn), Some(pending)) = (cf, cdn, &pending)
        && cdn.wait
    {
        let status = invalidation::wait(cf, clock, cdn, pending, &tally).await?;
        tracing::info!("invalidation {}: {status}", pending.id);
    }
    Ok(report::deployed(&tally, &p))
}

/// The walked tree, hashed, with the rules' headers (exit 2 on an unreadable file).
async fn hash_files(
    found: Vec<scan::Found>,
    rules: &Rules,
) -> Result<Vec<(LocalFile, Source)>, Error> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let hashed = scan::hash_all(found, parallel)
        .await
        .map_err(config::dir_refused)?;
    Ok(hashed
        .into_iter()
        .map(|h| {
            let hd = rules.headers(&h.found.key);
            (
                LocalFile {
                    key: h.found.key,
                    entry: Entry {
                        sha256: h.sha256,
                        size: h.found.size,
                        content_type: hd.content_type,
                        cache_control: hd.cache_control,
                        content_encoding: hd.content_encoding,
                        immutable: hd.immutable,
                        version_id: None,
                        etag: None,
                    },
                },
                Source {
                    path: h.found.path,
                    held: h.held,
                },
            )
        })
        .collect())
}
