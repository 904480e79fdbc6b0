//! Running what the tests drive: a gantry binary isolated from the caller's run, its one JSON
//! object, and `scripts/moto-fixture.py`.

use super::env::{aws_endpoint, bin, repo_root, venv};
/// Runs `scripts/moto-fixture.py ARGS…` with the venv's python against the local moto and parses
/// the one JSON object it prints. Panics with the script's stderr when it fails.
pub fn moto_fixture<T: serde::de::DeserializeOwned>(args: &[&str]) -> T {
    aws_endpoint();
    let python = venv().join("bin/python");
    let output = std::process::Command::new(&python)
        .arg(repo_root().join("scripts/moto-fixture.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (run scripts/local-aws up)",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "moto-fixture.py {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "moto-fixture.py {args:?} printed no JSON object ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// `gantry-<name> ARGS… --json`, isolated from the surrounding CI's own run: no `GITHUB_*`,
/// `RUNNER_*` (RUNNER_TEMP holds per-job counters) or `GANTRY_*` variable of the caller reaches
/// it, except `GANTRY_BIN_DIR`. Add env and run it with [`json_output`].
pub fn json_command(bin_name: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(bin(bin_name));
    c.args(args).arg("--json");
    for (k, _) in std::env::vars() {
        let ours = k.starts_with("GITHUB_") || k.starts_with("RUNNER_");
        if ours || k.starts_with("GANTRY_") && k != "GANTRY_BIN_DIR" {
            c.env_remove(k);
        }
    }
    c
}

/// Run a [`json_command`]: (exit code, the one JSON object on stdout, stderr). Panics with the
/// stderr when stdout is not exactly one JSON object (a contract of every gantry binary).
pub fn json_output(mut c: std::process::Command) -> (i32, serde_json::Value, String) {
    json_parts(c.output().expect("run the gantry binary"))
}

/// A finished gantry binary's (exit code, JSON object on stdout, stderr); see [`json_output`].
pub fn json_parts(out: std::process::Output) -> (i32, serde_json::Value, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}
