//! One orchestration per subcommand, and the [`Action`] that runs them.

pub mod deploy;
pub mod rollback;
pub mod status;

use crate::aws::Clients;
use crate::aws::ecs::{self, ServiceUpdate};
use crate::cli::{Cli, Command};
use crate::config::{self, DeployConfig, RollbackConfig, RollbackTo, ServiceRef};
use crate::report::with_error_outputs;
use gantry_kit::action::Action;
use gantry_kit::fmt::format_duration;
use gantry_kit::poll::Clock;
use gantry_kit::{Error, Report};
use std::time::Duration;

pub use deploy::deploy;
pub use rollback::rollback;
pub use status::status;

/// UpdateService, bounded by `deadline`. The update was sent: past the deadline its effect is
/// not known, so that is exit 4, saying that the `what` (deployment, rollback) may have started.
async fn update_service<C: Clock>(
    aws: &Clients,
    clock: &C,
    update: ServiceUpdate<'_>,
    deadline: Duration,
    timeout: Duration,
    what: &str,
    hint: String,
) -> Result<String, Error> {
    gantry_kit::poll::until(clock, deadline, ecs::update(aws, update))
        .await
        .unwrap_or_else(|| {
            Err(Error::deadline(format!(
                "ECS UpdateService did not answer within the timeout ({}); the {what} may have started",
                format_duration(timeout)
            ))
            .with_hint(hint))
        })
}

/// A checked command.
enum Checked {
    Deploy(DeployConfig),
    Rollback(RollbackConfig),
    Status(ServiceRef),
}

/// Checks the flags (bad input still sets the action's outputs: status `failed`, the reason).
fn check(command: &Command) -> Result<Checked, Error> {
    Ok(match command {
        Command::Deploy(a) => Checked::Deploy(config::validate_deploy(a).map_err(|e| {
            with_error_outputs(e, a.task_definition.as_deref().unwrap_or_default(), "")
        })?),
        Command::Rollback(a) => Checked::Rollback(config::validate_rollback(a).map_err(|e| {
            let to = if a.to.trim() == "previous" {
                ""
            } else {
                a.to.trim()
            };
            with_error_outputs(e, to, "")
        })?),
        Command::Status(a) => Checked::Status(config::service_ref(&a.target)?),
    })
}

impl Action for Cli {
    fn title(&self) -> &'static str {
        self.command.title()
    }

    fn json(&self) -> bool {
        self.command.json()
    }

    /// Validate, then call AWS.
    async fn run(self) -> Result<Report, Error> {
        let checked = check(&self.command)?;
        let sdk = gantry_kit::aws::sdk_config(self.command.aws(), Some("us-east-1")).await;
        let aws = Clients {
            ecs: aws_sdk_ecs::Client::new(&sdk),
            cw: aws_sdk_cloudwatch::Client::new(&sdk),
            credentials: sdk.credentials_provider(),
        };
        let clock = gantry_kit::poll::SystemClock::new();
        match checked {
            Checked::Deploy(cfg) => deploy(&aws, &clock, &cfg).await,
            Checked::Rollback(cfg) => rollback(&aws, &clock, &cfg).await,
            Checked::Status(target) => status(&aws, &target).await,
        }
    }
}

/// The task definition a rollback was asked for ("" for `previous`), for its error outputs.
fn rollback_to(cfg: &RollbackConfig) -> &str {
    match &cfg.to {
        RollbackTo::Arn(a) => a.as_str(),
        RollbackTo::Previous => "",
    }
}
