//! What a step tells the runner: workflow commands it prints (`::error::`, `::add-mask::`) and
//! the file commands it writes (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`).

use indexmap::IndexMap;
use serde::Serialize;

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
}

impl AnnotationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        }
    }
}

/// An `::error::`, `::warning::` or `::notice::` a step printed (or one the runner raised),
/// unescaped and with masked values replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub level: AnnotationLevel,
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub end_line: Option<u64>,
    pub col: Option<u64>,
    pub end_column: Option<u64>,
    pub message: String,
}

impl Annotation {
    /// An annotation with only a message (what the runner raises itself).
    pub fn new(level: AnnotationLevel, message: impl Into<String>) -> Self {
        Self {
            level,
            title: None,
            file: None,
            line: None,
            end_line: None,
            col: None,
            end_column: None,
            message: message.into(),
        }
    }
}

/// A workflow command line: `::name key=value,key=value::data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    /// Property names are case-insensitive for the runner; stored lower-case.
    pub properties: IndexMap<String, String>,
    pub data: String,
}

/// Commands the runner knows; any other `::x::` line is plain output.
const KNOWN: [&str; 15] = [
    "error",
    "warning",
    "notice",
    "add-mask",
    "debug",
    "group",
    "endgroup",
    "echo",
    "set-output",
    "save-state",
    "set-env",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "stop-commands",
];

impl WorkflowCommand {
    /// Parses a line as the runner does (`ActionCommand.TryParseV2`): leading whitespace is
    /// ignored, properties are split on `,` then on the first `=`, values are unescaped.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim_start();
        let rest = line.strip_prefix("::")?;
        let end = rest.find("::")?;
        let info = &rest[..end];
        let (name, props) = match info.split_once(' ') {
            Some((name, props)) => (name, props.trim()),
            None => (info, ""),
        };
        if !KNOWN.contains(&name) {
            return None;
        }
        let properties = props
            .split(',')
            .filter_map(|p| p.split_once('='))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), unescape_property(v)))
            .collect();
        Some(Self {
            name: name.to_owned(),
            properties,
            data: unescape_data(&rest[end + 2..]),
        })
    }

    /// The annotation this command raises, if it is one.
    pub fn annotation(&self) -> Option<Annotation> {
        let level = match self.name.as_str() {
            "error" => AnnotationLevel::Error,
            "warning" => AnnotationLevel::Warning,
            "notice" => AnnotationLevel::Notice,
            _ => return None,
        };
        let prop = |k: &str| self.properties.get(k).cloned();
        let number = |k: &str| self.properties.get(k).and_then(|v| v.trim().parse().ok());
        Some(Annotation {
            level,
            title: prop("title"),
            file: prop("file"),
            line: number("line"),
            end_line: number("endline"),
            col: number("col"),
            end_column: number("endcolumn"),
            message: self.data.clone(),
        })
    }
}

/// @actions/core's `escapeData`, undone: `%25` last so `%250A` stays `%0A`.
pub fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// @actions/core's `escapeProperty`, undone (also `:` and `,`).
pub fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Parses a `GITHUB_OUTPUT` / `GITHUB_ENV` file: `name=value` lines and `name<<DELIM` heredocs,
/// with the runner's rules (whichever of `=` and `<<` comes first decides; empty lines skipped).
pub fn parse_key_value_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (key, value) = (&line[..e], &line[e + 1..]);
                if key.is_empty() {
                    return Err(format!("Invalid format '{line}': the name is empty"));
                }
                pairs.push((key.to_owned(), value.to_owned()));
            }
            (_, Some(h)) => {
                let (key, delimiter) = (&line[..h], &line[h + 2..]);
                if key.is_empty() || delimiter.is_empty() {
                    return Err(format!(
                        "Invalid format '{line}': a heredoc needs a name and a delimiter"
                    ));
                }
                let mut body = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => body.push(l),
                        None => {
                            return Err(format!(
                                "Invalid value. Matching delimiter not found '{delimiter}'"
                            ));
                        }
                    }
                }
                pairs.push((key.to_owned(), body.join("\n")));
            }
            _ => return Err(format!("Invalid format '{line}'")),
        }
    }
    Ok(pairs)
}

