//! The publish plan: pure data in (the local tree, the live pointer, the bucket listing, the
//! manifests of kept and expired releases, the rules' verdicts), pure data out (uploads by phase,
//! skips, the new manifest and pointer, the prune set, the invalidation paths). No AWS.

use crate::manifest::{self, Entry, Pointer, ReleaseManifest};
use gantry_kit::fmt::{push_percent_encoded, url_unsafe};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One local file, hashed, with the headers the rules gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalFile {
    /// Path relative to the site root, `/`-separated (the key under the prefix).
    pub(crate) key: String,
    pub(crate) entry: Entry,
}

/// Publish order: immutable files, then other non-HTML files, then HTML. The manifest and the
/// pointer follow. A publish stopped anywhere never leaves live HTML referencing a missing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PublishPhase {
    Immutable,
    Other,
    Html,
}

impl PublishPhase {
    pub(crate) const ALL: [PublishPhase; 3] = [
        PublishPhase::Immutable,
        PublishPhase::Other,
        PublishPhase::Html,
    ];

    pub(crate) fn of(e: &Entry) -> PublishPhase {
        if e.content_type.starts_with("text/html") {
            PublishPhase::Html
        } else if e.immutable {
            PublishPhase::Immutable
        } else {
            PublishPhase::Other
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            PublishPhase::Immutable => "immutable files",
            PublishPhase::Other => "other files",
            PublishPhase::Html => "HTML",
        }
    }
}

/// Why a file is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Reason {
    /// Not in the live release.
    New,
    /// In the live release with other bytes or headers.
    Changed,
    /// In the live release as it is, but the object is gone from the bucket.
    Missing,
    /// In the live release as it is, but the object in the bucket is another (a concurrent
    /// publish replaced it): its ETag is not the one recorded, or its own `x-amz-meta-sha256`
    /// or headers differ.
    Drifted,
}

/// The bucket under the prefix as the LIST shows it, keys relative to the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    pub(crate) sizes: BTreeMap<String, u64>,
    /// ETags without quotes.
    pub(crate) etags: BTreeMap<String, String>,
}

/// Keys per listing range: a listing is read as ranges side by side, split after every this
/// many keys the bucket is expected to hold, so that each range is one page (S3 returns 1,000
/// keys a page) with room for what else the bucket holds (release records, stale files).
pub(crate) const LIST_RANGE: usize = 900;

/// Where a listing splits: every `per_range`-th of the `expected` keys (relative to the
/// prefix), in the order S3 lists them (UTF-8 bytes), never the last; none when they fit one
/// range.
pub(crate) fn list_splits<'a>(
    expected: impl IntoIterator<Item = &'a str>,
    per_range: usize,
) -> Vec<String> {
    let keys: BTreeSet<&str> = expected.into_iter().collect();
    let per = per_range.max(1);
    keys.iter()
        .enumerate()
        .filter(|&(i, _)| (i + 1) % per == 0 && i + 1 < keys.len())
        .map(|(_, k)| (*k).to_owned())
        .collect()
}

/// What one object says of itself (a HEAD): the SHA-256 gantry stored with it and its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectHead {
    /// `x-amz-meta-sha256`.
    pub(crate) sha256: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) etag: Option<String>,
}

impl ObjectHead {
    /// The object holds `e`'s bytes with `e`'s headers.
    pub(crate) fn holds(&self, e: &Entry) -> bool {
        self.sha256.as_deref() == Some(e.sha256.as_str())
            && self.content_type.as_deref() == Some(e.content_type.as_str())
            && self.cache_control.as_deref() == Some(e.cache_control.as_str())
            && self.content_encoding == e.content_encoding
    }
}

/// What the listing says of an object a manifest entry recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    /// The ETag recorded is the one listed: the object is the one written.
    Same,
    /// Another ETag: something replaced the object since.
    Replaced,
    /// No ETag to compare (a manifest written before gantry recorded them).
    Unknown,
}

fn recorded(e: &Entry, key: &str, etags: &BTreeMap<String, String>) -> Recorded {
    match (e.etag.as_deref(), etags.get(key)) {
        (Some(r), Some(l)) if r == l => Recorded::Same,
        (Some(_), Some(_)) => Recorded::Replaced,
        _ => Recorded::Unknown,
    }
}

/// One file to upload; in the plan JSON under its phase (so without it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Upload {
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) reason: Reason,
    #[serde(skip)]
    pub(crate) phase: PublishPhase,
}

/// The most objects a deploy may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxDelete {
    Count(usize),
    Percent(u32),
}

impl MaxDelete {
    pub(crate) fn parse(s: &str) -> Result<Self, MaxDeleteError> {
        let t = s.trim();
        let bad = || MaxDeleteError(t.to_owned());
        match t.strip_suffix('%') {
            Some(p) => match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Self::Percent(p)),
                _ => Err(bad()),
            },
            None => t.parse::<usize>().map(Self::Count).map_err(|_| bad()),
        }
    }

    /// The limit for a bucket with `live` objects in the live release.
    pub(crate) fn limit(self, live: usize) -> usize {
        match self {
            Self::Count(n) => n,
            Self::Percent(p) => live * p as usize / 100,
        }
    }
}

impl fmt::Display for MaxDelete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `max-delete` is neither a number of objects nor a percentage (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a number of objects or a percentage; use e.g. `100` or `50%`")]
pub(crate) struct MaxDeleteError(String);

/// What the planner needs.
#[derive(Debug, Clone)]
pub(crate) struct Inputs<'a> {
    pub(crate) local: &'a [LocalFile],
    pub(crate) live: Option<&'a Pointer>,
    /// Every object under the prefix (key relative to the prefix → size).
    pub(crate) listing: &'a BTreeMap<String, u64>,
    /// Their ETags, from the same listing.
    pub(crate) etags: &'a BTreeMap<String, String>,
    /// Objects read with a HEAD (those [`heads_to_read`] named), by key.
    pub(crate) heads: &'a BTreeMap<String, ObjectHead>,
    /// `--release-id`; default: the content id of the new manifest.
    pub(crate) release_id: Option<&'a str>,
    pub(crate) keep_releases: usize,
    pub(crate) max_delete: MaxDelete,
    /// Manifests read for pruning (those [`manifests_to_read`] named), by release id.
    pub(crate) manifests: &'a BTreeMap<String, ReleaseManifest>,
}

