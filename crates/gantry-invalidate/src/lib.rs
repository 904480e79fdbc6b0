//! gantry-invalidate: CloudFront invalidation that plans its paths, is safe to re-run, and waits
//! with a fixed interval. [`plan`] is pure; `aws/cloudfront.rs` is the CloudFront edge;
//! `command.rs` goes from the flags ([`Cli`]) to both.

mod aws;
mod cli;
mod command;
mod config;
pub mod plan;
mod reference;
mod report;

pub use aws::cloudfront::{Created, wait_completed};
pub use cli::Cli;
pub use command::{Interrupted, execute, invalidate};
pub use config::{Config, check_distribution_id, validate};
pub use reference::nonce;
