//! GitHub Actions workflow commands and file commands — the only place in gantry that knows them.
//!
//! Every writer takes `impl Write`, so what reaches the runner is snapshot-tested. Escaping
//! follows `@actions/core` exactly (`command.ts`): data escapes `%`, CR, LF; properties also `:`
//! and `,`. Outside Actions (`GITHUB_ACTIONS` unset) the same calls print plain human text.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Escapes a command's message as `@actions/core` `escapeData` does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value as `@actions/core` `escapeProperty` does.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Annotation level: `::error`, `::warning`, `::notice`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    pub const fn command(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }
}

/// An annotation with the properties `@actions/core` knows, in its order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub message: String,
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    pub col: Option<u32>,
    pub end_column: Option<u32>,
}

impl Annotation {
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Self {
            level,
            message: message.into(),
            title: None,
            file: None,
            line: None,
            end_line: None,
            col: None,
            end_column: None,
        }
    }

    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    #[must_use]
    pub fn file(mut self, file: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    fn properties(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(t) = &self.title {
            p.push(("title", t.clone()));
        }
        if let Some(f) = &self.file {
            p.push(("file", f.clone()));
        }
        let nums = [
            ("line", self.line),
            ("endLine", self.end_line),
            ("col", self.col),
            ("endColumn", self.end_column),
        ];
        for (k, v) in nums {
            if let Some(v) = v {
                p.push((k, v.to_string()));
            }
        }
        p
    }
}

/// Writes `::name key=value,…::message` exactly as `@actions/core` `issueCommand` does.
pub fn write_command(
    w: &mut impl Write,
    name: &str,
    properties: &[(&str, String)],
    message: &str,
) -> io::Result<()> {
    write!(w, "::{name}")?;
    if !properties.is_empty() {
        let props: Vec<String> = properties
            .iter()
            .map(|(k, v)| format!("{k}={}", escape_property(v)))
            .collect();
        write!(w, " {}", props.join(","))?;
    }
    writeln!(w, "::{}", escape_data(message))
}

/// Writes an annotation: a workflow command in Actions, `error: title: message (file:line)` outside.
pub fn write_annotation(w: &mut impl Write, a: &Annotation, github: bool) -> io::Result<()> {
    if github {
        return write_command(w, a.level.command(), &a.properties(), &a.message);
    }
    write!(w, "{}: ", a.level.command())?;
    if let Some(t) = &a.title {
        write!(w, "{t}: ")?;
    }
    write!(w, "{}", a.message)?;
    match (&a.file, a.line) {
        (Some(f), Some(l)) => writeln!(w, " ({f}:{l})"),
        (Some(f), None) => writeln!(w, " ({f})"),
        _ => writeln!(w),
    }
}

/// `::add-mask::` — registers a secret with the runner before anything could print it. Outside
/// Actions there is no log masking to register with, so nothing is printed.
pub fn write_mask(w: &mut impl Write, secret: &str, github: bool) -> io::Result<()> {
    if github && !secret.is_empty() {
        write_command(w, "add-mask", &[], secret)?;
    }
    Ok(())
}

/// `::group::name` in Actions, `==> name` outside.
pub fn write_group(w: &mut impl Write, name: &str, github: bool) -> io::Result<()> {
    if github {
        write_command(w, "group", &[], name)
    } else {
        writeln!(w, "==> {name}")
    }
}

/// `::endgroup::` in Actions; nothing outside.
pub fn write_endgroup(w: &mut impl Write, github: bool) -> io::Result<()> {
    if github {
        write_command(w, "endgroup", &[], "")
    } else {
        Ok(())
    }
}

/// Why a file command could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileCommandError {
    #[error("name `{0}` is empty or contains a line break")]
    BadName(String),
    #[error("the value of `{0}` contains the delimiter; refusing to write it")]
    DelimiterInValue(String),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// A fresh random heredoc delimiter, as `@actions/core` makes one (`ghadelimiter_<uuid>`).
