//! S3: reading the pointer, manifests, listing and object heads; streaming uploads (multipart
//! above a threshold) with SHA-256 checksums; restoring stored versions; the conditional write
//! of the pointer; deleting.

use crate::manifest::{self, Entry, Pointer, ReleaseManifest};
use crate::plan::{Listing, ObjectHead};
use crate::scan;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective,
    ObjectIdentifier,
};
use base64::Engine;
use gantry_kit::Error;
use gantry_kit::aws::aws_error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the site lives: a bucket and a key prefix (no leading or trailing `/`; may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLocation {
    pub bucket: String,
    pub prefix: String,
}

impl SiteLocation {
    /// The object key of `rel` (a key relative to the prefix).
    pub(crate) fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    fn list_prefix(&self) -> Option<String> {
        (!self.prefix.is_empty()).then(|| format!("{}/", self.prefix))
    }
}

/// Upload sizes: files of `threshold` bytes or more go multipart in `part_size` parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Multipart {
    pub(crate) threshold: u64,
    pub(crate) part_size: u64,
}

impl Default for Multipart {
    fn default() -> Self {
        // The AWS CLI's defaults, so comparisons are like for like.
        Self {
            threshold: 8 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
        }
    }
}

impl Multipart {
    /// The part size for a file: at least `part_size`, large enough to stay within 10,000 parts.
    pub(crate) fn part_size_for(&self, size: u64) -> u64 {
        self.part_size
            .max(size.div_ceil(10_000))
            .max(5 * 1024 * 1024)
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex_to_b64(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    b64(&bytes)
}

/// The live pointer as read, with the ETag its replacement is conditional on.
#[derive(Debug, Clone)]
pub(crate) struct LivePointer {
    pub(crate) pointer: Pointer,
    pub(crate) etag: Option<String>,
}

/// An object's ETag without the quotes S3 puts around it.
fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

/// Reads `live.json`; `None` when no release was published under this prefix.
pub(crate) async fn read_pointer(
    client: &Client,
    t: &SiteLocation,
) -> Result<Option<LivePointer>, Error> {
    let Some((bytes, etag)) = get(client, t, manifest::POINTER_KEY).await? else {
        return Ok(None);
    };
    let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| {
        Error::failed(format!(
            "s3://{}/{} is not a gantry pointer: {e}",
            t.bucket,
            t.key(manifest::POINTER_KEY)
        ))
        .with_hint("another tool wrote under `.gantry/`; use another prefix")
    })?;
    Ok(Some(LivePointer { pointer, etag }))
}

/// Reads a release manifest; `None` when it is gone.
pub(crate) async fn read_manifest(
    client: &Client,
    t: &SiteLocation,
    release: &str,
) -> Result<Option<ReleaseManifest>, Error> {
    let key = manifest::manifest_key(release);
    let Some((bytes, _)) = get(client, t, &key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::failed(format!(
            "s3://{}/{} is not a gantry manifest: {e}",
            t.bucket,
            t.key(&key)
        ))
    })
}

