//! gantry-image push vs `skopeo copy` of the same OCI layout to the same local registry, in one
//! run: a cold push of a 5-layer image (one layer of 100 MB of incompressible data), a re-push,
//! and a push after one layer changed. Both go through the same counting proxy, which counts
//! blob uploads (`PUT …/blobs/uploads/…?digest=`). Then cold pushes at a 20 ms round trip
//! (the latency proxy straight in front of the registry, connections kept alive): the same
//! image, and one of many small layers, gantry as users run it (`auto`) and pinned at 4.

use super::latency::LatencyProxy;
use super::{BenchResult, median, spread};
use gantry_tests::{ImageFault, ImageLayout, ImageProxy, bin, image_registry, unique_name};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const LAYERS: [(u64, usize); 5] = [
    (1, 100 * 1024 * 1024),
    (2, 20 * 1024 * 1024),
    (3, 5 * 1024 * 1024),
    (4, 1024 * 1024),
    (5, 64 * 1024),
];

struct Run {
    secs: f64,
    uploads: usize,
}

fn gantry(src: &str, proxy: &ImageProxy, repo: &str) -> Result<Run, Box<dyn std::error::Error>> {
    proxy.clear();
    let secs = gantry_push(src, &proxy.url, repo, &[])?;
    Ok(Run {
        secs,
        uploads: proxy.blob_uploads(),
    })
}

