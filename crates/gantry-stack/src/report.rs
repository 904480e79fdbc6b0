//! The only builder of outputs, summaries and the PR comment body. Every command ends here.

use crate::aws::cloudformation::StackInfo;
use crate::changes::flatten;
use crate::commands::apply::Applied;
use crate::commands::plan::{Outcome, Planned};
use crate::comment;
use crate::config::EnvironmentInfo;
use crate::diff::changes_markdown;
use crate::events::Finish;
use crate::gate::{self, Allow, Destruction};
use crate::plan::plan_digest;
use gantry_kit::fmt::markdown_cell;
use gantry_kit::{Error, Outputs, Report};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Largest `summary` output; a larger summary is cut there and is whole in `summary-file`.
const MAX_SUMMARY_OUTPUT: usize = 60_000;

/// Counts over a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    stacks: usize,
    changing: usize,
    changes: usize,
    replacements: usize,
    refused: usize,
}

fn tally(planned: &[Planned], refused: usize) -> Tally {
    Tally {
        stacks: planned.len(),
        changing: planned.iter().filter(|p| p.has_changes()).count(),
        changes: planned.iter().map(|p| flatten(changes_of(p)).len()).sum(),
        replacements: planned.iter().map(|p| p.replacements.len()).sum(),
        refused,
    }
}

