//! The local tree: every file under `--dir` with its key, size and SHA-256. Symlinks are
//! followed only when they stay inside the directory; a hard link is published only when all its
//! links are inside it; anything but files and directories (a FIFO, a socket, a device) is
//! refused. Names that could not be published or invalidated are refused here, before any call.

use gantry_kit::fmt::hex;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// S3's longest object key, in UTF-8 bytes (prefix included).
pub(crate) const MAX_KEY_BYTES: usize = 1024;

/// One file found under the site root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Path relative to the root, `/`-separated.
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

/// A found file with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub(crate) found: Found,
    /// Hex SHA-256.
    pub(crate) sha256: String,
    /// The bytes that were hashed, for a file under [`HOLD_BELOW`] while the tree's held bytes
    /// stay within [`HOLD_TOTAL`]: its upload sends these instead of reading the file again.
    pub(crate) held: Option<bytes::Bytes>,
}

/// Files smaller than this are read whole when hashed, and their bytes held for the upload.
pub(crate) const HOLD_BELOW: u64 = 1 << 20;
/// The most a tree holds in memory that way (larger trees read the rest again from disk).
pub(crate) const HOLD_TOTAL: u64 = 256 << 20;
/// Files hashed per trip to the blocking pool: one trip per file costs more than hashing a
/// small file does.
const HASH_BATCH: usize = 32;

/// Why the directory was refused (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    #[error("`{}` does not exist", .0.display())]
    NotFound(PathBuf),
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("`{}` holds no files", .0.display())]
    Empty(PathBuf),
    #[error(
        "symlink `{}` points outside the directory (to `{}`)",
        .link.display(),
        .target.display()
    )]
    SymlinkOutside { link: PathBuf, target: PathBuf },
    #[error("`{}` is not a UTF-8 file name", .0.display())]
    NotUtf8(PathBuf),
    #[error("`{0}` is under `.gantry/`, which gantry reserves")]
    Reserved(String),
    #[error("`{}` is {kind}, not a file", .path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error(
        "`{}` is a hard link whose other link(s) lie outside the directory ({links} links, {inside} inside)",
        .path.display()
    )]
    HardLinkOutside {
        path: PathBuf,
        links: u64,
        inside: usize,
    },
    #[error("`{}` cannot be published: {reason}", gantry_kit::fmt::log_safe(.key))]
    Unpublishable { key: String, reason: String },
    #[error("cannot read `{}`: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl ScanError {
    pub(crate) fn hint(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::NotADirectory(_) | Self::Empty(_) => {
                "give the directory your build wrote, e.g. `dist` or `build`"
            }
            Self::SymlinkOutside { .. } => {
                "copy the file into the directory, or point the link at a file inside it"
            }
            Self::NotUtf8(_) => "rename the file to a UTF-8 name",
            Self::Reserved(_) => "rename the folder: `.gantry/` holds release records",
            Self::NotAFile { .. } => {
                "remove it from the directory: only files (and directories) are published"
            }
            Self::HardLinkOutside { .. } => {
                "copy the file into the directory instead of linking it (e.g. `cp` without `-l`, or `cp --remove-destination`)"
            }
            Self::Unpublishable { .. } => {
                "rename the file: names may not hold control characters or `*`, and the key (with the prefix) must fit S3's 1,024 bytes"
            }
            Self::Io { .. } => "check the file's permissions",
        }
    }
}