/// The plan (its JSON is `report.rs`'s: uploads by phase, with the invalidation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishPlan {
    pub(crate) release_id: String,
    pub(crate) previous_release_id: Option<String>,
    /// Nothing to write at all: no object, manifest, pointer, delete or invalidation.
    pub(crate) noop: bool,
    /// Uploads in phase order (immutable, other, HTML), keys sorted within a phase.
    pub(crate) uploads: Vec<Upload>,
    pub(crate) skipped: Vec<String>,
    pub(crate) write_manifest: bool,
    pub(crate) write_pointer: bool,
    /// Objects deleted after the new release is live (keys relative to the prefix).
    pub(crate) prune: Vec<String>,
    /// Manifests of releases that fall out of `keep-releases`, deleted last.
    pub(crate) expired_releases: Vec<String>,
    /// CloudFront paths whose content changed (never immutable files).
    pub(crate) invalidation_paths: Vec<String>,
    pub(crate) manifest: ReleaseManifest,
    /// The release history after this deploy, newest first.
    pub(crate) history: Vec<String>,
}

impl PublishPlan {
    pub(crate) fn bytes_to_upload(&self) -> u64 {
        self.uploads.iter().map(|u| u.size).sum()
    }

    pub(crate) fn phase(&self, p: PublishPhase) -> impl Iterator<Item = &Upload> {
        self.uploads.iter().filter(move |u| u.phase == p)
    }
}

/// Why a plan was refused (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    #[error(
        "this deploy would delete {deletes} object(s), over the limit of {limit} \
         ({max} of {live} live objects)"
    )]
    TooManyDeletes {
        deletes: usize,
        limit: usize,
        live: usize,
        max: MaxDelete,
    },
    /// An explicit release id that already names a release with other files: publishing would
    /// overwrite its manifest, so the files it replaced would never be pruned and a rollback to
    /// it would be ambiguous.
    #[error(
        "release-id: `{release}` already exists with other content: choose a new id, \
         or omit --release-id to use the content hash"
    )]
    ReleaseIdTaken { release: String },
}

/// The new manifest for the local tree: version ids carried over from the live release for
/// files that did not change.
pub(crate) fn new_manifest(
    local: &[LocalFile],
    live: Option<&Pointer>,
    release_id: Option<&str>,
) -> ReleaseManifest {
    let files: BTreeMap<String, Entry> = local
        .iter()
        .map(|f| {
            let mut e = f.entry.clone();
            e.version_id = live
                .and_then(|p| p.manifest.files.get(&f.key))
                .filter(|old| old.same_as(&e))
                .and_then(|old| old.version_id.clone());
            (f.key.clone(), e)
        })
        .collect();
    let release = release_id
        .map(str::to_owned)
        .unwrap_or_else(|| manifest::content_id(&files));
    ReleaseManifest {
        format: manifest::FORMAT,
        release,
        files,
    }
}

/// The release history after publishing `new`: the new release, then the live one, then the
/// rest of the history, cut to `keep` entries.
pub(crate) fn next_history(live: Option<&Pointer>, new: &str, keep: usize) -> Vec<String> {
    let mut h = vec![new.to_owned()];
    if let Some(p) = live {
        for id in std::iter::once(&p.release).chain(&p.history) {
            if !h.contains(id) {
                h.push(id.clone());
            }
        }
    }
    h.truncate(keep.max(1));
    h
}

/// Release manifests in the listing, by id.
fn listed_releases(listing: &BTreeMap<String, u64>) -> BTreeSet<String> {
    listing
        .keys()
        .filter_map(|k| manifest::release_of_key(k))
        .map(str::to_owned)
        .collect()
}

/// The manifests the planner must read: the one an explicit `--release-id` already names (to
/// refuse the id for other content; the live release's is in the pointer), and every kept and
/// expired release when some release expires (none otherwise: an ordinary deploy reads only the
/// pointer). The live release's and the new one's are already known.
pub(crate) fn manifests_to_read(inputs: &Inputs<'_>) -> Vec<String> {
    let manifest = new_manifest(inputs.local, inputs.live, inputs.release_id);
    let history = next_history(inputs.live, &manifest.release, inputs.keep_releases);
    let listed = listed_releases(inputs.listing);
    let live = inputs.live.map(|p| p.release.as_str());
    let mut read = Vec::new();
    if inputs.release_id.is_some()
        && listed.contains(&manifest.release)
        && Some(manifest.release.as_str()) != live
    {
        read.push(manifest.release.clone());
    }
    let expired: Vec<&String> = listed.iter().filter(|id| !history.contains(id)).collect();
    if expired.is_empty() {
        return read;
    }
    read.extend(
        history
            .iter()
            .filter(|id| listed.contains(*id))
            .chain(expired)
            .filter(|id| **id != manifest.release && Some(id.as_str()) != live)
            .cloned(),
    );
    read
}

/// A kept release's manifest: one read for this plan, or the live one in the pointer.
fn manifest_of<'a>(inputs: &Inputs<'a>, id: &str) -> Option<&'a ReleaseManifest> {
    inputs
        .manifests
        .get(id)
        .or_else(|| inputs.live.filter(|p| p.release == id).map(|p| &p.manifest))
}

/// HTML pages that stay in the bucket after this deploy without being in its tree (pages of the
/// kept releases), each with the entry of the newest kept release that lists it.
fn kept_pages<'a>(
    inputs: &Inputs<'a>,
    new: &ReleaseManifest,
    history: &[String],
) -> BTreeMap<&'a str, &'a Entry> {
    let mut pages = BTreeMap::new();
    for m in history.iter().filter_map(|id| manifest_of(inputs, id)) {
        for (key, e) in &m.files {
            let page = PublishPhase::of(e) == PublishPhase::Html;
            if page && !new.files.contains_key(key) && inputs.listing.contains_key(key) {
                pages.entry(key.as_str()).or_insert(e);
            }
        }
    }
    pages
}

