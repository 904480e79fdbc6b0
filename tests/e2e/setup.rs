//! `actions/setup` run through `gantry-act` as the runner runs it: the prebuilt short-circuit, the
//! verified download from a (local, fake) release with the tool cache, the build from source, and
//! input validation. No AWS needed.

// Helpers outside #[test] fns: a panic is the failure report here too.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use gantry_tests::{ReleaseServer, bin, repo_root};
use serde_json::Value;
use tempfile::TempDir;

/// What one `gantry-act actions/setup --json` run gave.
struct Run {
    code: Option<i32>,
    json: Value,
}

impl Run {
    fn success(&self) -> bool {
        self.json["success"] == Value::Bool(true)
    }
    fn output(&self, name: &str) -> Option<&str> {
        self.json["outputs"][name].as_str()
    }
    fn annotations(&self) -> String {
        self.json["annotations"].to_string()
    }
}

/// Runs actions/setup with `binaries` and the given step environment. The variables that steer
/// setup are cleared first, so that the surrounding `make test` (which sets GANTRY_BIN_DIR) does
/// not leak in.
fn setup(binaries: &str, env: &[(&str, &str)], workspace: &Path) -> Run {
    setup_with(&[("binaries", binaries)], env, workspace)
}

/// [`setup`] with any inputs.
fn setup_with(inputs: &[(&str, &str)], env: &[(&str, &str)], workspace: &Path) -> Run {
    let mut cmd = Command::new(bin("gantry-act"));
    cmd.arg(repo_root().join("actions/setup"));
    for (name, value) in inputs {
        cmd.arg("--input").arg(format!("{name}={value}"));
    }
    cmd.arg("--workspace").arg(workspace).arg("--json");
    for name in [
        "GANTRY_BIN_DIR",
        "GANTRY_RELEASE_BASE_URL",
        "GANTRY_SETUP_MANIFEST",
        "GANTRY_SETUP_ALLOW_UNVERIFIED",
        "GANTRY_SETUP_MAX_TIME",
        "RUNNER_ENVIRONMENT",
    ] {
        cmd.env_remove(name);
    }
    for (name, value) in env {
        cmd.arg("--env").arg(format!("{name}={value}"));
    }
    let out = cmd
        .output()
        .expect("run gantry-act (cargo build -p gantry-act)");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "gantry-act printed no JSON ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        code: out.status.code(),
        json,
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// The release target of this machine, as setup names it.
fn host_target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        other => panic!("no gantry release target for {other:?}"),
    }
}

