//! gantry-site vs `aws s3 sync` (awscli from the project venv), side by side in one run, on a
//! generated tree of ~2,000 small files plus a few multi-MB files:
//! (a) cold publish, (b) re-publish after a fresh checkout (every mtime new, no content changed),
//! (c) one file changed (same size). Wall time against s3s-fs (a fast local S3; moto tops out
//! near 140 requests/s), beside a plain keep-alive PUT loop at gantry's concurrency — the
//! server's own limit on this machine. Request counts by verb against a moto started here,
//! read from its request log.

use super::BenchResult;
use futures::StreamExt;
use gantry_tests::{bin, site_copy_dir, venv};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SMALL_FILES: usize = 2000;
const BIG_FILES: [usize; 3] = [10 << 20, 12 << 20, 16 << 20];
const CONCURRENCY: usize = 32;
/// The page changed in scenario (c).
const CHANGED: &str = "docs/page-0007/index.html";

/// A server this benchmark started; stopped (by its own PID) when dropped.
struct Server {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_ready(endpoint: &str) -> Result<(), Box<dyn std::error::Error>> {
    let addr = endpoint.trim_start_matches("http://");
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{endpoint} did not start listening").into())
}

/// s3s-fs from the cached tools root, installed there first when it is missing (minutes, once).
fn s3s_fs_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let tools = std::env::var_os("GANTRY_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gantry/tools")))
        .ok_or("HOME is not set")?;
    let b = tools.join("bin/s3s-fs");
    if b.exists() {
        return Ok(b);
    }
    let _ = writeln!(
        std::io::stderr(),
        "bench site: installing s3s-fs 0.14.1 into {} (once)",
        tools.display()
    );
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "install",
            "--locked",
            "s3s-fs@0.14.1",
            "--features",
            "binary",
            "--root",
        ])
        .arg(&tools)
        .env("CARGO_TARGET_DIR", tools.join("build"))
        .status()?;
    if !status.success() || !b.exists() {
        return Err(format!(
            "could not install s3s-fs ({status}): CARGO_TARGET_DIR=$HOME/.cache/gantry/tools/build cargo install --locked s3s-fs@0.14.1 --features binary --root $HOME/.cache/gantry/tools"
        )
        .into());
    }
    Ok(b)
}

fn start_s3s_fs() -> Result<Server, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let log = dir.path().join("server.log");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root)?;
    let child = Command::new(s3s_fs_binary()?)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", "testing", "--secret-key", "testing"])
        .arg(&root)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let s = Server {
        child,
        endpoint,
        log,
        _dir: dir,
    };
    wait_ready(&s.endpoint)?;
    Ok(s)
}

/// A moto of our own, so its request log holds only this benchmark's requests.
fn start_moto() -> Result<Server, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let log = dir.path().join("moto.log");
    let child = Command::new(venv().join("bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let s = Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    wait_ready(&s.endpoint)?;
    Ok(s)
}

/// Deterministic filler bytes (text-safe).
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"abcdefghijklmnopqrstuvwxyz0123456789 \n"[(x >> 33) as usize % 38]
        })
        .collect()
}

/// The tree: 1,500 fingerprinted scripts, 300 HTML pages, 200 SVGs, 3 large videos.
fn generate(dir: &Path) -> std::io::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0u64;
    let mut put = |rel: String, content: Vec<u8>| -> std::io::Result<()> {
        let p = dir.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap_or(dir))?;
        bytes += content.len() as u64;
        files += 1;
        std::fs::write(p, content)
    };
    for i in 0..SMALL_FILES {
        let seed = i as u64;
        match i % 20 {
            0..=14 => put(
                format!("assets/chunk-{i:04}-B{:07x}.js", i * 7919),
                filler(seed, 500 + (i * 37) % 5500),
            )?,
            15..=17 => put(
                format!("docs/page-{:04}/index.html", i / 20 * 3 + (i % 20 - 15)),
                filler(seed, 2000 + (i * 13) % 1000),
            )?,
            _ => put(format!("img/icon-{i:04}.svg"), filler(seed, 800 + i % 400))?,
        }
    }
    for (i, size) in BIG_FILES.iter().enumerate() {
        put(
            format!("media/video-{i}.mp4"),
            filler(10_000 + i as u64, *size),
        )?;
    }
    Ok((files, bytes))
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

/// Changes one byte of the page: same size, other content.
fn change_one(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(CHANGED);
    let mut b = std::fs::read(&p)?;
    b[0] = if b[0] == b'x' { b'y' } else { b'x' };
    std::fs::write(p, b)
}

fn aws_env(c: &mut Command, endpoint: &str) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("GANTRY_") || k.starts_with("GITHUB_") {
            c.env_remove(k);
        }
    }
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Tool {
    Gantry,
    AwsCli,
    /// aws-cli with `max_concurrent_requests` raised to gantry's concurrency.
    AwsCli32,
}

