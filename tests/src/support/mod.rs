//! The helpers, one concern a file.

pub mod cloudfront;
pub mod ecs;
pub mod env;
pub mod image;
pub mod pipeline;
pub mod process;
pub mod release_server;
pub mod rollout;
pub mod s3;
