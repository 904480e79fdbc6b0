//! Images for the image tests, benchmark and demo: a fault-injecting proxy in front of a
//! registry, a registry of a test's own, layouts written by hand, and the example image.

use super::env::repo_root;
use std::path::{Path, PathBuf};
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
    /// A registry far away: every blob upload request that carries data is held `delay_ms`
    /// before it is passed on (counted as in flight meanwhile: [`ImageProxy::peak_uploads`]),
    /// and the first `throttle_first` of them are answered 429 `TOOMANYREQUESTS` (the
    /// distribution spec's throttling error, which ECR sends too) after the delay.
    Slow {
        delay_ms: u64,
        throttle_first: usize,
    },
}

/// What the proxy's connections share.
#[derive(Default)]
struct ProxyState {
    seen: std::sync::Mutex<Vec<ImageRequest>>,
    failed: std::sync::atomic::AtomicBool,
    in_flight: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    throttled: std::sync::atomic::AtomicUsize,
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
    state: std::sync::Arc<ProxyState>,
}

impl ImageProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub fn start(upstream: &str, fault: ImageFault) -> Self {
        use std::sync::Arc;
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let state: Arc<ProxyState> = Arc::default();
        let shared = state.clone();
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
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let (upstream, shared) = (upstream.clone(), shared.clone());
                    tokio::spawn(async move {
                        let _ = image_proxy_conn(client, &upstream, fault, &shared).await;
                    });
                }
            });
        });
        Self { url, state }
    }

    pub fn requests(&self) -> Vec<ImageRequest> {
        self.state.seen.lock().expect("lock").clone()
    }

    /// The most blob upload requests held at once ([`ImageFault::Slow`]).
    pub fn peak_uploads(&self) -> usize {
        self.state.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Blob upload requests answered 429 ([`ImageFault::Slow`]).
    pub fn throttled(&self) -> usize {
        self.state
            .throttled
            .load(std::sync::atomic::Ordering::SeqCst)
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
        self.state.seen.lock().expect("lock").clear();
    }
}

async fn image_proxy_conn(
    mut client: tokio::net::TcpStream,
    upstream: &str,
    fault: ImageFault,
    state: &ProxyState,
) -> std::io::Result<()> {
    use std::sync::atomic::Ordering::SeqCst;
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
        let mut seen = state.seen.lock().expect("lock");
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
        ImageFault::FailFirstUpload if upload && !state.failed.swap(true, SeqCst) => {
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
            return image_proxy_error(&mut client, "400 Bad Request", body).await;
        }
        ImageFault::Slow {
            delay_ms,
            throttle_first,
        } if upload => {
            // In flight from here until the answer starts: the client cannot have sent the
            // next request of this slot before that.
            let now = state.in_flight.fetch_add(1, SeqCst) + 1;
            state.peak.fetch_max(now, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            state.in_flight.fetch_sub(1, SeqCst);
            let throttle = state
                .throttled
                .fetch_update(SeqCst, SeqCst, |n| (n < throttle_first).then_some(n + 1))
                .is_ok();
            if throttle {
                image_proxy_drain(&mut client, len.saturating_sub(buffered)).await?;
                let body =
                    r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}"#;
                return image_proxy_error(&mut client, "429 Too Many Requests", body).await;
            }
        }
        _ => {}
    }
    let mut up = tokio::net::TcpStream::connect(upstream).await?;
    up.write_all(new_head.as_bytes()).await?;
    up.write_all(&buf[head_end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut up).await?;
    Ok(())
}

/// Answers with a registry error (`status` as `400 Bad Request`, a JSON `body` of the
/// distribution spec's `errors`) and closes the connection.
async fn image_proxy_error(
    client: &mut tokio::net::TcpStream,
    status: &str,
    body: &str,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(resp.as_bytes()).await?;
    client.shutdown().await
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
        let digest = format!("sha256:{}", super::env::sha256_hex(bytes));
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
