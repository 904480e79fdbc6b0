//! The only builder of what a run reports: outputs, the dry-run plan (`plan` of `--json`) and
//! the step summary.

use crate::plan::TagStep;
use crate::registry::short;
use crate::source::{Blob, Descriptor};
use crate::tally::{BlobRow, PushTally};
use gantry_kit::fmt::human_bytes;
use gantry_kit::{Outputs, Report};
use serde::Serialize;

/// Where the image is now: registry host, repository, digest, and the tags asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Landed<'a> {
    pub(crate) host: &'a str,
    pub(crate) repo: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) tags: &'a [String],
}

/// The outputs every mode writes.
pub(crate) fn outputs(at: Landed<'_>, t: &PushTally) -> Outputs {
    let Landed {
        host,
        repo,
        digest,
        tags,
    } = at;
    let mut o = Outputs::new();
    o.set("image", format!("{host}/{repo}@{digest}"))
        .set("digest", digest)
        .set(
            "uri",
            tags.first()
                .map(|t| format!("{host}/{repo}:{t}"))
                .unwrap_or_default(),
        )
        .set_list("tags", tags.iter().cloned())
        .set("pushed-blobs", t.pushed)
        .set("mounted-blobs", t.mounted)
        .set("skipped-blobs", t.skipped)
        .set("bytes-pushed", t.bytes);
    o
}

/// A finished push or promotion: the outputs and the blob table.
pub(crate) fn done(at: Landed<'_>, tally: &PushTally) -> Report {
    Report {
        outputs: outputs(at, tally),
        plan: None,
        summary: Some(table(&tally.rows)),
    }
}

/// The plan of a push dry run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct PushPlan {
    upload: Vec<PlannedUpload>,
    upload_bytes: u64,
    present: Vec<String>,
    tags: Vec<PlannedTag>,
    create_repository: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct PlannedUpload {
    digest: String,
    size: u64,
    media_type: String,
}

#[derive(Debug, Serialize)]
struct PlannedTag {
    tag: String,
    step: String,
}

fn step_text(s: &TagStep) -> String {
    match s {
        TagStep::Write => "write".to_owned(),
        TagStep::Keep => "keep".to_owned(),
        TagStep::Move { from } => format!("move from {from}"),
        TagStep::Refuse { existing } => format!("refuse: points to {existing}"),
    }
}

/// A push dry run: outputs as if nothing was sent, the plan, and what would be uploaded.
pub(crate) fn push_dry_run(
    at: Landed<'_>,
    tally: &PushTally,
    tags: &[(String, TagStep)],
    would_upload: &[&Blob],
    create_repository: bool,
) -> Report {
    let upload_bytes = would_upload.iter().map(|b| b.size).sum::<u64>();
    let plan = PushPlan {
        upload: would_upload
            .iter()
            .map(|b| PlannedUpload {
                digest: b.digest.clone(),
                size: b.size,
                media_type: b.media_type.clone(),
            })
            .collect(),
        upload_bytes,
        present: tally.present(),
        tags: tags
            .iter()
            .map(|(t, s)| PlannedTag {
                tag: t.clone(),
                step: step_text(s),
            })
            .collect(),
        create_repository,
    };
    Report {
        outputs: outputs(at, &tally.dry_run()),
        plan: Some(serde_json::to_value(plan).expect("a plan serialises")),
        summary: Some(format!(
            "Dry run: nothing was pushed. {} blob(s) ({}) would be uploaded, {} are there.",
            would_upload.len(),
            human_bytes(upload_bytes),
            tally.skipped
        )),
    }
}

/// The plan of a promotion dry run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct PromotePlan {
    copy: Vec<PlannedCopy>,
    tags: Vec<String>,
    create_repository: bool,
}

#[derive(Debug, Serialize)]
struct PlannedCopy {
    digest: String,
    size: u64,
    by: &'static str,
}

/// A promotion dry run: outputs as if nothing was copied, and the plan.
pub(crate) fn promote_dry_run(
    at: Landed<'_>,
    tally: &PushTally,
    tags: &[(String, TagStep)],
    would_copy: &[&Descriptor],
    same_registry: bool,
    create_repository: bool,
) -> Report {
    let plan = PromotePlan {
        copy: would_copy
            .iter()
            .map(|b| PlannedCopy {
                digest: b.digest.clone(),
                size: b.size,
                by: if same_registry { "mount" } else { "copy" },
            })
            .collect(),
        tags: tags.iter().map(|(t, _)| t.clone()).collect(),
        create_repository,
    };
    Report {
        outputs: outputs(at, &tally.dry_run()),
        plan: Some(serde_json::to_value(plan).expect("a plan serialises")),
        summary: Some(format!(
            "Dry run: nothing was copied. {} blob(s) would be copied.",
            would_copy.len()
        )),
    }
}

/// The markdown table of blobs for the step summary.
fn table(rows: &[BlobRow]) -> String {
    let mut s = String::from("| blob | type | size | status |\n| --- | --- | ---: | --- |\n");
    for r in rows {
        let kind = if r.media_type.contains("config") {
            "config"
        } else {
            "layer"
        };
        s.push_str(&format!(
            "| `{}` | {kind} | {} | {} |\n",
            short(&r.digest),
            human_bytes(r.size),
            r.outcome.as_str()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BlobOutcome;

    #[test]
    fn the_blob_table_names_kind_size_and_outcome() {
        let t = table(&[BlobRow {
            digest: format!("sha256:{}", "ab".repeat(32)),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            size: 2_000_000,
            outcome: BlobOutcome::Uploaded,
        }]);
        insta::assert_snapshot!(t, @r"
        | blob | type | size | status |
        | --- | --- | ---: | --- |
        | `sha256:abababababab` | layer | 1.9 MiB | uploaded |
        ");
    }

    #[test]
    fn a_push_plan_keeps_its_keys_and_order() {
        let tally = PushTally::default();
        let r = push_dry_run(
            Landed {
                host: "127.0.0.1:5000",
                repo: "shop/api",
                digest: "sha256:t",
                tags: &["v1".to_owned()],
            },
            &tally,
            &[
                ("v1".into(), TagStep::Write),
                (
                    "latest".into(),
                    TagStep::Move {
                        from: "sha256:o".into(),
                    },
                ),
            ],
            &[],
            true,
        );
        insta::assert_snapshot!(r.plan.unwrap().to_string(), @r#"{"upload":[],"upload-bytes":0,"present":[],"tags":[{"tag":"v1","step":"write"},{"tag":"latest","step":"move from sha256:o"}],"create-repository":true}"#);
        assert_eq!(
            r.summary.as_deref(),
            Some("Dry run: nothing was pushed. 0 blob(s) (0 B) would be uploaded, 0 are there.")
        );
    }
}
