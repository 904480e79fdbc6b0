//! End-to-end tests: composite actions run through `gantry-act` against local AWS.
//! One test binary for the whole repository (build time on small machines).
mod fixtures;
mod infra;
mod invalidate;
mod kit;
mod setup;
