//! gantry-site integration tests: the binary's bad-input contract, S3 faults moto cannot show
//! (aws-smithy-mocks shaped like S3's responses), and publishing against moto with a client that
//! counts (or refuses) requests.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod mocked;
mod moto;
mod names;
mod races;

use gantry_site::{Cli, Command, DeployConfig, RollbackConfig};
use std::path::Path;

/// Parses a command line as the binary would (no env).
pub fn cli(args: &[&str]) -> Cli {
    let mut argv = vec!["gantry-site"];
    argv.extend_from_slice(args);
    gantry_kit::cli::try_parse_from(argv, |_| None).unwrap()
}

pub fn deploy_config(args: &[&str]) -> DeployConfig {
    match cli(&[&["deploy"], args].concat()).command {
        Command::Deploy(a) => gantry_site::validate_deploy(&a).unwrap(),
        _ => unreachable!(),
    }
}

pub fn rollback_config(args: &[&str]) -> RollbackConfig {
    match cli(&[&["rollback"], args].concat()).command {
        Command::Rollback(a) => gantry_site::validate_rollback(&a).unwrap(),
        _ => unreachable!(),
    }
}

/// Writes `files` (path → content) under `dir`.
pub fn write_tree<K: AsRef<str>, V: AsRef<str>>(dir: &Path, files: &[(K, V)]) {
    for (p, content) in files {
        let path = dir.join(p.as_ref());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content.as_ref()).unwrap();
    }
}