/// An object's bytes and ETag (as S3 sent it); `None` when there is no such key.
async fn get(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
) -> Result<Option<(Vec<u8>, Option<String>)>, Error> {
    let out = client
        .get_object()
        .bucket(&t.bucket)
        .key(t.key(rel))
        .send()
        .await;
    match out {
        Ok(o) => {
            let etag = o.e_tag().map(str::to_owned);
            let body = o.body.collect().await.map_err(|e| {
                Error::failed(format!(
                    "S3 GetObject {}: reading the body: {e}",
                    t.key(rel)
                ))
            })?;
            Ok(Some((body.into_bytes().to_vec(), etag)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(bucket_error("S3 GetObject", &t.bucket, &e)),
    }
}

fn bucket_error<E, R>(op: &str, bucket: &str, e: &aws_sdk_s3::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let err = aws_error(op, e);
    match gantry_kit::aws::classify(e).code.as_deref() {
        Some("NoSuchBucket") => err.with_hint(format!(
            "bucket `{bucket}` does not exist (or is in another account); create it first (infra/) or fix `bucket`"
        )),
        _ => err,
    }
}

/// Every object under the prefix: key relative to the prefix → size and ETag. Read as ranges
/// side by side, `concurrency` at a time: one up to the first of `splits` (relative keys,
/// sorted), one after each split up to the next, one after the last; so a bucket of N keys
/// takes one round of LISTs instead of N / 1,000 in a row. A range holding more than a page
/// (objects the splits did not expect) reads on page by page: the result is the whole bucket
/// under the prefix whatever the splits.
pub(crate) async fn list(
    client: &Client,
    t: &SiteLocation,
    splits: &[String],
    concurrency: usize,
) -> Result<Listing, Error> {
    use futures::{StreamExt, TryStreamExt};
    let full: Vec<String> = splits.iter().map(|k| t.key(k)).collect();
    // (after, last) of each range: None before the first split and after the last.
    let bounds = || full.iter().map(|k| Some(k.as_str()));
    let ranges = std::iter::once(None)
        .chain(bounds())
        .zip(bounds().chain(std::iter::once(None)));
    let parts: Vec<Listing> = futures::stream::iter(ranges)
        .map(|(after, last)| list_range(client, t, after, last))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut out = Listing::default();
    for p in parts {
        out.sizes.extend(p.sizes);
        out.etags.extend(p.etags);
    }
    Ok(out)
}

/// The objects under the prefix after the key `after` up to and including `last` (full keys).
async fn list_range(
    client: &Client,
    t: &SiteLocation,
    after: Option<&str>,
    last: Option<&str>,
) -> Result<Listing, Error> {
    let mut out = Listing::default();
    let mut pages = client
        .list_objects_v2()
        .bucket(&t.bucket)
        .set_prefix(t.list_prefix())
        .set_start_after(after.map(str::to_owned))
        .into_paginator()
        .send();
    let strip = t.list_prefix().unwrap_or_default();
    'pages: while let Some(page) = pages.next().await {
        let page = page.map_err(|e| bucket_error("S3 ListObjectsV2", &t.bucket, &e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            if last.is_some_and(|l| key > l) {
                // The next range's: S3 lists in key order, so this range is complete.
                break 'pages;
            }
            if let Some(k) = key.strip_prefix(strip.as_str()) {
                out.sizes
                    .insert(k.to_owned(), o.size().unwrap_or(0).max(0) as u64);
                if let Some(e) = o.e_tag() {
                    out.etags.insert(k.to_owned(), unquote(e));
                }
            }
        }
    }
    Ok(out)
}

/// What one object says of itself (HEAD): its `x-amz-meta-sha256`, headers and ETag; `None`
/// when it is gone.
pub(crate) async fn head(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
) -> Result<Option<ObjectHead>, Error> {
    let out = client
        .head_object()
        .bucket(&t.bucket)
        .key(t.key(rel))
        .send()
        .await;
    match out {
        Ok(o) => Ok(Some(ObjectHead {
            sha256: o.metadata().and_then(|m| m.get("sha256")).cloned(),
            content_type: o.content_type().map(str::to_owned),
            cache_control: o.cache_control().map(str::to_owned),
            content_encoding: o.content_encoding().map(str::to_owned),
            etag: o.e_tag().map(unquote),
        })),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(bucket_error("S3 HeadObject", &t.bucket, &e).context(t.key(rel))),
    }
}

/// HEADs `rels`, `concurrency` at a time; keys that are gone are left out.
pub(crate) async fn heads(
    client: &Client,
    t: &SiteLocation,
    rels: Vec<String>,
    concurrency: usize,
) -> Result<BTreeMap<String, ObjectHead>, Error> {
    use futures::{StreamExt, TryStreamExt};
    let found: Vec<(String, Option<ObjectHead>)> = futures::stream::iter(rels)
        .map(|rel| async move {
            let h = head(client, t, &rel).await?;
            Ok::<_, Error>((rel, h))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(k, h)| h.map(|h| (k, h)))
        .collect())
}

/// What S3 says of an object it stored: its version (versioned buckets) and ETag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) version_id: Option<String>,
    pub(crate) etag: Option<String>,
}

/// Where an upload's bytes come from.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    /// The file's bytes as hashed, when the hashing held them (small files).
    pub(crate) held: Option<bytes::Bytes>,
}

/// Uploads one file: a single PUT below the multipart threshold, of the held bytes or streamed
/// from disk, else a multipart upload whose parts stream from their offsets.
pub(crate) async fn upload(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
    source: &Source,
    e: &Entry,
    mp: Multipart,
) -> Result<Written, Error> {
    let key = t.key(rel);
    let path = source.path.as_path();
    if e.size >= mp.threshold {
        return upload_multipart(client, t, &key, path, e, mp).await;
    }
    let body = match &source.held {
        Some(bytes) => ByteStream::from(bytes.clone()),
        None => ByteStream::from_path(path)
            .await
            .map_err(|err| Error::failed(format!("reading {}: {err}", path.display())))?,
    };
    let out = client
        .put_object()
        .bucket(&t.bucket)
        .key(&key)
        .body(body)
        .content_length(e.size as i64)
        .content_type(&e.content_type)
        .cache_control(&e.cache_control)
        .set_content_encoding(e.content_encoding.clone())
        .metadata("sha256", &e.sha256)
        .checksum_sha256(hex_to_b64(&e.sha256))
        .send()
        .await
        .map_err(|err| bucket_error("S3 PutObject", &t.bucket, &err).context(&key))?;
    Ok(Written {
        version_id: out.version_id().map(str::to_owned),
        etag: out.e_tag().map(unquote),
    })
}

async fn upload_multipart(
    client: &Client,
    t: &SiteLocation,
    key: &str,
    path: &Path,
    e: &Entry,
    mp: Multipart,
) -> Result<Written, Error> {
    let created = client
        .create_multipart_upload()
        .bucket(&t.bucket)
        .key(key)
        .content_type(&e.content_type)
        .cache_control(&e.cache_control)
        .set_content_encoding(e.content_encoding.clone())
        .metadata("sha256", &e.sha256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|err| bucket_error("S3 CreateMultipartUpload", &t.bucket, &err).context(key))?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let result = upload_parts(client, t, key, path, e, mp, &upload_id).await;
    match result {
        Ok(parts) => {
            let out = client
                .complete_multipart_upload()
                .bucket(&t.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|err| {
                    bucket_error("S3 CompleteMultipartUpload", &t.bucket, &err).context(key)
                })?;
            Ok(Written {
                version_id: out.version_id().map(str::to_owned),
                etag: out.e_tag().map(unquote),
            })
        }
        Err(err) => {
            // Leave no billed parts behind; the error that matters is the upload's.
            let _ = client
                .abort_multipart_upload()
                .bucket(&t.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
            Err(err)
        }
    }
}

/// Parts in flight at once for one file.
const PARTS_IN_FLIGHT: usize = 4;

async fn upload_parts(
    client: &Client,
    t: &SiteLocation,
    key: &str,
    path: &Path,
    e: &Entry,
    mp: Multipart,
    upload_id: &str,
) -> Result<Vec<CompletedPart>, Error> {
    use futures::{StreamExt, TryStreamExt};
    let part_size = mp.part_size_for(e.size);
    let ranges: Vec<(i32, u64, u64)> = (0..e.size.div_ceil(part_size))
        .map(|i| {
            let offset = i * part_size;
            (i as i32 + 1, offset, part_size.min(e.size - offset))
        })
        .collect();
    futures::stream::iter(ranges)
        .map(|(number, offset, len)| async move {
            let p = path.to_path_buf();
            // Hash the part from disk first (64 KiB at a time), then stream it: memory stays
            // flat whatever the file size.
            let digest = tokio::task::spawn_blocking(move || scan::sha256_range(&p, offset, len))
                .await
                .map_err(|err| Error::failed(format!("hashing {}: {err}", path.display())))?
                .map_err(|err| Error::failed(format!("hashing {}: {err}", path.display())))?;
            let checksum = b64(&digest);
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(len))
                .build()
                .await
                .map_err(|err| Error::failed(format!("reading {}: {err}", path.display())))?;
            let out = client
                .upload_part()
                .bucket(&t.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(len as i64)
                .checksum_sha256(&checksum)
                .body(body)
                .send()
                .await
                .map_err(|err| {
                    bucket_error("S3 UploadPart", &t.bucket, &err)
                        .context(format!("{key} part {number}"))
                })?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .checksum_sha256(checksum)
                .build())
        })
        .buffered(PARTS_IN_FLIGHT)
        .try_collect()
        .await
}

/// A PUT of a JSON record (manifest or pointer) with a SHA-256 checksum.
fn json_put(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
    value: &impl serde::Serialize,
) -> Result<aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder, Error> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| Error::failed(format!("internal: serialising {rel}: {e}")))?;
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes).into()
    };
    Ok(client
        .put_object()
        .bucket(&t.bucket)
        .key(t.key(rel))
        .content_type("application/json")
        .cache_control("no-store")
        .checksum_sha256(b64(&digest))
        .body(ByteStream::from(bytes)))
}

