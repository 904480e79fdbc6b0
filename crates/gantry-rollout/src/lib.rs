//! gantry-rollout: a guarded ECS rollout that follows its own deployment, bakes against alarms,
//! rolls itself back, and never reports success for a deployment ECS rolled back.
//! See docs/actions/rollout.md; [`decide`] and [`checks`] decide, [`aws`] only fetches and acts.

pub mod aws;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod decide;
pub mod follow;
pub mod report;

pub use aws::Clients;
pub use cli::{Cli, Command};
pub use commands::{deploy, rollback, status};
pub use config::{validate_deploy, validate_rollback};
