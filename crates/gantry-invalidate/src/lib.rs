//! gantry-invalidate: CloudFront invalidation that plans its paths, is safe to re-run, and waits
//! with a fixed interval. [`plan`] is pure; `aws/cloudfront.rs` is the CloudFront edge;
//! [`run`] (in `command.rs`) reads the flags and goes from one to the other.

mod aws;
mod cli;
mod command;
mod config;
pub mod plan;
mod reference;
mod report;

pub use aws::cloudfront::{Created, wait_completed};
pub use cli::Cli;
pub use command::{Interrupted, execute, invalidate, run};
pub use config::{Config, check_distribution_id, check_poll_interval, validate};
pub use reference::{RunIdentity, nonce};
