//! gantry-deployment: GitHub deployment records whose payload is gantry's release manifest
//! (`gantry.release/v1`), so each environment's page shows what runs there and rollback can
//! find the last release that was good. See docs/actions/deployment.md.

pub mod api;
pub mod choose;
pub mod cli;
pub mod commands;
pub mod config;
pub mod description;
pub mod record;
pub mod release;
pub mod report;

pub use cli::{Cli, Command};
pub use release::{Release, ReleaseError, SCHEMA};

use gantry_kit::action::Action;
use gantry_kit::{Error, Report};
use std::time::SystemTime;

impl Action for Cli {
    fn title(&self) -> &'static str {
        match self.command {
            Command::Start(_) => "Deployment record: start",
            Command::Finish(_) => "Deployment record: finish",
            Command::LastGood(_) => "Deployment record: last good release",
            Command::Mark(_) => "Deployment record: mark",
            Command::Release(_) => "Release manifest",
        }
    }

    fn json(&self) -> bool {
        self.output.json
    }

    async fn run(self) -> Result<Report, Error> {
        run(self.command).await
    }
}

/// Runs one subcommand with the process environment.
pub async fn run(command: Command) -> Result<Report, Error> {
    let env = |k: &str| std::env::var(k).ok();
    match command {
        Command::Start(a) => commands::start::run(config::start(&a, &env)?).await,
        Command::Finish(a) => commands::finish::run(config::finish(&a, &env)?).await,
        Command::LastGood(a) => {
            commands::last_good::run(config::last_good(&a, &env)?, SystemTime::now()).await
        }
        Command::Mark(a) => commands::mark::run(config::mark(&a, &env)?).await,
        Command::Release(a) => Ok(commands::release::run(&config::release(&a, &env)?)),
    }
}
