//! One orchestration per subcommand; the [`Action`] impl dispatches a parsed command line.

pub(crate) mod promote;
pub(crate) mod push;

use crate::aws::ecr::{Ecr, RepositoryState};
use crate::cli::{Cli, Command};
use crate::config;
use crate::config::RepoConfig;
use crate::reference::RegistryAddr;
use crate::registry::{Registry, RunDeadline};
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

/// The registry client for `addr` (`input` names the flag that gave it): its ECR token is
/// fetched by the run's deadline, and every request it makes is bounded by that deadline.
pub(crate) async fn registry(
    ecr: &mut Ecr,
    deadline: &RunDeadline,
    addr: Option<&RegistryAddr>,
    input: &str,
) -> Result<Registry, Error> {
    let reg = by_deadline(
        deadline,
        "ECR GetAuthorizationToken",
        ecr.registry(addr, input),
    )
    .await?;
    Ok(reg.with_deadline(deadline))
}

/// Creates the repository `repo` when `state` says it is missing (that is a write: from then on
/// the deadline is exit 4), by the run's deadline.
pub(crate) async fn create_missing(
    ecr: &Ecr,
    deadline: &RunDeadline,
    reg: &RegistryAddr,
    repo: &str,
    rc: &RepoConfig,
    state: &RepositoryState,
) -> Result<(), Error> {
    if state.create {
        deadline.wrote();
    }
    let create = ecr.create_missing(reg, repo, rc, state);
    by_deadline(deadline, "ECR CreateRepository", create).await
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
