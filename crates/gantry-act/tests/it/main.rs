//! gantry-act's integration tests: fixture actions under `tests/fixtures/` run through the
//! library, and the binary's CLI contract.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is how a test reports"
)]

mod cli;
mod refusals;
mod runs;
pub mod workflows;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gantry_act::{ActError, RunResult, Runner};

/// This crate's directory as cargo (or nextest) gives it to the test process, not the one
/// compiled in, which is another checkout's when a shared target dir kept its build
/// (docs/development.md, "Builds on small machines").
pub fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

pub fn fixture(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(name)
}

/// A log sink the test can read back.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs a fixture in a fresh workspace, with the log captured.
pub fn run_fixture(
    name: &str,
    configure: impl FnOnce(Runner) -> Runner,
) -> (Result<RunResult, ActError>, String) {
    let workspace = tempfile::tempdir().unwrap();
    let log = Log::default();
    let runner = Runner::new(fixture(name))
        .workspace(workspace.path())
        .github("run_id", "4242")
        .github("token", "ghs_testtoken")
        .log_to(log.clone());
    let result = configure(runner).run();
    (result, log.text())
}

/// `id outcome/conclusion` lines, for compact snapshots.
pub fn step_table(result: &RunResult) -> String {
    result
        .steps
        .iter()
        .map(|s| format!("{} {}/{}", s.id, s.outcome.as_str(), s.conclusion.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}
