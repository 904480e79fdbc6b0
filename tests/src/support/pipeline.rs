//! The pipeline's world, shared by its end-to-end tests and `make demo`: a caller repository made
//! from `examples/caller` (with `examples/image/rootfs` as its app and `examples/frontend` as its
//! frontend), one environment per name in local AWS (`scripts/moto-fixture.py environment`), the
//! settings GitHub would hold (a vars file for gantry-act), and runs of its workflows through
//! gantry-act's workflow mode against the local GitHub API (docs/workflows.md).

use crate::{bin, image_registry, moto_fixture, repo_root, site_copy_dir, unique_name};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// gantry's repository as callers name it in `uses:` (mapped to this checkout).
pub const GANTRY: &str = "gantry-actions/gantry";

/// The commit examples/caller pins gantry at: a placeholder until a user puts their release's
/// there (docs/workflows.md, "Decisions"). The tests map it to this checkout's working tree.
pub const PINNED: &str = "0000000000000000000000000000000000000000";

/// One environment as `scripts/moto-fixture.py environment` made it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Environment {
    pub cluster: String,
    pub service: String,
    pub family: String,
    pub baseline: String,
    pub alarms: Vec<String>,
    pub repository: String,
    pub bucket: String,
    pub distribution_id: String,
    pub site_url: String,
    pub stacks: Vec<String>,
}

/// A caller repository with its environments.
pub struct Caller {
    pub dir: tempfile::TempDir,
    /// `OWNER/NAME` in the local GitHub (unique, so records never mix between runs).
    pub repository: String,
    /// The environment files' `Project` (the stacks are `PROJECT-ENV-LAYER`).
    pub project: String,
    pub environments: BTreeMap<String, Environment>,
    pub vars_file: PathBuf,
    runs: std::cell::Cell<u64>,
}

