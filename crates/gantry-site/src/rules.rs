//! What headers each file gets: content types from our own web table (never the host's
//! `/etc/mime.types`), and Cache-Control / Content-Type / Content-Encoding rules per glob, first
//! match wins, with defaults for fingerprinted and other files.

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;

/// Cache-Control for files whose name changes when their content does.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control for HTML and every other file: caches must revalidate before each use.
pub(crate) const REVALIDATE: &str = "no-cache";

/// Content types of the web, by extension (lower case). Text types carry `charset=utf-8`.
const WEB_TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("cjs", "text/javascript; charset=utf-8"),
    ("json", "application/json; charset=utf-8"),
    ("map", "application/json; charset=utf-8"),
    ("webmanifest", "application/manifest+json; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("xml", "application/xml; charset=utf-8"),
    ("rss", "application/rss+xml; charset=utf-8"),
    ("atom", "application/atom+xml; charset=utf-8"),
    ("yml", "application/yaml; charset=utf-8"),
    ("yaml", "application/yaml; charset=utf-8"),
    ("svg", "image/svg+xml; charset=utf-8"),
    ("wasm", "application/wasm"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("gif", "image/gif"),
    ("ico", "image/vnd.microsoft.icon"),
    ("bmp", "image/bmp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("eot", "application/vnd.ms-fontobject"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("ogg", "audio/ogg"),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("m4a", "audio/mp4"),
    ("vtt", "text/vtt; charset=utf-8"),
];

/// The content type for `key`: our web table, then mime_guess (its built-in table, not the
/// host's), then `application/octet-stream`.
pub(crate) fn content_type(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream".into(),
    };
    if let Some((_, t)) = WEB_TYPES.iter().find(|(e, _)| *e == ext) {
        return (*t).to_owned();
    }
    match mime_guess::from_ext(&ext).first() {
        Some(m) if m.type_() == mime_guess::mime::TEXT => format!("{m}; charset=utf-8"),
        Some(m) => m.to_string(),
        None => "application/octet-stream".into(),
    }
}

/// True when the file name carries a content hash: a last `-` or `.` separated segment of 8 to
/// 64 characters of `[A-Za-z0-9_-]` with a digit or both letter cases (`index-D_6Ay_gG.js`,
/// `main.3f2a1b9c.css`), or a hex run of 16 or more.
pub(crate) fn is_fingerprinted(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
    // `main.3f2a1b9c.css`, `2.a1b2c3d4.chunk.js`: a whole dot segment after the first;
    // `index-D_6Ay_gG.js`, `index-Bx-9zQ1k.js`: what follows a `-` within a segment.
    stem.split('.').enumerate().any(|(i, seg)| {
        (i > 0 && looks_like_hash(seg))
            || seg
                .char_indices()
                .filter(|(_, c)| *c == '-')
                .any(|(j, _)| looks_like_hash(&seg[j + 1..]))
    })
}

fn looks_like_hash(s: &str) -> bool {
    let n = s.chars().count();
    if !(8..=64).contains(&n)
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return false;
    }
    let digit = s.chars().any(|c| c.is_ascii_digit());
    let upper = s.chars().any(|c| c.is_ascii_uppercase());
    let lower = s.chars().any(|c| c.is_ascii_lowercase());
    let hex = n >= 16 && s.chars().all(|c| c.is_ascii_hexdigit());
    digit || (upper && lower) || hex
}

/// One rule as written in the rules file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct RuleSpec {
    /// Glob over the path relative to `--dir`, e.g. `assets/**`, `**/*.html`.
    #[serde(alias = "match")]
    pub(crate) glob: String,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) content_encoding: Option<String>,
    /// Publish in the immutable phase and never invalidate. Default: the Cache-Control has
    /// `immutable`.
    pub(crate) immutable: Option<bool>,
}

/// How a rules file is written: TOML when its name ends in `.toml`, YAML otherwise (inline
/// rules are always YAML: a workflow's multi-line input is YAML already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Toml,
}

impl Format {
    /// The format of the file at `path`, by its name.
    pub(crate) fn of_path(path: &str) -> Self {
        let toml = std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if toml { Self::Toml } else { Self::Yaml }
    }

