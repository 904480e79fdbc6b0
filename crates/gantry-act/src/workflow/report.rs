//! The only builder of what a workflow run prints at the end: the table a person reads and the
//! `--json` object a test reads, both masked.

use serde_json::{Value as Json, json};

use super::WorkflowResult;
use crate::error::ActError;

/// The final table: jobs, results, durations, environments, then the workflow's outputs.
pub fn table(r: &WorkflowResult) -> String {
    let verdict = if r.success { "succeeded" } else { "failed" };
    let mut out = format!("gantry-act: workflow '{}' {verdict}\n", r.name);
    let width = r.jobs.iter().map(|j| j.id.len()).max().unwrap_or(3).max(3);
    let name_width = r
        .jobs
        .iter()
        .map(|j| j.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "  {:<width$}  {:<name_width$}  {:<9}  {:>8}  environment\n",
        "job", "name", "result", "duration"
    ));
    for j in &r.jobs {
        let env = match (&j.environment, &j.url) {
            (Some(e), Some(u)) => format!("{e} ({u})"),
            (Some(e), None) => e.clone(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {:<width$}  {:<name_width$}  {:<9}  {:>8}  {env}\n",
            j.id,
            j.name,
            j.result.as_str(),
            format!("{:.1}s", j.duration.as_secs_f64()),
        ));
    }
    for a in &r.approvals {
        out.push_str(&format!(
            "  approval: job '{}', environment '{}': {}\n",
            a.job,
            a.environment,
            a.decision.describe(&a.environment)
        ));
    }
    for (k, v) in &r.outputs {
        out.push_str(&format!("  output {k}={v}\n"));
    }
    r.mask(&out)
}

fn mask_json(r: &WorkflowResult, v: Json) -> Json {
    match v {
        Json::String(s) => Json::String(r.mask(&s)),
        Json::Array(items) => Json::Array(items.into_iter().map(|i| mask_json(r, i)).collect()),
        Json::Object(map) => {
            Json::Object(map.into_iter().map(|(k, v)| (k, mask_json(r, v))).collect())
        }
        other => other,
    }
}

/// The `--json` object, every string masked.
pub fn json(r: &WorkflowResult) -> Json {
    let value = serde_json::to_value(r).unwrap_or(Json::Null);
    mask_json(r, value)
}

/// The `--json` object of a run that could not start (exit 2).
pub fn error_json(e: &ActError) -> Json {
    json!({
        "success": false,
        "jobs": [],
        "outputs": {},
        "error": e.to_string(),
        "exit-code": e.exit_code(),
    })
}
