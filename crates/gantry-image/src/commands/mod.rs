//! One orchestration per subcommand; the [`Action`] impl dispatches a parsed command line.

pub(crate) mod promote;
pub(crate) mod push;

use crate::cli::{Cli, Command};
use crate::config;
use gantry_kit::action::Action;
use gantry_kit::{Error, Report};

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
