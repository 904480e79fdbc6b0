//! A small OCI distribution client on reqwest: exactly the calls a push and a promotion need
//! (HEAD/GET/PUT manifests, HEAD/GET blobs, cross-repository mount, monolithic and chunked
//! uploads streamed from disk), with retries on 5xx, 429 and broken connections.

use crate::reference::RegistryAddr;
use crate::source::{self, Blob, Location, sha256_digest};
use bytes::Bytes;
use futures::Stream;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use std::io::SeekFrom;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// What every manifest request accepts.
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the registry may go quiet while a request or its answer is under way.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The most one request without a body to send may take in all (HEAD, GET of a manifest, POST).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The slowest transfer an upload's overall limit allows for (256 KiB/s), on top of
/// [`REQUEST_TIMEOUT`]: a 32 MiB chunk may take 4 minutes, a stall ends at [`READ_TIMEOUT`].
const SLOWEST_BYTES_PER_SEC: u64 = 256 * 1024;

/// Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size.
pub(crate) const DEFAULT_CHUNK: u64 = 32 * 1024 * 1024;
const READ_BUF: usize = 256 * 1024;

/// A failed registry call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct RegistryError {
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
    /// Worth another attempt (5xx, 429, a broken connection).
    pub(crate) retryable: bool,
    /// The raw response body, for callers that classify it.
    pub(crate) body: String,
    /// The run's deadline passed (exit 4 once something was written, else 1).
    pub(crate) deadline: Option<Deadline>,
}

/// Where the run stood when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Nothing was written to the registry yet.
    BeforeWrites,
    /// Uploads, manifests or tags were sent: some of it may have landed.
    AfterWrites,
}

impl RegistryError {
    fn transport(what: &str, e: &reqwest::Error) -> Self {
        let mut msg = format!("{what}: {e}");
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        Self {
            status: None,
            message: msg,
            retryable: true,
            body: String::new(),
            deadline: None,
        }
    }

    fn past_deadline(what: &str, timeout: Duration, wrote: bool) -> Self {
        Self {
            status: None,
            message: format!(
                "{what}: the registry did not answer before the deadline ({} after the start)",
                gantry_kit::fmt::format_duration(timeout)
            ),
            retryable: false,
            body: String::new(),
            deadline: Some(if wrote {
                Deadline::AfterWrites
            } else {
                Deadline::BeforeWrites
            }),
        }
    }

    async fn from_response(what: &str, resp: Response) -> Self {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let e = v.get("errors")?.get(0)?.clone();
                Some(format!(
                    "{}: {}",
                    e.get("code")?.as_str()?,
                    e.get("message").and_then(|m| m.as_str()).unwrap_or("")
                ))
            })
            .unwrap_or_else(|| body.chars().take(200).collect());
        Self {
            status: Some(status.as_u16()),
            message: format!("{what}: HTTP {status}: {detail}"),
            retryable: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
            body,
            deadline: None,
        }
    }
}

