//! `releases`: the kept releases, newest first, the live one marked.

use crate::aws::s3::{self, SiteLocation};
use crate::report::{self, ReleaseRow};
use aws_sdk_s3::Client as S3;
use gantry_kit::fmt::{human_bytes, log_safe};
use gantry_kit::{Error, Report};

/// Lists the releases the live pointer keeps, with their files and bytes.
pub async fn releases(s3: &S3, site: &SiteLocation) -> Result<Report, Error> {
    let Some(live) = s3::read_pointer(s3, site).await?.map(|l| l.pointer) else {
        return report::releases(None, &[]);
    };
    let mut rows = Vec::new();
    for id in &live.history {
        let is_live = *id == live.release;
        let m = if is_live {
            Some(live.manifest.clone())
        } else {
            s3::read_manifest(s3, site, id).await?
        };
        let (files, bytes) = m
            .as_ref()
            .map_or((0, 0), |m| (m.files.len(), m.total_bytes()));
        tracing::info!(
            "{}{}  {files} file(s), {}",
            if is_live { "* " } else { "  " },
            log_safe(id),
            human_bytes(bytes)
        );
        rows.push(ReleaseRow {
            release_id: id.clone(),
            live: is_live,
            files,
            bytes,
        });
    }
    report::releases(Some(&live.release), &rows)
}
