//! The local tree: every file under `--dir` with its key, size and SHA-256. Symlinks are
//! followed only when they stay inside the directory.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

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
}

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
        if !entry.file_type().is_file() {
            continue;
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
        let size = entry
            .metadata()
            .map_err(|e| ScanError::Io {
                path: entry.path().to_path_buf(),
                error: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("metadata")),
            })?
            .len();
        out.push(Found {
            key,
            path: entry.path().to_path_buf(),
            size,
        });
    }
    if out.is_empty() {
        return Err(ScanError::Empty(dir.to_path_buf()));
    }
    Ok(out)
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes every file on the blocking pool, `parallel` at a time.
pub(crate) async fn hash_all(found: Vec<Found>, parallel: usize) -> Result<Vec<Hashed>, ScanError> {
    use futures::StreamExt;
    let results: Vec<Result<Hashed, ScanError>> = futures::stream::iter(found)
        .map(|f| async move {
            let path = f.path.clone();
            let size = f.size;
            let digest = tokio::task::spawn_blocking(move || sha256_range(&path, 0, size))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r);
            match digest {
                Ok(d) => Ok(Hashed {
                    sha256: hex(&d),
                    found: f,
                }),
                Err(error) => Err(ScanError::Io {
                    path: f.path,
                    error,
                }),
            }
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    results.into_iter().collect()
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

    #[tokio::test]
    async fn hashes_match_sha256() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "abc").unwrap();
        let h = hash_all(walk(d.path()).unwrap(), 2).await.unwrap();
        assert_eq!(
            h[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let part = sha256_range(&d.path().join("a"), 1, 1).unwrap();
        assert_eq!(hex(&part), hex(&Sha256::digest(b"b")));
    }
}