fn changes_of(p: &Planned) -> &[crate::changes::ResourceChange] {
    match &p.outcome {
        Outcome::Changes { changes, .. } | Outcome::Recreate { changes } => changes,
        Outcome::NoChanges | Outcome::Blocked { .. } => &[],
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one line that says what a plan does (never cut from a comment).
fn summary_line(t: Tally) -> String {
    let mut s = format!(
        "**{} of {} change** · {} · {}",
        t.changing,
        plural(t.stacks, "stack", "stacks"),
        plural(t.changes, "resource change", "resource changes"),
        plural(t.replacements, "replacement", "replacements"),
    );
    if t.refused > 0 {
        s.push_str(&format!(
            " · **{} refused by the gate**",
            plural(t.refused, "destruction", "destructions")
        ));
    }
    s
}

fn plan_word(p: &Planned) -> String {
    match &p.outcome {
        Outcome::Changes { kind, changes, .. } if changes.is_empty() => {
            format!("{} (outputs or metadata only)", kind.as_str())
        }
        Outcome::Changes { kind, .. } => kind.as_str().to_owned(),
        Outcome::NoChanges => "no changes".to_owned(),
        Outcome::Recreate { .. } => "will be deleted and re-created (replace-failed)".to_owned(),
        Outcome::Blocked { missing } => format!("waits for {}", missing.join(", ")),
    }
}

/// The markdown of one stack's plan: heading, changes, gate findings.
pub fn stack_section(p: &Planned) -> String {
    let region = p
        .region
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let mut s = format!("#### `{}`{region} — {}\n\n", p.stack, plan_word(p));
    if let Some(line) = p
        .task_definition
        .as_ref()
        .and_then(crate::running::Keep::describe)
    {
        s.push_str(&format!("{line}\n\n"));
    }
    match &p.outcome {
        Outcome::NoChanges => return s,
        Outcome::Blocked { missing } => {
            s.push_str(&format!(
                "Not planned: {} {} come from an earlier stack that is not deployed yet. Plan again after applying it.\n\n",
                plural(missing.len(), "parameter", "parameters"),
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ));
            return s;
        }
        Outcome::Recreate { .. } => s.push_str(
            "The stack is ROLLBACK_COMPLETE (its first create failed). `apply --replace-failed` deletes it and creates these resources:\n\n",
        ),
        Outcome::Changes { .. } => {}
    }
    let md = changes_markdown(changes_of(p), &p.masking);
    if md.is_empty() {
        s.push_str("No resource changes (outputs, metadata or parameters only).\n\n");
    } else {
        s.push_str(&md);
        s.push('\n');
    }
    for d in &p.destructions {
        s.push_str(&format!("- ⚠ {}\n", d.describe()));
    }
    if !p.destructions.is_empty() {
        s.push('\n');
    }
    s
}

/// Prints one stack's plan to the log (deploy shows the diff before applying).
pub fn print_stack_plan(p: &Planned) {
    for line in stack_section(p).lines() {
        tracing::info!("{line}");
    }
}

/// The full plan markdown: title, summary line, per-stack sections.
fn plan_markdown(title: &str, planned: &[Planned], refused: &[&Destruction]) -> (String, String) {
    let line = summary_line(tally(planned, refused.len()));
    let mut detail = String::new();
    if !refused.is_empty() {
        detail.push_str("**Refused** — stateful resources would be destroyed; list them in `allow-replacement` if that is intended:\n\n");
        for d in refused {
            detail.push_str(&format!("- {}\n", d.describe()));
        }
        detail.push('\n');
    }
    for p in planned {
        detail.push_str(&stack_section(p));
    }
    (format!("### {title}\n\n{line}\n\n"), detail)
}

fn change_set_ids(planned: &[Planned]) -> Value {
    let mut m = Map::new();
    for p in planned {
        match &p.outcome {
            Outcome::Changes { change_set_id, .. } => {
                m.insert(p.stack.clone(), Value::String(change_set_id.clone()));
            }
            Outcome::Recreate { .. } => {
                m.insert(p.stack.clone(), Value::Null);
            }
            Outcome::NoChanges | Outcome::Blocked { .. } => {}
        }
    }
    Value::Object(m)
}

fn digest_of(planned: &[Planned]) -> String {
    plan_digest(
        planned
            .iter()
            .filter(|p| {
                matches!(
                    p.outcome,
                    Outcome::Changes { .. } | Outcome::Recreate { .. }
                )
            })
            .map(|p| (p.stack.as_str(), p.digest.as_str())),
    )
}

fn statuses(planned: &[Planned], applied: &[Applied]) -> Value {
    let mut m = Map::new();
    for p in planned {
        m.insert(p.stack.clone(), Value::String(plan_word(p)));
    }
    for a in applied {
        m.insert(a.stack.clone(), Value::String(a.status.clone()));
    }
    Value::Object(m)
}

/// `stack-outputs`: one flat object over the stacks in order (a later stack's output of the
/// same name wins), as later stacks' parameters see them.
fn flat_outputs<'a>(all: impl IntoIterator<Item = &'a IndexMap<String, String>>) -> Value {
    let mut m = Map::new();
    for outputs in all {
        for (k, v) in outputs {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
    Value::Object(m)
}

/// Writes the whole markdown to a file (for summaries too large for an output) and sets
/// `summary` (cut at [`MAX_SUMMARY_OUTPUT`]) and `summary-file`.
fn set_summary(o: &mut Outputs, markdown: &str) {
    let dir = std::env::var_os("RUNNER_TEMP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("gantry-stack-summary-{}.md", std::process::id()));
    let file = match std::fs::write(&path, markdown) {
        Ok(()) => path.display().to_string(),
        Err(e) => {
            tracing::warn!("could not write {}: {e}", path.display());
            String::new()
        }
    };
    o.set_unlisted(
        "summary",
        cut(
            markdown,
            MAX_SUMMARY_OUTPUT,
            "\n\n… (cut; the whole summary is in `summary-file`)\n",
        ),
    );
    o.set("summary-file", file);
}

/// `s` cut to at most `max` bytes on a char boundary, with `note` appended when cut.
pub fn cut(s: &str, max: usize, note: &str) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub(note.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &s[..end])
}

fn plan_outputs(planned: &[Planned], markdown: &str, reason: &str, comment_url: &str) -> Outputs {
    let t = tally(planned, 0);
    let mut o = Outputs::new();
    o.set("has-changes", t.changing > 0)
        .set("changes-count", t.changes)
        .set_list(
            "replacements",
            planned
                .iter()
                .flat_map(|p| p.replacements.iter().map(|r| format!("{}/{r}", p.stack))),
        )
        .set("change-set-ids", change_set_ids(planned))
        .set("template-digest", digest_of(planned));
    set_summary(&mut o, markdown);
    o.set("stack-outputs", Value::Object(Map::new()))
        .set("status", statuses(planned, &[]))
        .set("reason", reason)
        .set("comment-url", comment_url);
    o
}

fn plan_title(env: Option<&EnvironmentInfo>) -> String {
    match env {
        Some(e) => format!("CloudFormation plan — {}", e.name),
        None => "CloudFormation plan".to_owned(),
    }
}

fn refused_of<'a>(
    planned: &[Planned],
    allow: &Allow,
    all: &'a mut Vec<Destruction>,
) -> Vec<&'a Destruction> {
    *all = planned
        .iter()
        .flat_map(|p| p.destructions.iter().cloned())
        .collect();
    gate::refused(all, allow)
}

/// The sticky comment's marker and body: the plan markdown, the detail cut to GitHub's limit,
/// never the heading and summary line.
pub fn plan_comment(
    planned: &[Planned],
    allow: &Allow,
    env: Option<&EnvironmentInfo>,
    name: &str,
) -> (String, String) {
    let mut all = Vec::new();
    let refused = refused_of(planned, allow, &mut all);
    let (head, detail) = plan_markdown(&plan_title(env), planned, &refused);
    let marker = comment::marker(name);
    let run = gantry_kit::github::RunIdentity::from_env();
    let link = std::env::var("GITHUB_SERVER_URL")
        .ok()
        .and_then(|server| run.run_url(&server))
        .zip(run.run_id.as_deref());
    let footer = match link {
        Some((url, id)) => {
            format!("\n_Planned by gantry-stack in [run {id}]({url}); updated on every plan._\n")
        }
        None => "\n_Planned by gantry-stack; updated on every plan._\n".to_owned(),
    };
    let body = comment::body(&marker, &head, &detail, &footer);
    (marker, body)
}

/// The end of `plan`: outputs, summary; exit 1 when the gate refuses.
pub fn plan(
    planned: &[Planned],
    allow: &Allow,
    env: Option<&EnvironmentInfo>,
    comment_url: Option<&str>,
) -> Result<Report, Error> {
    let mut all = Vec::new();
    let refused = refused_of(planned, allow, &mut all);
    let (head, detail) = plan_markdown(&plan_title(env), planned, &refused);
    let markdown = format!("{head}{detail}");
    let comment_url = comment_url.unwrap_or_default();
    if refused.is_empty() {
        let outputs = plan_outputs(planned, &markdown, "", comment_url);
        return Ok(Report {
            outputs,
            plan: None,
            summary: Some(markdown),
        });
    }
    let owned: Vec<Destruction> = refused.into_iter().cloned().collect();
    let e = gate_refusal(&owned);
    let outputs = plan_outputs(planned, &markdown, e.message(), comment_url);
    Err(e.with_outputs(outputs).with_summary(markdown))
}

/// The gate's refusal (exit 1), naming each resource.
pub fn gate_refusal(refused: &[Destruction]) -> Error {
    let list: Vec<String> = refused.iter().map(Destruction::describe).collect();
    let ids: Vec<&str> = refused.iter().map(|d| d.logical_id.as_str()).collect();
    Error::failed(format!(
        "refused: {} of a stateful type would be destroyed: {}",
        plural(refused.len(), "resource", "resources"),
        list.join("; ")
    ))
    .with_hint(format!(
        "if that is intended, set allow-replacement to `{}` (or `all`) and plan again",
        ids.join(" ")
    ))
}

fn root_cause_line(a: &Applied) -> String {
    a.root_cause.as_ref().map(|e| e.line()).unwrap_or_default()
}

fn apply_outputs(
    applied: &[Applied],
    planned: &[Planned],
    reason: &str,
    markdown: &str,
) -> Outputs {
    let mut o = Outputs::new();
    if !planned.is_empty() {
        let t = tally(planned, 0);
        o.set("has-changes", t.changing > 0)
            .set("changes-count", t.changes)
            .set("change-set-ids", change_set_ids(planned))
            .set("template-digest", digest_of(planned));
    }
    set_summary(&mut o, markdown);
    o.set(
        "stack-outputs",
        flat_outputs(applied.iter().map(|a| &a.outputs)),
    )
    .set("status", statuses(planned, applied))
    .set("reason", reason);
    o
}

fn apply_markdown(title: &str, applied: &[Applied]) -> String {
    let mut s = format!("### {title}\n\n| Stack | Status | Root cause |\n| --- | --- | --- |\n");
    for a in applied {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            a.stack,
            a.status,
            markdown_cell(&root_cause_line(a))
        ));
    }
    s
}