/// Walks `dir`: every regular file, following symlinks that resolve inside `dir`.
pub(crate) fn walk(dir: &Path) -> Result<Vec<Found>, ScanError> {
    let meta = std::fs::metadata(dir).map_err(|_| ScanError::NotFound(dir.to_path_buf()))?;
    if !meta.is_dir() {
        return Err(ScanError::NotADirectory(dir.to_path_buf()));
    }
    let root = dir.canonicalize().map_err(|error| ScanError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut out = Vec::new();
    let mut links = HardLinks::default();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            ScanError::Io {
                path,
                error: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("symlink loop")),
            }
        })?;
        if entry.path_is_symlink() {
            let target = entry.path().canonicalize().map_err(|error| ScanError::Io {
                path: entry.path().to_path_buf(),
                error,
            })?;
            if !target.starts_with(&root) {
                return Err(ScanError::SymlinkOutside {
                    link: entry.path().to_path_buf(),
                    target,
                });
            }
        }
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(ScanError::NotAFile {
                path: entry.path().to_path_buf(),
                kind: special_kind(&kind),
            });
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let mut parts = Vec::new();
        for c in rel.components() {
            let s = c
                .as_os_str()
                .to_str()
                .ok_or_else(|| ScanError::NotUtf8(entry.path().to_path_buf()))?;
            parts.push(s);
        }
        let key = parts.join("/");
        if key == ".gantry" || key.starts_with(".gantry/") {
            return Err(ScanError::Reserved(key));
        }
        let meta = entry.metadata().map_err(|e| ScanError::Io {
            path: entry.path().to_path_buf(),
            error: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("metadata")),
        })?;
        links.note(entry.path(), &meta)?;
        let size = meta.len();
        out.push(Found {
            key,
            path: entry.path().to_path_buf(),
            size,
        });
    }
    links.all_inside()?;
    if out.is_empty() {
        return Err(ScanError::Empty(dir.to_path_buf()));
    }
    Ok(out)
}

/// What a file type that is neither a file nor a directory is, for the refusal.
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    #[cfg(not(unix))]
    let _ = kind;
    "a special file"
}

/// Files with more than one link, by inode: the distinct real paths found inside the directory.
/// A file whose link count is higher has a link outside it, which can change its bytes.
#[derive(Default)]
struct HardLinks {
    seen: BTreeMap<(u64, u64), (u64, PathBuf, BTreeSet<PathBuf>)>,
}

impl HardLinks {
    fn note(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<(), ScanError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.nlink() > 1 {
                // The real path, so a symlink to the file is not counted as one of its links.
                let real = path.canonicalize().map_err(|error| ScanError::Io {
                    path: path.to_path_buf(),
                    error,
                })?;
                self.seen
                    .entry((meta.dev(), meta.ino()))
                    .or_insert_with(|| (meta.nlink(), path.to_path_buf(), BTreeSet::new()))
                    .2
                    .insert(real);
            }
        }
        #[cfg(not(unix))]
        let _ = (path, meta);
        Ok(())
    }

    fn all_inside(&self) -> Result<(), ScanError> {
        match self
            .seen
            .values()
            .find(|(links, _, inside)| (inside.len() as u64) < *links)
        {
            Some((links, path, inside)) => Err(ScanError::HardLinkOutside {
                path: path.clone(),
                links: *links,
                inside: inside.len(),
            }),
            None => Ok(()),
        }
    }
}

/// Refuses, before any call, a name the publish could not carry through to the end: a control
/// character (S3 listings and CloudFront paths cannot hold one faithfully), a `*` (CloudFront
/// reads it as a wildcard, so the file could not be invalidated alone), a key over S3's 1,024
/// bytes with `prefix`, and any path the invalidation planner would refuse.
pub(crate) fn check_names(found: &[Found], prefix: &str) -> Result<(), ScanError> {
    let extra = if prefix.is_empty() {
        0
    } else {
        prefix.len() + 1
    };
    for f in found {
        let refuse = |reason: String| ScanError::Unpublishable {
            key: f.key.clone(),
            reason,
        };
        if f.key.chars().any(char::is_control) {
            return Err(refuse("its name holds a control character".into()));
        }
        if f.key.contains('*') {
            return Err(refuse(
                "its name holds `*`, which CloudFront reads as a wildcard".into(),
            ));
        }
        if f.key.len() + extra > MAX_KEY_BYTES {
            return Err(refuse(format!(
                "its key is {} bytes with the prefix, over S3's {MAX_KEY_BYTES}",
                f.key.len() + extra
            )));
        }
        for path in crate::plan::paths_for(&f.key) {
            gantry_invalidate::plan::normalize(&path).map_err(|e| refuse(e.to_string()))?;
        }
    }
    Ok(())
}

/// SHA-256 of a byte range of a file, read in 64 KiB chunks (memory does not grow with size).
pub(crate) fn sha256_range(path: &Path, offset: u64, len: u64) -> std::io::Result<[u8; 32]> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = f.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "file shrank while reading",
            ));
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(h.finalize().into())
}