/// A failed registry call as the run ends with it (exit 1), with a hint where the status says
/// what to check.
impl From<RegistryError> for gantry_kit::Error {
    fn from(e: RegistryError) -> Self {
        match e.deadline {
            Some(Deadline::BeforeWrites) => {
                return Self::failed(format!("{}; nothing was written", e.message)).with_hint(
                    "check --registry and the network, or raise `timeout`; re-running is safe",
                );
            }
            Some(Deadline::AfterWrites) => {
                return Self::deadline(e.message).with_hint(
                    "some blobs may have landed; a re-run uploads only what is missing",
                );
            }
            None => {}
        }
        let hint = match e.status {
            Some(401 | 403) => Some(
                "the registry refused the credentials; check the role may push to this repository (ecr:InitiateLayerUpload, ecr:PutImage, …)",
            ),
            None => Some("could not reach the registry; check --registry and the network"),
            _ => None,
        };
        let err = Self::failed(e.message);
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

/// A manifest as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteManifest {
    pub(crate) digest: String,
    pub(crate) media_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// How a mount request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mount {
    Mounted,
    /// The registry could not mount and opened an upload session instead.
    Upload(String),
}

/// One registry, with its credentials.
#[derive(Clone)]
pub(crate) struct Registry {
    pub(crate) addr: RegistryAddr,
    http: reqwest::Client,
    auth: Option<HeaderValue>,
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
    pub(crate) chunk: u64,
    /// The run's deadline; `None`: the requests' own limits only.
    deadline: Option<RunDeadline>,
    /// Attempts answered 429 or 503 (the registry throttling), retried or not, since
    /// [`throttled`](Self::throttled) last asked; shared by clones.
    throttles: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// The deadline of one run (`--timeout` from its start), shared by its registry clients, and
/// whether any of them sent a write yet.
#[derive(Debug, Clone)]
pub(crate) struct RunDeadline {
    at: tokio::time::Instant,
    timeout: Duration,
    wrote: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RunDeadline {
    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Self {
        Self {
            at: tokio::time::Instant::now() + timeout,
            timeout,
            wrote: Default::default(),
        }
    }

    pub(crate) fn at(&self) -> tokio::time::Instant {
        self.at
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Notes that a write is about to be sent (a repository created, a blob, a manifest).
    pub(crate) fn wrote(&self) {
        self.wrote.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn has_written(&self) -> bool {
        self.wrote.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn left(&self) -> Duration {
        self.at
            .saturating_duration_since(tokio::time::Instant::now())
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("Registry")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for `addr`. `basic` is the base64 `user:password` (ECR's token) sent as Basic
    /// auth; plain-HTTP loopback registries get none.
    pub(crate) fn new(addr: RegistryAddr, basic: Option<&str>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("gantry-image/", env!("CARGO_PKG_VERSION")));
        if addr.insecure {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        let auth = match basic.filter(|_| !addr.insecure) {
            Some(token) => {
                let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| "the registry token is not a valid header value".to_string())?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Self {
            addr,
            http,
            auth,
            attempts: 4,
            backoff: Duration::from_millis(500),
            chunk: DEFAULT_CHUNK,
            deadline: None,
            throttles: Default::default(),
        })
    }

    /// Bounds every request by the run's deadline.
    #[must_use]
    pub(crate) fn with_deadline(mut self, deadline: &RunDeadline) -> Self {
        self.deadline = Some(deadline.clone());
        self
    }

    /// Whether the registry throttled an attempt (429 Too Many Requests, 503 Service
    /// Unavailable) since the last call.
    pub(crate) fn throttled(&self) -> bool {
        self.throttles.swap(0, std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// The error of `what` when the deadline has passed.
    fn deadline_error(&self, what: &str) -> Option<RegistryError> {
        let d = self.deadline.as_ref()?;
        d.left()
            .is_zero()
            .then(|| RegistryError::past_deadline(what, d.timeout, d.has_written()))
    }

    /// A transport error of `what`, or the deadline's when that is what cut it.
    fn transport(&self, what: &str, e: &reqwest::Error) -> RegistryError {
        self.deadline_error(what)
            .unwrap_or_else(|| RegistryError::transport(what, e))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{path}", self.addr.base)
    }

    /// An absolute URL for a `Location` header (registries may answer with a path).
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{}", self.addr.base, location)
        }
    }

    /// A request; Authorization only when `url` has the registry's own scheme and host (an
    /// upload `Location` elsewhere gets none).
    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.request_sized(method, url, 0)
    }

    /// [`request`](Self::request) with `body` bytes to send: its overall limit allows for a
    /// slow transfer; every request ends at the run's deadline at the latest.
    fn request_sized(&self, method: Method, url: &str, body: u64) -> reqwest::RequestBuilder {
        let mut limit = REQUEST_TIMEOUT + Duration::from_secs(body / SLOWEST_BYTES_PER_SEC);
        if let Some(d) = &self.deadline {
            if matches!(
                method,
                Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            ) {
                d.wrote();
            }
            limit = limit.min(d.left().max(Duration::from_millis(1)));
        }
        let r = self.http.request(method, url).timeout(limit);
        match &self.auth {
            Some(a) if same_origin(&self.addr.base, url) => {
                r.header(header::AUTHORIZATION, a.clone())
            }
            _ => r,
        }
    }

    /// Runs `f` until it succeeds or fails for good, backing off between attempts.
    async fn retry<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T, RegistryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RegistryError>>,
    {
        let mut attempt = 1;
        loop {
            if let Some(e) = self.deadline_error(what) {
                return Err(e);
            }
            let r = f().await;
            if let Err(RegistryError {
                status: Some(429 | 503),
                ..
            }) = &r
            {
                self.throttles
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            match r {
                Err(e) if e.retryable && attempt < self.attempts => {
                    let wait = self.backoff * 2u32.pow(attempt - 1);
                    tracing::warn!(
                        "{what}: {e} (attempt {attempt} of {}); retrying in {wait:?}",
                        self.attempts
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn blob_exists(
        &self,
        repo: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/{digest}"));
        self.retry("HEAD blob", || async {
            let resp = self
                .request(Method::HEAD, &url)
                .send()
                .await
                .map_err(|e| self.transport("HEAD blob", &e))?;
            match resp.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(RegistryError::from_response(&format!("HEAD {url}"), resp).await),
            }
        })
        .await
    }

    /// Asks the registry to link `digest` from repository `from` into `repo`.
    pub(crate) async fn mount(
        &self,
        repo: &str,
        digest: &str,
        from: &str,
    ) -> Result<Mount, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/uploads/?mount={digest}&from={from}"));
        self.retry("mount blob", || async {
            let resp = self
                .request(Method::POST, &url)
                .header(header::CONTENT_LENGTH, 0)
                .send()
                .await
                .map_err(|e| self.transport("mount blob", &e))?;
            match resp.status() {
                StatusCode::CREATED => Ok(Mount::Mounted),
                StatusCode::ACCEPTED => Ok(Mount::Upload(self.location(&resp, "mount blob")?)),
                _ => Err(RegistryError::from_response("mount blob", resp).await),
            }
        })
        .await
    }

    fn location(&self, resp: &Response, what: &str) -> Result<String, RegistryError> {
        resp.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| self.absolute(l))
            .ok_or_else(|| RegistryError {
                status: Some(resp.status().as_u16()),
                message: format!("{what}: the registry sent no Location"),
                retryable: true,
                body: String::new(),
                deadline: None,
            })
            .and_then(|l| self.check_location(&l, what).map(|()| l))
    }

    /// An https registry's upload may not continue over plain http.
    fn check_location(&self, location: &str, what: &str) -> Result<(), RegistryError> {
        if !self.addr.insecure && !location.starts_with("https://") {
            return Err(RegistryError {
                status: None,
                message: format!(
                    "{what}: the registry sent the upload to `{location}`, which is not https; refused"
                ),
                retryable: false,
                body: String::new(),
                deadline: None,
            });
        }
        Ok(())
    }

    async fn start_upload(&self, repo: &str) -> Result<String, RegistryError> {
        let url = self.url(&format!("{repo}/blobs/uploads/"));
        let resp = self
            .request(Method::POST, &url)
            .header(header::CONTENT_LENGTH, 0)
            .send()
            .await
            .map_err(|e| self.transport("start upload", &e))?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(RegistryError::from_response("start upload", resp).await);
        }
        self.location(&resp, "start upload")
    }

    /// Uploads a blob from disk, retrying the whole upload (from a new session) on a transient
    /// failure. `session` is an upload a mount attempt already opened.
    pub(crate) async fn upload(
        &self,
        repo: &str,
        blob: &Blob,
        session: Option<String>,
    ) -> Result<(), RegistryError> {
        let mut session = session;
        self.retry(&format!("upload {}", short(&blob.digest)), || {
            let first = session.take();
            async move {
                let location = match first {
                    Some(l) => l,
                    None => self.start_upload(repo).await?,
                };
                self.upload_once(&location, &blob.digest, blob.size, |start, len| {
                    reqwest::Body::wrap_stream(file_stream(blob.location.clone(), start, len))
                })
                .await
            }
        })
        .await
    }

    /// Uploads a blob whose bytes come from another registry (promotion across registries).
    pub(crate) async fn upload_from(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
        from: &Registry,
        from_repo: &str,
    ) -> Result<(), RegistryError> {
        self.retry(&format!("copy {}", short(digest)), || async move {
            let location = self.start_upload(repo).await?;
            let src = from.blob_get(from_repo, digest, size).await?;
            // One monolithic PUT: the source is a stream we cannot rewind into chunks cheaply.
            let body = reqwest::Body::wrap_stream(src.bytes_stream());
            let url = with_digest(&location, digest);
            let resp = self
                .request_sized(Method::PUT, &url, size)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, size)
                .body(body)
                .send()
                .await
                .map_err(|e| self.transport("copy blob", &e))?;
            if resp.status() == StatusCode::CREATED {
                Ok(())
            } else {
                Err(RegistryError::from_response("copy blob", resp).await)
            }
        })
        .await
    }

    async fn upload_once<B>(
        &self,
        location: &str,
        digest: &str,
        size: u64,
        body: B,
    ) -> Result<(), RegistryError>
    where
        B: Fn(u64, u64) -> reqwest::Body,
    {
        let mut location = location.to_owned();
        let mut offset = 0;
        if size > self.chunk {
            while offset < size {
                let n = self.chunk.min(size - offset);
                let resp = self
                    .request_sized(Method::PATCH, &location, n)
                    .header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, n)
                    .header(
                        header::CONTENT_RANGE,
                        format!("{offset}-{}", offset + n - 1),
                    )
                    .body(body(offset, n))
                    .send()
                    .await
                    .map_err(|e| self.transport("upload chunk", &e))?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(RegistryError::from_response("upload chunk", resp).await);
                }
                location = self.location(&resp, "upload chunk")?;
                offset += n;
            }
        }
        let rest = size - offset;
        let req = self
            .request_sized(Method::PUT, &with_digest(&location, digest), rest)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, rest);
        let req = if rest > 0 {
            req.body(body(offset, rest))
        } else {
            req
        };
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport("finish upload", &e))?;
        if resp.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(RegistryError::from_response(&format!("upload {}", short(digest)), resp).await)
        }
    }

    /// GETs a blob of `size` bytes (its overall limit allows for reading them all).
    async fn blob_get(
        &self,
        repo: &str,
        digest: &str,
        size: u64,
    ) -> Result<Response, RegistryError> {
        let resp = self
            .request_sized(
                Method::GET,
                &self.url(&format!("{repo}/blobs/{digest}")),
                size,
            )
            .send()
            .await
            .map_err(|e| self.transport("GET blob", &e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(RegistryError::from_response(&format!("GET blob {}", short(digest)), resp).await)
        }
    }

    /// The digest a manifest reference (tag or digest) points to, or None.
    pub(crate) async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"));
        let head = self
            .retry("HEAD manifest", || async {
                let resp = self
                    .request(Method::HEAD, &url)
                    .header(header::ACCEPT, ACCEPT_MANIFESTS)
                    .send()
                    .await
                    .map_err(|e| self.transport("HEAD manifest", &e))?;
                match resp.status() {
                    StatusCode::NOT_FOUND => Ok(None),
                    s if s.is_success() => Ok(Some(content_digest(resp.headers()))),
                    _ => Err(RegistryError::from_response(
                        &format!("HEAD manifest {repo}:{reference}"),
                        resp,
                    )
                    .await),
                }
            })
            .await?;
        match head {
            None => Ok(None),
            Some(Some(d)) => Ok(Some(d)),
            // No Docker-Content-Digest header: read it and hash it.
            Some(None) => Ok(self.manifest_get(repo, reference).await?.map(|m| m.digest)),
        }
    }

    pub(crate) async fn manifest_get(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<RemoteManifest>, RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"));
        self.retry("GET manifest", || async {
            let resp = self
                .request(Method::GET, &url)
                .header(header::ACCEPT, ACCEPT_MANIFESTS)
                .send()
                .await
                .map_err(|e| self.transport("GET manifest", &e))?;
            match resp.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => {
                    let media_type = resp
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let bytes = resp
                        .bytes()
                        .await
                        .map_err(|e| self.transport("GET manifest", &e))?
                        .to_vec();
                    Ok(Some(RemoteManifest {
                        digest: sha256_digest(&bytes),
                        media_type,
                        bytes,
                    }))
                }
                _ => Err(RegistryError::from_response(
                    &format!("GET manifest {repo}:{reference}"),
                    resp,
                )
                .await),
            }
        })
        .await
    }