/// Writes a release manifest.
pub(crate) async fn put_json(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
    value: &impl serde::Serialize,
) -> Result<(), Error> {
    json_put(client, t, rel, value)?
        .send()
        .await
        .map_err(|e| bucket_error("S3 PutObject", &t.bucket, &e).context(t.key(rel)))?;
    Ok(())
}

/// Makes `pointer` live only if `live.json` is still what this publish read: `If-Match` on the
/// ETag it read, or `If-None-Match: *` when there was none. Another publish that wrote it in
/// between gets S3's 412 PreconditionFailed (409 ConditionalRequestConflict while a write is in
/// flight, 404 when it was deleted): this publish then stops with exit 1, naming both.
pub(crate) async fn put_pointer(
    client: &Client,
    t: &SiteLocation,
    pointer: &Pointer,
    read: Option<&LivePointer>,
) -> Result<(), Error> {
    let put = json_put(client, t, manifest::POINTER_KEY, pointer)?;
    let put = match read {
        Some(LivePointer {
            etag: Some(etag), ..
        }) => put.if_match(etag),
        // S3 always sends an ETag; without one there is nothing to be conditional on.
        Some(LivePointer { etag: None, .. }) => put,
        None => put.if_none_match("*"),
    };
    match put.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let fault = gantry_kit::aws::classify(&e);
            let moved = matches!(
                fault.code.as_deref(),
                Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")
            ) || matches!(fault.status, Some(412 | 409));
            if moved {
                Err(pointer_moved(
                    t,
                    &pointer.release,
                    read.map(|l| l.pointer.release.as_str()),
                ))
            } else {
                Err(bucket_error("S3 PutObject", &t.bucket, &e)
                    .context(t.key(manifest::POINTER_KEY)))
            }
        }
    }
}

