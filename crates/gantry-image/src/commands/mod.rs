//! One orchestration per subcommand; the [`Action`] impl dispatches a parsed command line.

pub(crate) mod promote;
pub(crate) mod push;

use crate::cli::{Cli, Command};
use crate::config;
use crate::registry::RunDeadline;
use gantry_kit::action::Action;
use gantry_kit::fmt::format_duration;
use gantry_kit::{Error, Report};
use std::future::Future;

/// Runs an ECR call `what` until the run's deadline. Past it: exit 1 while nothing was written,
/// exit 4 once something was (registry requests are bounded the same way, in the client).
pub(crate) async fn by_deadline<T>(
    deadline: &RunDeadline,
    what: &str,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout_at(deadline.at(), call).await {
        Ok(r) => r,
        Err(_) => {
            let late = format!(
                "{what}: AWS did not answer before the deadline ({} after the start)",
                format_duration(deadline.timeout())
            );
            Err(if deadline.has_written() {
                Error::deadline(late).with_hint(
                    "some of the image may have landed; a re-run uploads only what is missing",
                )
            } else {
                Error::failed(format!("{late}; nothing was written")).with_hint(
                    "check the network and AWS_ENDPOINT_URL, or raise `timeout`; re-running is safe",
                )
            })
        }
    }
}

impl Action for Cli {
    fn title(&self) -> &'static str {
        match self.command {
            Command::Push(_) => "Image push",
            Command::Promote(_) => "Image promotion",
        }
    }

    fn json(&self) -> bool {
        self.output.json
    }

    /// Validates, then runs the subcommand.
    async fn run(self) -> Result<Report, Error> {
        match self.command {
            Command::Push(a) => push::push(&config::validate_push(&a)?, &a.aws).await,
            Command::Promote(a) => promote::promote(&config::validate_promote(&a)?, &a.aws).await,
        }
    }
}