    /// What a rules file of this format looks like (for error hints).
    pub(crate) fn example(self) -> &'static str {
        match self {
            Self::Yaml => {
                "a YAML list of rules: `- glob: 'assets/**'` with `cache-control`, `content-type`, `content-encoding` or `immutable`"
            }
            Self::Toml => {
                "TOML tables `[[rules]]` with `glob = \"assets/**\"` and `cache-control`, `content-type`, `content-encoding` or `immutable`"
            }
        }
    }
}

/// The `rules:` form of the file (the only form in TOML, whose top level is a table).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    rules: Vec<RuleSpec>,
}

/// Why rules were refused (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RulesError {
    #[error("not a list of rules: {0}")]
    Parse(String),
    #[error("`{glob}` is not a valid glob: {reason}")]
    Glob { glob: String, reason: String },
    #[error("the rule for `{glob}` sets nothing")]
    Empty { glob: String },
    #[error(
        "the rule for `{glob}` sets `{header}` to {}: {reason}",
        escaped(.value)
    )]
    HeaderValue {
        glob: String,
        header: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// A header value quoted for a message, its control and non-ASCII characters escaped.
fn escaped(value: &str) -> String {
    format!("\"{}\"", value.escape_default())
}

/// Refuses a header value S3 would not store as written: a line break or other control
/// character would fail the upload (after earlier phases were written) or end the header; a
/// non-ASCII character is stored mangled (S3 sends headers as ISO-8859-1). Printable ASCII,
/// spaces and tabs only, and not blank.
fn check_header(glob: &str, header: &'static str, value: &str) -> Result<(), RulesError> {
    let refuse = |reason| RulesError::HeaderValue {
        glob: glob.to_owned(),
        header,
        value: value.to_owned(),
        reason,
    };
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(refuse(
            "a header value cannot hold line breaks or other control characters",
        ));
    }
    if !value.is_ascii() {
        return Err(refuse(
            "a header value must be ASCII (S3 would store other characters mangled)",
        ));
    }
    if value.trim().is_empty() {
        return Err(refuse("a header value cannot be blank"));
    }
    Ok(())
}

/// A TOML error on one line, placed as the YAML parser places its own: `… at line L column C`.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().replace('\n', "; ");
    let Some(span) = e.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{message} at line {line} column {column}")
}

/// Compiled rules, in order.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<(RuleSpec, GlobMatcher)>,
}

/// The headers one file gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub content_type: String,
    pub cache_control: String,
    pub content_encoding: Option<String>,
    pub immutable: bool,
}

