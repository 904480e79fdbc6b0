//! One orchestration per subcommand, and the dispatch from the command line: config first
//! (every exit-2 error before any AWS call), then the command.

pub mod apply;
pub mod deploy;
pub mod plan;
pub mod status;

use crate::aws::Aws;
use crate::cli::{Cli, Command};
use crate::config;
use gantry_kit::action::Action;
use gantry_kit::poll::SystemClock;
use gantry_kit::{Error, Report};

impl Action for Cli {
    fn title(&self) -> &'static str {
        match self.command {
            Command::Plan(_) => "CloudFormation plan",
            Command::Apply(_) => "CloudFormation apply",
            Command::Deploy(_) => "CloudFormation deploy",
            Command::Status(_) => "CloudFormation status",
        }
    }

    fn json(&self) -> bool {
        self.output.json
    }

    async fn run(self) -> Result<Report, Error> {
        let clock = SystemClock::new();
        let aws = || async { Aws::from_sdk(&gantry_kit::aws::sdk_config(&self.aws, None).await) };
        match &self.command {
            Command::Plan(a) => {
                let cfg = config::plan(a)?;
                plan::run(&aws().await, &clock, &cfg).await
            }
            Command::Apply(a) => {
                let cfg = config::apply(a)?;
                apply::run(&aws().await, &clock, &cfg).await
            }
            Command::Deploy(a) => {
                let cfg = config::deploy(a)?;
                deploy::run(&aws().await, &clock, &cfg).await
            }
            Command::Status(a) => {
                let cfg = config::status(a)?;
                status::run(&aws().await, &cfg).await
            }
        }
    }
}