/// How a run that executed change sets ends: 0 all complete, 3 rolled back, 1 failed, 4 deadline.
fn applied_result(
    applied: &[Applied],
    planned: &[Planned],
    markdown: String,
) -> Result<Report, Error> {
    let Some(last) = applied.iter().find(|a| a.finish != Finish::Complete) else {
        let outputs = apply_outputs(applied, planned, "", &markdown);
        return Ok(Report {
            outputs,
            plan: None,
            summary: Some(markdown),
        });
    };
    let cause = root_cause_line(last);
    let because = if cause.is_empty() {
        String::new()
    } else {
        format!("; root cause: {cause}")
    };
    let e = match last.finish {
        Finish::RolledBack => Error::rolled_back(format!(
            "{}: the update failed and CloudFormation rolled back ({}){because}",
            last.stack, last.status
        )),
        Finish::Pending => Error::deadline(format!(
            "{}: still {} at the deadline",
            last.stack, last.status
        ))
        .with_hint("raise `timeout`; the stack operation goes on in CloudFormation (follow it in the console, or run status)"),
        Finish::Failed | Finish::Complete => Error::failed(format!(
            "{}: {}{because}",
            last.stack, last.status
        )),
    };
    let reason = if cause.is_empty() {
        e.message().to_owned()
    } else {
        cause
    };
    let outputs = apply_outputs(applied, planned, &reason, &markdown);
    Err(e.with_outputs(outputs).with_summary(markdown))
}

