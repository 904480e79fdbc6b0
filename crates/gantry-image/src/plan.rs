//! Pure decisions: what to do with each blob and each tag, the lifecycle policy, the table.

use serde_json::{Value, json};

/// How a blob ended (for the table and the counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    Present,
    Mounted,
    Uploaded,
}

impl BlobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Present => "already there",
            Self::Mounted => "mounted",
            Self::Uploaded => "uploaded",
        }
    }
}

/// What to do with one tag, given where it points now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagStep {
    /// Not there yet: write it.
    Write,
    /// Already points to this digest: nothing to do.
    Keep,
    /// Points elsewhere in a mutable repository: move it (with a warning).
    Move { from: String },
    /// Points elsewhere in an immutable repository: refuse before writing anything.
    Refuse { existing: String },
}

pub fn tag_step(existing: Option<&str>, digest: &str, immutable: bool) -> TagStep {
    match existing {
        None => TagStep::Write,
        Some(d) if d == digest => TagStep::Keep,
        Some(d) if immutable => TagStep::Refuse {
            existing: d.to_owned(),
        },
        Some(d) => TagStep::Move { from: d.to_owned() },
    }
}

/// Whether a registry's answer to a manifest PUT says the tag exists in an immutable repository:
/// ECR's registry API answers `TAG_INVALID … already exists … immutable`; its API names the same
/// case `ImageTagAlreadyExistsException` (moto: `ImageAlreadyExistsException`).
pub fn is_immutable_tag_conflict(status: u16, body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    body.contains("ImageTagAlreadyExistsException")
        || body.contains("ImageAlreadyExistsException")
        || ((status == 400 || status == 409)
            && b.contains("tag_invalid")
            && b.contains("already exists"))
}

/// The lifecycle policy `--create-repository` sets: untagged images expire after
/// `untagged_days`, and only the last `keep` images are kept.
pub fn lifecycle_policy(keep: u32, untagged_days: u32) -> Value {
    json!({
        "rules": [
            {
                "rulePriority": 1,
                "description": format!("expire untagged images after {untagged_days} days"),
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_days
                },
                "action": {"type": "expire"}
            },
            {
                "rulePriority": 2,
                "description": format!("keep the last {keep} images"),
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep
                },
                "action": {"type": "expire"}
            }
        ]
    })
}

/// Human size: `1.5 MB` (powers of 1000, as registries show).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// One row of the blob table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub status: String,
}

/// The markdown table of blobs for the step summary.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from("| blob | type | size | status |\n| --- | --- | ---: | --- |\n");
    for r in rows {
        let short = crate::registry::short(&r.digest);
        let kind = if r.media_type.contains("config") {
            "config"
        } else {
            "layer"
        };
        s.push_str(&format!(
            "| `{short}` | {kind} | {} | {} |\n",
            human_bytes(r.size),
            r.status
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_steps() {
        assert_eq!(tag_step(None, "sha256:a", true), TagStep::Write);
        assert_eq!(tag_step(Some("sha256:a"), "sha256:a", true), TagStep::Keep);
        assert_eq!(
            tag_step(Some("sha256:b"), "sha256:a", true),
            TagStep::Refuse {
                existing: "sha256:b".into()
            }
        );
        assert_eq!(
            tag_step(Some("sha256:b"), "sha256:a", false),
            TagStep::Move {
                from: "sha256:b".into()
            }
        );
    }

    #[test]
    fn immutable_conflicts_from_ecr_and_moto() {
        let ecr = r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag 'v1' already exists in the 'shop/api' repository and cannot be overwritten because the repository is immutable."}]}"#;
        assert!(is_immutable_tag_conflict(400, ecr));
        assert!(is_immutable_tag_conflict(
            400,
            r#"{"__type":"ImageTagAlreadyExistsException","message":"x"}"#
        ));
        assert!(is_immutable_tag_conflict(
            400,
            r#"{"__type":"ImageAlreadyExistsException","message":"x"}"#
        ));
        assert!(!is_immutable_tag_conflict(
            400,
            r#"{"errors":[{"code":"TAG_INVALID","message":"bad tag"}]}"#
        ));
        assert!(!is_immutable_tag_conflict(500, "oops"));
    }

    #[test]
    fn lifecycle_and_table() {
        let p = lifecycle_policy(50, 7);
        assert_eq!(p["rules"][1]["selection"]["countNumber"], 50);
        assert_eq!(p["rules"][0]["selection"]["tagStatus"], "untagged");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(104_857_600), "104.9 MB");
        let t = table(&[Row {
            digest: format!("sha256:{}", "ab".repeat(32)),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            size: 2_000_000,
            status: "uploaded".into(),
        }]);
        insta::assert_snapshot!(t, @r"
        | blob | type | size | status |
        | --- | --- | ---: | --- |
        | `sha256:abababababab` | layer | 2.0 MB | uploaded |
        ");
    }
}
