//! The only builder of what a run reports: outputs, the dry-run plan (`plan` of `--json`), the
//! step summary, and the warning annotations.

use crate::aws::ecs::LiveRevision;
use crate::prune::PrunePlan;
use crate::render::{self, Rendered, Warning};
use gantry_kit::arn::TaskDefinitionRef;
use gantry_kit::github::{Actions, Annotation, Level, write_annotation};
use gantry_kit::{Outputs, Report};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::Path;

/// Each warning of the renderer as a `::warning` annotation (plain text outside Actions).
pub(crate) fn annotate_warnings(warnings: &[Warning]) {
    let actions = Actions::from_env();
    for w in warnings {
        let _ = write_annotation(
            &mut std::io::stderr().lock(),
            &Annotation::new(Level::Warning, w.clone()).title("gantry: task definition"),
            actions.github,
        );
    }
}

/// `render`: the rendered file and what is in it.
pub(crate) fn rendered(r: Rendered, path: &Path) -> Report {
    let mut o = Outputs::new();
    o.set("family", r.family())
        .set("rendered-file", path.display().to_string())
        .set_list("containers", render::container_names(&r.def))
        .set_list("warnings", r.warnings.clone())
        .set("task-definition", Value::Object(r.def));
    Report::new(o)
}

/// What `register` compares with, in words.
pub(crate) fn against_latest(live: Option<&LiveRevision>, family: &str) -> String {
    live.map(|l| format!("revision {} (`{}`)", l.revision, l.arn))
        .unwrap_or_else(|| format!("family `{family}` has no ACTIVE revision yet"))
}

/// The diff part of a summary.
fn diff_summary(lines: &[String], against: &str, live: bool) -> String {
    if !live {
        return format!("Nothing to compare with: {against}.\n");
    }
    if lines.is_empty() {
        return format!("No change against {against}.\n");
    }
    format!(
        "Changes against {against} (JSON path: old → new):\n\n```\n{}\n```\n",
        lines.join("\n")
    )
}

/// What `register` would do, in words.
pub(crate) fn would(register: bool) -> &'static str {
    if register {
        "register a new revision"
    } else {
        "reuse the live revision"
    }
}

/// A `register` run up to the decision: what was rendered, what it was compared with.
#[derive(Debug, Clone)]
pub(crate) struct Registration<'a> {
    pub(crate) rendered: &'a Rendered,
    pub(crate) path: &'a Path,
    pub(crate) live: Option<&'a LiveRevision>,
    pub(crate) against: &'a str,
    pub(crate) diff: Vec<String>,
    /// Whether a new revision is (or would be) registered.
    pub(crate) changed: bool,
}

impl Registration<'_> {
    fn outputs(&self, arn: Option<&TaskDefinitionRef>, revision: Value) -> Outputs {
        let mut o = Outputs::new();
        o.set("family", self.rendered.family())
            .set("rendered-file", self.path.display().to_string())
            .set(
                "task-definition-arn",
                arn.map(ToString::to_string).unwrap_or_default(),
            )
            .set("revision", revision)
            .set("changed", self.changed)
            .set_list("diff", self.diff.clone());
        o
    }

    fn summary(&self) -> String {
        diff_summary(&self.diff, self.against, self.live.is_some())
    }
}

/// The plan of a `register` dry run.
#[derive(Debug, Serialize)]
struct RegisterPlan<'a> {
    action: &'static str,
    family: &'a str,
    against: Option<&'a TaskDefinitionRef>,
    diff: &'a [String],
    #[serde(rename = "task-definition")]
    task_definition: &'a Map<String, Value>,
}

/// `register --dry-run`: the live revision's ARN when it would be reused, else none.
pub(crate) fn register_dry_run(r: Registration<'_>) -> Report {
    let reused = r.live.filter(|_| !r.changed);
    let outputs = r.outputs(
        reused.map(|l| &l.arn),
        reused.map_or(Value::Null, |l| Value::from(l.revision)),
    );
    let plan = RegisterPlan {
        action: if r.changed { "register" } else { "reuse" },
        family: r.rendered.family(),
        against: r.live.map(|l| &l.arn),
        diff: &r.diff,
        task_definition: &r.rendered.def,
    };
    Report {
        outputs,
        plan: Some(serde_json::to_value(plan).expect("a plan serialises")),
        summary: Some(format!(
            "Dry run: nothing was registered; it would {}.\n\n{}",
            would(r.changed),
            r.summary()
        )),
    }
}

/// `register`: the revision registered or reused.
pub(crate) fn registered(r: Registration<'_>, (arn, revision): (TaskDefinitionRef, i64)) -> Report {
    Report {
        outputs: r.outputs(Some(&arn), Value::from(revision)),
        plan: None,
        summary: Some(r.summary()),
    }
}

/// `diff`: the changes against the live revision (none live: registering would create the
/// family's first revision, which counts as a change).
pub(crate) fn diffed(r: &Rendered, live: Option<&LiveRevision>, lines: Vec<String>) -> Report {
    let against = live
        .map(|l| format!("`{}`", l.arn))
        .unwrap_or_else(|| format!("family `{}` has no ACTIVE revision yet", r.family()));
    let summary = diff_summary(&lines, &against, live.is_some());
    let mut o = Outputs::new();
    o.set("family", r.family())
        .set(
            "live-task-definition-arn",
            live.map(|l| l.arn.to_string()).unwrap_or_default(),
        )
        .set("changed", live.is_none() || !lines.is_empty())
        .set_list("diff", lines);
    Report {
        outputs: o,
        plan: None,
        summary: Some(summary),
    }
}

/// The revisions `prune` keeps, each with why.
pub(crate) fn kept(plan: &PrunePlan) -> Vec<String> {
    plan.kept
        .iter()
        .map(|(arn, why)| format!("{arn} ({why})"))
        .collect()
}

/// `prune`'s outputs; `kept` is left out of a run that stopped part-way.
pub(crate) fn pruned_outputs(
    family: &str,
    deregistered: &[String],
    kept: Option<&[String]>,
) -> Outputs {
    let mut o = Outputs::new();
    o.set("family", family)
        .set_list("deregistered", deregistered.iter().cloned());
    if let Some(k) = kept {
        o.set_list("kept", k.iter().cloned());
    }
    o
}

/// The plan of a `prune` dry run.
#[derive(Debug, Serialize)]
struct PrunePlanJson<'a> {
    deregister: &'a [String],
    kept: &'a [String],
}

/// `prune --dry-run`: nothing deregistered; the plan lists what would be.
pub(crate) fn prune_dry_run(family: &str, plan: &PrunePlan, kept: Vec<String>) -> Report {
    let listed: String = plan
        .deregister
        .iter()
        .map(|arn| format!("- `{arn}`\n"))
        .collect();
    let json = PrunePlanJson {
        deregister: &plan.deregister,
        kept: &kept,
    };
    Report {
        outputs: pruned_outputs(family, &[], Some(&kept)),
        plan: Some(serde_json::to_value(json).expect("a plan serialises")),
        summary: Some(format!(
            "Dry run: {} revision(s) would be deregistered.\n\n{listed}",
            plan.deregister.len()
        )),
    }
}

/// `prune`: what was deregistered and what kept.
pub(crate) fn pruned(family: &str, deregistered: Vec<String>, kept: Vec<String>) -> Report {
    Report {
        outputs: pruned_outputs(family, &deregistered, Some(&kept)),
        plan: None,
        summary: Some(format!(
            "{} revision(s) deregistered.\n",
            deregistered.len()
        )),
    }
}
