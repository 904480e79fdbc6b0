//! What every action binary is: parse the flags, run, finish. Each `main.rs` is
//! `gantry_kit::action::main::<Cli>()`, so every binary starts, logs and ends the same way.

use crate::{Error, Report, Result};
use std::future::Future;

/// One action binary's command line and what it does.
pub trait Action: clap::CommandFactory + clap::FromArgMatches + Sized {
    /// The step summary's heading for this invocation (e.g. "ECS rollout").
    fn title(&self) -> &'static str;

    /// Whether `--json` was given: the result is then one JSON object on stdout.
    fn json(&self) -> bool;

    /// Validates the flags (exit-2 errors), does the work, and returns what it produced.
    fn run(self) -> impl Future<Output = Result<Report>>;
}

/// The whole process: logging, flags (`GANTRY_*` env, empty values ignored), the tokio
/// runtime, the run, and `report::finish` (outputs, summary, JSON, exit code).
pub fn main<A: Action>() -> std::process::ExitCode {
    crate::log::init();
    let action: A = crate::cli::parse();
    let (title, json, result) = outcome(action);
    crate::report::finish(title, json, result)
}

/// Runs `action` on a fresh multi-threaded runtime.
fn outcome<A: Action>(action: A) -> (&'static str, bool, Result<Report>) {
    let (title, json) = (action.title(), action.json());
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(action.run()),
        Err(e) => Err(Error::failed(format!(
            "cannot start the async runtime: {e}"
        ))),
    };
    (title, json, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputArgs;
    use crate::{ExitCode, Outputs};
    use clap::Parser;
    use std::time::Duration;

    /// Sleeps (so the runtime's timer must work), then reports or fails.
    #[derive(Parser, Debug)]
    struct Demo {
        #[arg(long)]
        fail: bool,
        #[command(flatten)]
        output: OutputArgs,
    }

    impl Action for Demo {
        fn title(&self) -> &'static str {
            if self.fail { "Demo failure" } else { "Demo" }
        }

        fn json(&self) -> bool {
            self.output.json
        }

        async fn run(self) -> Result<Report> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if self.fail {
                return Err(Error::failed("it broke"));
            }
            let mut o = Outputs::new();
            o.set("status", "done");
            Ok(Report::new(o))
        }
    }

    fn parsed(args: &[&str]) -> Demo {
        crate::cli::try_parse_from(args.iter().copied(), |_| None).unwrap()
    }

    #[test]
    fn the_title_and_json_come_from_the_flags_and_the_run_from_the_runtime() {
        let (title, json, result) = outcome(parsed(&["demo", "--json"]));
        assert_eq!((title, json), ("Demo", true));
        let report = result.unwrap();
        assert_eq!(report.outputs.to_json()["status"], "done");

        let (title, json, result) = outcome(parsed(&["demo", "--fail"]));
        assert_eq!((title, json), ("Demo failure", false));
        let e = result.unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::Failed);
        assert_eq!(e.message(), "it broke");
    }
}
