//! docs/schemas/gantry.release.v1.json and the Rust validator agree: the same documents pass and
//! fail in both (the schema checked by Python's jsonschema, as any user's tool would).

use super::{fake::venv_python, release, repo_root};
use gantry_deployment::Release;
use serde_json::{Value, json};
use std::process::Command;

fn corpus() -> Vec<Value> {
    let with = |k: &str, v: Value| {
        let mut d = release(1);
        d[k] = v;
        d
    };
    let without = |k: &str| {
        let mut d = release(1);
        d.as_object_mut().unwrap().remove(k);
        d
    };
    let sha = release(1)["sha"].clone();
    vec![
        release(1),
        json!({"schema": "gantry.release/v1", "ref": "v1.2.3", "sha": sha}),
        json!({"schema": "gantry.release/v1", "ref": "main", "sha": "b".repeat(64)}),
        with("job", json!("deploy-prod")),
        with("site", json!({"bucket": "b", "release-id": "r"})),
        with(
            "image",
            json!("localhost:5000/team/app@sha256:".to_owned() + &"f".repeat(64)),
        ),
        with(
            "task-definition-arn",
            json!("arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/a_b-c:12"),
        ),
        // Invalid:
        with("schema", json!("gantry.release/v2")),
        without("schema"),
        without("ref"),
        without("sha"),
        with("sha", json!("ABCDEF".repeat(7))),
        with("sha", json!("a".repeat(41))),
        with("ref", json!("")),
        with("ref", json!("   ")),
        with("ref", json!("a\u{7}b")),
        with("ref", json!("r".repeat(256))),
        with("image", json!("app:latest")),
        with("image", json!("/app@sha256:".to_owned() + &"0".repeat(64))),
        with("image", json!("app@sha256:".to_owned() + &"0".repeat(63))),
        with(
            "task-definition-arn",
            json!("arn:aws:ecs:us-east-1:123456789012:task-definition/app:0"),
        ),
        with(
            "task-definition-arn",
            json!("arn:aws:ecs:us-east-1:123456789012:service/app"),
        ),
        with("services", json!([{"cluster": "c"}])),
        with("services", json!([{"cluster": "c", "service": ""}])),
        with(
            "services",
            json!([{"cluster": "c", "service": "s", "desired": 2}]),
        ),
        with("services", json!({"cluster": "c"})),
        with("site", json!({"bucket": "b"})),
        with("site", json!({"bucket": "b".repeat(64), "release-id": "r"})),
        with(
            "site",
            json!({"bucket": "b", "release-id": "r", "prefix": "a\nb"}),
        ),
        with("stacks", json!([{"name": "s"}])),
        with("run-url", json!("github.com/o/r")),
        with("actor", json!(7)),
        with("colour", json!("blue")),
        json!("gantry.release/v1"),
    ]
}

#[test]
fn the_json_schema_and_the_rust_validator_agree() {
    let docs = corpus();
    let rust: Vec<bool> = docs.iter().map(|d| Release::from_json(d).is_ok()).collect();
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
print(json.dumps([v.is_valid(d) for d in json.load(sys.stdin)]))
"#;
    let mut child = Command::new(venv_python())
        .args(["-c", script])
        .arg(repo_root().join("docs/schemas/gantry.release.v1.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(docs.clone()).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    for (n, d) in docs.iter().enumerate() {
        assert_eq!(
            rust[n], python[n],
            "document {n} (rust {}, schema {}): {d}",
            rust[n], python[n]
        );
    }
    assert_eq!(
        rust.iter().filter(|v| **v).count(),
        7,
        "the corpus has 7 valid documents"
    );
}
