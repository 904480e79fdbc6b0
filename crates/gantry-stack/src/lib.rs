//! gantry-stack: CloudFormation stacks planned as reviewable change sets (nested stacks and
//! property values included), a gate against destroying stateful resources, and an apply that
//! executes exactly the reviewed change sets and follows their events (docs/actions/stack.md).

pub mod aws;
pub mod changes;
pub mod cli;
pub mod commands;
pub mod comment;
pub mod config;
pub mod diff;
pub mod environment;
pub mod events;
pub mod gate;
pub mod github;
pub mod plan;
pub mod report;
pub mod running;
pub mod template;

pub use aws::Aws;
pub use cli::{Cli, Command};

/// A file of the repository, for unit tests: found from the crate directory cargo (or nextest)
/// gives the test process, not the one compiled in, which is another checkout's when a shared
/// target dir kept its build (docs/development.md, "Builds on small machines").
#[cfg(test)]
pub(crate) fn repo_file(rel: &str) -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("../..")
        .join(rel)
}
