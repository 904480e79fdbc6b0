//! The contexts a run provides: the repository it belongs to, the `github` context (the
//! runner's defaults, this checkout's commit and branch, the caller's overrides) and the event
//! payload.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::WorkflowRun;
use super::inputs;
use crate::expr::Value;
use crate::runner;

/// The git top level above the workflow file, else the directory above `.github/workflows`.
pub(super) fn default_repo_root(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("."));
    let top = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    top.unwrap_or_else(|| {
        dir.ancestors()
            .nth(2)
            .filter(|_| dir.ends_with(".github/workflows"))
            .unwrap_or(dir)
            .to_owned()
    })
}

pub(super) fn git_out(dir: &Path, args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The run's `github` context as strings: the runner's defaults, this checkout's commit and
/// branch, then the caller's overrides.
pub(super) fn github_base(
    opts: &WorkflowRun,
    repo_root: &Path,
    event: &str,
    workflow: &str,
) -> IndexMap<String, String> {
    let mut g = runner::github_defaults(repo_root);
    let env_set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    if !env_set("GITHUB_SHA")
        && let Some(sha) = git_out(repo_root, &["rev-parse", "HEAD"])
    {
        g.insert("sha".into(), sha);
    }
    if !env_set("GITHUB_REF")
        && let Some(r) = git_out(repo_root, &["symbolic-ref", "-q", "HEAD"])
    {
        g.insert("ref".into(), r);
    }
    g.insert("event_name".into(), event.to_owned());
    g.insert("workflow".into(), workflow.to_owned());
    g.extend(opts.github.clone());
    if !opts.github.contains_key("ref_name") {
        let r = g.get("ref").cloned().unwrap_or_default();
        let name = r
            .strip_prefix("refs/heads/")
            .or_else(|| r.strip_prefix("refs/tags/"))
            .unwrap_or(&r)
            .to_owned();
        g.insert("ref_name".into(), name);
        let kind = if r.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        };
        g.insert("ref_type".into(), kind.into());
    }
    g
}

/// The event payload (`github.event`, `GITHUB_EVENT_PATH`): the fields our workflows read.
pub(super) fn event_payload(
    event: &str,
    github: &IndexMap<String, String>,
    inputs: &IndexMap<String, Json>,
    file: &Path,
    repo_root: &Path,
) -> Json {
    let g = |k: &str| github.get(k).cloned().unwrap_or_default();
    let repo = g("repository");
    let repository = json!({
        "full_name": repo,
        "name": repo.split('/').nth(1).unwrap_or_default(),
        "owner": {"login": g("repository_owner")},
        "default_branch": "main",
    });
    let sender = json!({"login": g("actor")});
    let workflow = file
        .strip_prefix(repo_root)
        .unwrap_or(file)
        .display()
        .to_string();
    match event {
        "workflow_dispatch" => json!({
            "inputs": inputs::as_event_strings(inputs),
            "ref": g("ref"),
            "repository": repository,
            "sender": sender,
            "workflow": workflow,
        }),
        "push" => json!({
            "ref": g("ref"),
            "before": "0".repeat(40),
            "after": g("sha"),
            "repository": repository,
            "sender": sender,
            "head_commit": {"id": g("sha")},
        }),
        "pull_request" => json!({
            "action": "opened",
            "number": 1,
            "pull_request": {
                "number": 1,
                "head": {"ref": g("ref_name"), "sha": g("sha")},
                "base": {"ref": "main"},
            },
            "repository": repository,
            "sender": sender,
        }),
        _ => json!({"inputs": inputs, "repository": repository, "sender": sender}),
    }
}

/// The `github` context as a value, with the event payload.
pub(super) fn github_value(github: &IndexMap<String, String>, event: &Json) -> Value {
    let mut map: IndexMap<String, Value> = github
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    map.insert("event".into(), Value::from_json(event));
    Value::Object(Rc::new(map))
}

pub(super) fn json_map(map: &IndexMap<String, Json>) -> Value {
    Value::from_json(&Json::Object(
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    ))
}