impl Rules {
    /// Parses YAML: a list of rules, or `rules:` holding one.
    pub(crate) fn parse(text: &str) -> Result<Self, RulesError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        // Decide the form first, so a mistake inside a rule (an unknown key) is reported as
        // such rather than as "matches neither form".
        let parse = |e: serde_yaml_ng::Error| RulesError::Parse(e.to_string());
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(parse)?;
        let specs = if value.is_mapping() {
            serde_yaml_ng::from_value::<Wrapped>(value)
                .map_err(parse)?
                .rules
        } else {
            serde_yaml_ng::from_value::<Vec<RuleSpec>>(value).map_err(parse)?
        };
        Self::from_specs(specs)
    }

    /// Parses TOML: an array of tables `[[rules]]` (the `rules:` form of the YAML), with the
    /// same keys and the same refusals.
    pub(crate) fn parse_toml(text: &str) -> Result<Self, RulesError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let wrapped: Wrapped =
            toml::from_str(text).map_err(|e| RulesError::Parse(toml_error(text, &e)))?;
        Self::from_specs(wrapped.rules)
    }

    /// Parses `text` written in `format`.
    pub(crate) fn parse_as(text: &str, format: Format) -> Result<Self, RulesError> {
        match format {
            Format::Yaml => Self::parse(text),
            Format::Toml => Self::parse_toml(text),
        }
    }

    pub(crate) fn from_specs(specs: Vec<RuleSpec>) -> Result<Self, RulesError> {
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            if spec.cache_control.is_none()
                && spec.content_type.is_none()
                && spec.content_encoding.is_none()
                && spec.immutable.is_none()
            {
                return Err(RulesError::Empty { glob: spec.glob });
            }
            for (header, value) in [
                ("cache-control", &spec.cache_control),
                ("content-type", &spec.content_type),
                ("content-encoding", &spec.content_encoding),
            ] {
                if let Some(v) = value {
                    check_header(&spec.glob, header, v)?;
                }
            }
            // `*` stays within a path segment; `**` crosses segments.
            let m = GlobBuilder::new(spec.glob.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|e| RulesError::Glob {
                    glob: spec.glob.clone(),
                    reason: e.kind().to_string(),
                })?
                .compile_matcher();
            rules.push((spec, m));
        }
        Ok(Self { rules })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The headers for `key` (relative to the site root): the first matching rule wins for
    /// each header it sets; the defaults fill the rest.
    pub fn headers(&self, key: &str) -> Headers {
        let rule = self
            .rules
            .iter()
            .find(|(_, m)| m.is_match(key))
            .map(|(s, _)| s);
        let content_type = rule
            .and_then(|r| r.content_type.clone())
            .unwrap_or_else(|| content_type(key));
        let default_immutable = is_fingerprinted(key) || key.starts_with("assets/");
        let is_html = content_type.starts_with("text/html");
        let cache_control = rule
            .and_then(|r| r.cache_control.clone())
            .unwrap_or_else(|| {
                if default_immutable && !is_html {
                    IMMUTABLE.into()
                } else {
                    REVALIDATE.into()
                }
            });
        let immutable = rule
            .and_then(|r| r.immutable)
            .unwrap_or_else(|| cache_control.contains("immutable"));
        Headers {
            content_type,
            cache_control,
            content_encoding: rule.and_then(|r| r.content_encoding.clone()),
            immutable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_with_line_breaks_or_non_ascii_are_refused_when_the_rules_load() {
        let err =
            Rules::parse("- glob: 'docs/**'\n  cache-control: \"max-age=60\\r\\nX-Evil: 1\"\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the rule for `docs/**` sets `cache-control` to \"max-age=60\\r\\nX-Evil: 1\": a header value cannot hold line breaks or other control characters"
        );
        let err = Rules::parse_toml(
            "[[rules]]\nglob = \"*.txt\"\ncontent-type = \"text/plain; charset=é\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("sets `content-type` to \"text/plain; charset=\\u{e9}\": a header value must be ASCII"),
            "{err}"
        );
        let err = Rules::parse("- glob: '*.js'\n  content-encoding: ' '\n").unwrap_err();
        assert!(err.to_string().contains("cannot be blank"), "{err}");
        // Tabs and the usual values are fine.
        Rules::parse(
            "- glob: '*.js'\n  cache-control: \"public,\\tmax-age=60\"\n  content-encoding: br\n",
        )
        .unwrap();
    }

    #[test]
    fn web_types_first_with_charset_on_text() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/a.MJS"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("app.wasm"), "application/wasm");
        assert_eq!(
            content_type("site.webmanifest"),
            "application/manifest+json; charset=utf-8"
        );
        assert_eq!(content_type("f.woff2"), "font/woff2");
        assert_eq!(content_type("x.avif"), "image/avif");
        assert_eq!(content_type("conf.yaml"), "application/yaml; charset=utf-8");
        assert_eq!(content_type("Makefile"), "application/octet-stream");
        assert_eq!(content_type(".hidden"), "application/octet-stream");
        assert_eq!(content_type("blob.qqqzz"), "application/octet-stream");
        // mime_guess's built-in table for what ours lacks.
        assert_eq!(content_type("a.tar"), "application/x-tar");
    }

    #[test]
    fn fingerprints() {
        for yes in [
            "assets/index-D_6Ay_gG.js",
            "main.3f2a1b9c.css",
            "chunk-BxKqwzXp.js",
            "static/js/2.a1b2c3d4.chunk.js",
            "logo.0123456789abcdef.png",
        ] {
            assert!(is_fingerprinted(yes), "{yes}");
        }
        for no in [
            "index.html",
            "my-component.js",
            "favicon.ico",
            "robots.txt",
            "vendor-react.js",
            "jquery-3.6.0.min.js",
        ] {
            assert!(!is_fingerprinted(no), "{no}");
        }
    }

    #[test]
    fn defaults_immutable_for_fingerprinted_and_assets_html_revalidates() {
        let r = Rules::default();
        let h = r.headers("assets/index-D_6Ay_gG.js");
        assert_eq!(h.cache_control, IMMUTABLE);
        assert!(h.immutable);
        assert!(r.headers("assets/logo.svg").immutable, "under assets/");
        let h = r.headers("index.html");
        assert_eq!(h.cache_control, REVALIDATE);
        assert!(!h.immutable);
        assert!(!r.headers("robots.txt").immutable);
        assert!(
            !r.headers("assets/page.html").immutable,
            "HTML is never immutable by default"
        );
    }

    #[test]
    fn first_match_wins_and_defaults_fill_the_rest() {
        let r = Rules::parse(
            "rules:\n  - glob: '**/*.br'\n    content-encoding: br\n    content-type: text/javascript\n  - glob: 'docs/**'\n    cache-control: 'public, max-age=300'\n  - glob: '**'\n    cache-control: 'no-store'\n",
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        let h = r.headers("assets/app-D_6Ay_gG.js.br");
        assert_eq!(h.content_encoding.as_deref(), Some("br"));
        assert_eq!(h.content_type, "text/javascript");
        assert_eq!(
            h.cache_control, IMMUTABLE,
            "first rule sets no cache-control: default"
        );
        assert_eq!(
            r.headers("docs/a.html").cache_control,
            "public, max-age=300"
        );
        assert_eq!(r.headers("index.html").cache_control, "no-store");
        let list = Rules::parse("- match: '*.txt'\n  immutable: true\n").unwrap();
        assert!(list.headers("robots.txt").immutable);
    }

    #[test]
    fn star_stays_within_a_segment_and_double_star_crosses() {
        let r = Rules::parse(
            "- glob: '*.txt'\n  cache-control: top\n- glob: 'docs/*.html'\n  cache-control: docs\n- glob: '**/*.txt'\n  cache-control: deep\n",
        )
        .unwrap();
        assert_eq!(r.headers("robots.txt").cache_control, "top");
        assert_eq!(r.headers("docs/a.txt").cache_control, "deep");
        assert_eq!(r.headers("docs/index.html").cache_control, "docs");
        assert_eq!(
            r.headers("docs/guide/index.html").cache_control,
            REVALIDATE,
            "`*` does not cross `/`"
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(matches!(
            Rules::parse("- glob: 'a/[b'\n  cache-control: x\n"),
            Err(RulesError::Glob { .. })
        ));
        match Rules::parse("- glob: '*'\n  cache-contrl: x\n") {
            Err(RulesError::Parse(e)) => assert!(e.contains("unknown field `cache-contrl`"), "{e}"),
            other => panic!("{other:?}"),
        }
        match Rules::parse("rules:\n  - glob: '*'\n    cache-control: x\nrule: []\n") {
            Err(RulesError::Parse(e)) => assert!(e.contains("unknown field `rule`"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Rules::parse("- glob: '*'\n"),
            Err(RulesError::Empty { .. })
        ));
        assert!(matches!(Rules::parse("42"), Err(RulesError::Parse(_))));
        assert!(Rules::parse("  \n").unwrap().is_empty());
    }

    /// The TOML form reads the same rules as the YAML one, with the same headers.
    #[test]
    fn toml_rules_match_the_yaml_form() {
        let yaml = Rules::parse(
            "rules:\n  - glob: '**/*.js.br'\n    content-type: text/javascript; charset=utf-8\n    content-encoding: br\n  - glob: 'docs/**/*.html'\n    cache-control: public, max-age=300\n  - match: 'downloads/**'\n    cache-control: public, max-age=86400\n    immutable: false\n",
        )
        .unwrap();
        let toml = Rules::parse_toml(
            r#"# pre-compressed siblings
[[rules]]
glob = "**/*.js.br"
content-type = "text/javascript; charset=utf-8"
content-encoding = "br"

[[rules]]
glob = "docs/**/*.html"
cache-control = "public, max-age=300"

[[rules]]
match = "downloads/**"
cache-control = "public, max-age=86400"
immutable = false
"#,
        )
        .unwrap();
        assert_eq!(toml.len(), 3);
        for key in [
            "assets/app-D_6Ay_gG.js.br",
            "docs/guide/index.html",
            "docs/a.txt",
            "downloads/app-1.2.3.dmg",
            "index.html",
        ] {
            assert_eq!(toml.headers(key), yaml.headers(key), "{key}");
        }
        let h = toml.headers("downloads/app-1.2.3.dmg");
        assert_eq!(h.cache_control, "public, max-age=86400");
        assert!(!h.immutable);
        assert_eq!(
            toml.headers("assets/app-D_6Ay_gG.js.br")
                .content_encoding
                .as_deref(),
            Some("br")
        );
        let inline =
            Rules::parse_toml("rules = [ { glob = '*.txt', cache-control = 'no-store' } ]\n")
                .unwrap();
        assert_eq!(inline.headers("robots.txt").cache_control, "no-store");
        assert!(Rules::parse_toml(" \n").unwrap().is_empty());
    }

    #[test]
    fn bad_toml_rules_are_refused_naming_the_line() {
        match Rules::parse_toml("[[rules]]\nglob = '*'\ncache-contrl = 'x'\n") {
            Err(RulesError::Parse(e)) => {
                assert!(e.contains("unknown field `cache-contrl`"), "{e}");
                assert!(e.contains("at line 3 column 1"), "{e}");
                assert!(!e.contains('\n'), "one line: {e}");
            }
            other => panic!("{other:?}"),
        }
        match Rules::parse_toml("[[rules]]\nglob = '*'\ncache-control = 'x'\n\n[rule]\n") {
            Err(RulesError::Parse(e)) => {
                assert!(e.contains("unknown field `rule`"), "{e}");
                assert!(e.contains("at line 5"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        match Rules::parse_toml("[[rules]]\nglob = '*'\ncache-control = no-cache\n") {
            Err(RulesError::Parse(e)) => assert!(e.contains("at line 3"), "{e}"),
            other => panic!("{other:?}"),
        }
        match Rules::parse_toml("glob = '*'\ncache-control = 'x'\n") {
            Err(RulesError::Parse(e)) => assert!(e.contains("expected `rules`"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Rules::parse_toml("[[rules]]\nglob = 'a/[b'\ncache-control = 'x'\n").unwrap_err(),
            RulesError::Glob {
                glob: "a/[b".into(),
                reason: "unclosed character class; missing ']'".into()
            }
        );
        assert!(matches!(
            Rules::parse_toml("[[rules]]\nglob = '*'\n"),
            Err(RulesError::Empty { .. })
        ));
        assert!(matches!(
            Rules::parse_toml("[[rules]]\nglob = '*'\nimmutable = 'yes'\n"),
            Err(RulesError::Parse(_))
        ));
    }

    #[test]
    fn the_file_name_picks_the_format() {
        assert_eq!(Format::of_path("cache-rules.toml"), Format::Toml);
        assert_eq!(Format::of_path(".github/Rules.TOML"), Format::Toml);
        assert_eq!(Format::of_path(".github/cache-rules.yml"), Format::Yaml);
        assert_eq!(Format::of_path("rules.yaml"), Format::Yaml);
        assert_eq!(Format::of_path("rules"), Format::Yaml);
        assert_eq!(Format::of_path("toml"), Format::Yaml);
        let toml = "[[rules]]\nglob = '*.txt'\ncache-control = 'no-store'\n";
        assert_eq!(
            Rules::parse_as(toml, Format::Toml)
                .unwrap()
                .headers("a.txt")
                .cache_control,
            "no-store"
        );
        assert!(
            Rules::parse_as(toml, Format::Yaml).is_err(),
            "TOML is not YAML"
        );
    }
}