pub fn random_delimiter() -> String {
    let mut b = [0u8; 16];
    // Without randomness a fixed delimiter could be smuggled in a value; fail loudly instead.
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("no OS randomness for a delimiter: {e}"));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::fmt::hex(&b);
    format!(
        "ghadelimiter_{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Writes `name<<DELIM\nvalue\nDELIM\n` (the form `$GITHUB_OUTPUT` and `$GITHUB_ENV` take).
/// Rejects a value containing the delimiter, so a value can never end the heredoc early.
pub fn write_key_value(
    w: &mut impl Write,
    name: &str,
    value: &str,
    delimiter: &str,
) -> Result<(), FileCommandError> {
    if name.is_empty() || name.contains(['\n', '\r']) || name.contains(delimiter) {
        return Err(FileCommandError::BadName(name.to_owned()));
    }
    if value.contains(delimiter) {
        return Err(FileCommandError::DelimiterInValue(name.to_owned()));
    }
    writeln!(w, "{name}<<{delimiter}\n{value}\n{delimiter}").map_err(|source| {
        FileCommandError::Io {
            path: "<writer>".into(),
            source,
        }
    })
}

/// The runner's environment: whether we run in Actions and where its command files are.
#[derive(Clone, Debug, Default)]
pub struct Actions {
    /// `GITHUB_ACTIONS=true`: print workflow commands instead of plain text.
    pub github: bool,
    pub output: Option<PathBuf>,
    pub env: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub path: Option<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl Actions {
    /// Reads `GITHUB_ACTIONS`, `GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`.
    pub fn from_env() -> Self {
        Self {
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            output: env_path("GITHUB_OUTPUT"),
            env: env_path("GITHUB_ENV"),
            summary: env_path("GITHUB_STEP_SUMMARY"),
            path: env_path("GITHUB_PATH"),
        }
    }

    fn append(
        path: &Path,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), FileCommandError>,
    ) -> Result<(), FileCommandError> {
        let mut buf = Vec::new();
        write(&mut buf)?;
        let io_err = |source| FileCommandError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err)?;
        f.write_all(&buf).map_err(io_err)
    }

    /// Appends outputs to `$GITHUB_OUTPUT` with one random delimiter. Returns false when the
    /// file is not set (outside Actions).
    pub fn set_outputs<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Result<bool, FileCommandError> {
        let Some(path) = &self.output else {
            return Ok(false);
        };
        let delim = random_delimiter();
        Self::append(path, |buf| {
            for (k, v) in pairs {
                write_key_value(buf, k, &v, &delim)?;
            }
            Ok(())
        })?;
        Ok(true)
    }

    /// Exports a variable to later steps through `$GITHUB_ENV`.
    pub fn export_var(&self, name: &str, value: &str) -> Result<bool, FileCommandError> {
        let Some(path) = &self.env else {
            return Ok(false);
        };
        let delim = random_delimiter();
        Self::append(path, |buf| write_key_value(buf, name, value, &delim))?;
        Ok(true)
    }

    /// Prepends a directory to later steps' PATH through `$GITHUB_PATH`.
    pub fn add_path(&self, dir: &Path) -> Result<bool, FileCommandError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let dir = dir.display().to_string();
        if dir.contains(['\n', '\r']) {
            return Err(FileCommandError::BadName(dir));
        }
        Self::append(path, |buf| {
            writeln!(buf, "{dir}").map_err(|source| FileCommandError::Io {
                path: "<buffer>".into(),
                source,
            })
        })?;
        Ok(true)
    }

    /// Appends markdown to `$GITHUB_STEP_SUMMARY`.
    pub fn append_summary(&self, markdown: &str) -> Result<bool, FileCommandError> {
        let Some(path) = &self.summary else {
            return Ok(false);
        };
        Self::append(path, |buf| {
            buf.extend_from_slice(markdown.as_bytes());
            if !markdown.ends_with('\n') {
                buf.push(b'\n');
            }
            Ok(())
        })?;
        Ok(true)
    }
}

/// What identifies "this step of this run" across re-runs (never `GITHUB_RUN_ATTEMPT`): what
/// a CallerReference or any other idempotency key is derived from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    pub repository: Option<String>,
    pub run_id: Option<String>,
    pub job: Option<String>,
    pub step: Option<String>,
    /// What within the step the key is for, when one step makes several (the site: the release
    /// change `from->to`, so a re-run of the same publish finds its invalidation and a later
    /// publish of the same release does not).
    pub purpose: Option<String>,
    /// Which occurrence of the same key this is within the job (1, 2, …): two identical steps
    /// in one job (deploy, change, deploy again) must not share a key. Counted in
    /// `RUNNER_TEMP`, which every job attempt starts empty, so a re-run counts the same way.
    pub occurrence: u32,
}

