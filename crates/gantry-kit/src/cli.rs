//! The input ⇔ flag ⇔ env contract (docs/contracts.md): parsing that every binary shares.

use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::time::Duration;

/// Parses `T` from the process arguments and `GANTRY_*` env, ignoring empty env values: the
/// runner sets every action input, so an input left blank arrives as an empty variable, which
/// must mean "not given" rather than "given as empty" (clap would reject it).
pub fn parse<T: CommandFactory + FromArgMatches>() -> T {
    parse_from(std::env::args_os(), |name| std::env::var_os(name))
}

/// [`parse`] with explicit arguments and env lookup (tests).
pub fn parse_from<T, I, A>(args: I, env: impl Fn(&str) -> Option<OsString>) -> T
where
    T: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    try_parse_from(args, env).unwrap_or_else(|e| e.exit())
}

/// Like [`parse_from`] but returns clap's error instead of exiting (tests).
pub fn try_parse_from<T, I, A>(
    args: I,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<T, clap::Error>
where
    T: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cmd = command_without_empty_env::<T>(&env);
    let matches = cmd
        .clone()
        .try_get_matches_from(&args)
        .map_err(|e| named_error(e, &cmd, &args, &env))?;
    T::from_arg_matches(&matches)
}

/// Clap's error, except where clap cannot say which input it is about: a value that is not
/// UTF-8 ("invalid UTF-8 was detected in one or more arguments") is named here, flag or
/// `GANTRY_*` variable, with what is accepted. Still a usage error (exit 2).
fn named_error(
    e: clap::Error,
    cmd: &clap::Command,
    args: &[OsString],
    env: &impl Fn(&str) -> Option<OsString>,
) -> clap::Error {
    if e.kind() != clap::error::ErrorKind::InvalidUtf8 {
        return e;
    }
    let culprits = non_utf8_inputs(cmd, args, env);
    if culprits.is_empty() {
        return e;
    }
    let named: Vec<String> = culprits
        .iter()
        .map(|(input, value)| format!("{input}: `{value}` is not valid UTF-8"))
        .collect();
    cmd.clone().error(
        clap::error::ErrorKind::InvalidUtf8,
        format!(
            "{}\n  help: give the value (a file name too) in UTF-8",
            named.join("; ")
        ),
    )
}

/// Each input whose value is not UTF-8: (`--flag`, `GANTRY_X` or `argument`, the value with
/// the bad bytes replaced).
fn non_utf8_inputs(
    cmd: &clap::Command,
    args: &[OsString],
    env: &impl Fn(&str) -> Option<OsString>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate().skip(1) {
        if a.to_str().is_some() {
            continue;
        }
        let bytes = a.as_encoded_bytes();
        let eq = bytes.iter().position(|b| *b == b'=');
        let found = match eq {
            Some(eq) if bytes.starts_with(b"--") => (
                String::from_utf8_lossy(&bytes[..eq]).into_owned(),
                String::from_utf8_lossy(&bytes[eq + 1..]).into_owned(),
            ),
            _ => {
                let flag = args[i - 1]
                    .to_str()
                    .filter(|p| i > 1 && p.starts_with('-'))
                    .unwrap_or("argument");
                (flag.to_owned(), a.to_string_lossy().into_owned())
            }
        };
        out.push(found);
    }
    fn walk(
        cmd: &clap::Command,
        env: &dyn Fn(&str) -> Option<OsString>,
        out: &mut Vec<(String, String)>,
    ) {
        for arg in cmd.get_arguments() {
            let Some(name) = arg.get_env().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(v) = env(name).filter(|v| v.to_str().is_none()) {
                let found = (name.to_owned(), v.to_string_lossy().into_owned());
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, env, out);
        }
    }
    walk(cmd, env, &mut out);
    out
}

