//! End-to-end tests: composite actions run through `gantry-act` against local AWS.
//! One test binary for the whole repository (build time on small machines).

// Helpers outside #[test] fns unwrap too: a panic is the failure report in tests.
#![allow(clippy::unwrap_used)]

mod deployment;
mod fixtures;
mod image;
mod infra;
mod invalidate;
mod kit;
mod pipeline;
mod rollout;
mod setup;
mod site;
mod stack;
mod taskdef;
