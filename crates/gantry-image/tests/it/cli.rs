//! Bad input is exit 2 with a message naming the input, before anything is called:
//! AWS_ENDPOINT_URL points at a closed port, so a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-image"),
    ))
}

fn rejected(args: &[&str], says: &str) {
    cmd().args(args).assert().code(2).stderr(contains(says));
}

fn layout() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .unwrap();
    d
}

#[test]
fn push_bad_inputs_are_exit_2_naming_the_input() {
    let d = layout();
    let src = format!("oci:{}", d.path().display());
    let r = [
        "push",
        "--repository",
        "shop/api",
        "--registry",
        "http://127.0.0.1:9",
    ];
    rejected(&r, "source: required");
    rejected(
        &[&r[..], &["--source", "docker://nginx"]].concat(),
        "has no known scheme",
    );
    rejected(
        &[&r[..], &["--source", "dir:/tmp/x"]].concat(),
        "use oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE",
    );
    rejected(
        &[&r[..], &["--source", "oci:/nonexistent/layout"]].concat(),
        "is not a directory",
    );
    rejected(
        &[&r[..], &["--source", "oci-archive:/nonexistent.tar"]].concat(),
        "cannot open",
    );
    rejected(&[&r[..], &["--source", &src]].concat(), "lists no image");
    rejected(
        &[&r[..], &["--source", &format!("{src}:v9")]].concat(),
        "tag `v9` is not in the layout",
    );
    let empty = tempfile::tempdir().unwrap();
    rejected(
        &[
            &r[..],
            &["--source", &format!("oci:{}", empty.path().display())],
        ]
        .concat(),
        "has no index.json",
    );
    let s = ["push", "--source", src.as_str()];
    rejected(&s, "repository: required");
    rejected(
        &[&s[..], &["--repository", "Shop/API"]].concat(),
        "repository: `Shop/API` is not a valid repository name",
    );
    let ok = [&s[..], &["--repository", "shop/api"]].concat();
    rejected(
        &[&ok[..], &["--tags", "v1 -bad"]].concat(),
        "tags: `-bad` is not a valid tag",
    );
    rejected(
        &[&ok[..], &["--tag", &"x".repeat(129)]].concat(),
        "a tag has at most 128",
    );
    rejected(
        &[&ok[..], &["--concurrency", "0"]].concat(),
        "concurrency: `0` is neither `auto` nor a number from 1 to 64",
    );
    rejected(
        &[&ok[..], &["--registry", "http://10.1.2.3:5000"]].concat(),
        "not loopback",
    );
    rejected(
        &[&ok[..], &["--tag-mutability", "SOMETIMES"]].concat(),
        "tag-mutability: `SOMETIMES`",
    );
    rejected(
        &[&ok[..], &["--scan-on-push", "maybe"]].concat(),
        "scan-on-push: `maybe`",
    );
    rejected(
        &[&ok[..], &["--lifecycle-keep", "0"]].concat(),
        "lifecycle-keep: `0`",
    );
    rejected(
        &[&ok[..], &["--timeout", "0"]].concat(),
        "timeout: `0s` leaves no time to push anything",
    );
    rejected(
        &[&ok[..], &["--mount-from", "Base"]].concat(),
        "mount-from: `Base`",
    );
}

#[test]
fn promote_bad_inputs_are_exit_2_naming_the_input() {
    rejected(&["promote", "--to", "prod/api"], "from: required");
    rejected(
        &["promote", "--from", "staging/api", "--to", "prod/api"],
        "from: `staging/api` names no tag or digest",
    );
    rejected(
        &[
            "promote",
            "--from",
            "staging/api@sha256:abc",
            "--to",
            "prod/api",
        ],
        "is not a sha256 digest",
    );
    rejected(&["promote", "--from", "staging/api:v1"], "to: required");
    rejected(
        &["promote", "--from", "staging/api:v1", "--to", "Prod"],
        "to: `Prod` is not a valid repository name",
    );
}

#[test]
fn json_on_bad_input_has_error_and_exit_code() {
    let out = cmd()
        .args(["push", "--repository", "shop/api", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit-code"], 2);
    assert_eq!(v["error"], "source: required");
}

#[test]
fn env_inputs_work_like_flags_and_empty_ones_are_ignored() {
    cmd()
        .arg("push")
        .env("GANTRY_SOURCE", "oci:/nonexistent")
        .env("GANTRY_REPOSITORY", "shop/api")
        .env("GANTRY_TAGS", "")
        .env("GANTRY_CONCURRENCY", "0")
        .assert()
        .code(2)
        .stderr(contains("concurrency: `0`"));
}

#[test]
fn help_lists_exit_codes() {
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("Exit codes"));
}
