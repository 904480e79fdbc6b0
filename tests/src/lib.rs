//! Helpers shared by the end-to-end tests in `tests/e2e/`.
//!
//! The tests run against the local AWS that `scripts/local-aws up` started (its `env` output is
//! exported by `make test`). They never reset the emulator: each test makes its own names with
//! [`unique_name`], so tests are safe to run in parallel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where the gantry binaries under test are: `GANTRY_BIN_DIR`, else the target dir's `debug/`
/// (the test executable lives in `debug/deps/`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GANTRY_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary sits in <target>/debug/deps")
        .to_path_buf()
}

/// Path of one gantry binary, e.g. `bin("gantry-invalidate")`.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A name no other test (or earlier run against the same emulator) uses: `prefix-<pid>-<n>-<time>`.
/// Lower-case, digits and dashes only, so it is valid as a bucket, repository or cluster name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000_000)
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{t}", std::process::id())
}

/// The local AWS endpoint, or a panic that says how to start it.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL is not set: run the tests through `make test`, or \
             `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
        )
    })
}

/// The project venv that `scripts/local-aws up` creates: `GANTRY_VENV`, else `<repo>/.venv`.
pub fn venv() -> PathBuf {
    std::env::var_os("GANTRY_VENV")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"))
}

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

/// An ECS cluster in moto with the network an ECS service needs (see [`ecs_fixture`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EcsFixture {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
    pub cluster_name: String,
    pub cluster_arn: String,
}

/// Creates a VPC, a subnet, a security group and an ECS cluster `name` in the local moto.
/// Use a [`unique_name`]: the emulator is shared by every test.
pub fn ecs_fixture(name: &str) -> EcsFixture {
    moto_fixture(&["ecs", "--name", name])
}

/// A CloudFront client for the local emulator (the env from `scripts/local-aws env`).
pub async fn cloudfront() -> aws_sdk_cloudfront::Client {
    aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_cloudfront::Client::new(&sdk)
}

/// Creates a distribution in front of an S3 origin named after `name`; returns its id.
pub async fn create_distribution(cf: &aws_sdk_cloudfront::Client, name: &str) -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{name}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .expect("origin");
    let config = DistributionConfig::builder()
        .caller_reference(name)
        .comment(format!("gantry test {name}"))
        .enabled(true)
        .default_root_object("index.html")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("site")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .expect("cache behavior"),
        )
        .build()
        .expect("distribution config");
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateDistribution: {}",
                aws_sdk_cloudfront::error::DisplayErrorContext(&e)
            )
        });
    out.distribution()
        .expect("distribution in response")
        .id()
        .to_owned()
}

/// A fault the [`ImageProxy`] injects into blob uploads (the image tests and benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFault {
    /// Pass everything through.
    None,
    /// Answer the first blob upload request that carries data with HTTP 500.
    FailFirstUpload,
    /// Never answer blob upload requests with more than this many bytes (a push that hangs
    /// there until it is killed).
    HangUploadsOver(u64),
    /// Another run wins the race for a tag: the first `HEAD` of each tag answers 404, and a
    /// manifest `PUT` by tag is refused as ECR refuses it in an immutable repository (400
    /// `TAG_INVALID … already exists`), without reaching the registry.
    TagRace,
}

/// One request the [`ImageProxy`] saw: method, target, Content-Length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    pub method: String,
    pub target: String,
    pub len: u64,
}

impl ImageRequest {
    /// A request that completes a blob upload (`PUT …/blobs/uploads/…?digest=…`).
    pub fn is_blob_upload(&self) -> bool {
        self.method == "PUT"
            && self.target.contains("/blobs/uploads/")
            && self.target.contains("digest=")
    }

    /// A cross-repository mount request.
    pub fn is_mount(&self) -> bool {
        self.method == "POST" && self.target.contains("mount=")
    }
}

/// A small HTTP proxy in front of an OCI registry that records every request and can inject a
/// fault; it runs on its own thread, so tests can run the binary synchronously. One request
/// per connection (it asks the registry to close), which keeps it a plain byte relay.
pub struct ImageProxy {
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<ImageRequest>>>,
}

impl ImageProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub fn start(upstream: &str, fault: ImageFault) -> Self {
        use std::sync::{Arc, Mutex};
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let requests: Arc<Mutex<Vec<ImageRequest>>> = Arc::default();
        let seen = requests.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let (upstream, seen, failed) = (upstream.clone(), seen.clone(), failed.clone());
                    tokio::spawn(async move {
                        let _ = image_proxy_conn(client, &upstream, fault, &seen, &failed).await;
                    });
                }
            });
        });
        Self { url, requests }
    }

    pub fn requests(&self) -> Vec<ImageRequest> {
        self.requests.lock().expect("lock").clone()
    }

    /// Blob uploads completed or attempted (`PUT …?digest=`).
    pub fn blob_uploads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is_blob_upload())
            .count()
    }

    pub fn mounts(&self) -> usize {
        self.requests().iter().filter(|r| r.is_mount()).count()
    }

    /// The requests that could have changed the registry (neither `HEAD` nor `GET`).
    pub fn writes(&self) -> Vec<ImageRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "HEAD" && r.method != "GET")
            .collect()
    }

    pub fn clear(&self) {
        self.requests.lock().expect("lock").clear();
    }
}

async fn image_proxy_conn(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    fault: ImageFault,
    seen: &std::sync::Mutex<Vec<ImageRequest>>,
    failed: &std::sync::atomic::AtomicBool,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        // Not HTTP (e.g. a client trying TLS first, as skopeo does): close, so it falls back.
        if !buf[0].is_ascii_uppercase() {
            return Ok(());
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut first = request_line.split(' ');
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    let mut len = 0u64;
    let mut new_head = format!("{request_line}\r\n");
    for l in lines.filter(|l| !l.is_empty()) {
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        new_head.push_str(l);
        new_head.push_str("\r\n");
    }
    new_head.push_str("Connection: close\r\n\r\n");
    let req = ImageRequest {
        method,
        target,
        len,
    };
    let first_time = {
        let mut seen = seen.lock().expect("lock");
        let first = !seen
            .iter()
            .any(|r| r.method == req.method && r.target == req.target);
        seen.push(req.clone());
        first
    };
    let by_tag = req
        .target
        .rsplit_once("/manifests/")
        .is_some_and(|(_, r)| !r.starts_with("sha256:"));
    let upload = (req.method == "PUT" || req.method == "PATCH")
        && req.target.contains("/blobs/uploads/")
        && len > 0;
    let buffered = (buf.len() - head_end) as u64;
    match fault {
        ImageFault::FailFirstUpload
            if upload && !failed.swap(true, std::sync::atomic::Ordering::SeqCst) =>
        {
            image_proxy_drain(&mut client, len.saturating_sub(buffered)).await?;
            client
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await?;
            return client.shutdown().await;
        }
        ImageFault::HangUploadsOver(limit) if upload && len > limit => {
            image_proxy_drain(&mut client, u64::MAX).await?;
            return Ok(());
        }
        ImageFault::TagRace if by_tag && req.method == "HEAD" && first_time => {
            client
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await?;
            return client.shutdown().await;
        }
        ImageFault::TagRace if by_tag && req.method == "PUT" => {
            image_proxy_drain(&mut client, len.saturating_sub(buffered)).await?;
            let body = r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag already exists in the repository and cannot be overwritten because the repository is immutable."}]}"#;
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(resp.as_bytes()).await?;
            return client.shutdown().await;
        }
        _ => {}
    }
    let mut up = tokio::net::TcpStream::connect(upstream).await?;
    up.write_all(new_head.as_bytes()).await?;
    up.write_all(&buf[head_end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut up).await?;
    Ok(())
}

async fn image_proxy_drain(
    client: &mut tokio::net::TcpStream,
    mut left: u64,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut b = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = client.read(&mut b).await?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n as u64);
    }
    Ok(())
}

/// A CNCF registry of a test's own (a second registry for cross-registry promotion), on a free
/// loopback port, stopped when dropped.
pub struct ImageRegistry {
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl ImageRegistry {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("config");
        let child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (apt-get install docker-registry)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            url,
            child,
            _dir: dir,
        }
    }
}

impl Drop for ImageRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared local OCI registry (`GANTRY_TEST_REGISTRY` from `scripts/local-aws env`).
pub fn image_registry() -> String {
    std::env::var("GANTRY_TEST_REGISTRY").unwrap_or_else(|_| {
        panic!("GANTRY_TEST_REGISTRY is not set: `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`")
    })
}

/// Writes OCI image layouts by hand (layers of pseudo-random bytes, multi-platform indexes)
/// for the image tests and benchmark: no Docker, deterministic from a seed.
pub struct ImageLayout {
    pub dir: PathBuf,
    index: Vec<serde_json::Value>,
}

/// A descriptor written into an [`ImageLayout`].
#[derive(Debug, Clone)]
pub struct ImageDesc {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl ImageDesc {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// `len` bytes that do not compress, from `seed` (xorshift).
pub fn image_noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

impl ImageLayout {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("blobs/sha256")).expect("layout dir");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        Self {
            dir: dir.to_path_buf(),
            index: Vec::new(),
        }
    }

    /// Stores bytes as a blob.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> ImageDesc {
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let digest = format!("sha256:{hex}");
        std::fs::write(self.blob_path(&digest), bytes).expect("blob");
        ImageDesc {
            media_type: media_type.into(),
            digest,
            size: bytes.len() as u64,
        }
    }

    /// Where the blob `sha256:…` is stored.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    /// The manifest `m` as JSON.
    pub fn manifest(&self, m: &ImageDesc) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.blob_path(&m.digest)).expect("manifest"))
            .expect("manifest JSON")
    }

    /// An image manifest over layers of the given seeds and sizes (a layer's bytes are noise:
    /// registries do not look inside).
    pub fn image(&self, layers: &[(u64, usize)], arch: &str) -> ImageDesc {
        let layers: Vec<ImageDesc> = layers
            .iter()
            .map(|&(seed, len)| {
                self.blob(
                    "application/vnd.oci.image.layer.v1.tar",
                    &image_noise(seed, len),
                )
            })
            .collect();
        let config = serde_json::json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>()},
        });
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            config.to_string().as_bytes(),
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config.json(),
            "layers": layers.iter().map(ImageDesc::json).collect::<Vec<_>>(),
        });
        self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.to_string().as_bytes(),
        )
    }

    /// A multi-platform index over image manifests (`(manifest, arch)`).
    pub fn index(&self, manifests: &[(ImageDesc, &str)]) -> ImageDesc {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests.iter().map(|(m, arch)| {
                let mut j = m.json();
                j["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
                j
            }).collect::<Vec<_>>(),
        });
        self.blob(
            "application/vnd.oci.image.index.v1+json",
            index.to_string().as_bytes(),
        )
    }

    /// Names `desc` as `tag` in index.json (written at once).
    pub fn tag(&mut self, desc: &ImageDesc, tag: &str) {
        self.index
            .retain(|e| e["annotations"]["org.opencontainers.image.ref.name"] != tag);
        let mut j = desc.json();
        j["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        self.index.push(j);
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.index});
        std::fs::write(self.dir.join("index.json"), index.to_string()).expect("index.json");
    }
}

/// An S3 client for the local emulator (path-style, as gantry's own clients).
pub async fn site_s3() -> aws_sdk_s3::Client {
    aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    gantry_kit::aws::s3_client(&sdk)
}

/// Creates bucket `name` for a site; `versioned` turns on object versions (what rollback uses).
pub async fn create_site_bucket(s3: &aws_sdk_s3::Client, name: &str, versioned: bool) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateBucket {name}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    if versioned {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PutBucketVersioning {name}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
}

/// The body of `s3://bucket/key` as text, or `None` when there is no such object.
pub async fn site_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<String> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    let bytes = o.body.collect().await.ok()?.into_bytes();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Builds the example image (examples/image: busybox plus the files under `rootfs/`) as an OCI
/// layout `DIR:TAG` with umoci, without Docker. Returns the `oci:DIR:TAG` source.
pub fn image_example_layout(dir: &Path, tag: &str) -> String {
    let layout = dir.join("layout");
    let bundle = dir.join("bundle");
    let rootfs = repo_root().join("examples/image/rootfs");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("umoci")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("umoci (scripts/local-aws up installs it): {e}"));
        assert!(
            out.status.success(),
            "umoci {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let l = layout.to_string_lossy().into_owned();
    let image = format!("{l}:{tag}");
    let b = bundle.to_string_lossy().into_owned();
    run(&["init", "--layout", &l]);
    run(&["new", "--image", &image]);
    run(&[
        "config",
        "--image",
        &image,
        "--config.cmd",
        "/app/start.sh",
        "--config.exposedports",
        "8080/tcp",
        "--config.workingdir",
        "/app",
    ]);
    run(&["unpack", "--rootless", "--image", &image, &b]);
    let root = bundle.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).expect("rootfs/bin");
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox (apt-get install busybox-static)");
    for applet in ["sh", "httpd"] {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    for entry in walkdir_files(&rootfs) {
        let rel = entry.strip_prefix(&rootfs).expect("under rootfs");
        let to = root.join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
        std::fs::copy(&entry, &to).expect("copy example file");
    }
    run(&["repack", "--image", &image, &b]);
    format!("oci:{image}")
}

