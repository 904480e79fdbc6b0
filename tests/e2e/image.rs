//! End-to-end tests of actions/image against local AWS: the ECR API in moto, the registry
//! protocol against the CNCF registry (through a counting proxy where uploads are counted).

use gantry_tests::{
    ImageFault, ImageLayout, ImageProxy, ImageRegistry, bin_dir, image_registry, repo_root,
    unique_name,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn command(args: &[&str]) -> Command {
    gantry_tests::json_command("gantry-image", args)
}

fn image(args: &[&str]) -> (i32, Value, String) {
    gantry_tests::aws_endpoint();
    gantry_tests::json_output(command(args))
}

fn push(
    source: &str,
    repo: &str,
    tags: &str,
    registry: &str,
    extra: &[&str],
) -> (i32, Value, String) {
    let mut args = vec![
        "push",
        "--source",
        source,
        "--repository",
        repo,
        "--registry",
        registry,
        "--create-repository",
    ];
    if !tags.is_empty() {
        args.extend(["--tags", tags]);
    }
    args.extend(extra);
    image(&args)
}

/// A layout with a 5-layer image tagged `v1` (layer sizes in bytes; the seed makes them unique).
fn layout(dir: &Path, seed: u64, sizes: &[usize]) -> (ImageLayout, gantry_tests::ImageDesc) {
    let mut l = ImageLayout::new(dir);
    let layers: Vec<(u64, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| (seed * 100 + i as u64, s))
        .collect();
    let m = l.image(&layers, "amd64");
    l.tag(&m, "v1");
    (l, m)
}

/// The digest a registry holds for `repo:reference` (None when absent).
fn remote_digest(registry: &str, repo: &str, reference: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-fsSI", "--noproxy", "*", "-H"])
        .arg("Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
        .arg(format!("{registry}/v2/{repo}/manifests/{reference}"))
        .output()
        .expect("curl");
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("Docker-Content-Digest: ")
                .or_else(|| l.strip_prefix("docker-content-digest: "))
        })
        .map(|d| d.trim().to_owned())
}

fn blob_there(registry: &str, repo: &str, digest: &str) -> bool {
    Command::new("curl")
        .args(["-fsSI", "--noproxy", "*"])
        .arg(format!("{registry}/v2/{repo}/blobs/{digest}"))
        .output()
        .expect("curl")
        .status
        .success()
}

async fn ecr() -> aws_sdk_ecr::Client {
    gantry_tests::aws_endpoint();
    let sdk =
        gantry_kit::aws::sdk_config(&gantry_kit::aws::AwsArgs::default(), Some("us-east-1")).await;
    aws_sdk_ecr::Client::new(&sdk)
}