/// The objects a deploy HEADs before it plans, because the listing cannot vouch for them: HTML
/// files it would skip whose manifest entry has no ETag to compare (a manifest written before
/// gantry recorded them), and, when a release expires, the kept releases' pages this tree does
/// not have whose object is not the one recorded — prune must know which release they hold.
/// Once a deploy has recorded the ETags, an ordinary deploy reads none.
pub(crate) fn heads_to_read(inputs: &Inputs<'_>) -> Vec<String> {
    let Some(live) = inputs.live else {
        return Vec::new();
    };
    let mut read = BTreeSet::new();
    for f in inputs.local {
        if PublishPhase::of(&f.entry) != PublishPhase::Html {
            continue;
        }
        if let Some(old) = live.manifest.files.get(&f.key)
            && old.same_as(&f.entry)
            && inputs.listing.get(&f.key) == Some(&old.size)
            && recorded(old, &f.key, inputs.etags) == Recorded::Unknown
        {
            read.insert(f.key.clone());
        }
    }
    let manifest = new_manifest(inputs.local, inputs.live, inputs.release_id);
    let history = next_history(inputs.live, &manifest.release, inputs.keep_releases);
    if listed_releases(inputs.listing)
        .iter()
        .any(|id| !history.contains(id))
    {
        for (key, e) in kept_pages(inputs, &manifest, &history) {
            if recorded(e, key, inputs.etags) != Recorded::Same {
                read.insert(key.to_owned());
            }
        }
    }
    read.into_iter().collect()
}

/// The CloudFront paths for a changed key: `/docs/index.html` also invalidates `/docs/`.
/// Each is the path a browser requests, URL-encoded here (see [`url_path`]).
pub(crate) fn paths_for(key: &str) -> Vec<String> {
    let mut v = vec![format!("/{}", url_path(key))];
    if key == "index.html" {
        v.push("/".into());
    } else if let Some(dir) = key.strip_suffix("/index.html") {
        v.push(format!("/{}/", url_path(dir)));
    }
    v
}

/// A key as the path a browser requests: `%` (so a name that looks encoded is not read as an
/// escape), spaces (so trailing ones are not trimmed away), `?` (not a query here), non-ASCII
/// and RFC 1738's unsafe characters percent-encoded, as CloudFront wants invalidation paths; nothing else (CloudFront
/// would then not invalidate the cached object).
pub(crate) fn url_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if !c.is_ascii() || c.is_ascii_control() || matches!(c, '%' | '?') || url_unsafe(c) {
            push_percent_encoded(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Plans a deploy.
pub(crate) fn plan(inputs: &Inputs<'_>) -> Result<PublishPlan, PlanError> {
    let live = inputs.live;
    let mut manifest = new_manifest(inputs.local, live, inputs.release_id);
    // An explicit id names one content for good: the same content again is a re-run (a no-op
    // when it is live), other content would overwrite that release's manifest.
    if let Some(id) = inputs.release_id {
        let existing = live
            .filter(|p| p.release == id)
            .map(|p| &p.manifest)
            .or_else(|| inputs.manifests.get(id));
        if existing.is_some_and(|old| !old.same_content(&manifest)) {
            return Err(PlanError::ReleaseIdTaken {
                release: id.to_owned(),
            });
        }
    }
    let live_files = live.map(|p| &p.manifest.files);

    let mut uploads = Vec::new();
    let mut skipped = Vec::new();
    let mut invalidate = BTreeSet::new();
    for f in inputs.local {
        let old = live_files.and_then(|m| m.get(&f.key));
        let listed = inputs.listing.get(&f.key);
        // The manifest says what was written; the listing's ETag (or, where it cannot tell,
        // the object's own SHA-256) says whether that is still what is there.
        let reason = match old {
            None => Some(Reason::New),
            Some(o) if !o.same_as(&f.entry) => Some(Reason::Changed),
            Some(o) if listed != Some(&o.size) => Some(Reason::Missing),
            Some(o) => match recorded(o, &f.key, inputs.etags) {
                Recorded::Same => None,
                Recorded::Replaced => Some(Reason::Drifted),
                Recorded::Unknown => match inputs.heads.get(&f.key) {
                    Some(h) if !h.holds(&f.entry) => Some(Reason::Drifted),
                    _ => None,
                },
            },
        };
        match reason {
            None => {
                skipped.push(f.key.clone());
                if let Some(e) = manifest.files.get_mut(&f.key) {
                    e.etag = inputs.etags.get(&f.key).cloned();
                }
            }
            Some(reason) => {
                // Re-uploaded files get a new version id and ETag at publish time.
                if let Some(e) = manifest.files.get_mut(&f.key) {
                    e.version_id = None;
                    e.etag = None;
                }
                let cached = matches!(reason, Reason::Changed | Reason::Drifted);
                if cached && !f.entry.immutable {
                    invalidate.extend(paths_for(&f.key));
                }
                uploads.push(Upload {
                    key: f.key.clone(),
                    size: f.entry.size,
                    reason,
                    phase: PublishPhase::of(&f.entry),
                });
            }
        }
    }
    uploads.sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    skipped.sort();

    let history = next_history(live, &manifest.release, inputs.keep_releases);
    let listed = listed_releases(inputs.listing);
    let mut expired_releases: Vec<String> = listed
        .iter()
        .filter(|id| !history.contains(id))
        .cloned()
        .collect();

    // A kept page this tree does not have whose object is another release's (a concurrent
    // publish replaced it): that release does not expire while the page needs its files.
    let pages = kept_pages(inputs, &manifest, &history);
    let mut needed = BTreeSet::new();
    for (key, want) in &pages {
        let Some(sha) = inputs.heads.get(*key).and_then(|h| h.sha256.as_deref()) else {
            continue;
        };
        if sha == want.sha256 {
            continue;
        }
        for id in &expired_releases {
            let holds = manifest_of(inputs, id)
                .and_then(|m| m.files.get(*key))
                .is_some_and(|e| e.sha256 == sha);
            if holds {
                needed.insert(id.clone());
            }
        }
    }
    expired_releases.retain(|id| !needed.contains(id));

    // Keys still referenced: the new release, every kept one, and those still needed.
    let mut kept: BTreeSet<&str> = manifest.files.keys().map(String::as_str).collect();
    for m in history
        .iter()
        .chain(&needed)
        .filter_map(|id| manifest_of(inputs, id))
    {
        kept.extend(m.files.keys().map(String::as_str));
    }
    let mut prune = BTreeSet::new();
    for id in &expired_releases {
        for key in manifest_of(inputs, id)
            .into_iter()
            .flat_map(|m| m.files.keys())
        {
            let ours = !key.starts_with(manifest::STATE_DIR);
            if ours && !kept.contains(key.as_str()) && inputs.listing.contains_key(key) {
                prune.insert(key.clone());
            }
        }
    }
    let prune: Vec<String> = prune.into_iter().collect();

    let live_count = match live {
        Some(p) => p.manifest.files.len(),
        None => inputs
            .listing
            .keys()
            .filter(|k| !k.starts_with(manifest::STATE_DIR))
            .count(),
    };
    let limit = inputs.max_delete.limit(live_count);
    if prune.len() > limit {
        return Err(PlanError::TooManyDeletes {
            deletes: prune.len(),
            limit,
            live: live_count,
            max: inputs.max_delete,
        });
    }

    let same_release = live.is_some_and(|p| p.release == manifest.release);
    let same_history = live.is_some_and(|p| p.history == history);
    let noop = uploads.is_empty()
        && prune.is_empty()
        && expired_releases.is_empty()
        && same_release
        && same_history;
    let manifest_listed = inputs
        .listing
        .contains_key(&manifest::manifest_key(&manifest.release));
    let write_manifest = !noop && (!uploads.is_empty() || !manifest_listed || !same_release);
    // The default id is the content, so an existing manifest of that id already says the same.
    // An explicit id re-used for the same content (other content was refused above) rewrites
    // its manifest with the version ids now current.
    let write_manifest =
        write_manifest && !(manifest_listed && uploads.is_empty() && inputs.release_id.is_none());
    let previous_release_id = live.map(|p| p.release.clone()).filter(|_| !same_release);
    Ok(PublishPlan {
        release_id: manifest.release.clone(),
        previous_release_id: previous_release_id.or_else(|| live.and_then(|p| p.previous.clone())),
        noop,
        uploads,
        skipped,
        write_manifest,
        write_pointer: !noop,
        prune,
        expired_releases,
        invalidation_paths: invalidate.into_iter().collect(),
        manifest,
        history,
    })
}

/// One object a rollback puts back from a stored version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Restore {
    pub(crate) key: String,
    pub(crate) version_id: String,
    pub(crate) phase: PublishPhase,
}

/// The rollback plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RollbackPlan {
    pub(crate) release_id: String,
    pub(crate) previous_release_id: String,
    /// In phase order.
    pub(crate) restores: Vec<Restore>,
    pub(crate) invalidation_paths: Vec<String>,
}

