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
    // A run here is a run of its own: nothing comes from the GITHUB_* variables of a run this
    // process may sit in (its sha would not be in a test's repository, its token is real).
    let sha = git_out(repo_root, &["rev-parse", "HEAD"]).unwrap_or_else(|| "0".repeat(40));
    let git_ref = git_out(repo_root, &["symbolic-ref", "-q", "HEAD"])
        .unwrap_or_else(|| "refs/heads/main".to_owned());
    let mut g: IndexMap<String, String> = [
        ("workspace", repo_root.display().to_string()),
        ("run_id", "1".to_owned()),
        ("run_number", "1".to_owned()),
        ("run_attempt", "1".to_owned()),
        ("job", String::new()),
        ("token", FAKE_TOKEN.to_owned()),
        ("repository", "gantry-actions/gantry".to_owned()),
        ("repository_owner", "gantry-actions".to_owned()),
        ("sha", sha),
        ("ref", git_ref),
        ("server_url", "https://github.com".to_owned()),
        ("api_url", "https://api.github.com".to_owned()),
        ("graphql_url", "https://api.github.com/graphql".to_owned()),
        ("actor", "gantry-act".to_owned()),
        ("triggering_actor", "gantry-act".to_owned()),
        ("event_path", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    g.insert("event_name".into(), event.to_owned());
    g.insert("workflow".into(), workflow.to_owned());
    g.extend(opts.github.clone());
    if !opts.github.contains_key("repository_owner") {
        let owner = g["repository"]
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        g.insert("repository_owner".into(), owner);
    }
    if !opts.github.contains_key("ref_name") {
        let r = g.get("ref").cloned().unwrap_or_default();
        let name = r
            .strip_prefix("refs/heads/")
            .or_else(|| r.strip_prefix("refs/tags/"))
            .unwrap_or(&r)
            .to_owned();
        g.insert("ref_name".into(), name);
    }
    if !opts.github.contains_key("ref_type") {
        let tag = g.get("ref").is_some_and(|r| r.starts_with("refs/tags/"));
        g.insert("ref_type".into(), if tag { "tag" } else { "branch" }.into());
    }
    g
}

/// The run's token: a fake (masked like a real one), unless `github.token` is given.
const FAKE_TOKEN: &str = "ghs_gantryActLocalFakeToken";

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