/// Whether ECR (moto) has the repository.
async fn repository_exists(ecr: &aws_sdk_ecr::Client, repo: &str) -> bool {
    ecr.describe_repositories()
        .repository_names(repo)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn cold_push_then_repush_uploads_nothing_then_one_changed_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, m1) = layout(dir.path(), 1, &[2_000_000, 300_000, 40_000, 5_000, 600]);
    let proxy = ImageProxy::start(&image_registry(), ImageFault::None);
    let repo = unique_name("img/cold");
    let src = format!("oci:{}:v1", dir.path().display());

    let (code, out, stderr) = push(&src, &repo, "v1 latest", &proxy.url, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], m1.digest.as_str());
    assert_eq!(out["pushed-blobs"], 6, "5 layers and the config: {out}");
    assert_eq!(proxy.blob_uploads(), 6);
    assert_eq!(
        out["bytes-pushed"].as_u64().unwrap(),
        2_345_600 + out_config_size(&l, &m1)
    );
    assert_eq!(out["tags"], serde_json::json!(["v1", "latest"]));
    let host = proxy.url.trim_start_matches("http://");
    assert_eq!(
        out["image"],
        format!("{host}/{repo}@{}", m1.digest).as_str()
    );
    assert_eq!(out["uri"], format!("{host}/{repo}:v1").as_str());
    assert_eq!(
        remote_digest(&image_registry(), &repo, "latest").as_deref(),
        Some(m1.digest.as_str())
    );
    // The repository was created in ECR (moto) with the asked settings and a lifecycle policy.
    let ecr = ecr().await;
    let repos = ecr
        .describe_repositories()
        .repository_names(&repo)
        .send()
        .await
        .unwrap();
    let r = &repos.repositories()[0];
    assert!(r.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(r.image_tag_mutability().unwrap().as_str(), "MUTABLE");
    let policy = ecr
        .get_lifecycle_policy()
        .repository_name(&repo)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(policy["rules"][1]["selection"]["countNumber"], 50);

    // Re-push: nothing uploaded, every tag already right; the existing repository is left as it
    // is, with a warning where it differs from what is asked.
    proxy.clear();
    let (code, out, stderr) = push(
        &src,
        &repo,
        "v1 latest",
        &proxy.url,
        &["--scan-on-push", "false"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("exists and is left as it is: scan-on-push is true (asked: false)"),
        "{stderr}"
    );
    assert_eq!(
        (out["pushed-blobs"].as_u64(), out["skipped-blobs"].as_u64()),
        (Some(0), Some(6))
    );
    assert_eq!(proxy.blob_uploads(), 0);
    let writes = proxy.writes();
    assert!(writes.is_empty(), "a re-push writes nothing: {writes:?}");

    // One layer changed: that layer and the config (its diff_ids changed) are uploaded.
    let m2 = l.image(
        &[
            (100, 2_000_000),
            (101, 300_000),
            (999, 40_000),
            (103, 5_000),
            (104, 600),
        ],
        "amd64",
    );
    l.tag(&m2, "v1");
    proxy.clear();
    let (code, out, stderr) = push(&src, &repo, "v2 latest", &proxy.url, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["pushed-blobs"], 2, "{out}");
    assert_eq!(out["skipped-blobs"], 4);
    assert_eq!(proxy.blob_uploads(), 2);
    assert!(
        stderr.contains("moving tag latest"),
        "a mutable repository moves the tag with a warning:\n{stderr}"
    );
    assert_eq!(
        remote_digest(&image_registry(), &repo, "latest").as_deref(),
        Some(m2.digest.as_str())
    );
    assert_eq!(
        remote_digest(&image_registry(), &repo, "v1").as_deref(),
        Some(m1.digest.as_str())
    );
}

fn out_config_size(l: &ImageLayout, m: &gantry_tests::ImageDesc) -> u64 {
    l.manifest(m)["config"]["size"].as_u64().unwrap()
}

#[test]
fn a_multi_platform_index_is_pushed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = ImageLayout::new(dir.path());
    let amd = l.image(&[(7, 50_000), (8, 1_000)], "amd64");
    let arm = l.image(&[(9, 60_000), (8, 1_000)], "arm64");
    let index = l.index(&[(amd.clone(), "amd64"), (arm.clone(), "arm64")]);
    l.tag(&index, "multi");
    let reg = image_registry();
    let repo = unique_name("img/multi");
    let (code, out, stderr) = push(
        &format!("oci:{}:multi", dir.path().display()),
        &repo,
        "v1",
        &reg,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], index.digest.as_str());
    assert_eq!(
        out["pushed-blobs"], 5,
        "two configs, three distinct layers: {out}"
    );
    assert_eq!(
        remote_digest(&reg, &repo, "v1").as_deref(),
        Some(index.digest.as_str())
    );
    for m in [&amd, &arm] {
        assert_eq!(
            remote_digest(&reg, &repo, &m.digest).as_deref(),
            Some(m.digest.as_str())
        );
    }
}

