//! Integration tests of gantry-taskdef (one binary).

#![allow(clippy::unwrap_used)]

mod cli;
mod mocked;
