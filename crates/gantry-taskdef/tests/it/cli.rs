//! The binary's contract: each bad input of the interface is exit 2 with a message naming the
//! input and what would be accepted, before any call. AWS_ENDPOINT_URL points at a closed port:
//! a call would fail with exit 1, not 2.

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::{Value, json};
use std::path::PathBuf;

fn cmd() -> Command {
    Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-taskdef"),
    ))
}

fn web() -> Value {
    json!({
        "family": "web",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {"name": "app", "image": "nginx:1.27", "essential": true,
             "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "sidecar", "image": "envoyproxy/envoy:v1.31",
             "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]}
        ]
    })
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn json(&self, v: &Value) -> String {
        self.file("td.json", &v.to_string())
            .to_string_lossy()
            .into_owned()
    }
}

fn rejected(args: &[&str], says: &str) {
    let mut c = cmd();
    c.arg("register").args(args).arg("--json");
    let out = c
        .assert()
        .code(2)
        .stderr(contains(says))
        .get_output()
        .clone();
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["exit-code"], 2, "{j}");
}

#[test]
fn bad_task_definition_files_are_exit_2() {
    let d = Dir::new();
    rejected(
        &["--task-definition", "missing.json"],
        "task-definition: file `missing.json` not found",
    );
    let broken = d.file("broken.json", "{\n  \"family\": \"web\",\n  \"cpu\": \n}");
    rejected(
        &["--task-definition", broken.to_str().unwrap()],
        "is not valid JSON: expected value at line 4 column 1",
    );
    let mut typo = web();
    typo["containerDefinitions"][0]["portMapings"] = json!([]);
    rejected(
        &["--task-definition", &d.json(&typo)],
        "`containerDefinitions[0].portMapings`: unknown key `portMapings` — did you mean `portMappings`?",
    );
    let mut top = web();
    let cds = top
        .as_object_mut()
        .unwrap()
        .remove("containerDefinitions")
        .unwrap();
    top["containerDefinitons"] = cds;
    rejected(
        &["--task-definition", &d.json(&top)],
        "did you mean `containerDefinitions`?",
    );
    rejected(
        &["--task-definition", &d.json(&json!({"family": "web"}))],
        "missing required key `containerDefinitions`",
    );
    let mut dup = web();
    dup["containerDefinitions"][1]["name"] = "app".into();
    rejected(
        &["--task-definition", &d.json(&dup)],
        "container name `app` is used more than once",
    );
    let mut fam = web();
    fam["family"] = "web.prod".into();
    rejected(
        &["--task-definition", &d.json(&fam)],
        "family: family `web.prod` has characters ECS does not allow",
    );
    let mut size = web();
    size["memory"] = "4096".into();
    rejected(
        &["--task-definition", &d.json(&size)],
        "valid pairs: cpu 256: memory 512, 1024, 2048; cpu 512",
    );
    let mut unhealthy = web();
    unhealthy["containerDefinitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("healthCheck");
    rejected(
        &["--task-definition", &d.json(&unhealthy)],
        "`sidecar` waits for `app` to be HEALTHY, but `app` has no `healthCheck`",
    );
    let mut dep = web();
    dep["containerDefinitions"][1]["dependsOn"][0]["containerName"] = "ap".into();
    rejected(
        &["--task-definition", &d.json(&dep)],
        "depends on `ap`, which is not a container here",
    );
}

#[test]
fn bad_overrides_are_exit_2() {
    let d = Dir::new();
    let td = d.json(&web());
    rejected(
        &["--task-definition", &td, "--image", "web=nginx:1.27"],
        "containers there: `app`, `sidecar`",
    );
    rejected(
        &["--task-definition", &td, "--image", "app=nginx:"],
        "images: `nginx:` is not an image reference",
    );
    rejected(
        &[
            "--task-definition",
            &td,
            "--image",
            "app=Registry.Example/App",
        ],
        "is not an image reference",
    );
    rejected(
        &["--task-definition", &td, "--env-var", "app:LOG_LEVEL"],
        "env-vars: `app:LOG_LEVEL` has no `=`",
    );
    rejected(
        &["--task-definition", &td, "--secret", "app:DB=hunter2"],
        "secrets: `hunter2` (for `app:DB`) is not a Secrets Manager or SSM parameter ARN",
    );
    rejected(
        &["--task-definition", &td, "--family", "a b"],
        "family: family `a b` has characters ECS does not allow",
    );
    rejected(
        &["--task-definition", &td, "--memory", "4 GB"],
        "cpu `256` with memory `4 GB` is not a size Fargate runs",
    );
    rejected(
        &[
            "--task-definition",
            &td,
            "--env-file",
            "app:/nonexistent/env",
        ],
        "env-files: cannot read `/nonexistent/env`",
    );
    let env = d.file("web.env", "LOG_LEVEL=debug\n");
    rejected(
        &[
            "--task-definition",
            &td,
            "--env-file",
            &format!("web:{}", env.display()),
        ],
        "env-files: no container named `web` in the task definition",
    );
    rejected(
        &["--task-definition", &td, "--env-var", "web:LOG_LEVEL=debug"],
        "env-vars: no container named `web` in the task definition",
    );
}

#[test]
fn prune_keep_zero_and_a_bad_family_are_exit_2() {
    let a = cmd()
        .args(["prune", "--family", "web", "--keep", "0", "--json"])
        .assert()
        .code(2)
        .stderr(contains(
            "keep: `0` is not a number of revisions of 1 or more",
        ));
    let j: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(j["exit-code"], 2, "{j}");
    cmd()
        .args(["prune", "--family", "web.prod", "--keep", "3"])
        .assert()
        .code(2)
        .stderr(contains(
            "family: `web.prod` is not a task definition family",
        ));
}

#[test]
fn diff_takes_a_service_with_its_cluster_or_a_family() {
    let d = Dir::new();
    let td = d.json(&web());
    for args in [
        &["--cluster", "prod"][..],
        &["--service", "api"],
        &["--service", "api", "--cluster", "prod", "--family", "web"],
    ] {
        cmd()
            .args(["diff", "--task-definition", &td])
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("Usage:"));
    }
}