/// The first `len` bytes of a file, whole in memory (an error if the file is shorter now).
fn read_exact_len(path: &Path, len: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::fs::File::open(path)?.take(len).read_to_end(&mut buf)?;
    if (buf.len() as u64) < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "file shrank while reading",
        ));
    }
    Ok(buf)
}

/// Hashes one file: whole in memory (the bytes kept) if `hold`, else 64 KiB at a time.
fn hash_one(f: Found, hold: bool) -> Result<Hashed, ScanError> {
    let io = |error| ScanError::Io {
        path: f.path.clone(),
        error,
    };
    let (digest, held) = if hold {
        let bytes = read_exact_len(&f.path, f.size).map_err(io)?;
        (
            Sha256::digest(&bytes).into(),
            Some(bytes::Bytes::from(bytes)),
        )
    } else {
        (sha256_range(&f.path, 0, f.size).map_err(io)?, None)
    };
    Ok(Hashed {
        sha256: hex(&digest),
        found: f,
        held,
    })
}

/// Hashes every file on the blocking pool, [`HASH_BATCH`] files a trip and `parallel` trips at
/// a time, holding the bytes of small files (in walk order, within [`HOLD_TOTAL`]).
pub(crate) async fn hash_all(found: Vec<Found>, parallel: usize) -> Result<Vec<Hashed>, ScanError> {
    use futures::StreamExt;
    let mut budget = HOLD_TOTAL;
    let mut batches: Vec<Vec<(Found, bool)>> = Vec::new();
    for f in found {
        let hold = f.size < HOLD_BELOW && f.size <= budget;
        if hold {
            budget -= f.size;
        }
        match batches.last_mut() {
            Some(b) if b.len() < HASH_BATCH => b.push((f, hold)),
            _ => batches.push(vec![(f, hold)]),
        }
    }
    let results: Vec<Result<Vec<Hashed>, ScanError>> = futures::stream::iter(batches)
        .map(|batch| async move {
            tokio::task::spawn_blocking(move || {
                batch
                    .into_iter()
                    .map(|(f, hold)| hash_one(f, hold))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_files_with_keys_and_follows_inner_symlinks_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("docs/deep")).unwrap();
        std::fs::write(d.path().join("index.html"), "hi").unwrap();
        std::fs::write(d.path().join("docs/deep/a.txt"), "abc").unwrap();
        std::os::unix::fs::symlink("index.html", d.path().join("alias.html")).unwrap();
        let found = walk(d.path()).unwrap();
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, vec!["alias.html", "docs/deep/a.txt", "index.html"]);
        assert_eq!(found[1].size, 3);

        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("leak")).unwrap();
        assert!(matches!(
            walk(d.path()),
            Err(ScanError::SymlinkOutside { .. })
        ));
    }

    #[test]
    fn refuses_missing_empty_and_files() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(walk(d.path()), Err(ScanError::Empty(_))));
        std::fs::create_dir(d.path().join("only-dirs")).unwrap();
        assert!(matches!(walk(d.path()), Err(ScanError::Empty(_))));
        let f = d.path().join("f");
        std::fs::write(&f, "x").unwrap();
        assert!(matches!(walk(&f), Err(ScanError::NotADirectory(_))));
        assert!(matches!(
            walk(&d.path().join("nope")),
            Err(ScanError::NotFound(_))
        ));
        std::fs::create_dir(d.path().join(".gantry")).unwrap();
        std::fs::write(d.path().join(".gantry/x"), "x").unwrap();
        assert!(matches!(walk(d.path()), Err(ScanError::Reserved(_))));
    }

    #[test]
    fn a_fifo_or_socket_is_refused_by_name_not_skipped() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("index.html"), "hi").unwrap();
        let fifo = d.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        match walk(d.path()) {
            Err(e @ ScanError::NotAFile { .. }) => {
                assert!(e.to_string().contains("pipe` is a FIFO"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&fifo).unwrap();
        let sock = d.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        match walk(d.path()) {
            Err(e @ ScanError::NotAFile { .. }) => {
                assert!(e.to_string().contains("sock` is a socket"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hard_link_with_a_link_outside_is_refused_one_inside_is_not() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("index.html"), "hi").unwrap();
        // Two links, both inside: the same file twice, published twice.
        std::fs::hard_link(d.path().join("index.html"), d.path().join("copy.html")).unwrap();
        // A symlink to it does not count as one of its links.
        std::os::unix::fs::symlink("index.html", d.path().join("alias.html")).unwrap();
        assert_eq!(walk(d.path()).unwrap().len(), 3);

        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::fs::hard_link(outside.path().join("secret"), d.path().join("leak.txt")).unwrap();
        match walk(d.path()) {
            Err(e @ ScanError::HardLinkOutside { .. }) => {
                assert!(e.to_string().contains("leak.txt"), "{e}");
                assert!(e.to_string().contains("(2 links, 1 inside)"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    fn found(key: &str) -> Found {
        Found {
            key: key.into(),
            path: PathBuf::from(key),
            size: 1,
        }
    }

    #[test]
    fn names_the_publish_could_not_carry_through_are_refused_before_any_call() {
        for ok in [
            "index.html",
            "a b/é.html",
            "50%.html",
            "a?b.html",
            "trailing .html ",
        ] {
            check_names(&[found(ok)], "site").unwrap();
        }
        let refused = |key: &str, prefix: &str| match check_names(&[found(key)], prefix) {
            Err(e @ ScanError::Unpublishable { .. }) => e.to_string(),
            other => panic!("{key}: {other:?}"),
        };
        assert!(refused("a*b.html", "").contains("`*`"));
        assert!(refused("all*", "").contains("wildcard"));
        let evil = refused("evil\n::warning title=pwned::x", "");
        assert!(evil.contains("control character"), "{evil}");
        assert!(
            evil.contains("evil%0A::warning"),
            "the name is escaped in the message: {evil}"
        );
        let long = "a".repeat(1020);
        check_names(&[found(&long)], "").unwrap();
        assert!(refused(&long, "site").contains("1025 bytes with the prefix"));
    }

    #[tokio::test]
    async fn hashes_match_sha256() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "abc").unwrap();
        let h = hash_all(walk(d.path()).unwrap(), 2).await.unwrap();
        assert_eq!(
            h[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h[0].held.as_deref(),
            Some(&b"abc"[..]),
            "a small file's bytes are held"
        );
        let part = sha256_range(&d.path().join("a"), 1, 1).unwrap();
        assert_eq!(hex(&part), hex(&Sha256::digest(b"b")));
    }

    #[tokio::test]
    async fn holds_small_files_within_the_budget_and_hashes_every_file_in_order() {
        let d = tempfile::tempdir().unwrap();
        // More files than one batch, so batches are joined back in walk order.
        for i in 0..(HASH_BATCH * 2 + 3) {
            std::fs::write(d.path().join(format!("f{i:03}")), format!("file {i}")).unwrap();
        }
        let big = vec![7u8; HOLD_BELOW as usize];
        std::fs::write(d.path().join("z-big"), &big).unwrap();
        let h = hash_all(walk(d.path()).unwrap(), 3).await.unwrap();
        assert_eq!(h.len(), HASH_BATCH * 2 + 4);
        for (i, f) in h.iter().take(HASH_BATCH * 2 + 3).enumerate() {
            assert_eq!(f.found.key, format!("f{i:03}"));
            let want = format!("file {i}");
            assert_eq!(f.sha256, hex(&Sha256::digest(want.as_bytes())));
            assert_eq!(f.held.as_deref(), Some(want.as_bytes()));
        }
        let last = h.last().unwrap();
        assert_eq!(last.sha256, hex(&Sha256::digest(&big)));
        assert_eq!(
            last.held, None,
            "a file of HOLD_BELOW bytes is read again from disk"
        );
    }

    #[test]
    fn a_file_that_shrank_since_the_walk_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a");
        std::fs::write(&p, "abcdef").unwrap();
        let f = walk(d.path()).unwrap().remove(0);
        std::fs::write(&p, "abc").unwrap();
        for hold in [true, false] {
            match hash_one(f.clone(), hold) {
                Err(ScanError::Io { error, .. }) => {
                    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{hold}")
                }
                other => panic!("{hold}: {other:?}"),
            }
        }
    }
}