fn command_without_empty_env<T: CommandFactory>(
    env: &impl Fn(&str) -> Option<OsString>,
) -> clap::Command {
    fn strip(cmd: clap::Command, env: &dyn Fn(&str) -> Option<OsString>) -> clap::Command {
        let cmd = cmd.mut_args(|arg| {
            let empty = arg
                .get_env()
                .and_then(|n| n.to_str())
                .and_then(env)
                .is_some_and(|v| v.is_empty());
            let arg = if empty { arg.env(None) } else { arg };
            // `--keep-releases -1` is a value to check (and refuse by name), not a flag.
            if arg.get_action().takes_values() {
                arg.allow_negative_numbers(true)
            } else {
                arg
            }
        });
        cmd.mut_subcommands(|sub| strip(sub, env))
    }
    strip(
        T::command().after_long_help(crate::ExitCode::help_text()),
        env,
    )
}

/// Splits list values per docs/contracts.md: each value is split on newlines; a value of a single line
/// is split on whitespace. Blank items are dropped; order is kept.
pub fn split_list<I, S>(values: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Vec::new();
    for v in values {
        let v = v.as_ref();
        if v.contains('\n') {
            out.extend(
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        } else {
            out.extend(v.split_whitespace().map(str::to_owned));
        }
    }
    out
}

/// [`split_list`] without repeats: the first occurrence of each item is kept, in order.
pub fn split_unique<I, S>(values: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = std::collections::HashSet::new();
    split_list(values)
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// Why a file an input names could not be read ([`read_input_file`]).
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("{0}")]
    Io(std::io::Error),
    /// Larger than the limit it was read with.
    #[error("it is larger than {}", crate::fmt::human_bytes(*.0))]
    TooLarge(u64),
    #[error("it is not UTF-8 text")]
    NotUtf8,
}

/// Reads a text file an input names, at most `max` bytes: a wrong path (`/dev/zero`, a
/// multi-gigabyte log) ends there instead of filling memory.
pub fn read_input_file(file: &std::path::Path, max: u64) -> Result<String, InputFileError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(InputFileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(InputFileError::TooLarge(max));
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotUtf8)
}

/// Parses a duration: a bare number is seconds (`90`), otherwise humantime (`90s`, `15m`,
/// `1h30m`). Negative values are refused with a message saying what is accepted.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration; use e.g. `90`, `90s`, `15m` or `1h30m`".into());
    }
    if t.starts_with('-') {
        return Err(format!(
            "`{t}` is negative; a duration must be zero or more, e.g. `90s` or `15m`"
        ));
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!("`{t}` is not a duration ({e}); use e.g. `90` (seconds), `90s`, `15m` or `1h30m`")
    })
}

pub use crate::fmt::format_duration;

/// The one `--json` flag (`GANTRY_JSON`): print one JSON object with the outputs on stdout.
///
/// Flatten it into each command's arguments. A binary whose flag comes before or after its
/// subcommand (gantry-image) flattens it at the top and makes it global:
/// `#[command(mut_arg("json", |a| a.global(true)))]`.
#[derive(clap::Args, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputArgs {
    /// Print one JSON object with the outputs on stdout.
    #[arg(long, env = "GANTRY_JSON")]
    pub json: bool,
}

/// The one `--poll-interval` flag (`GANTRY_POLL_INTERVAL`, default `10s`) and its rule.
///
/// A command with another default overrides it where it flattens this:
/// `#[command(mut_arg("poll_interval", |a| a.default_value("5s")))]`.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollArgs {
    /// Fixed time between polls (no back-off), at least 1s.
    #[arg(long, env = "GANTRY_POLL_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub poll_interval: Duration,
}

/// The shortest poll interval any action accepts.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);

impl PollArgs {
    /// The interval, checked: at least `1s` (exit 2 otherwise). The message quotes the value at
    /// full precision (`500ms`), not rounded to `0s`.
    pub fn checked(&self) -> crate::Result<Duration> {
        let poll = self.poll_interval;
        if poll < MIN_POLL_INTERVAL {
            return Err(crate::Error::input(format!(
                "poll-interval: `{}` is too short",
                crate::fmt::format_duration_exact(poll)
            ))
            .with_hint("use at least `1s`, e.g. `5s` or `10s`"));
        }
        Ok(poll)
    }

