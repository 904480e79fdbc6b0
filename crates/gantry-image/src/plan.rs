//! Pure decisions: what to do with each blob and each tag, and the lifecycle policy.

use serde_json::{Value, json};

/// How a blob ended (for the table and the counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobOutcome {
    Present,
    Mounted,
    Uploaded,
}

impl BlobOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Present => "already there",
            Self::Mounted => "mounted",
            Self::Uploaded => "uploaded",
        }
    }

    /// The bytes a blob of `size` sent to end this way (a mount sends none).
    pub(crate) fn bytes_sent(self, size: u64) -> u64 {
        match self {
            Self::Uploaded => size,
            Self::Present | Self::Mounted => 0,
        }
    }
}

/// What to do with one tag, given where it points now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TagStep {
    /// Not there yet: write it.
    Write,
    /// Already points to this digest: nothing to do.
    Keep,
    /// Points elsewhere in a mutable repository: move it (with a warning).
    Move { from: String },
    /// Points elsewhere in an immutable repository: refuse before writing anything.
    Refuse { existing: String },
}

pub(crate) fn tag_step(existing: Option<&str>, digest: &str, immutable: bool) -> TagStep {
    match existing {
        None => TagStep::Write,
        Some(d) if d == digest => TagStep::Keep,
        Some(d) if immutable => TagStep::Refuse {
            existing: d.to_owned(),
        },
        Some(d) => TagStep::Move { from: d.to_owned() },
    }
}

/// A tag of an immutable repository that points to another image: nothing is tagged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "tag {tag} in immutable repository {repo} points to {existing}, not to {digest}; nothing was tagged"
)]
pub(crate) struct TagRefusal {
    pub(crate) repo: String,
    pub(crate) tag: String,
    pub(crate) existing: String,
    pub(crate) digest: String,
}

/// The step for each tag, given where each points now (`heads`, in the order of `tags`); the
/// first tag that would have to move in an immutable repository refuses the whole set.
pub(crate) fn decide_tags(
    repo: &str,
    digest: &str,
    tags: &[String],
    heads: Vec<Option<String>>,
    immutable: bool,
) -> Result<Vec<(String, TagStep)>, TagRefusal> {
    let mut steps = Vec::new();
    for (tag, existing) in tags.iter().zip(heads) {
        let step = tag_step(existing.as_deref(), digest, immutable);
        if let TagStep::Refuse { existing } = &step {
            return Err(TagRefusal {
                repo: repo.to_owned(),
                tag: tag.clone(),
                existing: existing.clone(),
                digest: digest.to_owned(),
            });
        }
        steps.push((tag.clone(), step));
    }
    Ok(steps)
}

/// Whether a registry's answer to a manifest PUT says the tag exists in an immutable repository:
/// ECR's registry API answers `TAG_INVALID … already exists … immutable`; its API names the same
/// case `ImageTagAlreadyExistsException` (moto: `ImageAlreadyExistsException`).
pub(crate) fn is_immutable_tag_conflict(status: u16, body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    body.contains("ImageTagAlreadyExistsException")
        || body.contains("ImageAlreadyExistsException")
        || ((status == 400 || status == 409)
            && b.contains("tag_invalid")
            && b.contains("already exists"))
}

/// The lifecycle policy `--create-repository` sets: untagged images expire after
/// `untagged_days`, and only the last `keep` images are kept.
pub(crate) fn lifecycle_policy(keep: u32, untagged_days: u32) -> Value {
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
    fn lifecycle_policy_expires_untagged_then_keeps_the_last() {
        let p = lifecycle_policy(50, 7);
        assert_eq!(p["rules"][1]["selection"]["countNumber"], 50);
        assert_eq!(p["rules"][0]["selection"]["tagStatus"], "untagged");
    }

    #[test]
    fn one_immutable_tag_elsewhere_refuses_every_tag() {
        let tags = ["v1".to_owned(), "latest".to_owned()];
        let steps = decide_tags(
            "shop/api",
            "sha256:a",
            &tags,
            vec![None, Some("sha256:a".into())],
            true,
        )
        .unwrap();
        assert_eq!(
            steps,
            [
                ("v1".into(), TagStep::Write),
                ("latest".into(), TagStep::Keep)
            ]
        );
        let refusal = decide_tags(
            "shop/api",
            "sha256:a",
            &tags,
            vec![None, Some("sha256:b".into())],
            true,
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "tag latest in immutable repository shop/api points to sha256:b, not to sha256:a; nothing was tagged"
        );
    }
}
