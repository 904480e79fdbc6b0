//! Flags → [`Config`]: every input is checked here, before anything is called; the one place
//! exit-2 errors are made.

use crate::cli::Cli;
use crate::plan::{self, InvalidationPlan, Limits};
use gantry_kit::Error;
use gantry_kit::cli::split_list;
use gantry_kit::poll::Schedule;
use std::path::Path;
use std::time::Duration;

/// Validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub distribution_id: String,
    pub plan: InvalidationPlan,
    pub wait: bool,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub caller_reference: Option<String>,
    pub dry_run: bool,
}

impl Config {
    /// Polls every `poll_interval` within `timeout`.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            interval: self.poll_interval,
            deadline: self.timeout,
        }
    }
}

/// Checks every input before anything is called. Errors are exit 2 and name the input.
pub fn validate(args: &Cli) -> Result<Config, Error> {
    let distribution_id = args
        .distribution_id
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Error::input("distribution-id: required").with_hint(
                "pass --distribution-id (input `distribution-id`), e.g. `E2QWRUHAPOMQZL`",
            )
        })?;
    check_distribution_id(distribution_id)?;
    let mut raw = split_list(&args.paths);
    if let Some(file) = &args.paths_file {
        let text = read_paths_file(file)?;
        raw.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    let max_paths = match args.max_paths.trim() {
        "unlimited" => None,
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(
                    Error::input(format!("max-paths: `{n}` is not a positive number"))
                        .with_hint("use a number of paths such as `3000`, or `unlimited`"),
                );
            }
        },
    };
    let limits = Limits {
        max_paths,
        ..Limits::default()
    };
    let plan = plan::plan(&raw, &limits).map_err(|e| {
        let input = if args.paths_file.is_some() {
            "paths/paths-file"
        } else {
            "paths"
        };
        Error::input(format!("{input}: {e}")).with_hint(e.hint())
    })?;
    if args.timeout.is_zero() {
        return Err(
            Error::input("timeout: `0s` leaves no time to create the invalidation")
                .with_hint("use a deadline for the whole run, e.g. `15m` (the default)"),
        );
    }
    let poll_interval = args.poll.checked()?;
    let caller_reference = match args.caller_reference.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(r) if r.len() > 200 || r.chars().any(char::is_control) => {
            return Err(
                Error::input("caller-reference: too long or contains control characters")
                    .with_hint("use a short printable string, at most 200 characters"),
            );
        }
        Some(r) => Some(r.to_owned()),
    };
    Ok(Config {
        distribution_id: distribution_id.to_owned(),
        plan,
        wait: args.wait,
        timeout: args.timeout,
        poll_interval,
        caller_reference,
        dry_run: args.dry_run,
    })
}

/// The longest distribution id accepted. CloudFront's ids are 13 or 14 characters today
/// (`E2QWRUHAPOMQZL`); the margin keeps a longer future id working while a pasted blob,
/// domain or ARN is refused before any call.
pub(crate) const MAX_DISTRIBUTION_ID: usize = 20;

/// Checks a (trimmed, non-empty) distribution id in CloudFront's format: an upper-case letter,
/// then upper-case letters and digits, at most [`MAX_DISTRIBUTION_ID`] characters (exit 2).
pub fn check_distribution_id(id: &str) -> Result<(), Error> {
    let hint = "an id is upper-case letters and digits, e.g. `E2QWRUHAPOMQZL` (not the domain name or ARN)";
    if id.chars().count() > MAX_DISTRIBUTION_ID {
        let shown: String = id.chars().take(24).collect();
        return Err(Error::input(format!(
            "distribution-id: `{shown}…` is {} characters; a CloudFront distribution id has at most {MAX_DISTRIBUTION_ID}",
            id.chars().count()
        ))
        .with_hint(hint));
    }
    if id.starts_with(|c: char| c.is_ascii_uppercase())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Ok(());
    }
    Err(Error::input(format!(
        "distribution-id: `{id}` is not a CloudFront distribution id"
    ))
    .with_hint(hint))
}

/// The most `--paths-file` may hold. 16 MiB is ~4,000 paths of CloudFront's longest (4,000
/// characters) and far more of ordinary ones; `/dev/zero` or a wrong file ends here.
pub(crate) const MAX_PATHS_FILE: u64 = 16 * 1024 * 1024;

/// Reads `--paths-file`, at most [`MAX_PATHS_FILE`] bytes.
fn read_paths_file(file: &Path) -> Result<String, Error> {
    use gantry_kit::cli::{InputFileError, read_input_file};
    read_input_file(file, MAX_PATHS_FILE).map_err(|e| match e {
        InputFileError::TooLarge(max) => Error::input(format!(
            "paths-file: {} is larger than {}, the most a paths file may hold",
            file.display(),
            gantry_kit::fmt::human_bytes(max)
        ))
        .with_hint("give a file with one path per line; collapse many paths into a wildcard such as `/assets/*`"),
        e => Error::input(format!("paths-file: cannot read {}: {e}", file.display()))
            .with_hint("give a readable file with one path per line"),
    })
}