/// `GITHUB_API_URL` or `GITHUB_GRAPHQL_URL` as `scripts/local-aws env` exports them: the local
/// GitHub on 127.0.0.1, never GitHub itself.
fn local_github(var: &str) -> String {
    let url = std::env::var(var).unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{var} is not the local GitHub ({url:?}): `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
    );
    url
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=gantry",
            "-c",
            "user.email=gantry@example.com",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Caller {
    /// Copies examples/caller and the example app into a fresh git repository and makes each
    /// environment. `env_vars` adds variables per environment (e.g. `("prod", "BAKE_TIME", "20s")`)
    /// over the defaults: the local region, a deploy role, the local registry, a 1 s bake and poll.
    pub fn new(prefix: &str, names: &[&str], env_vars: &[(&str, &str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let examples = repo_root().join("examples");
        site_copy_dir(&examples.join("caller"), root).expect("copy examples/caller");
        site_copy_dir(&examples.join("image/rootfs"), &root.join("app/rootfs")).expect("copy app");
        site_copy_dir(&examples.join("frontend"), &root.join("frontend")).expect("copy frontend");
        let project = unique_name("p").replace('-', "");
        let project = project[..project.len().min(20)].to_owned();
        let envs_dir = root.join("infra/environments");
        let mut environments = BTreeMap::new();
        for env in names {
            let name = unique_name(&format!("{prefix}-{env}"));
            let e: Environment = moto_fixture(&[
                "environment",
                "--name",
                &name,
                "--project",
                &project,
                "--environment",
                env,
                "--environments-dir",
                &envs_dir.to_string_lossy(),
            ]);
            environments.insert((*env).to_owned(), e);
        }
        let mut settings = serde_json::json!({
            "vars": {"STAGING_SOAK_TIME": "0", "PROD_SOAK_TIME": "0"},
            "environments": {},
        });
        for env in names {
            let mut vars = serde_json::json!({
                "AWS_REGION": "us-east-1",
                "DEPLOY_ROLE_ARN": format!("arn:aws:iam::123456789012:role/{project}-{env}-github-deploy"),
                "REGISTRY": image_registry(),
                "BAKE_TIME": "1s",
                "POLL_INTERVAL": "1s",
            });
            for (e, k, v) in env_vars {
                if e == env {
                    vars[*k] = Value::from(*v);
                }
            }
            settings["environments"][*env] = serde_json::json!({ "vars": vars });
        }
        let vars_file = root.join(".git-settings.json");
        std::fs::write(&vars_file, settings.to_string()).expect("vars file");
        std::fs::write(root.join(".gitignore"), ".git-settings.json\n").expect(".gitignore");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "the application"]);
        Self {
            repository: format!("gantry-e2e/{}", unique_name(prefix)),
            project,
            environments,
            vars_file,
            dir,
            runs: std::cell::Cell::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The environment's fixture.
    pub fn env(&self, name: &str) -> &Environment {
        &self.environments[name]
    }

    /// The commit the caller's `main` is on.
    pub fn head(&self) -> String {
        git(self.path(), &["rev-parse", "HEAD"])
    }

    /// Writes `rel` and commits it: a new release. Returns the new commit.
    pub fn change(&self, rel: &str, contents: &str, message: &str) -> String {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, contents).expect("write");
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", message]);
        self.head()
    }

    /// A run of `.github/workflows/FILE` of the caller at its head: gantry mapped to this
    /// checkout, GitHub's settings from the vars file, a run id of its own (each run is a new
    /// workflow run; use [`Caller::rerun`] for "Re-run failed jobs").
    pub fn workflow(&self, file: &str) -> gantry_act::WorkflowRun {
        self.runs.set(self.runs.get() + 1);
        let run_id = format!("{}{:03}", std::process::id(), self.runs.get());
        self.rerun(file, &run_id, 1)
    }

    /// The same workflow run again: `run_id` kept, `run_attempt` given. The `github` context's
    /// API URLs are the local GitHub's (`scripts/local-aws env`): in workflow mode gantry-act
    /// takes nothing from the process's `GITHUB_*` variables (docs/act.md).
    pub fn rerun(&self, file: &str, run_id: &str, attempt: u32) -> gantry_act::WorkflowRun {
        let api = local_github("GITHUB_API_URL");
        let graphql = local_github("GITHUB_GRAPHQL_URL");
        // Steps inherit this process's environment: without it, actions/setup would build gantry
        // from source inside every job.
        assert!(
            std::env::var_os("GANTRY_BIN_DIR").is_some_and(|d| !d.is_empty()),
            "GANTRY_BIN_DIR is not set: run through `make test`/`make demo`, or export it (the target dir's debug/)"
        );
        gantry_act::WorkflowRun::new(self.path().join(".github/workflows").join(file))
            .repo_root(self.path())
            .repo(format!("{GANTRY}@{PINNED}"), repo_root())
            .vars_file(&self.vars_file)
            .github("repository", &self.repository)
            .github(
                "repository_owner",
                self.repository.split('/').next().unwrap_or_default(),
            )
            .github("sha", self.head())
            .github("ref", "refs/heads/main")
            .github("run_id", run_id)
            .github("run_attempt", attempt.to_string())
            .github("actor", "octocat")
            .github("token", "ghs_local-test-token")
            .github("api_url", api)
            .github("graphql_url", graphql)
    }

    /// `gantry-deployment last-good --environment ENV --json` against the local GitHub: the
    /// outputs when a good release exists, `None` when there is none (exit 1).
    pub fn last_good(&self, env: &str) -> Option<Value> {
        let out = Command::new(bin("gantry-deployment"))
            .args(["last-good", "--environment", env, "--json"])
            .env("GANTRY_REPOSITORY", &self.repository)
            .env("GANTRY_GITHUB_TOKEN", "ghs_local-test-token")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .expect("gantry-deployment");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "gantry-deployment last-good printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        match out.status.code() {
            Some(0) => Some(json),
            Some(1) => None,
            c => panic!("gantry-deployment last-good exit {c:?}: {json}"),
        }
    }

    /// Every deployment of `env` in the local GitHub (newest first), each with its `statuses`.
    pub async fn records(&self, env: &str) -> Vec<Value> {
        let api = local_github("GITHUB_API_URL");
        let client = reqwest::Client::new();
        let get = |url: String| {
            let req = client
                .get(url)
                .header("Authorization", "Bearer ghs_local-test-token")
                .header("User-Agent", "gantry-tests");
            async move {
                req.send()
                    .await
                    .expect("local GitHub answers")
                    .json::<Value>()
                    .await
                    .expect("JSON")
            }
        };
        let list = get(format!(
            "{api}/repos/{}/deployments?environment={env}&per_page=100",
            self.repository
        ))
        .await;
        let mut out = Vec::new();
        for mut d in list.as_array().cloned().unwrap_or_default() {
            let id = d["id"].as_u64().unwrap_or_default();
            d["statuses"] = get(format!(
                "{api}/repos/{}/deployments/{id}/statuses?per_page=100",
                self.repository
            ))
            .await;
            out.push(d);
        }
        out
    }
}

/// The ECS service's current task definition.
pub async fn running(ecs: &aws_sdk_ecs::Client, e: &Environment) -> String {
    ecs.describe_services()
        .cluster(&e.cluster)
        .services(&e.service)
        .send()
        .await
        .expect("DescribeServices")
        .services()
        .first()
        .and_then(|s| s.task_definition())
        .unwrap_or_default()
        .to_owned()
}

/// Whether the ECS service's newest deployment runs `task_definition` and has COMPLETED.
pub async fn completed(ecs: &aws_sdk_ecs::Client, e: &Environment, task_definition: &str) -> bool {
    let s = ecs
        .describe_services()
        .cluster(&e.cluster)
        .services(&e.service)
        .send()
        .await
        .expect("DescribeServices");
    s.services().first().is_some_and(|s| {
        s.deployments().first().is_some_and(|d| {
            d.task_definition() == Some(task_definition)
                && d.rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
        })
    })
}

/// The environment's live `index.html`, read from its bucket.
pub async fn index_html(s3: &aws_sdk_s3::Client, e: &Environment) -> Option<String> {
    crate::site_object(s3, &e.bucket, "index.html").await
}

/// Task definition revisions registered in the environment's family.
pub async fn revisions(ecs: &aws_sdk_ecs::Client, e: &Environment) -> usize {
    ecs.list_task_definitions()
        .family_prefix(&e.family)
        .send()
        .await
        .expect("ListTaskDefinitions")
        .task_definition_arns()
        .len()
}

/// The tags of the environment's repository in the local registry (`GANTRY_TEST_REGISTRY`, the
/// environments' var `REGISTRY`): where the pipeline pushes and promotes images. Empty when the
/// repository does not exist there (the registry's `NAME_UNKNOWN`).
pub async fn registry_tags(e: &Environment) -> Vec<String> {
    let url = format!("{}/v2/{}/tags/list", image_registry(), e.repository);
    let resp = reqwest::get(&url)
        .await
        .expect("the local registry answers");
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Vec::new();
    }
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    let body: Value = resp.json().await.expect("JSON");
    body["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Sets a guard alarm's state (the CloudWatch shim of scripts/moto-launcher.py).
pub async fn set_alarm(cw: &aws_sdk_cloudwatch::Client, alarm: &str, alarm_on: bool) {
    use aws_sdk_cloudwatch::types::StateValue;
    cw.set_alarm_state()
        .alarm_name(alarm)
        .state_value(if alarm_on {
            StateValue::Alarm
        } else {
            StateValue::Ok
        })
        .state_reason(if alarm_on {
            "Threshold Crossed: 1 datapoint [37.0] was greater than the threshold (5.0)."
        } else {
            "healthy"
        })
        .send()
        .await
        .expect("SetAlarmState");
}

/// A job's step outputs and annotations, for assertion messages.
pub fn explain(r: &gantry_act::workflow::WorkflowResult) -> String {
    let jobs: Vec<String> = r
        .jobs
        .iter()
        .map(|j| format!("{}: {:?} {:?}", j.id, j.result, j.outputs))
        .collect();
    let notes: Vec<String> = r.annotations.iter().map(|a| a.message.clone()).collect();
    format!("jobs {jobs:#?}\nannotations {notes:#?}")
}