fn walkdir_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A moto of the rollout tests' own: `scripts/moto-launcher.py` (with its ECS deployment
/// lifecycle) on a free 127.0.0.1 port, stopped by PID when dropped. Rollout tests start their
/// own so they can choose the deployment duration and never depend on the shared emulator's.
pub struct RolloutMoto {
    pub url: String,
    child: std::process::Child,
}

impl RolloutMoto {
    /// Starts the launcher with `--ecs-deployment-seconds seconds` and waits until it answers.
    pub fn start(seconds: f64) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let python = venv().join("bin/python");
        let child = std::process::Command::new(&python)
            .arg(repo_root().join("scripts/moto-launcher.py"))
            .args(["--port", &port.to_string()])
            .args(["--ecs-deployment-seconds", &seconds.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e} (run scripts/local-aws up)",
                    python.display()
                )
            });
        let moto = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if rollout_moto_answers(port) {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "moto-launcher.py did not answer on {} within 60 s",
            moto.url
        );
    }

    /// The environment a gantry binary needs to use this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An `SdkConfig` for this emulator.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "rollout-moto",
            ))
            .load()
            .await
    }

    /// [`ecs_fixture`] in this emulator.
    pub fn ecs_fixture(&self, name: &str) -> EcsFixture {
        let output = std::process::Command::new(venv().join("bin/python"))
            .arg(repo_root().join("scripts/moto-fixture.py"))
            .args(["ecs", "--name", name])
            .envs(self.env())
            .output()
            .expect("run moto-fixture.py");
        assert!(
            output.status.success(),
            "moto-fixture.py failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("moto-fixture.py printed no JSON")
    }
}

impl Drop for RolloutMoto {
    fn drop(&mut self) {
        // Only the process this helper started, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rollout_moto_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let req = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let mut head = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && &head[9..12] == b"200"
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

/// Copies the tree `from` into `to` (created as needed): a fresh checkout of a site, with new
/// mtimes and the same bytes.
pub fn site_copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            site_copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}