#[tokio::test]
async fn promote_within_and_across_registries_keeps_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 3, &[100_000, 20_000, 3_000]);
    let reg = image_registry();
    let proxy = ImageProxy::start(&reg, ImageFault::None);
    let staging = unique_name("img/staging");
    let (code, pushed, stderr) = push(
        &format!("oci:{}:v1", dir.path().display()),
        &staging,
        "sha-abc1234",
        &proxy.url,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");

    // Within one registry: blobs are mounted, nothing uploaded, the digest is the same.
    let prod = unique_name("img/prod");
    proxy.clear();
    let from = format!("{staging}:sha-abc1234");
    let to = format!("{prod}:v1.0.0");
    let (code, out, stderr) = image(&[
        "promote",
        "--from",
        &from,
        "--to",
        &to,
        "--tags",
        "stable",
        "--from-registry",
        &proxy.url,
        "--to-registry",
        &proxy.url,
        "--create-repository",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["digest"], pushed["digest"],
        "promotion preserves the digest"
    );
    assert_eq!(out["digest"], m.digest.as_str());
    assert_eq!(out["tags"], serde_json::json!(["v1.0.0", "stable"]));
    assert_eq!(
        (out["mounted-blobs"].as_u64(), out["pushed-blobs"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!((proxy.mounts(), proxy.blob_uploads()), (4, 0));
    assert_eq!(
        remote_digest(&reg, &prod, "stable").as_deref(),
        Some(m.digest.as_str())
    );

    // Across registries (by digest): blobs are copied, the digest is the same.
    let other = ImageRegistry::start();
    let from = format!("{prod}@{}", m.digest);
    let (code, out, stderr) = image(&[
        "promote",
        "--from",
        &from,
        "--to",
        &format!("{prod}:v1.0.0"),
        "--from-registry",
        &reg,
        "--to-registry",
        &other.url,
        "--create-repository",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], m.digest.as_str());
    assert_eq!(out["pushed-blobs"], 4);
    assert_eq!(
        remote_digest(&other.url, &prod, "v1.0.0").as_deref(),
        Some(m.digest.as_str())
    );

    // A tag that does not exist is exit 1 (the registry answered; the input was well-formed).
    let (code, out, _) = image(&[
        "promote",
        "--from",
        &format!("{staging}:no-such-tag"),
        "--to",
        &prod,
        "--from-registry",
        &reg,
        "--to-registry",
        &reg,
    ]);
    assert_eq!(code, 1);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("no image no-such-tag"),
        "{out}"
    );
}

#[tokio::test]
async fn an_immutable_tag_is_kept_on_rerun_and_refused_for_another_image() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (_a, ma) = layout(dir_a.path(), 4, &[10_000, 2_000]);
    let (_b, mb) = layout(dir_b.path(), 5, &[11_000, 2_000]);
    let reg = image_registry();
    let repo = unique_name("img/immutable");
    let imm = ["--tag-mutability", "IMMUTABLE"];
    let (code, _, stderr) = push(
        &format!("oci:{}", dir_a.path().display()),
        &repo,
        "v1",
        &reg,
        &imm,
    );
    assert_eq!(code, 0, "{stderr}");
    let ecr = ecr().await;
    let repos = ecr
        .describe_repositories()
        .repository_names(&repo)
        .send()
        .await
        .unwrap();
    assert_eq!(
        repos.repositories()[0]
            .image_tag_mutability()
            .unwrap()
            .as_str(),
        "IMMUTABLE"
    );

    // The same image again: the tag already points to it, success.
    let (code, out, stderr) = push(
        &format!("oci:{}", dir_a.path().display()),
        &repo,
        "v1",
        &reg,
        &imm,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["pushed-blobs"], 0);

    // Another image under the same tag: exit 1 before anything is written, naming both digests.
    let (code, out, stderr) = push(
        &format!("oci:{}", dir_b.path().display()),
        &repo,
        "v1",
        &reg,
        &imm,
    );
    assert_eq!(code, 1, "{stderr}");
    let err = out["error"].as_str().unwrap();
    assert!(
        err.contains(&ma.digest) && err.contains(&mb.digest),
        "{err}"
    );
    assert_eq!(
        remote_digest(&reg, &repo, "v1").as_deref(),
        Some(ma.digest.as_str())
    );
    assert_eq!(
        remote_digest(&reg, &repo, &mb.digest),
        None,
        "nothing of the other image was written"
    );
}

#[test]
fn a_5xx_on_one_blob_upload_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 6, &[80_000, 3_000]);
    let proxy = ImageProxy::start(&image_registry(), ImageFault::FailFirstUpload);
    let repo = unique_name("img/retry");
    let (code, out, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &proxy.url,
        &["--concurrency", "1"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");
    assert_eq!(out["pushed-blobs"], 3);
    assert_eq!(proxy.blob_uploads(), 4, "three blobs, one of them twice");
    assert_eq!(
        remote_digest(&image_registry(), &repo, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

#[test]
fn blob_uploads_adapt_to_a_slow_registry_and_a_number_pins_them() {
    // 40 small layers and a config, each upload held 40 ms: round trips, not bytes, so more at
    // once is faster and `auto` grows past where it starts (4).
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 7, &[2_000; 40]);
    let src = format!("oci:{}", dir.path().display());
    let slow = ImageFault::Slow {
        delay_ms: 40,
        throttle_first: 0,
    };
    let pinned = ImageProxy::start(&image_registry(), slow);
    let (code, out, stderr) = push(
        &src,
        &unique_name("img/pinned"),
        "v1",
        &pinned.url,
        &["--concurrency", "3"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["pushed-blobs"], 41);
    assert_eq!(pinned.peak_uploads(), 3, "a number pins it");

    let auto = ImageProxy::start(&image_registry(), slow);
    let repo = unique_name("img/auto");
    let (code, out, stderr) = push(&src, &repo, "v1", &auto.url, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["pushed-blobs"], 41);
    let peak = auto.peak_uploads();
    assert!(
        (8..=32).contains(&peak),
        "auto grew from 4 by doubling: {peak}"
    );
    assert_eq!(
        remote_digest(&image_registry(), &repo, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

#[test]
fn a_throttling_registry_halves_the_blob_uploads_and_the_push_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 8, &[2_000; 12]);
    let proxy = ImageProxy::start(
        &image_registry(),
        ImageFault::Slow {
            delay_ms: 20,
            throttle_first: 3,
        },
    );
    let repo = unique_name("img/throttled");
    let (code, out, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &proxy.url,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(proxy.throttled(), 3);
    assert!(stderr.contains("TOOMANYREQUESTS"), "{stderr}");
    assert!(
        stderr.contains("throttling: 2 at once from now on (was 4)"),
        "{stderr}"
    );
    assert_eq!(out["pushed-blobs"], 13);
    assert_eq!(proxy.blob_uploads(), 13 + 3, "each throttled upload again");
    assert_eq!(
        remote_digest(&image_registry(), &repo, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

#[test]
fn a_killed_push_rerun_uploads_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 7, &[3_000_000, 20_000, 10_000]);
    let reg = image_registry();
    let repo = unique_name("img/killed");
    let src = format!("oci:{}", dir.path().display());
    // The big layer's upload never gets an answer: the run is killed while it waits.
    let hang = ImageProxy::start(&reg, ImageFault::HangUploadsOver(1_000_000));
    let mut child = command(&[
        "push",
        "--source",
        &src,
        "--repository",
        &repo,
        "--registry",
        &hang.url,
        "--create-repository",
        "--tags",
        "v1",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while hang.blob_uploads() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        remote_digest(&reg, &repo, "v1"),
        None,
        "the killed run tagged nothing"
    );

    let proxy = ImageProxy::start(&reg, ImageFault::None);
    let (code, out, stderr) = push(&src, &repo, "v1", &proxy.url, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["pushed-blobs"], 1,
        "only the layer the killed run did not finish: {out}"
    );
    assert_eq!(out["skipped-blobs"], 3);
    assert_eq!(
        remote_digest(&reg, &repo, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

#[tokio::test]
async fn a_corrupt_blob_is_exit_2_and_nothing_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let (l, m) = layout(dir.path(), 8, &[30_000, 2_000]);
    let manifest = l.manifest(&m);
    let layer = manifest["layers"][1]["digest"].as_str().unwrap().to_owned();
    let path = l.blob_path(&layer);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let reg = image_registry();
    let repo = unique_name("img/corrupt");
    let (code, out, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &reg,
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    let err = out["error"].as_str().unwrap();
    assert!(
        err.starts_with("source: blob ") && err.contains("is corrupt") && err.contains(&layer),
        "{err}"
    );
    let first = manifest["layers"][0]["digest"].as_str().unwrap();
    assert!(
        !blob_there(&reg, &repo, first),
        "the sound layer was not pushed either"
    );
    let ecr = ecr().await;
    assert!(
        !repository_exists(&ecr, &repo).await,
        "no repository was created"
    );
}

#[test]
fn archives_push_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(&dir.path().join("layout"), 9, &[40_000, 1_000]);
    // oci-archive: a tar of the layout (what buildx type=oci writes).
    let tar = |dir: &Path, file: &Path| {
        let ok = Command::new("tar")
            .arg("-C")
            .arg(dir)
            .arg("-cf")
            .arg(file)
            .arg(".")
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let oci_tar = dir.path().join("image.tar");
    tar(&dir.path().join("layout"), &oci_tar);
    let reg = image_registry();
    let repo = unique_name("img/archive");
    let (code, out, stderr) = push(
        &format!("oci-archive:{}", oci_tar.display()),
        &repo,
        "oci",
        &reg,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], m.digest.as_str());

    // docker-archive (docker save before Docker 25): manifest.json, a config, layer tars.
    let save = dir.path().join("save");
    std::fs::create_dir_all(save.join("l1")).unwrap();
    std::fs::create_dir_all(save.join("l2")).unwrap();
    let config =
        r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    std::fs::write(save.join("abc.json"), config).unwrap();
    std::fs::write(
        save.join("l1/layer.tar"),
        gantry_tests::image_noise(1, 10_000),
    )
    .unwrap();
    std::fs::write(
        save.join("l2/layer.tar"),
        gantry_tests::image_noise(2, 20_000),
    )
    .unwrap();
    std::fs::write(
        save.join("manifest.json"),
        r#"[{"Config":"abc.json","RepoTags":["app:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#,
    )
    .unwrap();
    let docker_tar = dir.path().join("docker.tar");
    tar(&save, &docker_tar);
    let (code, out, stderr) = push(
        &format!("docker-archive:{}", docker_tar.display()),
        &repo,
        "docker",
        &reg,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["pushed-blobs"], 3);
    let digest = out["digest"].as_str().unwrap();
    assert_eq!(
        remote_digest(&reg, &repo, "docker").as_deref(),
        Some(digest)
    );
}

#[tokio::test]
async fn bad_input_is_exit_2_and_nothing_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, _m) = layout(&dir.path().join("ok"), 10, &[1_000]);
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let reg = image_registry();
    let repo = unique_name("img/bad");
    let ok = format!("oci:{}", dir.path().join("ok").display());
    let long = "t".repeat(129);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "source: required"),
        (
            vec!["--source".into(), "docker://nginx:1".into()],
            "has no known scheme",
        ),
        (
            vec![
                "--source".into(),
                format!("oci:{}", dir.path().join("empty").display()),
            ],
            "has no index.json",
        ),
        (
            vec!["--source".into(), format!("{ok}:nope")],
            "tag `nope` is not in the layout",
        ),
        (
            vec![
                "--source".into(),
                ok.clone(),
                "--concurrency".into(),
                "0".into(),
            ],
            "concurrency: `0`",
        ),
        (
            vec![
                "--source".into(),
                ok.clone(),
                "--concurrency".into(),
                "fast".into(),
            ],
            "concurrency: `fast` is neither `auto` nor a number from 1 to 64",
        ),
        (
            vec!["--source".into(), ok.clone(), "--tags".into(), long],
            "at most 128",
        ),
        (
            vec![
                "--source".into(),
                ok.clone(),
                "--tags".into(),
                "v1 bad/tag".into(),
            ],
            "`bad/tag` is not a valid tag",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec![
            "push".to_owned(),
            "--repository".into(),
            repo.clone(),
            "--registry".into(),
            reg.clone(),
            "--create-repository".into(),
        ];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, stderr) = image(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            out["error"].as_str().unwrap().contains(want),
            "{args:?}: {out}"
        );
    }
    let (code, out, _) = image(&[
        "push",
        "--source",
        &ok,
        "--repository",
        "Bad_Repo",
        "--registry",
        &reg,
    ]);
    assert_eq!(code, 2);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("repository: `Bad_Repo` is not a valid repository name"),
        "{out}"
    );
    let (code, out, _) = image(&[
        "push",
        "--source",
        &ok,
        "--repository",
        "app",
        "--registry",
        "http://192.0.2.1:5000",
    ]);
    assert_eq!(code, 2);
    assert!(
        out["error"].as_str().unwrap().contains("not loopback"),
        "{out}"
    );
    assert_eq!(remote_digest(&reg, &repo, "v1"), None);
    let ecr = ecr().await;
    assert!(
        !repository_exists(&ecr, &repo).await,
        "no repository was created"
    );
}

#[tokio::test]
async fn dry_run_lists_uploads_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 11, &[5_000, 500]);
    let proxy = ImageProxy::start(&image_registry(), ImageFault::None);
    let repo = unique_name("img/dry");
    let (code, out, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &proxy.url,
        &["--dry-run"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], m.digest.as_str());
    assert_eq!(out["plan"]["upload"].as_array().unwrap().len(), 3);
    assert_eq!(out["plan"]["tags"][0]["step"], "write");
    assert_eq!(out["plan"]["create-repository"], true);
    let writes = proxy.writes();
    assert!(writes.is_empty(), "{writes:?}");
    let ecr = ecr().await;
    assert!(
        !repository_exists(&ecr, &repo).await,
        "a dry run creates no repository"
    );

    // A promotion's dry run lists the blobs it would copy and writes nothing either.
    let (code, _, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &proxy.url,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let prod = unique_name("img/dry-prod");
    proxy.clear();
    let (code, out, stderr) = image(&[
        "promote",
        "--from",
        &format!("{repo}:v1"),
        "--to",
        &format!("{prod}:v1"),
        "--from-registry",
        &proxy.url,
        "--to-registry",
        &proxy.url,
        "--create-repository",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], m.digest.as_str());
    assert_eq!(out["plan"]["copy"].as_array().unwrap().len(), 3, "{out}");
    assert_eq!(out["plan"]["copy"][0]["by"], "mount");
    assert_eq!(out["plan"]["create-repository"], true);
    let writes = proxy.writes();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(remote_digest(&image_registry(), &prod, &m.digest), None);
    assert!(
        !repository_exists(&ecr, &prod).await,
        "a dry run creates no repository"
    );
}

#[test]
fn a_missing_repository_without_create_repository_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, _m) = layout(dir.path(), 15, &[2_000]);
    let reg = image_registry();
    let repo = unique_name("img/missing");
    let (code, out, stderr) = image(&[
        "push",
        "--source",
        &format!("oci:{}", dir.path().display()),
        "--repository",
        &repo,
        "--tags",
        "v1",
        "--registry",
        &reg,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(out["exit-code"], 1);
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains(&format!("repository {repo} does not exist")),
        "{out}"
    );
    assert!(stderr.contains("create-repository"), "{stderr}");
    assert_eq!(remote_digest(&reg, &repo, "v1"), None);
}

#[tokio::test]
async fn a_tag_another_run_wrote_in_between_is_kept_or_refused() {
    // The race the HEAD-before-PUT check cannot see: the tag is absent at HEAD time, and the
    // registry refuses the PUT as ECR does in an immutable repository (TAG_INVALID).
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (_a, ma) = layout(dir_a.path(), 16, &[9_000, 1_000]);
    let (_b, mb) = layout(dir_b.path(), 17, &[9_500, 1_000]);
    let reg = image_registry();
    let repo = unique_name("img/race");
    let imm = ["--tag-mutability", "IMMUTABLE"];
    let (code, _, stderr) = push(
        &format!("oci:{}", dir_a.path().display()),
        &repo,
        "v1",
        &reg,
        &imm,
    );
    assert_eq!(code, 0, "{stderr}");

    // The winner wrote the same image: success, the tag is right.
    let race = ImageProxy::start(&reg, ImageFault::TagRace);
    let (code, out, stderr) = push(
        &format!("oci:{}", dir_a.path().display()),
        &repo,
        "v1",
        &race.url,
        &imm,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["digest"], ma.digest.as_str());
    assert_eq!(
        race.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.target.ends_with("/manifests/v1"))
            .count(),
        1,
        "the tag PUT was tried and refused"
    );

    // The winner wrote another image: exit 1 naming both digests; the tag is left alone.
    let race = ImageProxy::start(&reg, ImageFault::TagRace);
    let (code, out, stderr) = push(
        &format!("oci:{}", dir_b.path().display()),
        &repo,
        "v1",
        &race.url,
        &imm,
    );
    assert_eq!(code, 1, "{stderr}");
    let err = out["error"].as_str().unwrap();
    assert!(
        err.contains(&ma.digest) && err.contains(&mb.digest),
        "{err}"
    );
    assert_eq!(
        remote_digest(&reg, &repo, "v1").as_deref(),
        Some(ma.digest.as_str())
    );
}

#[test]
fn a_layer_over_32_mib_goes_up_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let big = 33 * 1024 * 1024 + 4_321;
    let (l, m) = layout(dir.path(), 18, &[big, 2_000]);
    let layer = l.manifest(&m)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let proxy = ImageProxy::start(&image_registry(), ImageFault::None);
    let repo = unique_name("img/chunked");
    let (code, out, stderr) = push(
        &format!("oci:{}", dir.path().display()),
        &repo,
        "v1",
        &proxy.url,
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(out["bytes-pushed"].as_u64().unwrap() > big as u64);
    let patches: Vec<u64> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.len)
        .collect();
    assert_eq!(
        patches,
        vec![32 * 1024 * 1024, big as u64 - 32 * 1024 * 1024],
        "the big layer in 32 MiB chunks, the small blobs in one PUT each"
    );
    assert!(blob_there(&image_registry(), &repo, &layer));
    assert_eq!(
        remote_digest(&image_registry(), &repo, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

fn action() -> gantry_act::Runner {
    gantry_act::Runner::new(repo_root().join("actions/image"))
        .env("GANTRY_BIN_DIR", bin_dir().to_string_lossy())
        .log_to(std::io::sink())
}

#[test]
fn composite_action_pushes_and_promotes() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 12, &[20_000, 700]);
    let reg = image_registry();
    let repo = unique_name("img/act");
    let r = action()
        .input("source", format!("oci:{}:v1", dir.path().display()))
        .input("repository", &repo)
        .input("tags", "sha-1234567\nlatest")
        .input("registry", &reg)
        .input("create-repository", "true")
        .run()
        .unwrap();
    assert!(r.success, "{:?} {:?}", r.steps, r.annotations);
    assert_eq!(r.outputs["digest"], m.digest);
    assert_eq!(r.outputs["tags"], "sha-1234567\nlatest");
    assert_eq!(r.outputs["pushed-blobs"], "3");
    assert!(
        r.summary.contains("| blob | type | size | status |"),
        "{}",
        r.summary
    );

    let prod = unique_name("img/act-prod");
    let r = action()
        .input("mode", "promote")
        .input("from", format!("{repo}@{}", m.digest))
        .input("to", format!("{prod}:v1"))
        .input("from-registry", &reg)
        .input("to-registry", &reg)
        .input("create-repository", "true")
        .run()
        .unwrap();
    assert!(r.success, "{:?} {:?}", r.steps, r.annotations);
    assert_eq!(r.outputs["digest"], m.digest);
    assert_eq!(r.outputs["mounted-blobs"], "3");

    let r = action().input("mode", "pull").run().unwrap();
    assert!(!r.success);
    assert!(
        r.annotations
            .iter()
            .any(|a| a.message.contains("not push or promote")),
        "{:?}",
        r.annotations
    );
}

#[test]
fn a_mode_with_a_newline_does_not_become_a_workflow_command() {
    let r = action()
        .input("mode", "x\n::warning title=pwned::injected")
        .run()
        .unwrap();
    assert!(!r.success);
    assert!(
        r.annotations
            .iter()
            .all(|a| a.title.as_deref() != Some("pwned") && !a.message.starts_with("injected")),
        "{:?}",
        r.annotations
    );
    assert!(
        r.annotations.iter().any(|a| a
            .message
            .contains("mode: `x ::warning title=pwned::injected` is not push or promote")),
        "{:?}",
        r.annotations
    );
}

#[tokio::test]
async fn the_registry_token_is_masked_before_use() {
    // An https registry gets ECR's token (from moto); this one is a plain-HTTP server, so the
    // TLS handshake fails after the token was fetched and masked.
    let dir = tempfile::tempdir().unwrap();
    let (_l, _m) = layout(dir.path(), 13, &[1_000]);
    let https = image_registry().replace("http://", "https://");
    let r = action()
        .input("source", format!("oci:{}", dir.path().display()))
        .input("repository", unique_name("img/mask"))
        .input("registry", &https)
        .input("create-repository", "true")
        .run()
        .unwrap();
    assert!(!r.success);
    let token = ecr()
        .await
        .get_authorization_token()
        .send()
        .await
        .unwrap()
        .authorization_data()[0]
        .authorization_token()
        .unwrap()
        .to_owned();
    assert!(
        r.masks.contains(&token),
        "the token was masked: {:?}",
        r.masks
    );
    let log = format!("{:?} {:?} {:?}", r.outputs, r.annotations, r.summary);
    assert!(
        !log.contains(&token),
        "the token is in no output, annotation or summary"
    );
}

#[test]
fn a_stalled_registry_or_ecr_ends_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, _m) = layout(dir.path(), 16, &[1_000]);
    let stalled = gantry_kit::testing::StalledEndpoint::start();
    let src = format!("oci:{}:v1", dir.path().display());
    let secs = |t: std::time::Instant| t.elapsed().as_secs_f64();
    // The registry accepts connections and never answers; ECR (moto) answers.
    let t = std::time::Instant::now();
    let (code, out, stderr) = push(
        &src,
        &unique_name("img/stall"),
        "v1",
        &stalled.url(),
        &["--timeout", "4s"],
    );
    assert_eq!(code, 1, "nothing was written yet: {stderr}");
    assert!(secs(t) < 12.0, "ended near the 4 s deadline: {}s", secs(t));
    let error = out["error"].as_str().unwrap();
    assert!(
        error.contains("the registry did not answer before the deadline (4s after the start); nothing was written"),
        "{error}"
    );
    // ECR stalls; the registry answers.
    let t = std::time::Instant::now();
    let mut c = command(&[
        "push",
        "--source",
        &src,
        "--repository",
        &unique_name("img/stall"),
        "--registry",
        &image_registry(),
        "--create-repository",
        "--timeout",
        "4s",
    ]);
    c.env("AWS_ENDPOINT_URL", stalled.url());
    let (code, out, stderr) = gantry_tests::json_output(c);
    assert_eq!(code, 1, "{stderr}");
    assert!(secs(t) < 12.0, "ended near the 4 s deadline: {}s", secs(t));
    assert!(
        out["error"].as_str().unwrap().contains(
            "ECR DescribeRepositories: AWS did not answer before the deadline (4s after the start); nothing was written"
        ),
        "{out}"
    );
}

/// Standard base64 (ECR's token is `base64("AWS:password")`).
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for b in s.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[tokio::test]
async fn at_trace_level_the_registry_token_is_only_in_its_mask() {
    // GANTRY_LOG=trace asks every library for everything; the SDK would print the
    // GetAuthorizationToken answer (the registry password) before gantry could mask it.
    let dir = tempfile::tempdir().unwrap();
    let (_l, _m) = layout(dir.path(), 15, &[1_000]);
    let https = image_registry().replace("http://", "https://");
    let src = format!("oci:{}:v1", dir.path().display());
    let repo = unique_name("img/trace");
    gantry_tests::aws_endpoint();
    let mut c = command(&[
        "push",
        "--source",
        &src,
        "--repository",
        &repo,
        "--registry",
        &https,
        "--create-repository",
    ]);
    c.env("GITHUB_ACTIONS", "true").env("GANTRY_LOG", "trace");
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("aws_smithy_runtime") || stderr.contains("beginning attempt"),
        "the SDK's own debug lines are still there: {stderr}"
    );
    let token = ecr()
        .await
        .get_authorization_token()
        .send()
        .await
        .unwrap()
        .authorization_data()[0]
        .authorization_token()
        .unwrap()
        .to_owned();
    let password = String::from_utf8(base64_decode(&token))
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .to_owned();
    for secret in [&token, &password] {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            !lines.is_empty() && lines.iter().all(|l| *l == format!("::add-mask::{secret}")),
            "the secret appears only in its ::add-mask:: line, not in: {:#?}",
            lines
                .iter()
                .filter(|l| !l.starts_with("::add-mask::"))
                .map(|l| l.chars().take(300).collect::<String>())
                .collect::<Vec<_>>()
        );
        assert!(!stdout.contains(secret.as_str()), "nor on stdout");
    }
}