/// Why a rollback cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RollbackError {
    /// Exit 2: the release is not in the history.
    #[error(
        "release `{release}` is not one of the kept releases ({})",
        listed(.known)
    )]
    Unknown { release: String, known: Vec<String> },
    /// Exit 2: nothing to go back to.
    #[error("there is no previous release to roll back to")]
    NoPrevious,
    /// Exit 2: the release is already live.
    #[error("release `{0}` is already live")]
    AlreadyLive(String),
    /// Exit 1: files of the target whose bytes were not kept (no version ids).
    #[error(
        "release `{release}` cannot be restored: {} file(s) were overwritten and their \
         old bytes were not kept (first: {})",
        .keys.len(),
        .keys.first().map(String::as_str).unwrap_or("")
    )]
    NotRestorable { release: String, keys: Vec<String> },
}

/// `a, b, c`, or `none`.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Which release a rollback goes to: `to`, else the one after the live release in the history.
/// `run` identifies the Actions step (stable across re-runs): when the live pointer was written
/// by this very step's rollback, the rollback is done, so a re-run does not go further back.
pub(crate) fn rollback_target(
    live: &Pointer,
    to: Option<&str>,
    run: Option<&str>,
) -> Result<String, RollbackError> {
    if to.is_none() && run.is_some() && live.rolled_back_by.as_deref() == run {
        return Err(RollbackError::AlreadyLive(live.release.clone()));
    }
    match to {
        Some(t) if t == live.release => Err(RollbackError::AlreadyLive(t.to_owned())),
        Some(t) if live.history.iter().any(|h| h == t) => Ok(t.to_owned()),
        Some(t) => Err(RollbackError::Unknown {
            release: t.to_owned(),
            known: live.history.clone(),
        }),
        None => {
            let pos = live.history.iter().position(|h| *h == live.release);
            let next = match pos {
                Some(i) => live.history.get(i + 1),
                None => live.history.first(),
            };
            next.cloned().ok_or(RollbackError::NoPrevious)
        }
    }
}