/// Another publish replaced the pointer while this one ran (exit 1).
fn pointer_moved(t: &SiteLocation, release: &str, read: Option<&str>) -> Error {
    let was = read.map_or_else(|| "no release".to_owned(), |r| format!("release `{r}`"));
    Error::failed(format!(
        "another publish changed s3://{}/{} while this one ran (it read {was} live): release `{release}` was not made live",
        t.bucket,
        t.key(manifest::POINTER_KEY)
    ))
    .with_hint("publish one site at a time: give the job a `concurrency:` group (docs/actions/site.md)")
    .with_hint("re-run this deploy: it starts from the release now live and repairs any file the other publish replaced")
}

/// Percent-encodes a key for `x-amz-copy-source` (unreserved characters and `/` stay).
fn encode_key(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Puts a stored version of `rel` back as the current object, with the manifest's headers
/// (a server-side copy: no bytes travel through the runner).
pub(crate) async fn restore(
    client: &Client,
    t: &SiteLocation,
    rel: &str,
    version_id: &str,
    e: &Entry,
) -> Result<Written, Error> {
    let key = t.key(rel);
    let source = format!(
        "{}/{}?versionId={}",
        t.bucket,
        encode_key(&key),
        encode_key(version_id)
    );
    let out = client
        .copy_object()
        .bucket(&t.bucket)
        .key(&key)
        .copy_source(source)
        .metadata_directive(MetadataDirective::Replace)
        .content_type(&e.content_type)
        .cache_control(&e.cache_control)
        .set_content_encoding(e.content_encoding.clone())
        .metadata("sha256", &e.sha256)
        .send()
        .await
        .map_err(|err| bucket_error("S3 CopyObject", &t.bucket, &err).context(&key))?;
    Ok(Written {
        version_id: out.version_id().map(str::to_owned),
        etag: out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(unquote),
    })
}

/// Deletes keys (relative to the prefix), 1,000 per request. Returns how many were deleted.
pub(crate) async fn delete(
    client: &Client,
    t: &SiteLocation,
    rels: &[String],
) -> Result<usize, Error> {
    let mut deleted = 0;
    for chunk in rels.chunks(1000) {
        let objects: Vec<ObjectIdentifier> = chunk
            .iter()
            .filter_map(|k| ObjectIdentifier::builder().key(t.key(k)).build().ok())
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::failed(format!("internal: building delete: {e}")))?;
        let out = client
            .delete_objects()
            .bucket(&t.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| bucket_error("S3 DeleteObjects", &t.bucket, &e))?;
        if let Some(err) = out.errors().first() {
            return Err(Error::failed(format!(
                "S3 DeleteObjects: {}: {}: {}",
                err.key().unwrap_or(""),
                err.code().unwrap_or(""),
                err.message().unwrap_or("")
            )));
        }
        deleted += chunk.len();
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_encodings() {
        let t = SiteLocation {
            bucket: "b".into(),
            prefix: "site/v1".into(),
        };
        assert_eq!(t.key("index.html"), "site/v1/index.html");
        assert_eq!(t.list_prefix().as_deref(), Some("site/v1/"));
        let root = SiteLocation {
            bucket: "b".into(),
            prefix: String::new(),
        };
        assert_eq!(root.key("a"), "a");
        assert_eq!(root.list_prefix(), None);
        assert_eq!(encode_key("a b/é+x.html"), "a%20b/%C3%A9%2Bx.html");
        assert_eq!(
            hex_to_b64("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn part_sizes_stay_within_ten_thousand_parts() {
        let mp = Multipart::default();
        assert_eq!(mp.part_size_for(20 << 20), 8 << 20);
        let huge = 200u64 << 30;
        assert!(huge.div_ceil(mp.part_size_for(huge)) <= 10_000);
        let small = Multipart {
            threshold: 1,
            part_size: 1,
        };
        assert_eq!(small.part_size_for(10), 5 << 20, "S3's minimum part size");
    }
}
