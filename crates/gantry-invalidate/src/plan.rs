//! The invalidation plan: pure data in, pure data out, no AWS.
//!
//! Paths are normalised and checked against CloudFront's rules, de-duplicated, paths covered by a
//! wildcard are dropped, the set is collapsed to wildcard prefixes when it would exceed the
//! budget, and what is left is split into batches that respect CloudFront's in-progress limits.

use gantry_kit::fmt::{push_percent_encoded, url_unsafe};
use serde::Serialize;
use std::collections::BTreeMap;

/// CloudFront's documented limits and our budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Paths (file paths, wildcards counting one each) in progress at once per distribution.
    pub max_paths_in_progress: usize,
    /// Wildcard paths in progress at once per distribution.
    pub max_wildcards_in_progress: usize,
    /// Most paths one run may bill; above it paths are collapsed into wildcard prefixes.
    /// `None`: never collapse (only split into batches).
    pub max_paths: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_paths_in_progress: 3000,
            max_wildcards_in_progress: 15,
            max_paths: Some(3000),
        }
    }
}

/// The longest path CloudFront accepts, in characters.
pub const MAX_PATH_LEN: usize = 4000;

/// Invalidation paths the monthly free tier covers; each path after that is billed.
pub const FREE_PATHS_PER_MONTH: usize = 1000;

/// Why a path was rejected (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no paths given")]
    Empty,
    #[error("`{0}` does not start with `/`")]
    NoLeadingSlash(String),
    #[error("`{0}` has `*` before its end")]
    WildcardNotLast(String),
    #[error(
        "`{}…` is {len} characters long, over CloudFront's limit of {max}",
        .path.chars().take(40).collect::<String>(),
        max = MAX_PATH_LEN
    )]
    TooLong { path: String, len: usize },
    #[error("`{}` contains a control character", .0.escape_debug())]
    ControlCharacter(String),
}

impl PathError {
    /// What would be accepted instead.
    pub fn hint(&self) -> String {
        match self {
            Self::Empty => "give at least one path, e.g. `/index.html` or `/assets/*`".into(),
            Self::NoLeadingSlash(p) => {
                format!("paths are absolute in the distribution: did you mean `/{p}`?")
            }
            Self::WildcardNotLast(p) => {
                let prefix = p.split('*').next().unwrap_or_default();
                format!("`*` is only allowed as the last character: e.g. `{prefix}*`")
            }
            Self::TooLong { .. } => format!(
                "use a wildcard for a common prefix; paths may be at most {MAX_PATH_LEN} characters"
            ),
            Self::ControlCharacter(_) => {
                "remove tabs, line breaks and other control characters from the path".into()
            }
        }
    }
}

/// Characters CloudFront wants URL-encoded in a path: non-ASCII and RFC 1738's unsafe ones.
/// `~` is left as it is (RFC 3986 made it unreserved; browsers send it raw, so the cache key
/// has it raw) and `*` is the wildcard. A `%` that starts a valid escape is kept as it is, so
/// already-encoded paths are not encoded twice.
fn needs_encoding(c: char) -> bool {
    !c.is_ascii() || url_unsafe(c)
}

fn encode_path(p: &str) -> String {
    let bytes = p.as_bytes();
    let mut out = String::with_capacity(p.len());
    for (i, c) in p.char_indices() {
        if c == '%' {
            let valid_escape = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if valid_escape {
                out.push('%');
            } else {
                out.push_str("%25");
            }
        } else if needs_encoding(c) {
            push_percent_encoded(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Normalises one path: trims surrounding whitespace, checks CloudFront's rules, URL-encodes.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    let p = raw.trim();
    if p.is_empty() {
        return Err(PathError::Empty);
    }
    if p.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter(p.to_owned()));
    }
    if !p.starts_with('/') {
        return Err(PathError::NoLeadingSlash(p.to_owned()));
    }
    if let Some(i) = p.find('*')
        && i != p.len() - 1
    {
        return Err(PathError::WildcardNotLast(p.to_owned()));
    }
    let encoded = encode_path(p);
    let len = encoded.chars().count();
    if len > MAX_PATH_LEN {
        return Err(PathError::TooLong {
            path: p.to_owned(),
            len,
        });
    }
    Ok(encoded)
}

fn is_wildcard(p: &str) -> bool {
    p.ends_with('*')
}

/// True when wildcard `w` covers `p` (and `p` is not `w` itself).
fn covers(w: &str, p: &str) -> bool {
    p != w && p.starts_with(&w[..w.len() - 1])
}

/// A path the plan left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub path: String,
    pub reason: String,
}