/// Plans putting `target` back: every file whose bytes or headers differ from the live release
/// (or whose object is gone) is copied from its stored version, in phase order.
pub(crate) fn plan_rollback(
    live: &Pointer,
    target: &ReleaseManifest,
    listing: &BTreeMap<String, u64>,
    etags: &BTreeMap<String, String>,
) -> Result<RollbackPlan, RollbackError> {
    let mut restores = Vec::new();
    let mut missing = Vec::new();
    let mut invalidate = BTreeSet::new();
    for (key, e) in &target.files {
        let current = live.manifest.files.get(key);
        // An immutable file is never rewritten under the same key with other bytes, so one
        // still listed is the target's; any other file must match the live manifest.
        let same = match current {
            Some(c) => c.same_as(e),
            None => e.immutable,
        };
        // An object another writer replaced is not the live release's any more.
        let replaced = current.is_some_and(|c| recorded(c, key, etags) == Recorded::Replaced);
        let unchanged = same && !replaced && listing.get(key) == Some(&e.size);
        if unchanged {
            continue;
        }
        match &e.version_id {
            Some(v) => {
                restores.push(Restore {
                    key: key.clone(),
                    version_id: v.clone(),
                    phase: PublishPhase::of(e),
                });
                if current.is_some() && !e.immutable {
                    invalidate.extend(paths_for(key));
                }
            }
            None => missing.push(key.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(RollbackError::NotRestorable {
            release: target.release.clone(),
            keys: missing,
        });
    }
    restores.sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    Ok(RollbackPlan {
        release_id: target.release.clone(),
        previous_release_id: live.release.clone(),
        restores,
        invalidation_paths: invalidate.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_splits_after_every_range_of_expected_keys_in_s3_order() {
        let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
        let splits = |per| list_splits(keys.iter().map(String::as_str), per);
        assert_eq!(splits(3), ["k2", "k5", "k8"]);
        assert_eq!(splits(5), ["k4"], "never after the last key");
        assert!(splits(10).is_empty(), "one range");
        assert!(list_splits([], LIST_RANGE).is_empty());
        // S3's order is by UTF-8 bytes ("Z" < "a" < "é"), whatever order the keys came in;
        // duplicates count once.
        assert_eq!(list_splits(["é", "a", "Z", "a", "b"], 1), ["Z", "a", "b"]);
    }

    fn entry(sha: &str, ct: &str, immutable: bool) -> Entry {
        Entry {
            sha256: sha.into(),
            size: sha.len() as u64,
            content_type: ct.into(),
            cache_control: if immutable {
                crate::rules::IMMUTABLE
            } else {
                crate::rules::REVALIDATE
            }
            .into(),
            content_encoding: None,
            immutable,
            version_id: None,
            etag: None,
        }
    }

    fn file(key: &str, sha: &str) -> LocalFile {
        let (ct, imm) = if key.ends_with(".html") {
            ("text/html; charset=utf-8", false)
        } else if key.starts_with("assets/") {
            ("text/javascript; charset=utf-8", true)
        } else {
            ("text/plain; charset=utf-8", false)
        };
        LocalFile {
            key: key.into(),
            entry: entry(sha, ct, imm),
        }
    }

    fn site(v: u32) -> Vec<LocalFile> {
        vec![
            file("index.html", &format!("index{v}")),
            file("docs/index.html", "docs"),
            file(&format!("assets/app-{v:08}.js"), &format!("app{v}")),
            file("assets/logo.svg", "logo"),
            file("robots.txt", "robots"),
        ]
    }

    /// The bucket after `plan` was carried out: listing and pointer (version ids `v-<key>`).
    fn publish(plan: &PublishPlan, listing: &mut BTreeMap<String, u64>) -> Pointer {
        let mut manifest = plan.manifest.clone();
        for u in &plan.uploads {
            listing.insert(u.key.clone(), u.size);
            manifest.files.get_mut(&u.key).unwrap().version_id =
                Some(format!("v-{}-{}", u.key, plan.release_id));
        }
        for k in &plan.prune {
            listing.remove(k);
        }
        for r in &plan.expired_releases {
            listing.remove(&manifest::manifest_key(r));
        }
        listing.insert(manifest::manifest_key(&plan.release_id), 1);
        listing.insert(manifest::POINTER_KEY.into(), 1);
        Pointer {
            format: 1,
            release: plan.release_id.clone(),
            previous: plan.previous_release_id.clone(),
            history: plan.history.clone(),
            manifest,
            rolled_back_by: None,
        }
    }

    struct World {
        listing: BTreeMap<String, u64>,
        /// The listing's ETags (none unless a test sets them).
        etags: BTreeMap<String, String>,
        /// What HEADs found (none unless a test sets them).
        heads: BTreeMap<String, ObjectHead>,
        live: Option<Pointer>,
        manifests: BTreeMap<String, ReleaseManifest>,
    }

    impl World {
        fn new() -> Self {
            Self {
                listing: BTreeMap::new(),
                etags: BTreeMap::new(),
                heads: BTreeMap::new(),
                live: None,
                manifests: BTreeMap::new(),
            }
        }

        fn inputs<'a>(&'a self, local: &'a [LocalFile], keep: usize) -> Inputs<'a> {
            Inputs {
                local,
                live: self.live.as_ref(),
                listing: &self.listing,
                etags: &self.etags,
                heads: &self.heads,
                release_id: None,
                keep_releases: keep,
                max_delete: MaxDelete::Percent(50),
                manifests: &self.manifests,
            }
        }

        fn plan(&self, local: &[LocalFile], keep: usize) -> Result<PublishPlan, PlanError> {
            self.plan_with(local, keep, MaxDelete::Percent(50))
        }

        fn plan_with(
            &self,
            local: &[LocalFile],
            keep: usize,
            max: MaxDelete,
        ) -> Result<PublishPlan, PlanError> {
            plan(&Inputs {
                max_delete: max,
                ..self.inputs(local, keep)
            })
        }

        fn deploy(&mut self, local: &[LocalFile], keep: usize) -> PublishPlan {
            let p = self.plan(local, keep).unwrap();
            let ptr = publish(&p, &mut self.listing);
            self.manifests
                .insert(ptr.release.clone(), ptr.manifest.clone());
            self.live = Some(ptr);
            p
        }
    }

    impl World {
        /// Plans with an explicit `--release-id`, reading only the manifests the planner names
        /// (as a deploy does).
        fn plan_id(&self, local: &[LocalFile], id: &str) -> Result<PublishPlan, PlanError> {
            let mut inputs = Inputs {
                local,
                live: self.live.as_ref(),
                listing: &self.listing,
                etags: &BTreeMap::new(),
                heads: &BTreeMap::new(),
                release_id: Some(id),
                keep_releases: 3,
                max_delete: MaxDelete::Percent(100),
                manifests: &BTreeMap::new(),
            };
            let read: BTreeMap<String, ReleaseManifest> = manifests_to_read(&inputs)
                .into_iter()
                .filter_map(|id| self.manifests.get(&id).map(|m| (id, m.clone())))
                .collect();
            inputs.manifests = &read;
            plan(&inputs)
        }

        fn deploy_id(&mut self, local: &[LocalFile], id: &str) -> PublishPlan {
            let p = self.plan_id(local, id).unwrap();
            let ptr = publish(&p, &mut self.listing);
            self.manifests
                .insert(ptr.release.clone(), ptr.manifest.clone());
            self.live = Some(ptr);
            p
        }
    }

    fn keys(u: &[Upload]) -> Vec<&str> {
        u.iter().map(|u| u.key.as_str()).collect()
    }

    #[test]
    fn cold_publish_orders_phases_and_invalidates_nothing() {
        let w = World::new();
        let p = w.plan(&site(1), 3).unwrap();
        assert_eq!(
            keys(&p.uploads),
            vec![
                "assets/app-00000001.js",
                "assets/logo.svg",
                "robots.txt",
                "docs/index.html",
                "index.html"
            ]
        );
        let phases: Vec<PublishPhase> = p.uploads.iter().map(|u| u.phase).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]));
        assert!(p.uploads.iter().all(|u| u.reason == Reason::New));
        assert!(p.write_manifest && p.write_pointer && !p.noop);
        assert!(p.invalidation_paths.is_empty(), "nothing was cached before");
        assert_eq!(p.previous_release_id, None);
        assert_eq!(p.history, vec![p.release_id.clone()]);
        assert_eq!(p.bytes_to_upload(), 6 + 4 + 4 + 4 + 6);
    }

    #[test]
    fn redeploy_of_the_same_tree_is_a_noop() {
        let mut w = World::new();
        let first = w.deploy(&site(1), 3);
        let again = w.plan(&site(1), 3).unwrap();
        assert!(again.noop);
        assert!(again.uploads.is_empty());
        assert!(!again.write_manifest && !again.write_pointer);
        assert_eq!(again.skipped.len(), 5);
        assert_eq!(again.release_id, first.release_id);
        assert!(again.invalidation_paths.is_empty() && again.prune.is_empty());
        assert_eq!(
            again.manifest.files["index.html"].version_id.as_deref(),
            Some(format!("v-index.html-{}", first.release_id).as_str()),
            "version ids are carried over"
        );
    }

    #[test]
    fn same_size_change_is_uploaded_and_invalidated_with_its_directory() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        let mut next = site(1);
        next[1] = file("docs/index.html", "DOCS"); // same size, other bytes
        let p = w.plan(&next, 3).unwrap();
        assert_eq!(keys(&p.uploads), vec!["docs/index.html"]);
        assert_eq!(p.uploads[0].reason, Reason::Changed);
        assert_eq!(p.invalidation_paths, vec!["/docs/", "/docs/index.html"]);
        assert!(p.write_manifest && p.write_pointer);
        assert_eq!(p.skipped.len(), 4);
        let mut root_changed = site(1);
        root_changed[0] = file("index.html", "INDEX1");
        let root = w.plan(&root_changed, 3).unwrap();
        assert!(root.invalidation_paths.contains(&"/".to_owned()));
    }

    #[test]
    fn immutable_changes_are_never_invalidated_and_headers_count_as_change() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        let mut next = site(1);
        next[3].entry.sha256 = "LOGO".into();
        next[4].entry.cache_control = "public, max-age=60".into();
        let p = w.plan(&next, 3).unwrap();
        assert_eq!(keys(&p.uploads), vec!["assets/logo.svg", "robots.txt"]);
        assert_eq!(p.invalidation_paths, vec!["/robots.txt"]);
    }

    #[test]
    fn a_missing_object_is_uploaded_again_without_invalidation() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        w.listing.remove("robots.txt");
        let p = w.plan(&site(1), 3).unwrap();
        assert_eq!(keys(&p.uploads), vec!["robots.txt"]);
        assert_eq!(p.uploads[0].reason, Reason::Missing);
        assert!(!p.noop && p.write_pointer && p.write_manifest);
        assert!(p.invalidation_paths.is_empty());
    }

    /// The live manifest's entry for `key`, to change what it recorded.
    fn live_entry<'a>(w: &'a mut World, key: &str) -> &'a mut Entry {
        w.live
            .as_mut()
            .unwrap()
            .manifest
            .files
            .get_mut(key)
            .unwrap()
    }

    #[test]
    fn an_object_another_publish_replaced_is_uploaded_again_and_invalidated() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        for key in ["index.html", "robots.txt"] {
            live_entry(&mut w, key).etag = Some(format!("e-{key}"));
            w.etags.insert(key.into(), format!("e-{key}"));
        }
        // The ETags listed are the ones recorded: nothing to do, nothing to HEAD.
        let p = w.plan(&site(1), 3).unwrap();
        assert!(p.noop, "{p:?}");
        assert_eq!(
            heads_to_read(&w.inputs(&site(1), 3)),
            vec!["docs/index.html"],
            "the one page without a recorded ETag"
        );
        assert_eq!(
            p.manifest.files["index.html"].etag.as_deref(),
            Some("e-index.html"),
            "a skipped file keeps the ETag the listing vouched for"
        );

        // Another publish wrote both objects since (same size: the listing's size cannot tell).
        w.etags.insert("index.html".into(), "other".into());
        w.etags.insert("robots.txt".into(), "other".into());
        let p = w.plan(&site(1), 3).unwrap();
        assert_eq!(keys(&p.uploads), vec!["robots.txt", "index.html"]);
        assert!(p.uploads.iter().all(|u| u.reason == Reason::Drifted));
        assert!(!p.noop && p.write_pointer);
        assert_eq!(
            p.invalidation_paths,
            vec!["/", "/index.html", "/robots.txt"],
            "what was cached may be the other publish's"
        );
        assert_eq!(
            p.manifest.files["index.html"].etag, None,
            "set by the upload"
        );
    }

    #[test]
    fn without_a_recorded_etag_html_is_checked_by_its_own_sha256() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        // A manifest from before ETags were recorded: only the HTML to skip is HEADed.
        assert_eq!(
            heads_to_read(&w.inputs(&site(1), 3)),
            vec!["docs/index.html", "index.html"]
        );
        let local = site(1);
        let index = &local.iter().find(|f| f.key == "index.html").unwrap().entry;
        let holds = ObjectHead {
            sha256: Some(index.sha256.clone()),
            content_type: Some(index.content_type.clone()),
            cache_control: Some(index.cache_control.clone()),
            content_encoding: None,
            etag: Some("now".into()),
        };
        w.heads.insert("index.html".into(), holds.clone());
        w.etags.insert("index.html".into(), "now".into());
        let p = w.plan(&local, 3).unwrap();
        assert!(p.noop);
        assert_eq!(p.manifest.files["index.html"].etag.as_deref(), Some("now"));

        for other in [
            ObjectHead {
                sha256: Some("someone-else".into()),
                ..holds.clone()
            },
            ObjectHead {
                cache_control: Some("max-age=60".into()),
                ..holds.clone()
            },
            ObjectHead {
                sha256: None,
                ..holds.clone()
            },
        ] {
            w.heads.insert("index.html".into(), other.clone());
            let p = w.plan(&local, 3).unwrap();
            assert_eq!(keys(&p.uploads), vec!["index.html"], "{other:?}");
            assert_eq!(p.uploads[0].reason, Reason::Drifted);
            assert_eq!(p.invalidation_paths, vec!["/", "/index.html"]);
        }
    }

    #[test]
    fn prune_keeps_the_files_of_a_release_whose_page_is_still_live() {
        let mut w = World::new();
        let mut a = site(1);
        a.push(file("old.html", "a-old"));
        w.deploy(&a, 2);
        // A publish that lost the race for the pointer: its manifest is listed, its page
        // replaced `old.html`, its script is in the bucket; no pointer names it.
        let lost = ReleaseManifest {
            format: 1,
            release: "lost".into(),
            files: [
                file("old.html", "b-old"),
                file("assets/app-lost0001.js", "b-js"),
            ]
            .into_iter()
            .map(|f| (f.key, f.entry))
            .collect(),
        };
        w.listing.insert(manifest::manifest_key("lost"), 1);
        w.listing.insert("assets/app-lost0001.js".into(), 4);
        w.manifests.insert("lost".into(), lost);

        // The next release lacks `old.html`; release 1 stays kept (keep 2), so does its page.
        let next = site(3);
        assert_eq!(
            heads_to_read(&w.inputs(&next, 2)),
            vec!["docs/index.html", "old.html"],
            "the unchanged page without an ETag, and the kept page this tree lacks"
        );
        let blind = w.plan(&next, 2).unwrap();
        assert_eq!(blind.expired_releases, vec!["lost"], "without the HEAD");
        assert_eq!(blind.prune, vec!["assets/app-lost0001.js"]);

        w.heads.insert(
            "old.html".into(),
            ObjectHead {
                sha256: Some("b-old".into()),
                ..ObjectHead::default()
            },
        );
        let p = w.plan(&next, 2).unwrap();
        assert!(p.expired_releases.is_empty(), "{p:?}");
        assert!(
            p.prune.is_empty(),
            "the live page's script stays: {:?}",
            p.prune
        );

        // Once the page holds a kept release's bytes again, the lost release expires.
        w.heads.insert(
            "old.html".into(),
            ObjectHead {
                sha256: Some("a-old".into()),
                ..ObjectHead::default()
            },
        );
        let p = w.plan(&next, 2).unwrap();
        assert_eq!(p.expired_releases, vec!["lost"]);
        assert_eq!(p.prune, vec!["assets/app-lost0001.js"]);
    }

    #[test]
    fn prune_keeps_the_last_releases_and_never_touches_foreign_objects() {
        let mut w = World::new();
        w.listing.insert("not-ours.txt".into(), 1);
        let r1 = w.deploy(&site(1), 2).release_id;
        let r2 = w.deploy(&site(2), 2).release_id;
        assert!(w.listing.contains_key("assets/app-00000001.js"));
        // Release 3 pushes release 1 out of keep-releases = 2.
        let inputs_needed = manifests_to_read(&Inputs {
            local: &site(3),
            live: w.live.as_ref(),
            listing: &w.listing,
            etags: &BTreeMap::new(),
            heads: &BTreeMap::new(),
            release_id: None,
            keep_releases: 2,
            max_delete: MaxDelete::Percent(50),
            manifests: &BTreeMap::new(),
        });
        assert_eq!(inputs_needed, vec![r1.clone()]);
        let p = w.plan(&site(3), 2).unwrap();
        assert_eq!(p.expired_releases, vec![r1.clone()]);
        assert_eq!(p.prune, vec!["assets/app-00000001.js"]);
        assert_eq!(p.history, vec![p.release_id.clone(), r2.clone()]);
        w.deploy(&site(3), 2);
        assert!(!w.listing.contains_key("assets/app-00000001.js"));
        assert!(w.listing.contains_key("assets/app-00000002.js"), "kept");
        assert!(w.listing.contains_key("not-ours.txt"));
        assert!(w.listing.contains_key(".gantry/live.json"));
        assert!(!w.listing.contains_key(&manifest::manifest_key(&r1)));
        // Nothing expires while within keep-releases.
        let mut fresh = World::new();
        fresh.deploy(&site(1), 3);
        fresh.deploy(&site(2), 3);
        let p = fresh.plan(&site(3), 3).unwrap();
        assert!(p.prune.is_empty() && p.expired_releases.is_empty());
    }

    #[test]
    fn max_delete_refuses_a_deploy_that_deletes_too_much() {
        let mut w = World::new();
        let many: Vec<LocalFile> = (0..10)
            .map(|i| file(&format!("assets/f{i}-{i:08}.js"), "x"))
            .collect();
        w.deploy(&many, 1);
        let wrong_dir = vec![file("index.html", "oops")];
        let err = w.plan(&wrong_dir, 1).unwrap_err();
        assert_eq!(
            err,
            PlanError::TooManyDeletes {
                deletes: 10,
                limit: 5,
                live: 10,
                max: MaxDelete::Percent(50)
            }
        );
        assert!(err.to_string().contains("delete 10 object(s)"));
        assert!(w.plan_with(&wrong_dir, 1, MaxDelete::Count(10)).is_ok());
        assert!(w.plan_with(&wrong_dir, 1, MaxDelete::Percent(100)).is_ok());
        assert!(w.plan_with(&wrong_dir, 1, MaxDelete::Count(9)).is_err());
    }

    #[test]
    fn max_delete_parses() {
        assert_eq!(MaxDelete::parse("50%"), Ok(MaxDelete::Percent(50)));
        assert_eq!(MaxDelete::parse(" 12 "), Ok(MaxDelete::Count(12)));
        assert!(MaxDelete::parse("150%").is_err());
        assert!(MaxDelete::parse("lots").is_err());
        assert!(MaxDelete::parse("-1").is_err());
        assert_eq!(MaxDelete::Percent(50).limit(7), 3);
    }

    #[test]
    fn history_puts_new_then_live_then_the_rest() {
        let ptr = |release: &str, history: &[&str]| Pointer {
            format: 1,
            release: release.into(),
            previous: None,
            history: history.iter().map(|s| (*s).to_owned()).collect(),
            manifest: ReleaseManifest {
                format: 1,
                release: release.into(),
                files: BTreeMap::new(),
            },
            rolled_back_by: None,
        };
        assert_eq!(next_history(None, "a", 3), vec!["a"]);
        let live = ptr("b", &["c", "b", "a"]); // rolled back from c to b
        assert_eq!(next_history(Some(&live), "d", 3), vec!["d", "b", "c"]);
        assert_eq!(next_history(Some(&live), "a", 5), vec!["a", "b", "c"]);
        assert_eq!(next_history(Some(&live), "d", 1), vec!["d"]);
    }

    #[test]
    fn explicit_release_id_writes_manifest_and_pointer_but_no_objects() {
        let mut w = World::new();
        w.deploy(&site(1), 3);
        let p = plan(&Inputs {
            local: &site(1),
            live: w.live.as_ref(),
            listing: &w.listing,
            etags: &BTreeMap::new(),
            heads: &BTreeMap::new(),
            release_id: Some("v2.0.0"),
            keep_releases: 3,
            max_delete: MaxDelete::Percent(50),
            manifests: &w.manifests,
        })
        .unwrap();
        assert_eq!(p.release_id, "v2.0.0");
        assert!(p.uploads.is_empty() && p.write_manifest && p.write_pointer);
        assert!(p.invalidation_paths.is_empty());
    }

    #[test]
    fn an_explicit_release_id_is_never_reused_for_other_content() {
        let mut w = World::new();
        w.deploy_id(&site(1), "v1");
        w.deploy_id(&site(2), "v2");
        let taken = |id: &str| PlanError::ReleaseIdTaken {
            release: id.to_owned(),
        };

        // The live release: its manifest is the pointer's, nothing more to read.
        assert_eq!(w.plan_id(&site(3), "v2"), Err(taken("v2")));
        // A kept release: its manifest is read (one GET) and compared.
        let inputs = Inputs {
            local: &site(3),
            live: w.live.as_ref(),
            listing: &w.listing,
            etags: &BTreeMap::new(),
            heads: &BTreeMap::new(),
            release_id: Some("v1"),
            keep_releases: 3,
            max_delete: MaxDelete::Percent(100),
            manifests: &BTreeMap::new(),
        };
        assert_eq!(manifests_to_read(&inputs), vec!["v1".to_owned()]);
        assert_eq!(w.plan_id(&site(3), "v1"), Err(taken("v1")));
        // Headers count as content: the same bytes with another Cache-Control are refused.
        let mut recached = site(2);
        recached[4].entry.cache_control = "public, max-age=60".into();
        assert_eq!(w.plan_id(&recached, "v2"), Err(taken("v2")));
        assert_eq!(
            taken("v1").to_string(),
            "release-id: `v1` already exists with other content: choose a new id, or omit \
             --release-id to use the content hash"
        );

        // The same id with the same content: a no-op when live…
        let again = w.plan_id(&site(2), "v2").unwrap();
        assert!(again.noop && !again.write_manifest && !again.write_pointer);
        // …and a re-deploy of that release otherwise (version ids aside, the manifest says the
        // same; it is rewritten with the version ids now current).
        let back = w.plan_id(&site(1), "v1").unwrap();
        assert_eq!(back.release_id, "v1");
        assert!(back.write_manifest && back.write_pointer);
        assert_eq!(back.history, vec!["v1", "v2"]);
        // A new id, and an id whose manifest is gone, are free.
        assert!(w.plan_id(&site(3), "v3").is_ok());
        w.listing.remove(&manifest::manifest_key("v1"));
        let inputs = Inputs {
            local: &site(3),
            live: w.live.as_ref(),
            listing: &w.listing,
            etags: &BTreeMap::new(),
            heads: &BTreeMap::new(),
            release_id: Some("v1"),
            keep_releases: 3,
            max_delete: MaxDelete::Percent(100),
            manifests: &BTreeMap::new(),
        };
        assert!(manifests_to_read(&inputs).is_empty());
        assert!(w.plan_id(&site(3), "v1").is_ok());
        // The default id is the content: never refused.
        assert!(w.plan(&site(3), 3).is_ok());
    }

    #[test]
    fn rollback_restores_changed_files_in_phase_order() {
        let mut w = World::new();
        let r1 = w.deploy(&site(1), 3).release_id;
        w.deploy(&site(2), 3);
        let live = w.live.clone().unwrap();
        assert_eq!(rollback_target(&live, None, None).unwrap(), r1);
        let target = w.manifests[&r1].clone();
        let rb = plan_rollback(&live, &target, &w.listing, &BTreeMap::new()).unwrap();
        let restored: Vec<&str> = rb.restores.iter().map(|r| r.key.as_str()).collect();
        // The old asset is still there (kept release): nothing to restore for it.
        assert_eq!(restored, vec!["index.html"]);
        assert_eq!(
            rb.restores[0].version_id,
            format!("v-index.html-{r1}"),
            "the version written by release 1"
        );
        assert_eq!(rb.invalidation_paths, vec!["/", "/index.html"]);
        assert_eq!(rb.previous_release_id, live.release);
    }

    #[test]
    fn rollback_refusals() {
        let mut w = World::new();
        let r1 = w.deploy(&site(1), 3).release_id;
        let only = w.live.clone().unwrap();
        assert_eq!(
            rollback_target(&only, None, None),
            Err(RollbackError::NoPrevious)
        );
        assert_eq!(
            rollback_target(&only, Some(&r1), None),
            Err(RollbackError::AlreadyLive(r1.clone()))
        );
        assert!(matches!(
            rollback_target(&only, Some("nope"), None),
            Err(RollbackError::Unknown { .. })
        ));
        w.deploy(&site(2), 3);
        let live = w.live.clone().unwrap();
        let mut unversioned = w.manifests[&r1].clone();
        for e in unversioned.files.values_mut() {
            e.version_id = None;
        }
        let err = plan_rollback(&live, &unversioned, &w.listing, &BTreeMap::new()).unwrap_err();
        assert!(
            matches!(err, RollbackError::NotRestorable { ref keys, .. } if keys == &["index.html"])
        );
        // Rolled back to r1, a second rollback goes further back — there is none.
        let mut back = live.clone();
        back.release = r1.clone();
        assert_eq!(
            rollback_target(&back, None, None),
            Err(RollbackError::NoPrevious)
        );
    }

    #[test]
    fn a_rerun_of_the_step_that_rolled_back_finds_it_done() {
        let mut w = World::new();
        let r1 = w.deploy(&site(1), 3).release_id;
        let r2 = w.deploy(&site(2), 3).release_id;
        w.deploy(&site(3), 3);
        let mut back = w.live.clone().unwrap();
        assert_eq!(
            rollback_target(&back, None, Some("o/r/1/site/s")),
            Ok(r2.clone())
        );
        // The rollback to r2 written by step `o/r/1/site/s`.
        back.release = r2.clone();
        back.rolled_back_by = Some("o/r/1/site/s".into());
        assert_eq!(
            rollback_target(&back, None, Some("o/r/1/site/s")),
            Err(RollbackError::AlreadyLive(r2.clone())),
            "re-run: done, not one further back"
        );
        assert_eq!(
            rollback_target(&back, None, Some("o/r/2/site/s")),
            Ok(r1.clone()),
            "another run goes one further back"
        );
        assert_eq!(rollback_target(&back, None, None), Ok(r1.clone()));
        assert_eq!(
            rollback_target(&back, Some(&r1), Some("o/r/1/site/s")),
            Ok(r1),
            "an explicit target is always honoured"
        );
    }

    #[test]
    fn paths() {
        assert_eq!(paths_for("index.html"), vec!["/index.html", "/"]);
        assert_eq!(
            paths_for("a/b/index.html"),
            vec!["/a/b/index.html", "/a/b/"]
        );
        assert_eq!(paths_for("a/index.htm"), vec!["/a/index.htm"]);
        assert_eq!(paths_for("x.css"), vec!["/x.css"]);
    }
}
