//! The only builder of outputs, summaries and dry-run plans (docs/contracts.md, "Outputs").

use crate::api::deployments::{Deployment, NewDeployment, NewStatus};
use crate::choose::{Good, Judged};
use crate::config::StartConfig;
use crate::record::{self, Record, StatusState};
use crate::release::Release;
use gantry_kit::fmt::markdown_cell;
use gantry_kit::{Outputs, Report};
use serde_json::json;
use std::time::Duration;

/// What `start` did.
pub struct Started {
    pub deployment: Deployment,
    pub reused: bool,
    pub release: Release,
    pub description: String,
}

/// What `finish` wrote (or would write).
pub struct Finished {
    pub deployment: Deployment,
    pub release: Release,
    pub status: NewStatus,
}

/// What `mark` wrote (or would write).
pub struct Marked {
    pub deployment: Deployment,
    pub release: Release,
    pub reason: String,
    pub status: NewStatus,
}

/// The newest deployment of the environment, whatever its state: what a rollback replaces.
pub struct Current {
    pub id: Option<u64>,
    pub state: Option<StatusState>,
}

impl Current {
    pub fn of(newest: Option<&Record>) -> Self {
        Self {
            id: newest.map(|r| r.id),
            state: newest.and_then(|r| r.latest),
        }
    }
}

/// What `last-good` found.
pub struct Found {
    pub id: u64,
    pub good: Good,
    pub age: Option<Duration>,
    pub current: Current,
    pub scanned: usize,
    pub judged: Vec<Judged>,
}

fn release_outputs(o: &mut Outputs, r: &Release) {
    o.set("release", r.to_value())
        .set("ref", r.git_ref.as_str())
        .set("sha", r.sha.as_str())
        .set("image", r.image.clone().unwrap_or_default())
        .set(
            "task-definition-arn",
            r.task_definition_arn.clone().unwrap_or_default(),
        )
        .set(
            "site-bucket",
            r.site
                .as_ref()
                .map(|s| s.bucket.clone())
                .unwrap_or_default(),
        )
        .set(
            "site-prefix",
            r.site
                .as_ref()
                .map(|s| s.prefix.clone())
                .unwrap_or_default(),
        )
        .set(
            "site-release-id",
            r.site
                .as_ref()
                .map(|s| s.release_id.clone())
                .unwrap_or_default(),
        );
}

pub fn started(s: &Started) -> Report {
    let mut o = Outputs::new();
    o.set("deployment-id", s.deployment.id)
        .set("deployment-url", s.deployment.url.as_str())
        .set("environment", s.deployment.environment.as_str())
        .set("reused", s.reused)
        .set("description", s.description.as_str())
        .set("release", s.release.to_value());
    Report::new(o)
}

pub fn start_plan(
    cfg: &StartConfig,
    new: &NewDeployment,
    status: &NewStatus,
    own: Option<&Deployment>,
) -> Report {
    let mut o = Outputs::new();
    o.set("environment", cfg.environment.as_str())
        .set("reused", own.is_some())
        .set("release", cfg.release.to_value());
    if let Some(d) = own {
        o.set("deployment-id", d.id)
            .set("deployment-url", d.url.as_str());
    }
    Report {
        outputs: o,
        plan: Some(json!({
            "create-deployment": if own.is_some() { serde_json::Value::Null } else { json!(new) },
            "reuse-deployment": own.map(|d| d.id),
            "status": status,
        })),
        summary: Some("Dry run: nothing was written to GitHub.\n".into()),
    }
}

fn finish_outputs(f: &Finished) -> Outputs {
    let mut o = Outputs::new();
    o.set("deployment-id", f.deployment.id)
        .set("environment", f.deployment.environment.as_str())
        .set("state", f.status.state)
        .set(
            "environment-url",
            f.status.environment_url.clone().unwrap_or_default(),
        )
        .set("description", f.status.description.as_str());
    release_outputs(&mut o, &f.release);
    o
}

pub fn finished(f: &Finished) -> Report {
    let mut r = Report::new(finish_outputs(f));
    if f.status.state == StatusState::Success.as_str() {
        r.summary = Some(format!(
            "`{}` now runs release `{}` (deployment {}).\n",
            f.deployment.environment,
            f.release.short_sha(),
            f.deployment.id
        ));
    }
    r
}

pub fn finish_plan(f: &Finished) -> Report {
    Report {
        outputs: finish_outputs(f),
        plan: Some(json!({ "deployment-id": f.deployment.id, "status": f.status })),
        summary: Some("Dry run: nothing was written to GitHub.\n".into()),
    }
}

fn mark_outputs(m: &Marked) -> Outputs {
    let mut o = Outputs::new();
    o.set("deployment-id", m.deployment.id)
        .set("environment", m.deployment.environment.as_str())
        .set("state", m.status.state)
        .set("description", m.status.description.as_str())
        .set("sha", m.release.sha.as_str());
    o
}

pub fn marked(m: &Marked) -> Report {
    let mut r = Report::new(mark_outputs(m));
    r.summary = Some(format!(
        "Release `{}` (deployment {} in `{}`) is marked bad: {}. last-good will not offer it again.\n",
        m.release.short_sha(),
        m.deployment.id,
        m.deployment.environment,
        markdown_cell(&m.reason)
    ));
    r
}

pub fn mark_plan(m: &Marked) -> Report {
    Report {
        outputs: mark_outputs(m),
        plan: Some(json!({ "deployment-id": m.deployment.id, "status": m.status })),
        summary: Some("Dry run: nothing was written to GitHub.\n".into()),
    }
}

/// The outputs every `last-good` answer has, found or not.
pub fn current_outputs(c: &Current, scanned: usize) -> Outputs {
    let mut o = Outputs::new();
    o.set(
        "current-deployment-id",
        c.id.map(|i| i.to_string()).unwrap_or_default(),
    )
    .set(
        "current-state",
        c.state.map(StatusState::as_str).unwrap_or_default(),
    )
    .set("scanned", scanned);
    o
}

pub fn found_outputs(f: &Found) -> Outputs {
    let mut o = Outputs::new();
    o.set("deployment-id", f.id);
    release_outputs(&mut o, &f.good.release);
    o.set(
        "succeeded-at",
        f.good
            .succeeded_at
            .map(record::format_time)
            .unwrap_or_default(),
    )
    .set(
        "age-seconds",
        f.age.map(|a| a.as_secs().to_string()).unwrap_or_default(),
    );
    o.merge(&current_outputs(&f.current, f.scanned));
    o
}

/// The verdict on each deployment read (newest first, the first 20), `chosen` marked.
pub fn verdicts(judged: &[Judged], chosen: Option<u64>) -> String {
    let mut md = String::from("| deployment | verdict |\n| --- | --- |\n");
    for j in judged.iter().take(20) {
        let verdict = match &j.verdict {
            Ok(g) if Some(j.id) == chosen => format!("**chosen**: `{}`", g.release.short_sha()),
            Ok(g) => format!("good: `{}`", g.release.short_sha()),
            Err(skip) => format!("skipped: {}", skip.describe()),
        };
        md.push_str(&format!("| {} | {} |\n", j.id, markdown_cell(&verdict)));
    }
    if judged.len() > 20 {
        md.push_str(&format!("| … | {} more |\n", judged.len() - 20));
    }
    md
}

pub fn found(f: &Found) -> Report {
    Report {
        outputs: found_outputs(f),
        plan: None,
        summary: Some(verdicts(&f.judged, Some(f.id))),
    }
}

pub fn release(r: &Release) -> Report {
    let mut o = Outputs::new();
    o.set("release", r.to_value());
    Report::new(o)
}
