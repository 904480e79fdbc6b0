//! gantry-kit: what every gantry action shares, and the only crate that knows GitHub's file
//! commands and how AWS clients are built.
//!
//! - [`github`]: workflow commands (annotations, masks, groups) and file commands
//!   (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_STEP_SUMMARY`).
//! - [`outputs`]: one value that becomes `$GITHUB_OUTPUT`, the `--json` object and the summary.
//! - [`error`] / [`exit`]: the typed error and the exit codes 0–4.
//! - [`report`]: how a command ends (outputs, summary, annotation, JSON, exit code).
//! - [`cli`]: input ⇔ flag ⇔ env parsing, list splitting, durations.
//! - [`aws`]: `SdkConfig` set-up and the SDK-error mapping.
//! - [`poll`]: the deadline-bounded fixed-interval poll loop.
//! - [`log`]: tracing to stderr.
//! - `testing` (feature `testing`): running a binary isolated from the caller's environment.

pub mod aws;
pub mod cli;
pub mod error;
pub mod exit;
pub mod github;
pub mod log;
pub mod outputs;
pub mod poll;
pub mod report;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, Result};
pub use exit::ExitCode;
pub use outputs::Outputs;
pub use report::Report;
