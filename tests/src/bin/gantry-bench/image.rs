//! gantry-image push vs `skopeo copy` of the same OCI layout to the same local registry, in one
//! run: a cold push of a 5-layer image (one layer of 100 MB of incompressible data), a re-push,
//! and a push after one layer changed. Both go through the same counting proxy, which counts
//! blob uploads (`PUT …/blobs/uploads/…?digest=`).

use super::BenchResult;
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
        .args(["--registry", &proxy.url, "--create-repository"])
        .env("RUST_LOG", "warn")
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("gantry-image: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(Run {
        secs,
        uploads: proxy.blob_uploads(),
    })
}

fn skopeo(src: &str, proxy: &ImageProxy, repo: &str) -> Result<Run, Box<dyn std::error::Error>> {
    proxy.clear();
    let host = proxy.url.trim_start_matches("http://");
    let t = Instant::now();
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", src])
        .arg(format!("docker://{host}/{repo}:v1"))
        .output()?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("skopeo: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(Run {
        secs,
        uploads: proxy.blob_uploads(),
    })
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
    let median = |runs: &[Run]| {
        let mut t: Vec<f64> = runs.iter().map(|r| r.secs).collect();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let uploads = |runs: &[Run]| runs.iter().map(|r| r.uploads).max().unwrap_or(0);
    let rows: Vec<(&str, f64, f64, usize, usize)> = cases
        .iter()
        .map(|(c, g, s)| (*c, median(g), median(s), uploads(g), uploads(s)))
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
    Ok(())
}
