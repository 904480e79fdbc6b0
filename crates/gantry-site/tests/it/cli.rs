//! The binary's contract: bad input is exit 2 with a message naming the input, and nothing is
//! called. AWS_ENDPOINT_URL points at a closed port: a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-site"),
    ))
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
    rejected(
        &deploy(&["--concurrency", "513"]),
        "concurrency: `513` is neither `auto` nor a number from 1 to 512",
    );
    rejected(&deploy(&["--concurrency", "fast"]), "concurrency: `fast`");

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
fn a_bad_toml_rules_file_is_exit_2_naming_cache_rules_and_the_line() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let rules_dir = tempfile::tempdir().unwrap();
    let rules = rules_dir.path().join("cache-rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nglob = 'assets/**'\ncache-control = 'public, max-age=31536000, immutable'\n\n[[rules]]\nglob = '**/*.html'\ncache-contrl = 'no-cache'\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let args = [
        "deploy",
        "--dir",
        site.path().to_str().unwrap(),
        "--bucket",
        "my-site",
        "--cache-rules",
        rules,
    ];
    cmd()
        .args(args)
        .assert()
        .code(2)
        .stderr(contains(format!("cache-rules: `{rules}`: ")))
        .stderr(contains("unknown field `cache-contrl`"))
        .stderr(contains("at line 7 column 1"))
        .stderr(contains("[[rules]]"));
    // The same through the environment, as the action passes it.
    cmd()
        .args(["deploy", "--bucket", "my-site"])
        .env("GANTRY_DIR", site.path())
        .env("GANTRY_CACHE_RULES", rules)
        .assert()
        .code(2)
        .stderr(contains("cache-rules:"));
    // A TOML syntax error, and a bad glob.
    std::fs::write(
        rules,
        "[[rules]]\nglob = 'assets/**'\ncache-control = no-cache\n",
    )
    .unwrap();
    cmd()
        .args(args)
        .assert()
        .code(2)
        .stderr(contains("cache-rules: "))
        .stderr(contains("at line 3"));
    std::fs::write(
        rules,
        "[[rules]]\nglob = 'assets/[x'\ncache-control = 'no-cache'\n",
    )
    .unwrap();
    cmd()
        .args(args)
        .assert()
        .code(2)
        .stderr(contains("cache-rules: "))
        .stderr(contains("`assets/[x` is not a valid glob"));
}

#[test]
fn cache_rules_files_are_toml_by_name_and_yaml_otherwise() {
    let d = tempfile::tempdir().unwrap();
    let toml_text =
        "[[rules]]\nmatch = 'docs/**'\ncache-control = 'public, max-age=300'\nimmutable = false\n";
    let yaml_text = "rules:\n  - match: 'docs/**'\n    cache-control: 'public, max-age=300'\n    immutable: false\n";
    let toml = d.path().join("rules.toml");
    let yaml = d.path().join("rules.yml");
    std::fs::write(&toml, toml_text).unwrap();
    std::fs::write(&yaml, yaml_text).unwrap();
    let from_toml = gantry_site::load_rules(toml.to_str()).unwrap();
    let from_yaml = gantry_site::load_rules(yaml.to_str()).unwrap();
    for key in ["docs/a.html", "docs/app-D_6Ay_gG.js", "index.html"] {
        assert_eq!(from_toml.headers(key), from_yaml.headers(key), "{key}");
    }
    assert_eq!(
        from_toml.headers("docs/a.html").cache_control,
        "public, max-age=300"
    );
    // TOML under a YAML name (and the reverse) is refused, not misread.
    let swapped = d.path().join("toml-rules.yml");
    std::fs::write(&swapped, toml_text).unwrap();
    let e = gantry_site::load_rules(swapped.to_str()).unwrap_err();
    assert_eq!(e.exit_code(), gantry_kit::ExitCode::InputRejected);
    assert!(e.message().starts_with("cache-rules: `"), "{}", e.message());
    let swapped = d.path().join("yaml-rules.toml");
    std::fs::write(&swapped, yaml_text).unwrap();
    let e = gantry_site::load_rules(swapped.to_str()).unwrap_err();
    assert!(e.message().starts_with("cache-rules: `"), "{}", e.message());
    assert!(e.message().contains("at line 1"), "{}", e.message());
}

#[test]
fn a_rule_header_with_a_line_break_or_non_ascii_is_exit_2_when_the_rules_load() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let dir = site.path().to_str().unwrap();
    let inline = "- glob: 'assets/**'\n  cache-control: public, max-age=60\n- glob: '**/*.html'\n  cache-control: \"no-cache\\r\\nX-Injected: 1\"\n";
    // Inline rules, through the environment as the action passes them.
    cmd()
        .args(["deploy", "--dir", dir, "--bucket", "my-site"])
        .env("GANTRY_CACHE_RULES", inline)
        .assert()
        .code(2)
        .stderr(contains(
            "cache-rules: inline rules: the rule for `**/*.html` sets `cache-control` to \"no-cache\\r\\nX-Injected: 1\": a header value cannot hold line breaks",
        ));
    let rules_dir = tempfile::tempdir().unwrap();
    let rules = rules_dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nglob = '*.txt'\ncontent-type = 'text/plain; charset=utf-8; lang=français'\n",
    )
    .unwrap();
    cmd()
        .args([
            "deploy",
            "--dir",
            dir,
            "--bucket",
            "my-site",
            "--cache-rules",
        ])
        .arg(&rules)
        .assert()
        .code(2)
        .stderr(contains("the rule for `*.txt` sets `content-type` to"))
        .stderr(contains("a header value must be ASCII"));
}

#[test]
fn a_fifo_a_socket_or_a_hard_link_out_of_dir_is_exit_2_naming_the_path() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>hi</p>").unwrap();
    let dir = site.path().to_str().unwrap();
    let args = ["deploy", "--dir", dir, "--bucket", "my-site"];
    let fifo = site.path().join("feed");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    rejected(
        &args,
        &format!(
            "dir: `{}` is a FIFO (named pipe), not a file",
            fifo.display()
        ),
    );
    std::fs::remove_file(&fifo).unwrap();
    let sock = site.path().join("app.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    rejected(&args, "app.sock` is a socket, not a file");
    drop(listener);
    std::fs::remove_file(&sock).unwrap();

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), "secret").unwrap();
    let link = site.path().join("key.txt");
    std::fs::hard_link(outside.path().join("id_rsa"), &link).unwrap();
    rejected(
        &args,
        &format!(
            "dir: `{}` is a hard link whose other link(s) lie outside the directory (2 links, 1 inside)",
            link.display()
        ),
    );
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