#[test]
fn missing_blobs_are_mounted_from_another_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (_l, m) = layout(dir.path(), 14, &[70_000, 4_000]);
    let proxy = ImageProxy::start(&image_registry(), ImageFault::None);
    let base = unique_name("img/base");
    let src = format!("oci:{}", dir.path().display());
    let (code, _, stderr) = push(&src, &base, "v1", &proxy.url, &[]);
    assert_eq!(code, 0, "{stderr}");
    proxy.clear();
    let app = unique_name("img/app");
    let (code, out, stderr) = push(&src, &app, "v1", &proxy.url, &["--mount-from", &base]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (out["mounted-blobs"].as_u64(), out["pushed-blobs"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!((proxy.mounts(), proxy.blob_uploads()), (3, 0));
    assert_eq!(
        remote_digest(&image_registry(), &app, "v1").as_deref(),
        Some(m.digest.as_str())
    );
}

#[test]
fn a_busybox_image_built_with_umoci_round_trips_through_skopeo() {
    if Command::new("umoci").arg("--version").output().is_err() {
        panic!("umoci is not installed (scripts/local-aws up installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("L");
    let sh = format!(
        "set -e; cd {d}; umoci init --layout L; umoci new --image L:1; umoci unpack --rootless --image L:1 b >/dev/null; \
         mkdir -p b/rootfs/bin; cp /bin/busybox b/rootfs/bin/; umoci repack --image L:1 b",
        d = dir.path().display()
    );
    assert!(
        Command::new("sh")
            .arg("-c")
            .arg(&sh)
            .status()
            .unwrap()
            .success()
    );
    let reg = image_registry();
    let repo = unique_name("img/busybox");
    let (code, out, stderr) = push(&format!("oci:{}:1", l.display()), &repo, "1", &reg, &[]);
    assert_eq!(code, 0, "{stderr}");
    let host = reg.trim_start_matches("http://");
    let back = dir.path().join("back");
    let s = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{host}/{repo}:1"))
        .arg(format!("oci:{}:1", back.display()))
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let index: Value =
        serde_json::from_slice(&std::fs::read(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], out["digest"]);
}
