//! The release records kept in the bucket under `<prefix>/.gantry/`:
//!
//! - `releases/<release-id>.json`: a [`ReleaseManifest`], key → sha256, size and headers of every file.
//! - `live.json`: the [`Pointer`] to the live release, the release history (newest first) and a
//!   copy of the live manifest, so a deploy needs one GET to know what is live.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Folder (under the prefix) that holds gantry's records; never pruned except expired manifests.
pub(crate) const STATE_DIR: &str = ".gantry";
/// The live pointer, relative to the prefix.
pub(crate) const POINTER_KEY: &str = ".gantry/live.json";
/// Format version written in every record.
pub(crate) const FORMAT: u32 = 1;

/// The manifest key of a release, relative to the prefix.
pub(crate) fn manifest_key(release: &str) -> String {
    format!("{STATE_DIR}/releases/{release}.json")
}

/// The release id of a manifest key (relative to the prefix), if it is one.
pub(crate) fn release_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(STATE_DIR)?
        .strip_prefix("/releases/")?
        .strip_suffix(".json")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// One published file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Entry {
    /// Hex SHA-256 of the bytes.
    pub(crate) sha256: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
    pub(crate) cache_control: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_encoding: Option<String>,
    /// Published in the immutable phase; never invalidated.
    #[serde(default)]
    pub(crate) immutable: bool,
    /// The S3 object version written for this file (versioned buckets): what rollback restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version_id: Option<String>,
    /// The ETag of the object this entry was written as (or found as, when a deploy skipped
    /// it), without quotes. Where the listing shows another, something else replaced the
    /// object since: the manifest no longer says what is live there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
}

impl Entry {
    /// Same bytes and same headers (the version id and ETag are where and how it is stored,
    /// not what it is).
    pub(crate) fn same_as(&self, other: &Entry) -> bool {
        self.sha256 == other.sha256
            && self.size == other.size
            && self.content_type == other.content_type
            && self.cache_control == other.cache_control
            && self.content_encoding == other.content_encoding
            && self.immutable == other.immutable
    }
}

/// Every file of one release, by key relative to the prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReleaseManifest {
    pub(crate) format: u32,
    pub(crate) release: String,
    pub(crate) files: BTreeMap<String, Entry>,
}

impl ReleaseManifest {
    pub(crate) fn total_bytes(&self) -> u64 {
        self.files.values().map(|e| e.size).sum()
    }

    /// The same keys with the same bytes and headers (version ids aside).
    pub(crate) fn same_content(&self, other: &ReleaseManifest) -> bool {
        self.files.len() == other.files.len()
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|((k, e), (ok, oe))| k == ok && e.same_as(oe))
    }
}

/// The content id of a set of files: the first 16 hex digits of a SHA-256 over every key, hash
/// and header (not version ids). The same tree gives the same id on any checkout.
pub(crate) fn content_id(files: &BTreeMap<String, Entry>) -> String {
    let mut h = Sha256::new();
    for (k, e) in files {
        for part in [
            k.as_str(),
            &e.sha256,
            &e.size.to_string(),
            &e.content_type,
            &e.cache_control,
            e.content_encoding.as_deref().unwrap_or(""),
            if e.immutable { "i" } else { "m" },
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update([b'\n']);
    }
    gantry_kit::fmt::hex(&h.finalize()[..8])
}

/// `live.json`: which release is live, the history of releases (newest first) and the live
/// manifest itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pointer {
    pub(crate) format: u32,
    pub(crate) release: String,
    #[serde(default)]
    pub(crate) previous: Option<String>,
    /// Releases whose manifests are kept, newest deploy first (a rollback does not reorder).
    pub(crate) history: Vec<String>,
    pub(crate) manifest: ReleaseManifest,
    /// The Actions step (`repository/run-id/job/step`, never the attempt) whose rollback wrote
    /// this pointer: a re-run of that step finds its rollback done instead of going one
    /// release further back.
    #[serde(
        default,
        rename = "rolled-back-by",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) rolled_back_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sha: &str) -> Entry {
        Entry {
            sha256: sha.into(),
            size: 3,
            content_type: "text/plain".into(),
            cache_control: "no-cache".into(),
            content_encoding: None,
            immutable: false,
            version_id: None,
            etag: None,
        }
    }

    #[test]
    fn content_id_ignores_version_ids_and_sees_everything_else() {
        let mut a = BTreeMap::new();
        a.insert("a.txt".to_owned(), entry("aa"));
        let id = content_id(&a);
        assert_eq!(id.len(), 16);
        let mut v = a.clone();
        v.get_mut("a.txt").unwrap().version_id = Some("v1".into());
        assert_eq!(content_id(&v), id);
        let mut cc = a.clone();
        cc.get_mut("a.txt").unwrap().cache_control = "no-store".into();
        assert_ne!(content_id(&cc), id);
        let mut renamed = BTreeMap::new();
        renamed.insert("b.txt".to_owned(), entry("aa"));
        assert_ne!(content_id(&renamed), id);
    }

    #[test]
    fn keys() {
        assert_eq!(manifest_key("abc"), ".gantry/releases/abc.json");
        assert_eq!(release_of_key(".gantry/releases/abc.json"), Some("abc"));
        assert_eq!(release_of_key(".gantry/live.json"), None);
        assert_eq!(release_of_key(".gantry/releases/x/y.json"), None);
        assert_eq!(release_of_key("releases/abc.json"), None);
    }
}
