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

/// `web` for EC2: no Fargate size table to catch a bad cpu or memory first.
fn ec2() -> Value {
    let mut v = web();
    let o = v.as_object_mut().unwrap();
    o.remove("requiresCompatibilities");
    o.remove("networkMode");
    v
}

#[test]
fn what_aws_refuses_at_register_time_is_refused_before_any_call() {
    let d = Dir::new();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ec2();
        f(&mut v);
        d.json(&v)
    };
    let td = with(&|v| v["containerDefinitions"][0]["memory"] = 0.into());
    rejected(
        &["--task-definition", &td],
        "`containerDefinitions[0].memory` (`app`): 0 MiB is less than the 6 MiB a container needs",
    );
    let td = with(&|v| {
        v["containerDefinitions"][0]["memory"] = 256.into();
        v["containerDefinitions"][0]["memoryReservation"] = 512.into();
    });
    rejected(
        &["--task-definition", &td],
        "memory 256 MiB is not above memoryReservation 512 MiB",
    );
    let td = with(&|v| v["cpu"] = "abc".into());
    rejected(
        &["--task-definition", &td],
        "task-definition: `cpu`: `abc` is not CPU units or vCPUs",
    );
    let td = with(&|v| v["memory"] = "-1".into());
    rejected(
        &["--task-definition", &td],
        "task-definition: `memory`: `-1` is not an amount of MiB or GB",
    );
    let td = with(&|v| {
        v["tags"] = (0..51)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect();
    });
    rejected(
        &["--task-definition", &td],
        "`tags`: 51 items; at most 50 allowed",
    );
    let td = with(&|v| v["taskRoleArn"] = "not-an-arn".into());
    rejected(
        &["--task-definition", &td],
        "task-definition: `taskRoleArn`: `not-an-arn` is not an IAM role ARN",
    );
    let td = with(&|v| v["family"] = "w".repeat(256).into());
    rejected(
        &["--task-definition", &td],
        "family: family is 256 characters long; ECS allows at most 255",
    );
    let td = d.json(&web());
    rejected(
        &["--task-definition", &td, "--task-role-arn", "not-an-arn"],
        "task-role-arn: `not-an-arn` is not an IAM role ARN",
    );
    rejected(
        &["--task-definition", &td, "--cpu", "abc"],
        "cpu: `abc` is not CPU units or vCPUs",
    );
    // 50 tags are fine: the file is registered (the closed endpoint makes that exit 1).
    let fifty = with(&|v| {
        v["tags"] = (0..50)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect();
        v["taskRoleArn"] = "arn:aws:iam::123456789012:role/app/web-task".into();
        v["containerDefinitions"][0]["memory"] = 512.into();
    });
    cmd()
        .args(["register", "--task-definition", &fifty])
        .assert()
        .code(1);
}

#[test]
fn a_task_definition_that_is_no_file_is_named_for_what_it_is() {
    rejected(
        &["--task-definition", "/dev/null"],
        "task-definition: `/dev/null` is a character device, not a regular file",
    );
    rejected(
        &["--task-definition", &"w".repeat(256)],
        "task-definition: family is 256 characters long; ECS allows at most 255",
    );
}

#[test]
fn a_task_definition_path_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStringExt;
    let bad = std::ffi::OsString::from_vec(b"td-\xff.json".to_vec());
    cmd()
        .arg("register")
        .arg("--task-definition")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains(
            "--task-definition: `td-\u{fffd}.json` is not valid UTF-8",
        ));
    cmd()
        .arg("register")
        .env("GANTRY_TASK_DEFINITION", &bad)
        .assert()
        .code(2)
        .stderr(contains(
            "GANTRY_TASK_DEFINITION: `td-\u{fffd}.json` is not valid UTF-8",
        ));
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
    rejected(
        &["--task-definition", &td, "--env-file", "app:/dev/zero"],
        "env-files: cannot read `/dev/zero`: it is larger than 64.0 KiB",
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
            "family: family `web.prod` has characters ECS does not allow (`.`)",
        ));
    cmd()
        .args(["prune", "--keep", "3", "--family", &"w".repeat(256)])
        .assert()
        .code(2)
        .stderr(contains(
            "family: family is 256 characters long; ECS allows at most 255",
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

/// `render --json` of `web` with a secret-ish env value, `RUNNER_TEMP` as given, the temp dir
/// `tmp`; returns the rendered file.
fn render_in(tmp: &std::path::Path, runner_temp: Option<&std::path::Path>) -> PathBuf {
    let d = Dir::new();
    let td = d.json(&web());
    let mut c = cmd();
    c.args(["render", "--task-definition", &td, "--json"])
        .args(["--env-var", "app:API_TOKEN=hunter2"])
        .env("TMPDIR", tmp)
        .env_remove("RUNNER_TEMP");
    if let Some(r) = runner_temp {
        c.env("RUNNER_TEMP", r);
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(j["rendered-file"].as_str().unwrap())
}

fn assert_private_file(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is a regular file",
        path.display()
    );
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "{}",
        path.display()
    );
    assert!(std::fs::read_to_string(path).unwrap().contains("hunter2"));
}

#[test]
fn the_rendered_file_is_private_and_never_written_through_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    // The name the temp dir used to get: another user of a shared /tmp could plant a link there.
    let planted = tmp.path().join("gantry-taskdef-web.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let first = render_in(tmp.path(), None);
    let second = render_in(tmp.path(), None);
    assert!(first.starts_with(tmp.path()), "{}", first.display());
    assert_ne!(first, planted);
    assert_ne!(first, second, "a fresh name each run");
    assert_private_file(&first);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");

    // In the job's RUNNER_TEMP the name is fixed; a link there is replaced, not followed.
    let job = tempfile::tempdir().unwrap();
    let planted = job.path().join("gantry-taskdef-web.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    assert_eq!(render_in(tmp.path(), Some(job.path())), planted);
    assert_private_file(&planted);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}
