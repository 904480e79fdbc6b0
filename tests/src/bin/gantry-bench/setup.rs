//! How long `actions/setup` takes to install the root action's binaries from a release: the
//! binaries in `GANTRY_BIN_DIR` (release builds) packaged as `scripts/release package` does,
//! a manifest for them whose source digest is this checkout's (so setup takes the release path),
//! and the archives served by a loopback HTTP server of this benchmark — directly and through
//! the latency proxy (20 ms round trip). Cold: an empty tool cache (download, verify, extract,
//! cache). Warm: the same tool cache again (every cached archive and binary re-verified). Each
//! figure is the median of `RUNS` runs of `actions/setup/main.sh`, the script the action runs.
//! Also prints each binary's stripped size and its archive's.

use super::latency::LatencyProxy;
use super::{BenchResult, median};
use gantry_tests::{ReleaseServer, bin, repo_root};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The root action's set (action.yml's setup step).
const ROOT_SET: [&str; 6] = ["stack", "image", "taskdef", "rollout", "site", "deployment"];
const VERSION: &str = "0.0.0-bench";
const RUNS: usize = 5;

fn host_target() -> Result<&'static str, Box<dyn std::error::Error>> {
    Ok(match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        other => return Err(format!("no gantry release target for {other:?}").into()),
    })
}

fn shipped() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let out = Command::new(repo_root().join("scripts/release"))
        .arg("binaries")
        .output()?;
    if !out.status.success() {
        return Err("scripts/release binaries failed".into());
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(str::to_owned)
        .collect())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// One run of actions/setup/main.sh for the root set; returns its wall time and `source`.
fn setup_once(
    manifest: &Path,
    base_url: &str,
    tool_cache: &Path,
) -> Result<(Duration, String), Box<dyn std::error::Error>> {
    let mut c = Command::new(repo_root().join("actions/setup/main.sh"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GANTRY_") || k.starts_with("RUNNER_") || k.starts_with("GITHUB_") {
            c.env_remove(k);
        }
    }
    c.env("GANTRY_BINARIES", ROOT_SET.join(" "))
        .env("GANTRY_SETUP_MANIFEST", manifest)
        .env("GANTRY_RELEASE_BASE_URL", base_url)
        .env("RUNNER_TOOL_CACHE", tool_cache);
    let start = Instant::now();
    let out = c.output()?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "actions/setup failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let source = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("source=").map(str::to_owned))
        .unwrap_or_default();
    Ok((took, source))
}

pub(crate) async fn run(out: &mut dyn Write) -> BenchResult {
    let target = host_target()?;
    let names = shipped()?;
    let missing: Vec<&String> = names
        .iter()
        .filter(|b| !bin(&format!("gantry-{b}")).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "release binaries missing in GANTRY_BIN_DIR: {} (make bench builds them)",
            missing
                .iter()
                .map(|b| format!("gantry-{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let bin_dir = bin("gantry-site")
        .parent()
        .ok_or("GANTRY_BIN_DIR has no parent")?
        .to_path_buf();

    // The release: scripts/release's own archives, and a manifest for this target only.
    let work = tempfile::tempdir()?;
    let dist = work.path().join("dist");
    let status = Command::new(repo_root().join("scripts/release"))
        .args(["package", VERSION, target])
        .arg(&bin_dir)
        .arg(&dist)
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("scripts/release package failed ({status})").into());
    }
    let digest = Command::new(repo_root().join("actions/setup/source-digest.sh"))
        .arg(repo_root())
        .output()?;
    if !digest.status.success() {
        return Err("actions/setup/source-digest.sh failed".into());
    }
    let mut binaries = serde_json::Map::new();
    let mut sizes = Vec::new();
    for b in &names {
        let archive = format!("gantry-{b}-{VERSION}-{target}.tar.gz");
        let bytes = std::fs::read(dist.join(&archive))?;
        let sha = gantry_tests::sha256_hex(&bytes);
        binaries.insert(
            b.clone(),
            serde_json::json!({ target: { "archive": archive, "sha256": sha } }),
        );
        let size = std::fs::metadata(bin(&format!("gantry-{b}")))?.len();
        sizes.push((b.clone(), size, bytes.len() as u64));
    }
    let manifest = work.path().join("manifest.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec_pretty(&serde_json::json!({
            "version": VERSION,
            "repository": "gantry-actions/gantry",
            "source-digest": String::from_utf8(digest.stdout)?.trim(),
            "binaries": binaries,
        }))?,
    )?;

    writeln!(
        out,
        "\nRelease binaries ({target}, the release profile; stripped), and their archives (scripts/release package):\n"
    )?;
    writeln!(out, "| binary | stripped | .tar.gz |")?;
    writeln!(out, "| --- | ---: | ---: |")?;
    let (mut set_bin, mut set_gz) = (0, 0);
    for (b, size, gz) in &sizes {
        let root = ROOT_SET.contains(&b.as_str());
        if root {
            set_bin += size;
            set_gz += gz;
        }
        writeln!(
            out,
            "| gantry-{b}{} | {} | {} |",
            if root { " (root action)" } else { "" },
            mib(*size),
            mib(*gz)
        )?;
    }
    writeln!(
        out,
        "| the root action's {} | {} | {} |",
        ROOT_SET.len(),
        mib(set_bin),
        mib(set_gz)
    )?;

    let server = ReleaseServer::start(dist.clone())?;
    writeln!(
        out,
        "\nactions/setup installing the root action's {} binaries ({}), median of {RUNS} runs:\n",
        ROOT_SET.len(),
        ROOT_SET.join(", ")
    )?;
    writeln!(
        out,
        "| release server | cold (empty tool cache) | warm (tool cache hit) |"
    )?;
    writeln!(out, "| --- | ---: | ---: |")?;
    for rtt in [0u64, 20] {
        let (url, _proxy) = LatencyProxy::in_front(&server.url, rtt)?;
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let cache = tempfile::tempdir()?;
            let (t, source) = setup_once(&manifest, &url, cache.path())?;
            if source != "download" {
                return Err(format!("cold setup reported source `{source}`, not download").into());
            }
            cold.push(t);
            let (t, source) = setup_once(&manifest, &url, cache.path())?;
            if source != "cache" {
                return Err(format!("warm setup reported source `{source}`, not cache").into());
            }
            warm.push(t);
        }
        writeln!(
            out,
            "| loopback{} | {:.2} s | {:.2} s |",
            if rtt > 0 {
                format!(", {rtt} ms added round trip")
            } else {
                String::new()
            },
            median(cold).as_secs_f64(),
            median(warm).as_secs_f64()
        )?;
    }
    Ok(())
}