/// The plan: what will be invalidated, in which batches, at what billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidationPlan {
    /// Final paths, sorted.
    pub paths: Vec<String>,
    /// Batches in order; each respects the in-progress limits on its own.
    pub batches: Vec<Vec<String>>,
    /// Paths CloudFront bills for (each wildcard counts one).
    pub billed_paths: usize,
    /// Paths left out: duplicates, covered by a wildcard, folded into a collapsed prefix.
    pub dropped: Vec<Dropped>,
    /// Wildcard prefixes introduced to stay within the budget.
    pub collapsed_into: Vec<String>,
}

/// Plans an invalidation for `raw` paths.
pub fn plan(raw: &[String], limits: &Limits) -> Result<InvalidationPlan, PathError> {
    if raw.iter().all(|p| p.trim().is_empty()) {
        return Err(PathError::Empty);
    }
    let mut dropped = Vec::new();
    let mut set: Vec<String> = Vec::new();
    for r in raw.iter().filter(|p| !p.trim().is_empty()) {
        let p = normalize(r)?;
        if set.contains(&p) {
            dropped.push(Dropped {
                path: p,
                reason: "duplicate".into(),
            });
        } else {
            set.push(p);
        }
    }
    set.sort();
    let mut paths = drop_covered(set, &mut dropped);

    let mut collapsed_into = Vec::new();
    let budget = limits.max_paths.map(|m| m.max(1));
    while budget.is_some_and(|b| paths.len() > b) {
        match collapse_once(&paths) {
            // A wildcard already in the set cannot shrink it further.
            Some(w) if !paths.contains(&w) => {
                collapsed_into.push(w.clone());
                paths.push(w);
                paths.sort();
                let mut folded = Vec::new();
                paths = drop_covered(paths, &mut folded);
                dropped.extend(folded.into_iter().map(|d| Dropped {
                    reason: "collapsed into a wildcard to stay within max-paths".into(),
                    ..d
                }));
            }
            _ => break,
        }
    }
    collapsed_into.retain(|w| paths.contains(w));
    let batches = batch(&paths, limits);
    Ok(InvalidationPlan {
        billed_paths: paths.len(),
        paths,
        batches,
        dropped,
        collapsed_into,
    })
}

/// Removes paths covered by a wildcard in the (sorted) set.
fn drop_covered(sorted: Vec<String>, dropped: &mut Vec<Dropped>) -> Vec<String> {
    let wildcards: Vec<String> = sorted.iter().filter(|p| is_wildcard(p)).cloned().collect();
    let mut kept = Vec::with_capacity(sorted.len());
    for p in sorted {
        match wildcards.iter().find(|w| covers(w, &p)) {
            Some(w) => dropped.push(Dropped {
                reason: format!("covered by {w}"),
                path: p,
            }),
            None => kept.push(p),
        }
    }
    kept
}

/// The parent directory prefix of a path: `/a/b/c.js` → `/a/b/`, `/a/b/*` → `/a/`, `/x` → `/`.
fn parent(p: &str) -> &str {
    let base = p.strip_suffix('*').unwrap_or(p);
    let base = if is_wildcard(p) {
        base.strip_suffix('/').unwrap_or(base)
    } else {
        base
    };
    match base.rfind('/') {
        Some(i) => &p[..=i],
        None => "/",
    }
}

