//! One orchestration per subcommand; the [`Action`] impl dispatches a parsed command line.

mod diff;
mod prepare;
mod prune;
mod register;
mod render;

use crate::cli::{Cli, Command};
use gantry_kit::action::Action;
use gantry_kit::{Error, Report};

impl Action for Cli {
    fn title(&self) -> &'static str {
        match &self.command {
            Command::Render(_) => "Task definition render",
            Command::Register(_) => "Task definition",
            Command::Diff(_) => "Task definition diff",
            Command::Prune(_) => "Task definition prune",
        }
    }

    fn json(&self) -> bool {
        match &self.command {
            Command::Render(a) => a.output.json,
            Command::Register(a) => a.output.json,
            Command::Diff(a) => a.output.json,
            Command::Prune(a) => a.output.json,
        }
    }

    async fn run(self) -> Result<Report, Error> {
        match self.command {
            Command::Render(a) => render::render(a).await,
            Command::Register(a) => register::register(a).await,
            Command::Diff(a) => diff::diff(a).await,
            Command::Prune(a) => prune::prune(a).await,
        }
    }
}