    /// PUTs manifest bytes under `reference` (its digest, or a tag).
    pub(crate) async fn manifest_put(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("{repo}/manifests/{reference}"));
        let body = Bytes::copy_from_slice(bytes);
        self.retry("PUT manifest", || {
            let body = body.clone();
            let url = url.clone();
            async move {
                let resp = self
                    .request(Method::PUT, &url)
                    .header(header::CONTENT_TYPE, media_type)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| self.transport("PUT manifest", &e))?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(RegistryError::from_response(
                        &format!("PUT manifest {repo}:{reference}"),
                        resp,
                    )
                    .await)
                }
            }
        })
        .await
    }
}

/// Whether `url` is on `base` (`SCHEME://HOST[:PORT]`): same scheme and host, nothing else.
fn same_origin(base: &str, url: &str) -> bool {
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

fn content_digest(h: &HeaderMap) -> Option<String> {
    h.get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|d| source::valid_digest(d))
}

fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// `sha256:0123456789ab` (for logs).
pub(crate) fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// `len` bytes of a blob from `start`, read from disk in pieces while the request sends them.
fn file_stream(
    loc: Location,
    start: u64,
    len: u64,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::try_unfold((None::<tokio::fs::File>, len), move |(file, remaining)| {
        let loc = loc.clone();
        async move {
            if remaining == 0 {
                return Ok(None);
            }
            let mut f = match file {
                Some(f) => f,
                None => {
                    let mut f = tokio::fs::File::open(&loc.path).await?;
                    f.seek(SeekFrom::Start(loc.offset + start)).await?;
                    f
                }
            };
            let n = usize::try_from(remaining.min(READ_BUF as u64)).unwrap_or(READ_BUF);
            let mut buf = vec![0u8; n];
            f.read_exact(&mut buf).await?;
            Ok(Some((Bytes::from(buf), (Some(f), remaining - n as u64))))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn digest_query_joins_existing_query() {
        assert_eq!(
            with_digest("http://r/v2/a/blobs/uploads/u", "sha256:x"),
            "http://r/v2/a/blobs/uploads/u?digest=sha256:x"
        );
        assert_eq!(
            with_digest("http://r/u?_state=s", "sha256:x"),
            "http://r/u?_state=s&digest=sha256:x"
        );
        assert_eq!(short("sha256:0123456789abcdef"), "sha256:0123456789ab");
    }

    #[test]
    fn credentials_stay_on_the_registry_and_https() {
        let base = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com";
        assert!(same_origin(base, &format!("{base}/v2/a/blobs/uploads/u")));
        assert!(!same_origin(
            base,
            "https://upload.example.com/v2/a/blobs/uploads/u"
        ));
        assert!(!same_origin(base, &format!("{base}.evil.example/u")));
        assert!(!same_origin(base, &format!("{base}:8443/u")));
        assert!(!same_origin(base, &base.replace("https://", "http://")));
        let reg = Registry::new(
            crate::reference::parse_registry(base).unwrap(),
            Some("dG9r"),
        )
        .unwrap();
        assert!(
            reg.check_location(&format!("{base}/v2/u"), "upload")
                .is_ok()
        );
        let refused = reg
            .check_location(
                "http://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/u",
                "upload",
            )
            .unwrap_err();
        assert!(refused.message.contains("not https"), "{refused}");
        assert!(!refused.retryable);
        let url = "https://elsewhere.example/v2/u";
        let req = reg.request(Method::PUT, url).build().unwrap();
        assert!(
            req.headers().get(header::AUTHORIZATION).is_none(),
            "no token off the registry"
        );
        let req = reg
            .request(Method::PUT, &format!("{base}/v2/u"))
            .build()
            .unwrap();
        assert!(req.headers().get(header::AUTHORIZATION).is_some());
    }

    #[tokio::test]
    async fn file_stream_reads_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b");
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let loc = Location {
            path: p,
            offset: 10,
            len: 500_000,
        };
        let got: Vec<Bytes> = file_stream(loc, 1000, 400_000).try_collect().await.unwrap();
        let got: Vec<u8> = got.concat();
        assert_eq!(got, data[1010..401_010]);
    }
}
