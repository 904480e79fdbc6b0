//! gantry-kit: what every gantry action shares, and the only crate that knows GitHub's file
//! commands and how AWS clients are built.
//!
//! - [`github`]: workflow commands (annotations, masks, groups), file commands
//!   (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`) and the run identity.
//! - [`outputs`]: one value that becomes `$GITHUB_OUTPUT`, the `--json` object and the summary.
//! - [`error`] / [`exit`]: the typed error and the exit codes 0–4.
//! - [`report`]: how a command ends (outputs, summary, annotation, JSON, exit code).
//! - [`action`]: the [`Action`](action::Action) trait and the `main` every binary calls.
//! - [`cli`]: input ⇔ flag ⇔ env parsing, the shared `--json` and `--poll-interval` flags,
//!   list splitting, durations.
//! - [`fmt`]: sizes, durations, table cells and names from outside (`log_safe`) for humans.
//! - [`arn`]: the task definition reference one action emits and the next accepts.
//! - [`aws`]: `SdkConfig` set-up and the SDK-error mapping.
//! - [`poll`]: the deadline-bounded fixed-interval poll loop.
//! - [`pace`]: how many transfers are in flight (pinned, or adapted to the link) and the loop
//!   that runs them by it.
//! - [`log`]: tracing to stderr.
//! - `github_api` (feature `github-api`): GitHub's REST and GraphQL APIs, rate limits included.
//! - `testing` (feature `testing`): running a binary isolated from the caller's environment.

pub mod action;
pub mod arn;
pub mod aws;
pub mod cli;
pub mod error;
pub mod exit;
pub mod fmt;
pub mod github;
#[cfg(feature = "github-api")]
pub mod github_api;
pub mod log;
pub mod outputs;
pub mod pace;
pub mod poll;
pub mod report;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, Result};
pub use exit::ExitCode;
pub use outputs::Outputs;
pub use report::Report;
