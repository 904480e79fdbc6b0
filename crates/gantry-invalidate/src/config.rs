//! Flags → [`Config`]: every input is checked here, before anything is called; the one place
//! exit-2 errors are made.

use crate::cli::Cli;
use crate::plan::{self, InvalidationPlan, Limits};
use gantry_kit::Error;
use gantry_kit::cli::split_list;
use gantry_kit::poll::Schedule;
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
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::input(format!("paths-file: cannot read {}: {e}", file.display()))
                .with_hint("give a readable file with one path per line")
        })?;
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

/// Checks a (trimmed, non-empty) distribution id: upper-case letters and digits (exit 2).
pub fn check_distribution_id(id: &str) -> Result<(), Error> {
    if id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Ok(());
    }
    Err(Error::input(format!(
        "distribution-id: `{id}` is not a CloudFront distribution id"
    ))
    .with_hint("an id is upper-case letters and digits, e.g. `E2QWRUHAPOMQZL` (not the domain name or ARN)"))
}