/// Parses a `GITHUB_PATH` file: one directory a line.
pub fn parse_path_file(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Values registered with `::add-mask::`, replaced by `***` in what the runner prints.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    values: Vec<String>,
}

impl Masker {
    /// A masker holding `values` (each registered as [`Masker::add`] does).
    pub(crate) fn with_values(values: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let mut masker = Self::default();
        for v in values {
            masker.add(v.as_ref());
        }
        masker
    }

    pub fn add(&mut self, value: &str) {
        if !value.trim().is_empty() && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_owned());
            // Longest first, so a secret containing another is masked whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for v in &self.values {
            out = out.replace(v.as_str(), "***");
        }
        out
    }

    pub fn mask_annotation(&self, a: &Annotation) -> Annotation {
        Annotation {
            title: a.title.as_deref().map(|t| self.mask(t)),
            file: a.file.as_deref().map(|t| self.mask(t)),
            message: self.mask(&a.message),
            ..a.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_annotations_with_escaped_properties() {
        let cmd = WorkflowCommand::parse(
            "  ::error file=src/a%2Cb.rs,line=12,endLine=14,col=3,title=Bad%3A thing%25::50%25 done%0Anext%250A",
        )
        .unwrap();
        let a = cmd.annotation().unwrap();
        assert_eq!(
            a,
            Annotation {
                level: AnnotationLevel::Error,
                title: Some("Bad: thing%".into()),
                file: Some("src/a,b.rs".into()),
                line: Some(12),
                end_line: Some(14),
                col: Some(3),
                end_column: None,
                message: "50% done\nnext%0A".into(),
            }
        );
    }

    #[test]
    fn data_keeps_colons_and_commas() {
        let cmd = WorkflowCommand::parse("::notice::a%3Ab, c").unwrap();
        assert_eq!(cmd.data, "a%3Ab, c");
        assert_eq!(cmd.annotation().unwrap().level, AnnotationLevel::Notice);
    }

    #[test]
    fn not_commands() {
        assert_eq!(WorkflowCommand::parse("hello ::error::x"), None);
        assert_eq!(WorkflowCommand::parse("::unknown::x"), None);
        assert_eq!(WorkflowCommand::parse("::error"), None);
        let mask = WorkflowCommand::parse("::add-mask::s3cr3t").unwrap();
        assert_eq!(
            (mask.name.as_str(), mask.data.as_str()),
            ("add-mask", "s3cr3t")
        );
        assert_eq!(mask.annotation(), None);
    }

    #[test]
    fn key_value_file_both_forms() {
        let text = "a=1\n\nb=x=y\r\nmulti<<EOF\nline 1\n\nline=3<<\nEOF\nd=e<<f\n";
        assert_eq!(
            parse_key_value_file(text).unwrap(),
            [
                ("a", "1"),
                ("b", "x=y"),
                ("multi", "line 1\n\nline=3<<"),
                ("d", "e<<f"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        // `c<<=EOF` reads as a heredoc named `c` with delimiter `=EOF`: `<<` comes first.
        let text = "c<<=EOF\nbody\n=EOF\n";
        assert_eq!(
            parse_key_value_file(text).unwrap(),
            [("c".to_owned(), "body".to_owned())]
        );
    }

    #[test]
    fn key_value_file_errors() {
        insta::assert_snapshot!(parse_key_value_file("x<<EOF\nno end\n").unwrap_err(), @"Invalid value. Matching delimiter not found 'EOF'");
        insta::assert_snapshot!(parse_key_value_file("just text\n").unwrap_err(), @"Invalid format 'just text'");
        insta::assert_snapshot!(parse_key_value_file("=v\n").unwrap_err(), @"Invalid format '=v': the name is empty");
    }

    #[test]
    fn masks_longest_value_first() {
        let mut m = Masker::default();
        m.add("abc");
        m.add("abcdef");
        m.add(" ");
        assert_eq!(m.mask("x abcdef abc"), "x *** ***");
        assert_eq!(m.values().len(), 2);
    }
}
