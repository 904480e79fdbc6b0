//! Helpers shared by the end-to-end tests in `tests/e2e/`, the demo and the benchmarks. They run
//! against the local AWS that `scripts/local-aws up` started and never reset the emulator: each
//! test makes its own names with [`unique_name`], so tests are safe to run in parallel.

pub mod support;

pub use support::cloudfront::{cloudfront, create_distribution};
pub use support::ecs::{EcsFixture, ecs_fixture};
pub use support::env::{
    aws_endpoint, bin, bin_dir, repo_root, sha256_hex, site_copy_dir, unique_name, venv,
};
pub use support::image::{
    ImageDesc, ImageFault, ImageLayout, ImageProxy, ImageRegistry, ImageRequest,
    image_example_layout, image_noise, image_registry,
};
pub use support::pipeline;
pub use support::process::{json_command, json_output, json_parts, moto_fixture};
pub use support::release_server::ReleaseServer;
pub use support::rollout::{FaultProxy, RolloutMoto};
pub use support::s3::{create_site_bucket, site_object, site_s3};