/// Picks the directory whose wildcard saves the most paths (deepest first on ties, so the
/// collapse over-invalidates as little as possible). None when nothing can shrink.
fn collapse_once(paths: &[String]) -> Option<String> {
    let mut by_dir: BTreeMap<&str, usize> = BTreeMap::new();
    for p in paths {
        if p == "/*" {
            continue;
        }
        *by_dir.entry(parent(p)).or_default() += 1;
    }
    let best = by_dir
        .iter()
        .filter(|(_, n)| **n > 1)
        .max_by_key(|(d, n)| (**n, d.len()))
        .map(|(d, _)| format!("{d}*"));
    best.or_else(|| {
        // Every directory holds one path: fold the deepest directory into its parent.
        let deepest = paths
            .iter()
            .filter(|p| p.as_str() != "/*")
            .max_by_key(|p| parent(p).matches('/').count())?;
        let up = parent(parent(deepest).trim_end_matches('/'));
        Some(format!("{up}*"))
    })
}

/// Splits paths into batches: at most `max_paths_in_progress` paths and
/// `max_wildcards_in_progress` wildcards each.
fn batch(paths: &[String], limits: &Limits) -> Vec<Vec<String>> {
    let max_paths = limits.max_paths_in_progress.max(1);
    let max_wild = limits.max_wildcards_in_progress.max(1);
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut wild = 0;
    for p in paths {
        let w = usize::from(is_wildcard(p));
        if cur.len() + 1 > max_paths || wild + w > max_wild {
            batches.push(std::mem::take(&mut cur));
            wild = 0;
        }
        wild += w;
        cur.push(p.clone());
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn p(items: &[&str]) -> InvalidationPlan {
        plan(&v(items), &Limits::default()).unwrap()
    }

    #[test]
    fn normalizes_and_encodes() {
        assert_eq!(normalize(" /index.html ").unwrap(), "/index.html");
        assert_eq!(
            normalize("/café/menu.html").unwrap(),
            "/caf%C3%A9/menu.html"
        );
        assert_eq!(normalize("/a b/c#d").unwrap(), "/a%20b/c%23d");
        assert_eq!(
            normalize("/a%20b").unwrap(),
            "/a%20b",
            "valid escapes are kept"
        );
        assert_eq!(
            normalize("/100%").unwrap(),
            "/100%25",
            "a bare % is encoded"
        );
        assert_eq!(normalize("/~user/*").unwrap(), "/~user/*");
        assert_eq!(normalize("/日本").unwrap(), "/%E6%97%A5%E6%9C%AC");
        assert_eq!(normalize("/*").unwrap(), "/*");
    }

    #[test]
    fn rejects_what_cloudfront_rejects() {
        assert_eq!(normalize(""), Err(PathError::Empty));
        assert_eq!(
            normalize("index.html"),
            Err(PathError::NoLeadingSlash("index.html".into()))
        );
        assert_eq!(
            normalize("/a*/b"),
            Err(PathError::WildcardNotLast("/a*/b".into()))
        );
        assert_eq!(
            normalize("/a**"),
            Err(PathError::WildcardNotLast("/a**".into()))
        );
        assert!(matches!(
            normalize("/a\tb"),
            Err(PathError::ControlCharacter(_))
        ));
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert!(matches!(
            normalize(&long),
            Err(PathError::TooLong { len: 4001, .. })
        ));
        let just_fits = format!("/{}", "a".repeat(MAX_PATH_LEN - 1));
        assert!(normalize(&just_fits).is_ok());
        // Encoding can push a path over the limit: the limit applies to what is sent.
        let grows = format!("/{}", "é".repeat(700));
        assert!(matches!(normalize(&grows), Err(PathError::TooLong { .. })));
        assert_eq!(
            plan(&v(&["  ", ""]), &Limits::default()),
            Err(PathError::Empty)
        );
        assert_eq!(plan(&[], &Limits::default()), Err(PathError::Empty));
    }

    #[test]
    fn hints_say_what_is_accepted() {
        assert_eq!(
            PathError::NoLeadingSlash("index.html".into()).hint(),
            "paths are absolute in the distribution: did you mean `/index.html`?"
        );
        assert_eq!(
            PathError::WildcardNotLast("/img/*.png".into()).hint(),
            "`*` is only allowed as the last character: e.g. `/img/*`"
        );
    }

    #[test]
    fn dedups_and_drops_covered_paths() {
        let plan = p(&[
            "/b.html",
            "/app/*",
            "/app/x.js",
            "/b.html",
            "/app/sub/*",
            "/apple",
            "/app/",
        ]);
        assert_eq!(plan.paths, v(&["/app/*", "/apple", "/b.html"]));
        assert_eq!(plan.billed_paths, 3);
        let reasons: Vec<(&str, &str)> = plan
            .dropped
            .iter()
            .map(|d| (d.path.as_str(), d.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("/b.html", "duplicate"),
                ("/app/", "covered by /app/*"),
                ("/app/sub/*", "covered by /app/*"),
                ("/app/x.js", "covered by /app/*"),
            ]
        );
        assert_eq!(p(&["/*", "/a", "/b/*"]).paths, v(&["/*"]));
        // `/app*` is a prefix wildcard: it covers /apple too.
        assert_eq!(p(&["/app*", "/apple", "/app/x"]).paths, v(&["/app*"]));
    }

    #[test]
    fn collapses_to_the_busiest_directory_within_budget() {
        let limits = Limits {
            max_paths: Some(3),
            ..Limits::default()
        };
        let plan = plan(
            &v(&[
                "/index.html",
                "/assets/a.js",
                "/assets/b.js",
                "/assets/c.css",
                "/docs/x.html",
            ]),
            &limits,
        )
        .unwrap();
        assert_eq!(plan.paths, v(&["/assets/*", "/docs/x.html", "/index.html"]));
        assert_eq!(plan.collapsed_into, v(&["/assets/*"]));
        assert_eq!(plan.dropped.len(), 3);
        assert!(plan.dropped.iter().all(|d| d.reason.contains("collapsed")));
    }

    #[test]
    fn collapse_climbs_to_root_when_it_must() {
        let limits = Limits {
            max_paths: Some(1),
            ..Limits::default()
        };
        let plan = plan(&v(&["/a/b/c.html", "/d.html"]), &limits).unwrap();
        assert_eq!(plan.paths, v(&["/*"]));
        let limits = Limits {
            max_paths: Some(1),
            ..Limits::default()
        };
        let plan2 = super::plan(&v(&["/a/b/c.html", "/a/x/y.html"]), &limits).unwrap();
        assert_eq!(
            plan2.paths,
            v(&["/a/*"]),
            "stops at the deepest common prefix"
        );
    }

    #[test]
    fn no_budget_never_collapses_but_batches() {
        let many: Vec<String> = (0..7000).map(|i| format!("/f/{i:05}.html")).collect();
        let limits = Limits {
            max_paths: None,
            ..Limits::default()
        };
        let plan = plan(&many, &limits).unwrap();
        assert_eq!(plan.billed_paths, 7000);
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3000, 3000, 1000]);
        assert!(plan.collapsed_into.is_empty());
    }

    #[test]
    fn default_budget_collapses_large_sets() {
        let many: Vec<String> = (0..5000).map(|i| format!("/f{}/{i}.html", i % 3)).collect();
        let plan = plan(&many, &Limits::default()).unwrap();
        assert!(plan.billed_paths <= 3000, "{}", plan.billed_paths);
        assert_eq!(plan.batches.len(), 1);
    }

    #[test]
    fn batches_respect_wildcard_limit() {
        let wild: Vec<String> = (0..40).map(|i| format!("/d{i:02}/*")).collect();
        let limits = Limits {
            max_paths: None,
            ..Limits::default()
        };
        let plan = plan(&wild, &limits).unwrap();
        let sizes: Vec<usize> = plan.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![15, 15, 10]);
        // Mixed: wildcards are counted separately from plain paths.
        let mut mixed = wild[..16].to_vec();
        mixed.extend((0..10).map(|i| format!("/p{i}")));
        let plan = super::plan(&mixed, &limits).unwrap();
        for b in &plan.batches {
            assert!(b.iter().filter(|p| p.ends_with('*')).count() <= 15);
        }
        assert_eq!(plan.batches.iter().map(Vec::len).sum::<usize>(), 26);
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/a/b/c.js"), "/a/b/");
        assert_eq!(parent("/a/b/*"), "/a/");
        assert_eq!(parent("/x"), "/");
        assert_eq!(parent("/a/"), "/a/");
    }
}
