//! gantry-image: container images to ECR over the registry protocol — a daemonless push that
//! skips what is there, and promotion between repositories and registries by digest.
//! `cli` → `config` → `commands/{push,promote}` over `source`, `plan`, `registry`, [`aws`] → `report`.

pub mod aws;
pub mod cli;
mod commands;
mod config;
mod plan;
mod reference;
mod registry;
mod report;
pub mod source;
mod tally;
mod transfer;

pub use cli::Cli;