pub fn apply(applied: &[Applied]) -> Result<Report, Error> {
    let markdown = apply_markdown("CloudFormation apply", applied);
    applied_result(applied, &[], markdown)
}

pub fn deploy(planned: &[Planned], applied: &[Applied]) -> Result<Report, Error> {
    let (head, detail) = plan_markdown("CloudFormation deploy", planned, &[]);
    let markdown = format!(
        "{head}{}\n{detail}",
        apply_markdown("Applied", applied).trim_start_matches("### Applied\n\n")
    );
    applied_result(applied, planned, markdown)
}

/// A deploy stopped before applying a stack (gate, ROLLBACK_COMPLETE, missing output).
pub fn deploy_stopped(planned: &[Planned], applied: &[Applied], e: Error) -> Error {
    let (head, detail) = plan_markdown("CloudFormation deploy", planned, &[]);
    let markdown = format!("{head}{detail}");
    let outputs = apply_outputs(applied, planned, e.message(), &markdown);
    e.with_outputs(outputs).with_summary(markdown)
}

pub fn status(stacks: &[(String, Option<StackInfo>)]) -> Report {
    let mut s = String::from(
        "### CloudFormation status\n\n| Stack | Status | Drift | Last update | Outputs |\n| --- | --- | --- | --- | --- |\n",
    );
    let mut st = Map::new();
    for (name, info) in stacks {
        match info {
            Some(i) => {
                s.push_str(&format!(
                    "| `{name}` | {} | {} | {} | {} |\n",
                    i.status,
                    i.drift.as_deref().unwrap_or("—"),
                    i.last_updated.as_deref().unwrap_or("—"),
                    i.outputs.len()
                ));
                st.insert(name.clone(), Value::String(i.status.clone()));
            }
            None => {
                s.push_str(&format!("| `{name}` | does not exist | — | — | 0 |\n"));
                st.insert(name.clone(), Value::String("DOES_NOT_EXIST".into()));
            }
        }
    }
    let mut o = Outputs::new();
    o.set(
        "stack-outputs",
        flat_outputs(
            stacks
                .iter()
                .filter_map(|(_, i)| i.as_ref().map(|i| &i.outputs)),
        ),
    )
    .set("status", Value::Object(st));
    Report {
        outputs: o,
        plan: None,
        summary: Some(s),
    }
}