#[test]
fn render_writes_the_rendered_file_without_aws() {
    let d = Dir::new();
    let td = d.json(&web());
    let env = d.file("app.env", "# shared\nLOG_LEVEL=info\nREGION=eu-west-1\n");
    let out = d.0.path().join("rendered.json");
    let a = cmd()
        .args(["render", "--task-definition", &td, "--json"])
        .args(["--images", "app=registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nsidecar=envoyproxy/envoy:v1.32"])
        .args(["--env-file", &format!("app:{}", env.display())])
        .args(["--env-var", "app:LOG_LEVEL=debug"])
        .args(["--secret", "app:DB=arn:aws:ssm:eu-west-1:123456789012:parameter/db"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    let j: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(j["containers"], json!(["app", "sidecar"]));
    let rendered: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(rendered, j["task-definition"]);
    let app = &rendered["containerDefinitions"][0];
    assert!(app["image"].as_str().unwrap().contains("@sha256:0123"));
    assert_eq!(
        app["environment"],
        json!([{"name": "LOG_LEVEL", "value": "debug"}, {"name": "REGION", "value": "eu-west-1"}])
    );
    assert_eq!(app["secrets"][0]["name"], "DB");
    assert_eq!(
        rendered["containerDefinitions"][1]["image"],
        "envoyproxy/envoy:v1.32"
    );
}

#[test]
fn arn_in_environment_is_a_warning_not_an_error() {
    let d = Dir::new();
    let mut v = web();
    v["containerDefinitions"][0]["environment"] =
        json!([{"name": "DB", "value": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}]);
    cmd()
        .args(["render", "--task-definition", &d.json(&v)])
        .args(["--out", d.0.path().join("o.json").to_str().unwrap()])
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success()
        .stderr(contains("::warning title=gantry%3A task definition::container `app`: environment `DB` is an ARN"));
}

#[test]
fn describe_output_and_yaml_are_accepted() {
    let d = Dir::new();
    let mut inner = web();
    inner["taskDefinitionArn"] = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4".into();
    inner["revision"] = 4.into();
    inner["status"] = "ACTIVE".into();
    inner["registeredAt"] = 1_764_300_000.5.into();
    inner["compatibilities"] = json!(["EC2", "FARGATE"]);
    let described = d.file(
        "described.json",
        &json!({"taskDefinition": inner, "tags": [{"key": "team", "value": "web"}]}).to_string(),
    );
    let out = d.0.path().join("r.json");
    let a = cmd()
        .args([
            "render",
            "--task-definition",
            described.to_str().unwrap(),
            "--json",
        ])
        .args(["--image", "app=nginx:1.28", "--out", out.to_str().unwrap()])
        .env("GANTRY_LOG", "debug")
        .assert()
        .success()
        .stderr(contains(
            "dropped describe-only keys: taskDefinitionArn, revision, status",
        ));
    let j: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    let td = &j["task-definition"];
    assert!(td.get("registeredAt").is_none() && td.get("revision").is_none());
    assert_eq!(td["tags"], json!([{"key": "team", "value": "web"}]));
    assert_eq!(td["containerDefinitions"][0]["image"], "nginx:1.28");

    let yaml = d.file(
        "td.yaml",
        "family: web\ncontainerDefinitions:\n  - name: app\n    image: nginx:1.27\n    memory: 256\n",
    );
    cmd()
        .args([
            "render",
            "--task-definition",
            yaml.to_str().unwrap(),
            "--json",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains(r#""containers":["app"]"#));
    let bad_yaml = d.file(
        "bad.yml",
        "family: web\ncontainerDefinitions:\n  - name: [\n",
    );
    cmd()
        .args(["register", "--task-definition", bad_yaml.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains("is not valid YAML"))
        .stderr(contains("line"));
}
