//! gantry-stack integration tests: the binary's bad-input contract, CloudFormation behaviour moto
//! cannot show (aws-smithy-mocks sequences shaped like AWS's documented responses), and the happy
//! paths against moto (the env from `scripts/local-aws env`).

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod mocked;
mod moto;
mod provision;

use gantry_stack::cli::Command;
use gantry_stack::config::{ApplyConfig, DeployConfig, PlanConfig};
use gantry_stack::{Cli, config};
use std::path::{Path, PathBuf};

/// Parses a command line as the binary would (no env).
pub fn cli(args: &[&str]) -> Cli {
    let mut argv = vec!["gantry-stack"];
    argv.extend_from_slice(args);
    gantry_kit::cli::try_parse_from(argv, |_| None).unwrap()
}

pub fn plan_config(args: &[&str]) -> PlanConfig {
    match cli(&[&["plan"], args].concat()).command {
        Command::Plan(a) => config::plan(&a).unwrap(),
        _ => unreachable!(),
    }
}

pub fn apply_config(args: &[&str]) -> ApplyConfig {
    match cli(&[&["apply"], args].concat()).command {
        Command::Apply(a) => config::apply(&a).unwrap(),
        _ => unreachable!(),
    }
}

pub fn deploy_config(args: &[&str]) -> DeployConfig {
    match cli(&[&["deploy"], args].concat()).command {
        Command::Deploy(a) => config::deploy(&a).unwrap(),
        _ => unreachable!(),
    }
}

/// Writes `body` as `dir/name` and returns its path.
pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}