/// An AWS CLI config raising `s3.max_concurrent_requests` to `CONCURRENCY`.
fn awscli_config() -> std::io::Result<PathBuf> {
    let p = std::env::temp_dir().join("gantry-bench-awscli.cfg");
    std::fs::write(
        &p,
        format!("[default]\ns3 =\n  max_concurrent_requests = {CONCURRENCY}\n"),
    )?;
    Ok(p)
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Gantry => "gantry-site",
            Tool::AwsCli => "aws s3 sync",
            Tool::AwsCli32 => "aws s3 sync (32 requests)",
        }
    }

    fn command(self, dir: &Path, bucket: &str, endpoint: &str) -> Command {
        let mut c = match self {
            Tool::Gantry => {
                let mut c = Command::new(bin("gantry-site"));
                c.arg("deploy")
                    .arg("--dir")
                    .arg(dir)
                    .args(["--bucket", bucket])
                    .args(["--concurrency", &CONCURRENCY.to_string()])
                    .env("GANTRY_LOG", "warn");
                c
            }
            Tool::AwsCli | Tool::AwsCli32 => {
                let mut c = Command::new(venv().join("bin/aws"));
                c.args(["s3", "sync"])
                    .arg(dir)
                    .arg(format!("s3://{bucket}/"))
                    .args(["--delete", "--only-show-errors", "--no-progress"]);
                c
            }
        };
        aws_env(&mut c, endpoint);
        if self == Tool::AwsCli32
            && let Ok(cfg) = awscli_config()
        {
            c.env("AWS_CONFIG_FILE", cfg);
        }
        c.stdout(Stdio::null());
        c
    }

    fn run(
        self,
        dir: &Path,
        bucket: &str,
        endpoint: &str,
    ) -> Result<Duration, Box<dyn std::error::Error>> {
        let start = Instant::now();
        let out = self.command(dir, bucket, endpoint).output()?;
        let took = start.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                self.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(took)
    }
}

fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) -> BenchResult {
    s3.create_bucket().bucket(name).send().await.map_err(|e| {
        format!(
            "CreateBucket {name}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )
    })?;
    Ok(())
}

/// The plain loop: every file read into memory first, then one keep-alive PUT each at
/// `CONCURRENCY` in flight. No listing, no hashing, no checksum: the floor for this server.
async fn put_loop(
    s3: &aws_sdk_s3::Client,
    dir: &Path,
    bucket: &str,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    for p in walk(dir)? {
        let key = p.strip_prefix(dir)?.to_string_lossy().into_owned();
        files.push((key, std::fs::read(&p)?));
    }
    let start = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(files)
        .map(|(key, body)| async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let took = start.elapsed();
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(took)
}

const SCENARIOS: [&str; 3] = [
    "(a) cold publish",
    "(b) fresh checkout, nothing changed",
    "(c) one file changed (same size)",
];

/// Runs the three scenarios for one tool: a source tree, then a fresh copy (new mtimes), then
/// the copy with one page changed. `between` is called after each run.
fn scenarios(
    tool: Tool,
    tree: &Path,
    bucket: &str,
    endpoint: &str,
    mut between: impl FnMut(usize),
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    times.push(tool.run(tree, bucket, endpoint)?);
    between(0);
    // A fresh checkout: the same bytes with new mtimes (later than the objects' LastModified).
    std::thread::sleep(Duration::from_millis(1100));
    let fresh = tempfile::tempdir()?;
    site_copy_dir(tree, fresh.path())?;
    times.push(tool.run(fresh.path(), bucket, endpoint)?);
    between(1);
    change_one(fresh.path())?;
    times.push(tool.run(fresh.path(), bucket, endpoint)?);
    between(2);
    Ok(times)
}

/// Requests in moto's log from line `from` on, by verb and S3 operation.
fn count_requests(
    log: &Path,
    from: usize,
) -> Result<(usize, BTreeMap<String, usize>), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(log)?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\" ") && l.contains(" HTTP/1.1\""))
        .collect();
    let mut by = BTreeMap::new();
    for l in &lines[from.min(lines.len())..] {
        let Some(req) = l.split('"').nth(1) else {
            continue;
        };
        let mut parts = req.split(' ');
        let verb = parts.next().unwrap_or("?");
        let target = parts.next().unwrap_or("");
        let path = target.split('?').next().unwrap_or("");
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let what = match verb {
            "GET" if query.contains("list-type=2") => "GET (list)",
            "GET" => "GET",
            "HEAD" => "HEAD",
            "PUT" if query.contains("partNumber=") => "PUT (part)",
            "PUT" if path.contains("/.gantry/") => "PUT (release record)",
            "PUT" => "PUT (content)",
            "POST" if query.contains("delete") => "POST (delete)",
            "POST" => "POST (multipart)",
            "DELETE" => "DELETE",
            other => other,
        };
        *by.entry(what.to_owned()).or_default() += 1;
    }
    Ok((lines.len(), by))
}