impl RunIdentity {
    /// The identity the runner gives this step (`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`,
    /// `GITHUB_JOB`, `GITHUB_ACTION`); all `None` outside Actions.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) with an explicit env lookup (tests).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        Self {
            repository: get("GITHUB_REPOSITORY"),
            run_id: get("GITHUB_RUN_ID"),
            job: get("GITHUB_JOB"),
            step: get("GITHUB_ACTION"),
            purpose: None,
            occurrence: 1,
        }
    }

    /// The same identity for one purpose within the step.
    #[must_use]
    pub fn for_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// This run's page, `{server}/{repository}/actions/runs/{run_id}` (`server` is
    /// `GITHUB_SERVER_URL`); `None` outside Actions.
    pub fn run_url(&self, server: &str) -> Option<String> {
        match (&self.repository, &self.run_id) {
            (Some(repo), Some(run)) => Some(format!(
                "{}/{repo}/actions/runs/{run}",
                server.trim_end_matches('/')
            )),
            _ => None,
        }
    }

    /// The step and its purpose as one key part: the step alone, or `step|purpose`.
    pub fn step_key(&self) -> String {
        let step = self.step.as_deref().unwrap_or("");
        match &self.purpose {
            Some(p) => format!("{step}|{p}"),
            None => step.to_owned(),
        }
    }

    /// Claims the next occurrence of `key` in this job, from a counter file
    /// `{prefix}-{digest}.count` in `runner_temp`. Without a runner temp dir (outside Actions)
    /// it stays 1.
    pub fn claim_occurrence(
        &mut self,
        runner_temp: Option<&Path>,
        prefix: &str,
        key: &str,
    ) -> io::Result<()> {
        use sha2::{Digest, Sha256};
        let Some(dir) = runner_temp else {
            return Ok(());
        };
        let digest = crate::fmt::hex(&Sha256::digest(key.as_bytes())[..8]);
        let file = dir.join(format!("{prefix}-{digest}.count"));
        let seen: u32 = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&file, (seen + 1).to_string())?;
        self.occurrence = seen + 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut b = Vec::new();
        f(&mut b).unwrap();
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn escapes_like_actions_core() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            escape_property("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext%3A a%2Cb"
        );
        // `%` first, so an already-escaped sequence is escaped again rather than decoded.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn annotation_in_actions() {
        let a = Annotation::new(Level::Error, "line one\nline two: 100%")
            .title("gantry: input, rejected")
            .file("src/a:b.rs", Some(7));
        insta::assert_snapshot!(s(|w| write_annotation(w, &a, true)), @"::error title=gantry%3A input%2C rejected,file=src/a%3Ab.rs,line=7::line one%0Aline two: 100%25");
        let n = Annotation::new(Level::Notice, "plain");
        insta::assert_snapshot!(s(|w| write_annotation(w, &n, true)), @"::notice::plain");
        let mut all = Annotation::new(Level::Warning, "m");
        all.line = Some(1);
        all.end_line = Some(2);
        all.col = Some(3);
        all.end_column = Some(4);
        insta::assert_snapshot!(s(|w| write_annotation(w, &all, true)), @"::warning line=1,endLine=2,col=3,endColumn=4::m");
    }

    #[test]
    fn annotation_outside_actions_is_plain() {
        let a = Annotation::new(Level::Warning, "slow")
            .title("poll")
            .file("x.yml", Some(3));
        insta::assert_snapshot!(s(|w| write_annotation(w, &a, false)), @"warning: poll: slow (x.yml:3)");
        let b = Annotation::new(Level::Error, "bad");
        insta::assert_snapshot!(s(|w| write_annotation(w, &b, false)), @"error: bad");
    }

    #[test]
    fn mask_and_groups() {
        insta::assert_snapshot!(s(|w| write_mask(w, "s3cr%t\nx", true)), @"::add-mask::s3cr%25t%0Ax");
        assert_eq!(s(|w| write_mask(w, "secret", false)), "");
        assert_eq!(s(|w| write_mask(w, "", true)), "");
        insta::assert_snapshot!(s(|w| { write_group(w, "Plan", true)?; write_endgroup(w, true) }), @r"
        ::group::Plan
        ::endgroup::
        ");
        insta::assert_snapshot!(s(|w| { write_group(w, "Plan", false)?; write_endgroup(w, false) }), @"==> Plan");
    }

    #[test]
    fn key_value_heredoc_and_delimiter_rejection() {
        let mut b = Vec::new();
        write_key_value(&mut b, "paths", "/a\n/b", "ghadelimiter_X").unwrap();
        insta::assert_snapshot!(String::from_utf8(b).unwrap(), @r"
        paths<<ghadelimiter_X
        /a
        /b
        ghadelimiter_X
        ");
        let mut b = Vec::new();
        let err =
            write_key_value(&mut b, "v", "x\nghadelimiter_X\ny", "ghadelimiter_X").unwrap_err();
        assert!(matches!(err, FileCommandError::DelimiterInValue(_)));
        assert!(b.is_empty(), "nothing written on rejection");
        assert!(matches!(
            write_key_value(&mut b, "a\nb", "v", "D"),
            Err(FileCommandError::BadName(_))
        ));
    }

    #[test]
    fn delimiters_are_random_uuids() {
        let a = random_delimiter();
        let b = random_delimiter();
        assert_ne!(a, b);
        assert!(a.starts_with("ghadelimiter_"));
        assert_eq!(a.len(), "ghadelimiter_".len() + 36);
    }

    #[test]
    fn files_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let gh = Actions {
            github: true,
            output: Some(dir.path().join("out")),
            env: Some(dir.path().join("env")),
            summary: Some(dir.path().join("sum")),
            path: Some(dir.path().join("path")),
        };
        assert!(gh.set_outputs([("a", "1".to_string())]).unwrap());
        assert!(gh.set_outputs([("b", "x\ny".to_string())]).unwrap());
        let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 7);
        assert!(lines[0].starts_with("a<<ghadelimiter_"));
        assert_eq!(lines[1], "1");
        assert_eq!(lines[4], "x");
        gh.export_var("K", "v").unwrap();
        gh.add_path(Path::new("/opt/bin")).unwrap();
        gh.append_summary("| a |").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("path")).unwrap(),
            "/opt/bin\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sum")).unwrap(),
            "| a |\n"
        );
        assert!(
            std::fs::read_to_string(dir.path().join("env"))
                .unwrap()
                .starts_with("K<<")
        );
        let none = Actions::default();
        assert!(!none.set_outputs([("a", "1".to_string())]).unwrap());
    }

    use crate::testing::run_identity as run;

    #[test]
    fn run_identity_from_the_runner() {
        let env = |k: &str| {
            match k {
                "GITHUB_REPOSITORY" => Some("acme/shop"),
                "GITHUB_RUN_ID" => Some("7"),
                "GITHUB_JOB" => Some(""),
                "GITHUB_ACTION" => Some("publish"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let id = RunIdentity::from_lookup(env);
        assert_eq!(id.run_id.as_deref(), Some("7"));
        assert_eq!(id.job, None, "an empty variable is not given");
        assert_eq!(id.occurrence, 1);
        assert_eq!(id.step_key(), "publish");
        assert_eq!(
            id.run_url("https://github.example.com/").as_deref(),
            Some("https://github.example.com/acme/shop/actions/runs/7")
        );
        assert_eq!(RunIdentity::default().run_url("https://github.com"), None);
        assert_eq!(id.for_purpose("r1->r2").step_key(), "publish|r1->r2");
        assert_eq!(RunIdentity::default().step_key(), "");
    }

    #[test]
    fn occurrences_count_per_key_within_a_job_and_restart_with_a_fresh_runner_temp() {
        let job = tempfile::tempdir().unwrap();
        let claim = |dir: Option<&Path>, key: &str| {
            let mut id = run("7");
            id.claim_occurrence(dir, "gantry-invalidate", key).unwrap();
            id.occurrence
        };
        let first = claim(Some(job.path()), "E1\n/a");
        let second = claim(Some(job.path()), "E1\n/a");
        let other = claim(Some(job.path()), "E1\n/b");
        assert_eq!((first, second, other), (1, 2, 1));
        assert!(std::fs::read_dir(job.path()).unwrap().all(|f| {
            f.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gantry-invalidate-")
        }));
        // "Re-run failed jobs" runs on a fresh runner: RUNNER_TEMP starts empty again.
        let rerun_job = tempfile::tempdir().unwrap();
        assert_eq!(claim(Some(rerun_job.path()), "E1\n/a"), 1);
        assert_eq!(claim(None, "E1\n/a"), 1);
    }
}
