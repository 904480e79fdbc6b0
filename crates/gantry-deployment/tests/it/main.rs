//! gantry-deployment integration tests: the binary's bad-input contract (offline), every
//! subcommand against the fake GitHub that `scripts/local-aws up` starts (the env from
//! `scripts/local-aws env`), the fake's own shapes against GitHub's descriptions, and the
//! release schema against the Rust validator.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap is a failed test

mod cli;
mod fake;
mod github;
mod schema;

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

pub const TOKEN: &str = "ghs_Gantry7estT0kenNeverPrinted";

/// The repository root: from the crate directory cargo (or nextest) gives the test process,
/// not the one compiled in, which is another checkout's when a shared target dir kept its build
/// (docs/development.md, "Builds on small machines").
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..")
}

/// The binary, isolated from the caller's GANTRY_*, GITHUB_* and AWS_* variables.
pub fn offline() -> assert_cmd::Command {
    assert_cmd::Command::from_std(gantry_kit::testing::offline_command(
        assert_cmd::cargo::cargo_bin("gantry-deployment"),
    ))
}

/// A release document for commit number `n`.
pub fn release(n: u32) -> Value {
    json!({
        "schema": "gantry.release/v1",
        "ref": "main",
        "sha": format!("{n:040x}"),
        "image": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{n:064x}"),
        "task-definition-arn": format!("arn:aws:ecs:us-east-1:123456789012:task-definition/app:{}", n + 1),
        "services": [{"cluster": "main", "service": "web"}],
        "site": {"bucket": "app-site", "prefix": "", "release-id": format!("r{n}")},
        "stacks": [],
        "run-url": "https://github.com/octo-org/web-app/actions/runs/1",
        "actor": "octocat"
    })
}

/// What a run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The `--json` object.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "exit {}\nstderr:\n{}", self.code, self.stderr);
        self
    }
}

/// One test's repository on the fake GitHub: its own state, faults and request log.
pub struct Fake {
    pub url: String,
    pub owner: String,
    pub name: String,
}

impl Fake {
    pub fn new(test: &str) -> Self {
        let url = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| {
                panic!(
                    "GITHUB_API_URL is not the local fake GitHub: run through `make test`, or \
                     `eval \"$(scripts/local-aws env)\"` after `scripts/local-aws up`"
                )
            });
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            url,
            owner: "gantry-it".into(),
            name: format!("{test}-{}-{nanos}", std::process::id()),
        }
    }

    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The binary pointed at the fake, with a token and this repository.
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = offline();
        c.args(args)
            .env("GITHUB_API_URL", &self.url)
            .env("GITHUB_GRAPHQL_URL", format!("{}/graphql", self.url))
            .env("GANTRY_GITHUB_TOKEN", TOKEN)
            .env("GANTRY_REPOSITORY", self.repository())
            .env("GANTRY_JSON", "true");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.cmd(args).output().unwrap())
    }

    /// Runs as a job of workflow run `run_id` would.
    pub fn run_in_job(&self, args: &[&str], run_id: &str, job: &str, attempt: &str) -> Run {
        let mut c = self.cmd(args);
        c.env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", self.repository())
            .env("GITHUB_RUN_ID", run_id)
            .env("GITHUB_RUN_ATTEMPT", attempt)
            .env("GITHUB_JOB", job)
            .env("GITHUB_ACTOR", "octocat");
        Run::of(c.output().unwrap())
    }

    /// `start` then `finish --state success`; returns the deployment id.
    pub fn deploy(&self, environment: &str, n: u32) -> u64 {
        let r = release(n).to_string();
        let id = self
            .run(&["start", "--environment", environment, "--release", &r])
            .ok()
            .json()["deployment-id"]
            .as_u64()
            .unwrap();
        self.run(&[
            "finish",
            "--deployment-id",
            &id.to_string(),
            "--state",
            "success",
        ])
        .ok();
        id
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.name)
    }

    /// A REST call as another tool would make it.
    pub fn api(&self, method: &str, rest: &str, body: Option<&Value>) -> (u16, Value) {
        http(&self.url, method, &self.path(rest), body, true)
    }

    /// A deployment made by another tool (any payload), set to `state`.
    pub fn foreign_deployment(&self, environment: &str, payload: Value, state: &str) -> u64 {
        let (s, d) = self.api(
            "POST",
            "/deployments",
            Some(&json!({"ref": "main", "environment": environment, "payload": payload, "required_contexts": []})),
        );
        assert_eq!(s, 201, "{d}");
        let id = d["id"].as_u64().unwrap();
        let (s, b) = self.api(
            "POST",
            &format!("/deployments/{id}/statuses"),
            Some(&json!({"state": state})),
        );
        assert_eq!(s, 201, "{b}");
        id
    }

    /// The states of a deployment's statuses, newest first.
    pub fn states(&self, id: u64) -> Vec<String> {
        let (s, list) = self.api("GET", &format!("/deployments/{id}/statuses"), None);
        assert_eq!(s, 200, "{list}");
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn statuses(&self, id: u64) -> Vec<Value> {
        self.api("GET", &format!("/deployments/{id}/statuses"), None)
            .1
            .as_array()
            .unwrap()
            .clone()
    }

    fn control(&self, what: &str, body: Value) {
        let path = format!("/_fake/repos/{}/{}/{what}", self.owner, self.name);
        let (s, b) = http(&self.url, "POST", &path, Some(&body), false);
        assert_eq!(s, 200, "{b}");
    }

    pub fn fault(&self, fault: Value) {
        self.control("faults", fault);
    }

    pub fn settings(&self, settings: Value) {
        self.control("settings", settings);
    }

    /// `(method, path, status)` of every request the fake got for this repository.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        let path = format!("/_fake/repos/{}/{}/requests", self.owner, self.name);
        let (_, b) = http(&self.url, "GET", &path, None, false);
        b.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                    r["status"].as_u64().unwrap() as u16,
                )
            })
            .collect()
    }
}

/// A minimal HTTP/1.1 client for the fake on 127.0.0.1 (one request a connection).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    auth: bool,
) -> (u16, Value) {
    let host = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).unwrap();
    let data = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        data.len()
    );
    if auth {
        req.push_str("Authorization: Bearer other-tool-token\r\n");
    }
    req.push_str("\r\n");
    req.push_str(&data);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