fn ms(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub async fn run(out: &mut dyn Write) -> BenchResult {
    let tree_dir = tempfile::tempdir()?;
    let tree = tree_dir.path();
    let (files, bytes) = generate(tree)?;
    writeln!(
        out,
        "bench site: {files} files, {:.1} MiB ({SMALL_FILES} small, {} of 10–16 MiB); concurrency {CONCURRENCY}",
        bytes as f64 / (1u64 << 20) as f64,
        BIG_FILES.len()
    )?;

    // Wall time against s3s-fs.
    let server = start_s3s_fs()?;
    let s3 = s3_client(&server.endpoint);
    let mut times: BTreeMap<Tool, Vec<Duration>> = BTreeMap::new();
    for tool in [Tool::Gantry, Tool::AwsCli, Tool::AwsCli32] {
        let bucket = format!("bench-{}", format!("{tool:?}").to_lowercase());
        create_bucket(&s3, &bucket).await?;
        times.insert(
            tool,
            scenarios(tool, tree, &bucket, &server.endpoint, |_| {})?,
        );
    }
    create_bucket(&s3, "bench-loop").await?;
    let floor = put_loop(&s3, tree, "bench-loop").await?;
    let s3s_log = std::fs::read_to_string(&server.log).unwrap_or_default();
    drop(server);

    writeln!(
        out,
        "\nWall time against s3s-fs 0.14.1 (2 cores shared by client and server):\n"
    )?;
    writeln!(
        out,
        "| scenario | gantry-site | aws s3 sync (10 requests, its default) | ratio | aws s3 sync (32 requests) | ratio |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- |")?;
    for (i, s) in SCENARIOS.iter().enumerate() {
        let g = times[&Tool::Gantry][i];
        let c = times[&Tool::AwsCli][i];
        let c32 = times[&Tool::AwsCli32][i];
        writeln!(
            out,
            "| {s} | {} | {} | {:.1}× | {} | {:.1}× |",
            ms(g),
            ms(c),
            c.as_secs_f64() / g.as_secs_f64(),
            ms(c32),
            c32.as_secs_f64() / g.as_secs_f64()
        )?;
    }
    let cold = times[&Tool::Gantry][0];
    writeln!(
        out,
        "| plain keep-alive PUT loop, {CONCURRENCY} in flight (cold only) | {} | gantry ÷ loop: {:.2}× | | | |",
        ms(floor),
        cold.as_secs_f64() / floor.as_secs_f64()
    )?;
    if s3s_log.contains("ERROR") {
        writeln!(
            out,
            "\n(s3s-fs logged errors: {} lines)",
            s3s_log.lines().filter(|l| l.contains("ERROR")).count()
        )?;
    }

    // Request counts against moto.
    let moto = start_moto()?;
    let ms3 = s3_client(&moto.endpoint);
    let mut counts: BTreeMap<(Tool, usize), BTreeMap<String, usize>> = BTreeMap::new();
    for tool in [Tool::Gantry, Tool::AwsCli] {
        let bucket = format!(
            "count-{}",
            if tool == Tool::Gantry {
                "gantry"
            } else {
                "cli"
            }
        );
        create_bucket(&ms3, &bucket).await?;
        let (mut seen, _) = count_requests(&moto.log, 0)?;
        let log = moto.log.clone();
        let mut err = None;
        scenarios(
            tool,
            tree,
            &bucket,
            &moto.endpoint,
            |i| match count_requests(&log, seen) {
                Ok((n, by)) => {
                    counts.insert((tool, i), by);
                    seen = n;
                }
                Err(e) => err = Some(e.to_string()),
            },
        )?;
        if let Some(e) = err {
            return Err(e.into());
        }
    }
    drop(moto);
    writeln!(
        out,
        "\nRequests by verb, counted in moto's request log (moto 5.2.5):\n"
    )?;
    writeln!(out, "| scenario | gantry-site | aws s3 sync |")?;
    writeln!(out, "| --- | --- | --- |")?;
    let fmt = |m: Option<&BTreeMap<String, usize>>| {
        let m = match m {
            Some(m) if !m.is_empty() => m,
            _ => return "none".to_owned(),
        };
        let total: usize = m.values().sum();
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{v} {k}")).collect();
        format!("{total}: {}", parts.join(", "))
    };
    for (i, s) in SCENARIOS.iter().enumerate() {
        writeln!(
            out,
            "| {s} | {} | {} |",
            fmt(counts.get(&(Tool::Gantry, i))),
            fmt(counts.get(&(Tool::AwsCli, i)))
        )?;
    }
    Ok(())
}
