//! The input ⇔ flag ⇔ env contract (docs/contracts.md): parsing that every binary shares.

use clap::{ArgMatches, CommandFactory, FromArgMatches};
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
    let matches = command_without_empty_env::<T>(&env).get_matches_from(args);
    from_matches(&matches)
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
    let matches = command_without_empty_env::<T>(&env).try_get_matches_from(args)?;
    T::from_arg_matches(&matches)
}

fn from_matches<T: FromArgMatches>(m: &ArgMatches) -> T {
    T::from_arg_matches(m).unwrap_or_else(|e| e.exit())
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
            if empty { arg.env(None) } else { arg }
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
}
