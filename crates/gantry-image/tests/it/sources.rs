//! Reading images from disk: layouts, indexes, archives, and what is wrong with them.

use gantry_image::source::{self, Source, SourceError, load, parse_source, sha256_digest};
use serde_json::json;
use std::path::Path;

fn blob(dir: &Path, bytes: &[u8]) -> serde_json::Value {
    let d = sha256_digest(bytes);
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
    json!({"digest": d, "size": bytes.len()})
}

fn with_type(mut d: serde_json::Value, t: &str) -> serde_json::Value {
    d["mediaType"] = json!(t);
    d
}

fn image(dir: &Path, layer: &[u8]) -> serde_json::Value {
    let l = with_type(blob(dir, layer), "application/vnd.oci.image.layer.v1.tar");
    let c = with_type(
        blob(dir, br#"{"os":"linux"}"#),
        "application/vnd.oci.image.config.v1+json",
    );
    let m =
        json!({"schemaVersion": 2, "mediaType": source::OCI_MANIFEST, "config": c, "layers": [l]});
    with_type(blob(dir, m.to_string().as_bytes()), source::OCI_MANIFEST)
}

fn index_json(dir: &Path, entries: &[(serde_json::Value, &str)]) {
    let manifests: Vec<_> = entries
        .iter()
        .map(|(d, tag)| {
            let mut d = d.clone();
            d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
            d
        })
        .collect();
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": manifests}).to_string(),
    )
    .unwrap();
}

fn oci(dir: &Path, tag: Option<&str>) -> Source {
    Source::OciDir {
        dir: dir.to_path_buf(),
        tag: tag.map(str::to_owned),
    }
}

#[test]
fn an_index_is_loaded_children_first_with_unique_blobs() {
    let d = tempfile::tempdir().unwrap();
    let amd = image(d.path(), b"amd");
    let arm = image(d.path(), b"arm");
    let idx = json!({"schemaVersion": 2, "mediaType": source::OCI_INDEX, "manifests": [amd, arm]});
    let idx = with_type(
        blob(d.path(), idx.to_string().as_bytes()),
        source::OCI_INDEX,
    );
    index_json(d.path(), &[(idx.clone(), "multi"), (amd.clone(), "amd")]);
    let img = load(&oci(d.path(), Some("multi"))).unwrap();
    let digests: Vec<&str> = img.manifests.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(
        digests,
        vec![
            amd["digest"].as_str().unwrap(),
            arm["digest"].as_str().unwrap(),
            idx["digest"].as_str().unwrap()
        ]
    );
    assert_eq!(img.top().media_type, source::OCI_INDEX);
    assert_eq!(img.blobs.len(), 3, "the shared config once, two layers");
    for b in &img.blobs {
        source::verify(b).unwrap();
    }
    // Two images and no tag: ambiguous, naming the tags.
    let e = load(&oci(d.path(), None)).unwrap_err();
    assert!(matches!(e, SourceError::Ambiguous { .. }));
    assert!(e.to_string().contains("multi, amd"), "{e}");
}

#[test]
fn damaged_layouts_are_named() {
    let d = tempfile::tempdir().unwrap();
    let m = image(d.path(), b"layer bytes");
    index_json(d.path(), &[(m.clone(), "v1")]);
    let img = load(&oci(d.path(), Some("v1"))).unwrap();
    // A layer whose bytes changed: found by verify, before any upload.
    let layer = img
        .blobs
        .iter()
        .find(|b| b.media_type.contains("layer"))
        .unwrap()
        .clone();
    std::fs::write(&layer.location.path, b"LAYER bytes").unwrap();
    let e = source::verify(&layer).unwrap_err();
    assert!(
        e.to_string()
            .contains("is corrupt: its bytes hash to sha256:"),
        "{e}"
    );
    // A manifest whose bytes changed: found when loading.
    let mpath = d
        .path()
        .join("blobs/sha256")
        .join(&m["digest"].as_str().unwrap()[7..]);
    let mut bytes = std::fs::read(&mpath).unwrap();
    bytes[0] = b' ';
    std::fs::write(&mpath, bytes).unwrap();
    assert!(matches!(
        load(&oci(d.path(), Some("v1"))),
        Err(SourceError::Corrupt { .. })
    ));
    // A missing blob.
    std::fs::remove_file(&mpath).unwrap();
    assert!(matches!(
        load(&oci(d.path(), Some("v1"))),
        Err(SourceError::MissingBlob { .. })
    ));
}

#[test]
fn archives_are_read_in_place() {
    let d = tempfile::tempdir().unwrap();
    let layout = d.path().join("layout");
    let m = image(&layout, b"some layer");
    index_json(&layout, &[(m.clone(), "latest")]);
    let tar = d.path().join("image.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tar).unwrap());
    b.append_dir_all(".", &layout).unwrap();
    b.finish().unwrap();
    drop(b);
    let img = load(&parse_source(&format!("oci-archive:{}", tar.display())).unwrap()).unwrap();
    assert_eq!(img.top().digest, m["digest"].as_str().unwrap());
    for blob in &img.blobs {
        assert_eq!(blob.location.path, tar, "read from inside the tar");
        source::verify(blob).unwrap();
    }
}

#[test]
fn a_docker_save_archive_becomes_an_oci_manifest() {
    let d = tempfile::tempdir().unwrap();
    let tar = d.path().join("save.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tar).unwrap());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, bytes).unwrap();
    };
    add("cfg.json", br#"{"os":"linux"}"#);
    add("a/layer.tar", b"plain tar bytes");
    add("b/layer.tar", &[0x1f, 0x8b, 8, 0, 0, 0]);
    add(
        "manifest.json",
        br#"[{"Config":"cfg.json","RepoTags":["app:1"],"Layers":["a/layer.tar","b/layer.tar"]}]"#,
    );
    b.finish().unwrap();
    drop(b);
    let img = load(&Source::DockerArchive { file: tar }).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&img.top().bytes).unwrap();
    assert_eq!(m["config"]["digest"], sha256_digest(br#"{"os":"linux"}"#));
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(img.top().digest, sha256_digest(&img.top().bytes));
    assert!(img.blobs.iter().all(|b| b.verified));
}