/// Seconds for one `gantry-image push` of `src` to `registry`, `extra` flags added.
fn gantry_push(
    src: &str,
    registry: &str,
    repo: &str,
    extra: &[&str],
) -> Result<f64, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let out = Command::new(bin("gantry-image"))
        .args([
            "push",
            "--source",
            src,
            "--repository",
            repo,
            "--tags",
            "v1",
        ])
        .args(["--registry", registry, "--create-repository"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("gantry-image: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(secs)
}

fn skopeo(src: &str, proxy: &ImageProxy, repo: &str) -> Result<Run, Box<dyn std::error::Error>> {
    proxy.clear();
    let secs = skopeo_copy(src, &proxy.url, repo)?;
    Ok(Run {
        secs,
        uploads: proxy.blob_uploads(),
    })
}

/// Seconds for one `skopeo copy` of `src` to `registry`.
fn skopeo_copy(src: &str, registry: &str, repo: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let host = registry.trim_start_matches("http://");
    let t = Instant::now();
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", src])
        .arg(format!("docker://{host}/{repo}:v1"))
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("skopeo: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(secs)
}

pub(crate) async fn run(out: &mut dyn Write) -> BenchResult {
    gantry_tests::aws_endpoint();
    let dir = tempfile::tempdir()?;
    let mut layout = ImageLayout::new(dir.path());
    let t = Instant::now();
    let m = layout.image(&LAYERS, "amd64");
    layout.tag(&m, "v1");
    writeln!(
        out,
        "bench image: layout of {} MiB written in {:.1}s",
        LAYERS.iter().map(|l| l.1).sum::<usize>() >> 20,
        t.elapsed().as_secs_f64()
    )?;
    let proxy = ImageProxy::start(&image_registry(), ImageFault::None);
    let src = format!("oci:{}:v1", dir.path().display());
    // Each case runs ROUNDS times (fresh repositories per round); the table shows medians.
    const ROUNDS: u64 = 3;
    let mut cases: [(&str, Vec<Run>, Vec<Run>); 3] = [
        ("cold push (6 blobs, 126 MiB)", vec![], vec![]),
        ("re-push, nothing changed", vec![], vec![]),
        ("push with one layer changed", vec![], vec![]),
    ];
    for round in 0..ROUNDS {
        // Fresh bytes each round: a cold push meets blobs the registry has never seen (skopeo
        // keeps a blob-info cache and would otherwise mount them from the last round's repository).
        let base: Vec<(u64, usize)> = LAYERS
            .iter()
            .map(|&(seed, len)| (seed + 100 * round, len))
            .collect();
        let m = if round == 0 {
            m.clone()
        } else {
            layout.image(&base, "amd64")
        };
        layout.tag(&m, "v1");
        let (g_repo, s_repo) = (unique_name("bench/gantry"), unique_name("bench/skopeo"));
        // Alternate who goes first, so neither always meets a warmer page cache.
        let both = |cases: &mut [(&str, Vec<Run>, Vec<Run>); 3], i: usize| -> BenchResult {
            if round % 2 == 0 {
                cases[i].1.push(gantry(&src, &proxy, &g_repo)?);
                cases[i].2.push(skopeo(&src, &proxy, &s_repo)?);
            } else {
                cases[i].2.push(skopeo(&src, &proxy, &s_repo)?);
                cases[i].1.push(gantry(&src, &proxy, &g_repo)?);
            }
            Ok(())
        };
        both(&mut cases, 0)?;
        // Re-pushes are short: three samples a round.
        for _ in 0..3 {
            both(&mut cases, 1)?;
        }
        // One layer changed (the 5 MiB one): that layer and the config are new.
        let mut changed = base.clone();
        changed[2].0 = 1000 + round;
        let m2 = layout.image(&changed, "amd64");
        layout.tag(&m2, "v1");
        both(&mut cases, 2)?;
    }
    let mid = |runs: &[Run]| median(runs.iter().map(|r| r.secs).collect());
    let uploads = |runs: &[Run]| runs.iter().map(|r| r.uploads).max().unwrap_or(0);
    let rows: Vec<(&str, f64, f64, usize, usize)> = cases
        .iter()
        .map(|(c, g, s)| (*c, mid(g), mid(s), uploads(g), uploads(s)))
        .collect();

    writeln!(
        out,
        "\n| case | gantry-image | skopeo copy | ratio (gantry/skopeo) | blob uploads (gantry / skopeo) |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: |")?;
    for (case, g, s, gu, su) in &rows {
        writeln!(
            out,
            "| {case} | {g:.2} s | {s:.2} s | {:.2}× | {gu} / {su} |",
            g / s
        )?;
    }
    far(out, &mut layout, &src)
}

/// The round trip the far pushes see.
const FAR_RTT_MS: u64 = 20;
/// Many small layers: an image built in many steps (24 layers of 512 KiB, 12 MiB).
const SMALL_LAYERS: usize = 24;
const SMALL_LAYER: usize = 512 * 1024;

/// Cold pushes at [`FAR_RTT_MS`]: each tool, each image, three rounds of fresh bytes, the tools
/// taking turns to go first.
fn far(out: &mut dyn Write, layout: &mut ImageLayout, src: &str) -> BenchResult {
    let (registry, _proxy) = LatencyProxy::in_front(&image_registry(), FAR_RTT_MS)?;
    const ROUNDS: u64 = 3;
    let images: [(&str, Vec<(u64, usize)>); 2] = [
        ("6 blobs, 126 MiB", LAYERS.to_vec()),
        (
            "25 blobs, 12 MiB",
            (0..SMALL_LAYERS as u64)
                .map(|i| (50 + i, SMALL_LAYER))
                .collect(),
        ),
    ];
    writeln!(
        out,
        "\n| cold push at a {FAR_RTT_MS} ms round trip | gantry-image (auto) | pinned at 4 | skopeo copy | ratio (auto/skopeo) | (auto/pinned) |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |")?;
    for (name, layers) in images {
        let mut runs: [Vec<f64>; 3] = Default::default();
        for round in 0..ROUNDS {
            let tools: [(usize, &str); 3] = [(0, "auto"), (1, "4"), (2, "skopeo")];
            for k in 0..3 {
                let (slot, how) = tools[(k + round as usize) % 3];
                // Fresh bytes for every push: nothing is already there or mountable.
                let fresh: Vec<(u64, usize)> = layers
                    .iter()
                    .map(|&(seed, len)| (seed + 10_000 * (1 + round * 3 + slot as u64), len))
                    .collect();
                let m = layout.image(&fresh, "amd64");
                layout.tag(&m, "v1");
                let repo = unique_name("bench/far");
                let secs = match how {
                    "skopeo" => skopeo_copy(src, &registry, &repo)?,
                    n => gantry_push(src, &registry, &repo, &["--concurrency", n])?,
                };
                runs[slot].push(secs);
            }
        }
        let [a, p, k] = runs.clone().map(median);
        writeln!(
            out,
            "| {name} | {a:.2} s | {p:.2} s | {k:.2} s | {:.2}× | {:.2}× |",
            a / k,
            a / p
        )?;
        writeln!(
            out,
            "|  | every run: {} | {} | {} | | |",
            spread(runs[0].iter().copied()),
            spread(runs[1].iter().copied()),
            spread(runs[2].iter().copied())
        )?;
    }
    Ok(())
}
