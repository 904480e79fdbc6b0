//! gantry-site: a static frontend to S3, content-addressed and phased, with cache rules, safe
//! prune, instant rollback and planned invalidation. `plan.rs` (with `rules.rs`, `manifest.rs`)
//! is pure; `aws/` is the S3 and CloudFront edge; `commands/` goes from the flags to both.

mod aws;
mod cli;
mod commands;
mod config;
mod invalidation;
mod manifest;
mod plan;
mod publish;
mod report;
mod rules;
mod scan;

pub use aws::s3::SiteLocation;
pub use cli::{Cli, Command, DeployArgs, PublishArgs, ReleasesArgs, RollbackArgs, SiteArgs};
pub use commands::{deploy, releases, rollback};
pub use config::{DeployConfig, RollbackConfig, load_rules, validate_deploy, validate_rollback};
pub use rules::{Headers, Rules};
