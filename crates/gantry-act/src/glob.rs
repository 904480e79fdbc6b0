//! File patterns as `hashFiles` and the artifact actions read them (`@actions/glob`): one
//! pattern a line or argument, `*` within a path segment, `**` across segments, `!` excludes.

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

/// Include and exclude patterns, relative to a root directory (or absolute).
#[derive(Debug)]
pub struct Patterns {
    include: GlobSet,
    exclude: GlobSet,
    /// The directories the include patterns start from (their literal prefixes).
    roots: Vec<PathBuf>,
}

fn glob(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("invalid pattern '{pattern}': {e}"))
}

/// The directory part of a pattern before its first wildcard.
fn literal_root(pattern: &Path) -> PathBuf {
    let mut root = PathBuf::new();
    for part in pattern.components() {
        let text = part.as_os_str().to_string_lossy();
        if text.contains(['*', '?', '[', '{']) {
            return root;
        }
        root.push(part);
    }
    root
}

impl Patterns {
    /// Patterns (blank lines and `#` comments skipped); relative ones are taken from `base`.
    pub fn new(base: &Path, patterns: &[String]) -> Result<Self, String> {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        let mut roots = Vec::new();
        for line in patterns.iter().flat_map(|p| p.lines()) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = expand_home(pattern);
            let absolute = base.join(&pattern);
            let text = absolute.to_string_lossy().into_owned();
            if negated {
                exclude.add(glob(&text)?);
                exclude.add(glob(&format!("{}/**", text.trim_end_matches('/')))?);
            } else {
                include.add(glob(&text)?);
                // A directory stands for everything under it.
                include.add(glob(&format!("{}/**", text.trim_end_matches('/')))?);
                roots.push(literal_root(&absolute));
            }
        }
        let build = |b: GlobSetBuilder| b.build().map_err(|e| e.to_string());
        Ok(Self {
            include: build(include)?,
            exclude: build(exclude)?,
            roots,
        })
    }

    /// The files that match, sorted, without duplicates.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for root in &self.roots {
            for entry in walkdir::WalkDir::new(root)
                .follow_links(true)
                .into_iter()
                .filter_map(Result::ok)
            {
                let path = entry.path();
                if entry.file_type().is_file()
                    && self.include.is_match(path)
                    && !self.exclude.is_match(path)
                {
                    found.push(path.to_owned());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    /// The deepest directory all include patterns start from: what the artifact actions keep
    /// the paths relative to.
    pub fn common_root(&self) -> PathBuf {
        let mut roots = self.roots.iter();
        let Some(first) = roots.next() else {
            return PathBuf::new();
        };
        let mut common = first.clone();
        for r in roots {
            while !r.starts_with(&common) {
                if !common.pop() {
                    break;
                }
            }
        }
        // A pattern naming a file keeps the file's own directory as the root.
        if common.is_file() {
            common.pop();
        }
        common
    }
}

fn expand_home(pattern: &str) -> String {
    match (pattern.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => pattern.to_owned(),
    }
}

/// `hashFiles(...)`: the SHA-256 over each matching file's SHA-256, in path order; empty when
/// nothing matches. Only files inside `workspace` count, as on GitHub.
pub fn hash_files(workspace: &Path, patterns: &[String]) -> Result<String, String> {
    let files = Patterns::new(workspace, patterns)?.files();
    let files: Vec<&PathBuf> = files.iter().filter(|f| f.starts_with(workspace)).collect();
    if files.is_empty() {
        return Ok(String::new());
    }
    let mut all = Sha256::new();
    for file in files {
        let mut one = Sha256::new();
        let mut f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            if n == 0 {
                break;
            }
            one.update(&buf[..n]);
        }
        all.update(one.finalize());
    }
    Ok(hex(&all.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "dist/a.tar.gz",
            "dist/b.tar.gz",
            "dist/sub/c.tar.gz",
            "dist/notes.txt",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        dir
    }

    fn names(dir: &Path, patterns: &[&str]) -> Vec<String> {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        Patterns::new(dir, &patterns)
            .unwrap()
            .files()
            .iter()
            .map(|f| f.strip_prefix(dir).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn star_stays_in_its_segment_and_double_star_crosses() {
        let dir = tree();
        assert_eq!(
            names(dir.path(), &["dist/*.tar.gz"]),
            ["dist/a.tar.gz", "dist/b.tar.gz"]
        );
        assert_eq!(names(dir.path(), &["dist/**/*.tar.gz"]).len(), 3);
        assert_eq!(
            names(dir.path(), &["dist"]).len(),
            4,
            "a directory is its files"
        );
        assert_eq!(
            names(dir.path(), &["dist/**", "!dist/sub", "!**/*.txt"]),
            ["dist/a.tar.gz", "dist/b.tar.gz"]
        );
        assert!(names(dir.path(), &["nothing/*"]).is_empty());
    }

    #[test]
    fn common_root_is_the_literal_prefix() {
        let dir = tree();
        let p = |pats: &[&str]| {
            let pats: Vec<String> = pats.iter().map(|p| (*p).to_owned()).collect();
            Patterns::new(dir.path(), &pats).unwrap().common_root()
        };
        assert_eq!(p(&["dist/*.tar.gz"]), dir.path().join("dist"));
        assert_eq!(
            p(&["dist/sub/c.tar.gz", "dist/a.tar.gz"]),
            dir.path().join("dist")
        );
        assert_eq!(p(&["dist/notes.txt"]), dir.path().join("dist"));
    }

    #[test]
    fn hash_changes_with_content_and_is_empty_without_files() {
        let dir = tree();
        let pats = |p: &str| vec![p.to_owned()];
        assert_eq!(hash_files(dir.path(), &pats("none/*")).unwrap(), "");
        let before = hash_files(dir.path(), &pats("dist/*.tar.gz")).unwrap();
        assert_eq!(before.len(), 64);
        std::fs::write(dir.path().join("dist/a.tar.gz"), "changed").unwrap();
        assert_ne!(
            hash_files(dir.path(), &pats("dist/*.tar.gz")).unwrap(),
            before
        );
    }
}
