//! The fake GitHub cannot drift from GitHub: its answers are checked against GitHub's own
//! OpenAPI description and GraphQL schema (scripts/fake-github/check.py).

use super::repo_root;
use std::process::Command;

/// The project venv that `scripts/local-aws up` creates: `GANTRY_VENV`, else `<repo>/.venv`.
pub(crate) fn venv_python() -> std::path::PathBuf {
    let venv = std::env::var_os("GANTRY_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} is missing: run `scripts/local-aws up` (it creates the venv)",
        py.display()
    );
    py
}

#[test]
fn the_fake_answers_in_githubs_shapes() {
    let dir = repo_root().join("scripts/fake-github");
    // GitHub's descriptions, pinned in package-lock.json (as scripts/lint-actions installs its own).
    if !dir.join("node_modules/@octokit/openapi").exists() {
        let cache = std::env::var("XDG_CACHE_HOME")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache")
            })
            .join("gantry/npm");
        let npm = Command::new("npm")
            .args([
                "ci",
                "--prefer-offline",
                "--no-audit",
                "--no-fund",
                "--cache",
            ])
            .arg(cache)
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            npm.status.success(),
            "npm ci: {}",
            String::from_utf8_lossy(&npm.stderr)
        );
    }
    let out = Command::new(venv_python())
        .arg(dir.join("check.py"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("; 0 mismatches"), "{stdout}");
    assert!(
        stdout.contains("query valid against GitHub's schema: yes"),
        "{stdout}"
    );
}