fn source_digest() -> String {
    let out = Command::new(repo_root().join("actions/setup/source-digest.sh"))
        .output()
        .unwrap();
    assert!(out.status.success(), "source-digest.sh failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A fake release of version 9.9.9: for each name, `gantry-<name>-9.9.9-<target>.tar.gz` holding
/// a shell script `gantry-<name>`, plus a manifest whose source digest is this checkout's.
/// `sha256` decides each entry's sum from the archive's real sum (return None to leave it out).
struct FakeRelease {
    _dir: TempDir,
    files: PathBuf,
    manifest: PathBuf,
}

const VERSION: &str = "9.9.9";

fn fake_release(names: &[&str], sha256: impl Fn(&str) -> Option<String>) -> FakeRelease {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("release");
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    let target = host_target();
    let mut binaries = serde_json::Map::new();
    for name in names {
        let exe = format!("gantry-{name}");
        write_script(&staging.join(&exe), &format!("echo \"{exe} {VERSION}\""));
        let archive = format!("{exe}-{VERSION}-{target}.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(files.join(&archive))
            .arg("-C")
            .arg(&staging)
            .arg(&exe)
            .status()
            .unwrap();
        assert!(status.success(), "tar failed");
        let real = gantry_tests::sha256_hex(&std::fs::read(files.join(&archive)).unwrap());
        let mut entry = serde_json::json!({ "archive": archive });
        if let Some(sum) = sha256(&real) {
            entry["sha256"] = Value::String(sum);
        }
        binaries.insert((*name).to_owned(), serde_json::json!({ target: entry }));
    }
    let manifest = dir.path().join("manifest.json");
    let doc = serde_json::json!({
        "version": VERSION,
        "repository": "gantry-actions/gantry",
        "source-digest": source_digest(),
        "binaries": binaries,
    });
    std::fs::write(&manifest, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    FakeRelease {
        _dir: dir,
        files,
        manifest,
    }
}

fn release_env<'a>(
    release: &'a FakeRelease,
    server: &'a ReleaseServer,
    tool_cache: &'a Path,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("GANTRY_SETUP_MANIFEST", path_str(&release.manifest)),
        ("GANTRY_RELEASE_BASE_URL", server.url.as_str()),
        ("RUNNER_TOOL_CACHE", path_str(tool_cache)),
    ]
}

#[test]
fn prebuilt_bin_dir_short_circuits() {
    let dir = tempfile::tempdir().unwrap();
    write_script(&dir.path().join("gantry-invalidate"), "echo prebuilt");
    let run = setup(
        "invalidate",
        &[("GANTRY_BIN_DIR", path_str(dir.path()))],
        dir.path(),
    );
    assert!(run.success(), "{}", run.json);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.output("source"), Some("prebuilt"));
    assert_eq!(run.output("bin-dir"), Some(path_str(dir.path())));
}

#[test]
fn prebuilt_bin_dir_without_the_binary_fails() {
    let dir = tempfile::tempdir().unwrap();
    let run = setup(
        "invalidate",
        &[("GANTRY_BIN_DIR", path_str(dir.path()))],
        dir.path(),
    );
    assert!(!run.success());
    assert_eq!(run.code, Some(1));
    assert!(
        run.annotations().contains("gantry-invalidate"),
        "{}",
        run.json
    );
}

#[test]
fn release_download_is_verified_then_cached() {
    let release = fake_release(&["invalidate"], |real| Some(real.to_owned()));
    let server = ReleaseServer::start(release.files.clone()).unwrap();
    let tool_cache = tempfile::tempdir().unwrap();
    let env = release_env(&release, &server, tool_cache.path());

    let first = setup("invalidate", &env, tool_cache.path());
    assert!(first.success(), "{}", first.json);
    assert_eq!(first.output("source"), Some("download"));
    assert_eq!(first.output("version"), Some(VERSION));
    let expected_dir = tool_cache
        .path()
        .join("gantry")
        .join(VERSION)
        .join(host_target());
    assert_eq!(first.output("bin-dir"), Some(path_str(&expected_dir)));
    let marker = format!("{}.complete", expected_dir.display());
    assert!(Path::new(&marker).exists(), "tool-cache marker {marker}");
    assert_eq!(server.requests(), 1);

    let out = Command::new(expected_dir.join("gantry-invalidate"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "gantry-invalidate 9.9.9"
    );

    let second = setup("invalidate", &env, tool_cache.path());
    assert!(second.success(), "{}", second.json);
    assert_eq!(second.output("source"), Some("cache"));
    assert_eq!(
        server.requests(),
        1,
        "a complete cache makes no HTTP request"
    );
}

#[test]
fn a_cache_hit_is_verified_again() {
    let release = fake_release(&["invalidate"], |real| Some(real.to_owned()));
    let server = ReleaseServer::start(release.files.clone()).unwrap();
    let tool_cache = tempfile::tempdir().unwrap();
    let env = release_env(&release, &server, tool_cache.path());
    let first = setup("invalidate", &env, tool_cache.path());
    assert!(first.success(), "{}", first.json);
    let dir = PathBuf::from(first.output("bin-dir").unwrap());
    let run_it = || {
        let out = Command::new(dir.join("gantry-invalidate"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };

    // A binary planted in the complete cache is replaced by the one in the verified archive.
    write_script(&dir.join("gantry-invalidate"), "echo planted");
    let second = setup("invalidate", &env, tool_cache.path());
    assert!(second.success(), "{}", second.json);
    assert_eq!(second.output("source"), Some("cache"));
    assert_eq!(run_it(), "gantry-invalidate 9.9.9");
    assert!(
        second
            .annotations()
            .contains("not the one in its verified archive"),
        "{}",
        second.json
    );
    assert_eq!(server.requests(), 1, "the archive itself was still good");

    // A cached archive that no longer has the manifest's sum is downloaded again.
    let archive = dir.join(format!(
        "gantry-invalidate-{VERSION}-{}.tar.gz",
        host_target()
    ));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"planted");
    std::fs::write(&archive, bytes).unwrap();
    write_script(&dir.join("gantry-invalidate"), "echo planted");
    let third = setup("invalidate", &env, tool_cache.path());
    assert!(third.success(), "{}", third.json);
    assert_eq!(third.output("source"), Some("download"));
    assert_eq!(server.requests(), 2);
    assert_eq!(run_it(), "gantry-invalidate 9.9.9");
}

#[test]
fn the_unverified_overrides_need_an_opt_in_on_a_github_runner() {
    let dir = tempfile::tempdir().unwrap();
    write_script(&dir.path().join("gantry-invalidate"), "echo prebuilt");
    let bin_dir = ("GANTRY_BIN_DIR", path_str(dir.path()));
    let on_runner = ("RUNNER_ENVIRONMENT", "github-hosted");
    let refused = setup("invalidate", &[bin_dir, on_runner], dir.path());
    assert!(!refused.success());
    assert_eq!(refused.code, Some(1));
    assert!(
        refused
            .annotations()
            .contains("GANTRY_BIN_DIR is set on a github-hosted runner")
            && refused.annotations().contains("allow-unverified"),
        "{}",
        refused.json
    );
    assert_eq!(refused.output("bin-dir").unwrap_or(""), "");

    let release = fake_release(&["invalidate"], |real| Some(real.to_owned()));
    let manifest = ("GANTRY_SETUP_MANIFEST", path_str(&release.manifest));
    let refused = setup("invalidate", &[manifest, on_runner], dir.path());
    assert!(!refused.success());
    assert!(
        refused
            .annotations()
            .contains("GANTRY_SETUP_MANIFEST is set"),
        "{}",
        refused.json
    );

    let allowed = setup_with(
        &[("binaries", "invalidate"), ("allow-unverified", "true")],
        &[bin_dir, on_runner],
        dir.path(),
    );
    assert!(allowed.success(), "{}", allowed.json);
    assert_eq!(allowed.output("source"), Some("prebuilt"));
}

#[test]
fn a_stalled_release_server_ends_the_download() {
    let release = fake_release(&["invalidate"], |real| Some(real.to_owned()));
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let tool_cache = tempfile::tempdir().unwrap();
    let run = setup(
        "invalidate",
        &[
            ("GANTRY_SETUP_MANIFEST", path_str(&release.manifest)),
            ("GANTRY_RELEASE_BASE_URL", url.as_str()),
            ("RUNNER_TOOL_CACHE", path_str(tool_cache.path())),
            ("GANTRY_SETUP_MAX_TIME", "1"),
        ],
        tool_cache.path(),
    );
    assert!(!run.success());
    assert!(
        run.annotations().contains("download failed"),
        "{}",
        run.json
    );
}

#[test]
fn tampered_archive_fails_closed_and_caches_nothing() {
    let release = fake_release(&["invalidate"], |real| Some(real.to_owned()));
    let archive = release.files.join(format!(
        "gantry-invalidate-{VERSION}-{}.tar.gz",
        host_target()
    ));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let server = ReleaseServer::start(release.files.clone()).unwrap();
    let tool_cache = tempfile::tempdir().unwrap();

    let run = setup(
        "invalidate",
        &release_env(&release, &server, tool_cache.path()),
        tool_cache.path(),
    );
    assert!(!run.success());
    assert_eq!(run.code, Some(1));
    assert!(
        run.annotations().contains("sha256 mismatch"),
        "{}",
        run.json
    );
    // The runner evaluates an output the step never set to "".
    assert_eq!(
        run.output("bin-dir").unwrap_or(""),
        "",
        "no bin-dir, so nothing on PATH"
    );
    assert_no_binary_in(tool_cache.path());
}

#[test]
fn manifest_without_a_sha256_fails_closed() {
    let release = fake_release(&["invalidate"], |_| None);
    let server = ReleaseServer::start(release.files.clone()).unwrap();
    let tool_cache = tempfile::tempdir().unwrap();

    let run = setup(
        "invalidate",
        &release_env(&release, &server, tool_cache.path()),
        tool_cache.path(),
    );
    assert!(!run.success());
    assert!(
        run.annotations().contains("no valid sha256"),
        "{}",
        run.json
    );
    assert_eq!(
        server.requests(),
        0,
        "nothing is downloaded without a sum to check"
    );
    assert_no_binary_in(tool_cache.path());
}

fn assert_no_binary_in(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.starts_with("gantry-invalidate") && !name.ends_with(".complete"),
                "left behind in the tool cache: {}",
                path.display()
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
}

/// A `cargo` that records its arguments and writes a fake binary for each `-p` where cargo would.
fn stub_cargo(dir: &Path) -> PathBuf {
    let stub_bin = dir.join("stub-bin");
    std::fs::create_dir_all(&stub_bin).unwrap();
    write_script(
        &stub_bin.join("cargo"),
        r#"echo "$@" > "$STUB_CARGO_LOG"
out="$CARGO_TARGET_DIR/release"
mkdir -p "$out"
while [ $# -gt 0 ]; do
  if [ "$1" = -p ]; then printf '#!/bin/sh\necho built\n' > "$out/$2"; chmod +x "$out/$2"; fi
  shift
done"#,
    );
    stub_bin
}

#[test]
fn non_release_commit_builds_from_source() {
    let dir = tempfile::tempdir().unwrap();
    let stub_bin = stub_cargo(dir.path());
    let log = dir.path().join("cargo-args");
    let target = dir.path().join("target");
    let path = format!("{}:/usr/bin:/bin", stub_bin.display());

    let run = setup(
        "invalidate\nact",
        &[
            ("PATH", path.as_str()),
            ("STUB_CARGO_LOG", path_str(&log)),
            ("CARGO_TARGET_DIR", path_str(&target)),
        ],
        dir.path(),
    );
    assert!(run.success(), "{}", run.json);
    assert_eq!(run.output("source"), Some("build"));
    assert_eq!(
        run.output("bin-dir"),
        Some(path_str(&target.join("release")))
    );
    assert!(run.output("version").unwrap_or("").contains("+src."));
    let args = std::fs::read_to_string(&log).unwrap();
    let manifest = repo_root().join("Cargo.toml");
    assert_eq!(
        args.trim(),
        format!(
            "build --release --locked --manifest-path {} -p gantry-invalidate -p gantry-act",
            manifest.display()
        )
    );
}

#[test]
fn non_release_commit_without_cargo_says_to_add_a_toolchain() {
    for dir in ["/usr/bin", "/bin"] {
        assert!(
            !Path::new(dir).join("cargo").exists(),
            "this test needs a PATH without cargo; {dir}/cargo exists"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let run = setup("invalidate", &[("PATH", "/usr/bin:/bin")], dir.path());
    assert!(!run.success());
    assert_eq!(run.code, Some(1));
    let annotations = run.annotations();
    assert!(annotations.contains("cargo not found"), "{annotations}");
    assert!(annotations.contains("Rust toolchain"), "{annotations}");
}

#[test]
fn bad_binaries_input_is_rejected_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["Invalidate", "gantry_site", "../kit", "no-such-binary"] {
        let run = setup(bad, &[], dir.path());
        assert!(!run.success(), "{bad}: {}", run.json);
        let annotations = run.annotations();
        assert!(
            annotations.contains("input `binaries`"),
            "{bad}: {annotations}"
        );
        assert!(annotations.contains(bad), "{bad}: {annotations}");
    }
}

// --- scripts/release: what the release workflow runs, round-tripped through actions/setup -------

const RELEASE_TARGETS: [&str; 3] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "aarch64-apple-darwin",
];

fn release_script(args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("scripts/release"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run scripts/release")
}

/// `scripts/release binaries`, one name a line.
fn shipped_binaries() -> Vec<String> {
    let out = release_script(&["binaries"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Fake binaries (scripts printing `gantry-<name> released`) for every shipped name, packaged by
/// `scripts/release package` for each of `targets` into `<dir>/dist`.
fn package_fake_binaries(dir: &Path, targets: &[&str]) -> PathBuf {
    let bin_dir = dir.join("bin");
    let dist = dir.join("dist");
    std::fs::create_dir_all(&bin_dir).unwrap();
    for name in shipped_binaries() {
        write_script(
            &bin_dir.join(format!("gantry-{name}")),
            &format!("echo \"gantry-{name} released\""),
        );
    }
    for target in targets {
        let out = release_script(&[
            "package",
            VERSION,
            target,
            path_str(&bin_dir),
            path_str(&dist),
        ]);
        assert!(out.status.success(), "package {target}: {out:?}");
    }
    dist
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn release_binaries_are_the_crates_with_a_main_except_act() {
    let mut expected: Vec<String> = std::fs::read_dir(repo_root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.strip_prefix("gantry-")?.to_owned();
            (name != "act").then_some(name)
        })
        .collect();
    expected.sort();
    assert!(expected.contains(&"invalidate".to_owned()));
    assert_eq!(shipped_binaries(), expected);
}

#[test]
fn release_round_trip_package_manifest_then_setup_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let dist = package_fake_binaries(dir.path(), &RELEASE_TARGETS);
    let out = release_script(&[
        "manifest",
        VERSION,
        "gantry-actions/gantry",
        path_str(&dist),
    ]);
    assert!(out.status.success(), "manifest: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], VERSION);
    assert_eq!(doc["repository"], "gantry-actions/gantry");
    assert_eq!(doc["source-digest"], source_digest().as_str());
    let names = shipped_binaries();
    for name in &names {
        for target in RELEASE_TARGETS {
            let entry = &doc["binaries"][name][target];
            let archive = format!("gantry-{name}-{VERSION}-{target}.tar.gz");
            assert_eq!(entry["archive"], archive.as_str(), "{doc}");
            let sum = gantry_tests::sha256_hex(&std::fs::read(dist.join(&archive)).unwrap());
            assert_eq!(entry["sha256"], sum.as_str(), "{archive}");
        }
    }
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, &out.stdout).unwrap();

    let server = ReleaseServer::start(dist).unwrap();
    let tool_cache = tempfile::tempdir().unwrap();
    let run = setup(
        &names.join(" "),
        &[
            ("GANTRY_SETUP_MANIFEST", path_str(&manifest)),
            ("GANTRY_RELEASE_BASE_URL", server.url.as_str()),
            ("RUNNER_TOOL_CACHE", path_str(tool_cache.path())),
        ],
        tool_cache.path(),
    );
    assert!(run.success(), "{}", run.json);
    assert_eq!(run.output("source"), Some("download"));
    assert_eq!(run.output("version"), Some(VERSION));
    assert_eq!(server.requests(), names.len());
    let bin_dir = PathBuf::from(run.output("bin-dir").unwrap());
    for name in &names {
        let out = Command::new(bin_dir.join(format!("gantry-{name}")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("gantry-{name} released")
        );
    }
}

#[test]
fn release_manifest_fails_when_a_target_archive_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let dist = package_fake_binaries(dir.path(), &RELEASE_TARGETS[..2]);
    let out = release_script(&[
        "manifest",
        VERSION,
        "gantry-actions/gantry",
        path_str(&dist),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "no manifest on failure");
    let err = stderr(&out);
    assert!(err.contains("incomplete release"), "{err}");
    assert!(
        err.contains(&format!(
            "gantry-invalidate-{VERSION}-aarch64-apple-darwin.tar.gz"
        )),
        "{err}"
    );
}

#[test]
fn release_check_version_wants_major_minor_patch_without_v() {
    for good in ["1.2.3", "0.1.0", "1.3.0-rc.1"] {
        let out = release_script(&["check-version", good]);
        assert!(out.status.success(), "{good}: {}", stderr(&out));
    }
    for bad in ["v1.2.3", "1.2", "1.2.3+build", "01.2.3", ""] {
        let out = release_script(&["check-version", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            stderr(&out).contains("MAJOR.MINOR.PATCH"),
            "{bad:?}: {out:?}"
        );
    }
}

#[test]
fn release_archives_hold_exactly_one_entry_and_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let dist = package_fake_binaries(dir.path(), &[host_target()]);
    let again = package_fake_binaries(&dir.path().join("again"), &[host_target()]);
    for name in shipped_binaries() {
        let archive = format!("gantry-{name}-{VERSION}-{}.tar.gz", host_target());
        let listing = Command::new("tar")
            .arg("-tzf")
            .arg(dist.join(&archive))
            .output()
            .unwrap();
        assert!(listing.status.success(), "{listing:?}");
        let listing = String::from_utf8(listing.stdout).unwrap();
        assert_eq!(listing, format!("gantry-{name}\n"), "{archive}");
        assert_eq!(
            std::fs::read(dist.join(&archive)).unwrap(),
            std::fs::read(again.join(&archive)).unwrap(),
            "{archive}: same inputs, same bytes"
        );
    }
}
