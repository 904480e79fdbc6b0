//! The binary's contract: bad input is exit 2 with a message naming the input, and nothing is
//! called. AWS_ENDPOINT_URL points at a closed port: a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("gantry-site").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("GANTRY_") || k.starts_with("GITHUB_") || k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("GANTRY_MAX_ATTEMPTS", "1");
    c
}

fn rejected<S: AsRef<std::ffi::OsStr>>(args: &[S], says: &str) {
    cmd().args(args).assert().code(2).stderr(contains(says));
}

#[test]
fn bad_inputs_are_exit_2_naming_the_input() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let dir = site.path().to_str().unwrap();
    let b = ["--bucket", "my-site"];
    let deploy = |extra: &[&str]| -> Vec<String> {
        ["deploy", "--dir", dir, b[0], b[1]]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };

    rejected(&["deploy", "--bucket", "my-site"], "dir: required");
    let empty = tempfile::tempdir().unwrap();
    rejected(
        &[
            &["deploy", "--dir", empty.path().to_str().unwrap()][..],
            &b[..],
        ]
        .concat(),
        "holds no files",
    );
    let file = site.path().join("index.html");
    rejected(
        &[&["deploy", "--dir", file.to_str().unwrap()][..], &b[..]].concat(),
        "is not a directory",
    );
    rejected(
        &[&["deploy", "--dir", "/nonexistent/dist"][..], &b[..]].concat(),
        "dir: `/nonexistent/dist` does not exist",
    );
    rejected(&["deploy", "--dir", dir], "bucket: required");
    rejected(
        &["deploy", "--dir", dir, "--bucket", "My_Bucket"],
        "bucket: `My_Bucket` is not a valid S3 bucket name",
    );
    rejected(
        &["deploy", "--dir", dir, "--bucket", "s3://my-site"],
        "is not a valid S3 bucket name",
    );
    rejected(&deploy(&["--prefix", "a/../b"]), "prefix: `a/../b`");
    rejected(&deploy(&["--keep-releases", "0"]), "keep-releases: `0`");
    rejected(&deploy(&["--max-delete", "lots"]), "max-delete: `lots`");
    rejected(
        &deploy(&["--cache-rules", "/nonexistent/rules.yml"]),
        "cache-rules: cannot read `/nonexistent/rules.yml`",
    );
    let rules = site.path().join("rules.yml");
    std::fs::write(&rules, "- glob: 'assets/[x'\n  cache-control: no-cache\n").unwrap();
    let rules_dir = tempfile::tempdir().unwrap();
    let bad_rules = rules_dir.path().join("rules.yml");
    std::fs::rename(&rules, &bad_rules).unwrap();
    rejected(
        &deploy(&["--cache-rules", bad_rules.to_str().unwrap()]),
        "is not a valid glob",
    );
    rejected(
        &deploy(&["--distribution-id", "d1.cloudfront.net"]),
        "distribution-id: `d1.cloudfront.net` is not a CloudFront distribution id",
    );
    rejected(&deploy(&["--release-id", "a/b"]), "release-id: `a/b`");
    rejected(&deploy(&["--concurrency", "0"]), "concurrency: `0`");

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        site.path().join("leak.txt"),
    )
    .unwrap();
    rejected(&deploy(&[]), "points outside the directory");
}

#[test]
fn json_on_bad_input_has_error_and_exit_code() {
    let out = cmd()
        .args(["deploy", "--bucket", "my-site", "--json"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["exit-code"], 2);
    assert_eq!(v["error"], "dir: required");
}

#[test]
fn unreachable_endpoint_after_valid_input_is_exit_1() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "x").unwrap();
    cmd()
        .args([
            "deploy",
            "--dir",
            site.path().to_str().unwrap(),
            "--bucket",
            "my-site",
        ])
        .assert()
        .code(1)
        .stderr(contains("S3 GetObject"));
    cmd().args(["releases", "--bucket", "Bad"]).assert().code(2);
    cmd()
        .args(["rollback", "--bucket", "my-site", "--prefix", ".."])
        .assert()
        .code(2);
}

#[test]
fn deploy_help_lists_its_flags() {
    cmd()
        .args(["deploy", "--help"])
        .assert()
        .success()
        .stdout(contains("--max-delete"));
}