    /// [`checked`](Self::checked), and no longer than `timeout` (exit 2 otherwise): for
    /// commands whose timeout bounds the polling itself.
    pub fn checked_within(&self, timeout: Duration) -> crate::Result<Duration> {
        let poll = self.checked()?;
        if poll > timeout {
            return Err(crate::Error::input(format!(
                "poll-interval: `{}` is longer than the timeout `{}`",
                format_duration(poll),
                format_duration(timeout)
            ))
            .with_hint("use an interval shorter than the timeout, e.g. `5s`"));
        }
        Ok(poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Demo {
        #[arg(long, env = "GANTRY_TIMEOUT", value_parser = parse_duration, default_value = "15m")]
        timeout: Duration,
        #[arg(long = "paths", alias = "path", env = "GANTRY_PATHS")]
        paths: Vec<String>,
        #[arg(long, env = "GANTRY_DRY_RUN")]
        dry_run: bool,
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn empty_env_means_not_given() {
        // Clap reads the real process env; what we control is which args keep their env name.
        let cmd = command_without_empty_env::<Demo>(&env_of(&[
            ("GANTRY_TIMEOUT", ""),
            ("GANTRY_PATHS", "/a"),
        ]));
        let env_of_arg = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env_of_arg("timeout"),
            None,
            "empty GANTRY_TIMEOUT is dropped"
        );
        assert_eq!(env_of_arg("paths").as_deref(), Some("GANTRY_PATHS"));
        assert_eq!(env_of_arg("dry_run").as_deref(), Some("GANTRY_DRY_RUN"));
        let d: Demo = try_parse_from(["x"], env_of(&[("GANTRY_TIMEOUT", "")])).unwrap();
        assert_eq!(d.timeout, Duration::from_secs(900));
        assert!(
            cmd.get_after_long_help().is_some(),
            "exit codes are in --help"
        );
    }

    #[test]
    fn flags_are_repeatable_and_accept_singular() {
        let d: Demo = try_parse_from(
            ["x", "--path", "/x /y", "--paths", "/z", "--timeout", "90"],
            env_of(&[]),
        )
        .unwrap();
        assert_eq!(split_list(&d.paths), vec!["/x", "/y", "/z"]);
        assert_eq!(d.timeout, Duration::from_secs(90));
        let e = try_parse_from::<Demo, _, _>(["x", "--timeout", "soon"], env_of(&[])).unwrap_err();
        assert!(e.to_string().contains("`soon` is not a duration"), "{e}");
    }

    #[derive(Parser, Debug)]
    struct Releases {
        #[arg(long, env = "GANTRY_KEEP_RELEASES", default_value_t = 3)]
        keep_releases: usize,
        #[arg(long, env = "GANTRY_TASK_DEFINITION")]
        task_definition: Option<String>,
        #[arg(long, env = "GANTRY_DRY_RUN")]
        dry_run: bool,
    }

    #[test]
    fn a_negative_number_is_a_value_refused_by_name() {
        let e = try_parse_from::<Releases, _, _>(["x", "--keep-releases", "-1"], env_of(&[]))
            .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("invalid value '-1' for '--keep-releases <KEEP_RELEASES>'"),
            "{e}"
        );
        let r: Releases =
            try_parse_from(["x", "--keep-releases", "4", "--dry-run"], env_of(&[])).unwrap();
        assert_eq!((r.keep_releases, r.dry_run), (4, true));
    }

    #[test]
    fn a_value_that_is_not_utf8_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(b"td-\xff.json".to_vec());
        let e = try_parse_from::<Releases, _, _>(
            [OsString::from("x"), "--task-definition".into(), bad()],
            env_of(&[]),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let text = e.to_string();
        assert!(
            text.contains("--task-definition: `td-\u{fffd}.json` is not valid UTF-8"),
            "{text}"
        );
        let mut joined = b"--task-definition=".to_vec();
        joined.extend(bad().into_vec());
        let e = try_parse_from::<Releases, _, _>(
            [OsString::from("x"), OsString::from_vec(joined)],
            env_of(&[]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("--task-definition: `td-\u{fffd}.json` is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn lists_split_on_lines_then_whitespace() {
        assert_eq!(split_list(["/a /b\t/c"]), vec!["/a", "/b", "/c"]);
        assert_eq!(split_list(["/a b\n\n  /c d  \n"]), vec!["/a b", "/c d"]);
        assert!(split_list(["   ", ""]).is_empty());
    }

    #[test]
    fn unique_lists_keep_the_first_of_each() {
        assert_eq!(
            split_unique(["b a\nb", "c a b d"]),
            vec!["b a", "b", "c", "a", "d"]
        );
        assert_eq!(split_unique(["x y x", "y z"]), vec!["x", "y", "z"]);
        assert!(split_unique(["  "]).is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(parse_duration("-5").unwrap_err().contains("negative"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_duration("").is_err());
        assert_eq!(format_duration(Duration::from_millis(90_400)), "1m 30s");
    }

    #[derive(Parser, Debug)]
    struct Shared {
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        poll: PollArgs,
    }

    #[derive(Parser, Debug)]
    #[command(mut_arg("poll_interval", |a| a.default_value("5s")))]
    struct OtherDefault {
        #[command(flatten)]
        poll: PollArgs,
    }

    #[derive(Parser, Debug)]
    #[command(mut_arg("json", |a| a.global(true)))]
    struct GlobalJson {
        #[command(subcommand)]
        command: Sub,
        #[command(flatten)]
        output: OutputArgs,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Sub {
        Push,
    }

    #[test]
    fn shared_flags_parse_with_their_defaults() {
        let s: Shared = try_parse_from(["x"], env_of(&[])).unwrap();
        assert!(!s.output.json);
        assert_eq!(s.poll.poll_interval, Duration::from_secs(10));
        let s: Shared =
            try_parse_from(["x", "--json", "--poll-interval", "3"], env_of(&[])).unwrap();
        assert!(s.output.json);
        assert_eq!(s.poll.poll_interval, Duration::from_secs(3));
        let cmd = Shared::command();
        let env = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(env("json").as_deref(), Some("GANTRY_JSON"));
        assert_eq!(
            env("poll_interval").as_deref(),
            Some("GANTRY_POLL_INTERVAL")
        );
    }

    #[test]
    fn a_command_can_change_the_poll_default_and_make_json_global() {
        let o: OtherDefault = try_parse_from(["x"], env_of(&[])).unwrap();
        assert_eq!(o.poll.poll_interval, Duration::from_secs(5));
        let g: GlobalJson = try_parse_from(["x", "push", "--json"], env_of(&[])).unwrap();
        assert!(g.output.json, "after the subcommand");
        let g: GlobalJson = try_parse_from(["x", "--json", "push"], env_of(&[])).unwrap();
        assert!(g.output.json, "before the subcommand");
        assert!(try_parse_from::<Shared, _, _>(["x", "push"], env_of(&[])).is_err());
    }

    #[test]
    fn the_poll_interval_rule() {
        let p = |ms: u64| PollArgs {
            poll_interval: Duration::from_millis(ms),
        };
        assert_eq!(p(1000).checked().unwrap(), Duration::from_secs(1));
        let e = p(500).checked().unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::InputRejected);
        assert_eq!(e.message(), "poll-interval: `500ms` is too short");
        assert_eq!(
            p(0).checked().unwrap_err().message(),
            "poll-interval: `0s` is too short"
        );
        let m = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(
            p(300_000).checked_within(m(5)).unwrap(),
            m(5),
            "equal is fine"
        );
        let e = p(600_000).checked_within(m(5)).unwrap_err();
        assert_eq!(
            e.message(),
            "poll-interval: `10m` is longer than the timeout `5m`"
        );
        assert_eq!(
            p(500).checked_within(m(5)).unwrap_err().message(),
            "poll-interval: `500ms` is too short",
            "the minimum is checked first"
        );
    }

    #[test]
    fn input_files_are_read_up_to_their_limit() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "abcd").unwrap();
        assert_eq!(read_input_file(&f, 4).unwrap(), "abcd");
        let e = read_input_file(&f, 3).unwrap_err();
        assert_eq!(e.to_string(), "it is larger than 3 B");
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_input_file(&f, 4).unwrap_err().to_string(),
            "it is not UTF-8 text"
        );
        assert!(matches!(
            read_input_file(&d.path().join("missing"), 4),
            Err(InputFileError::Io(_))
        ));
        let zero = read_input_file(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(zero, InputFileError::TooLarge(_)), "{zero}");
    }
}
