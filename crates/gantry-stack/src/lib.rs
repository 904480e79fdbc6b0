//! gantry-stack: CloudFormation stacks planned as reviewable change sets (nested stacks and
//! property values included), a gate against destroying stateful resources, and an apply that
//! executes exactly the reviewed change sets and follows their events (docs/actions/stack.md).

pub mod aws;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod environment;
pub mod events;
pub mod gate;
pub mod plan;
pub mod report;
pub mod template;

pub use aws::Aws;
pub use cli::{Cli, Command};

use gantry_kit::poll::SystemClock;
use gantry_kit::{Error, Report};

/// Runs one command line: config first (exit 2 before any AWS call), then the command.
pub async fn run(cli: Cli) -> Result<Report, Error> {
    let clock = SystemClock::new();
    match &cli.command {
        Command::Plan(a) => {
            let cfg = config::plan(a)?;
            commands::plan::run(&aws(&cli).await, &clock, &cfg).await
        }
        Command::Apply(a) => {
            let cfg = config::apply(a)?;
            commands::apply::run(&aws(&cli).await, &clock, &cfg).await
        }
        Command::Deploy(a) => {
            let cfg = config::deploy(a)?;
            commands::deploy::run(&aws(&cli).await, &clock, &cfg).await
        }
        Command::Status(a) => {
            let cfg = config::status(a)?;
            commands::status::run(&aws(&cli).await, &cfg).await
        }
    }
}

async fn aws(cli: &Cli) -> Aws {
    Aws::from_sdk(&gantry_kit::aws::sdk_config(&cli.aws, None).await)
}
