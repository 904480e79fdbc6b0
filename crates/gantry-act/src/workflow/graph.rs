//! `jobs.<id>.needs` as a DAG: the order jobs run in, and what `success()` / `failure()` mean
//! for a job given the results of the jobs before it (pure: names and results in, no I/O).

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;

/// How a job ended, as in `needs.<id>.result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Success,
    Failure,
    Cancelled,
    Skipped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "success",
            JobStatus::Failure => "failure",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Skipped => "skipped",
        }
    }
}

/// The jobs in the order they run: each after everything it needs, otherwise in file order.
/// Errors use GitHub's wording for an unknown job and for a cycle.
pub fn order(jobs: &IndexMap<String, Vec<String>>) -> Result<Vec<String>, String> {
    for (id, needs) in jobs {
        for need in needs {
            if !jobs.contains_key(need) {
                return Err(format!("Job '{id}' depends on unknown job '{need}'."));
            }
        }
    }
    let mut done: Vec<String> = Vec::new();
    while done.len() < jobs.len() {
        let ready = jobs
            .iter()
            .find(|(id, needs)| !done.contains(id) && needs.iter().all(|n| done.contains(n)));
        match ready {
            Some((id, _)) => done.push(id.clone()),
            None => {
                let (id, needs) = jobs
                    .iter()
                    .find(|(id, _)| !done.contains(id))
                    .map(|(id, needs)| (id.clone(), needs.clone()))
                    .unwrap_or_default();
                let on = needs
                    .iter()
                    .find(|n| !done.contains(n))
                    .cloned()
                    .unwrap_or_default();
                return Err(format!(
                    "Job '{id}' depends on job '{on}' which creates a cycle in the dependency graph."
                ));
            }
        }
    }
    Ok(done)
}

/// Every job `id` needs, directly or through others.
pub fn ancestors(jobs: &IndexMap<String, Vec<String>>, id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = jobs.get(id).into_iter().flatten().collect();
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(jobs.get(n).into_iter().flatten());
        }
    }
    seen
}

/// What the status functions see in a job's `if:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// `failure()`: a job before it (through `needs`, at any depth) failed.
    pub failed: bool,
    /// A job before it did not succeed (skipped, cancelled or failed): `success()` is false.
    pub blocked: bool,
}

/// GitHub checks the whole chain: a job whose direct needs succeeded is still skipped by the
/// implicit `success()` when a job further up failed or was skipped.
pub fn upstream(
    jobs: &IndexMap<String, Vec<String>>,
    results: &IndexMap<String, JobStatus>,
    id: &str,
) -> Upstream {
    let before = ancestors(jobs, id);
    let status = |n: &String| results.get(n).copied().unwrap_or(JobStatus::Skipped);
    Upstream {
        failed: before.iter().any(|n| status(n) == JobStatus::Failure),
        blocked: before.iter().any(|n| status(n) != JobStatus::Success),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> IndexMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(id, needs)| {
                (
                    (*id).to_owned(),
                    needs.iter().map(|n| (*n).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn orders_after_needs_and_keeps_file_order_otherwise() {
        let g = graph(&[
            ("deploy", &["build", "test"]),
            ("test", &["build"]),
            ("build", &[]),
            ("lint", &[]),
        ]);
        assert_eq!(order(&g).unwrap(), ["build", "test", "deploy", "lint"]);
    }

    #[test]
    fn refuses_unknown_jobs_and_cycles() {
        insta::assert_snapshot!(order(&graph(&[("a", &["nope"])])).unwrap_err(), @"Job 'a' depends on unknown job 'nope'.");
        insta::assert_snapshot!(order(&graph(&[("a", &["b"]), ("b", &["a"]), ("c", &[])])).unwrap_err(), @"Job 'a' depends on job 'b' which creates a cycle in the dependency graph.");
        assert!(order(&graph(&[("a", &["a"])])).is_err());
    }

    #[test]
    fn status_looks_at_the_whole_chain() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        let results = |a, b| -> IndexMap<String, JobStatus> {
            [("a".to_owned(), a), ("b".to_owned(), b)]
                .into_iter()
                .collect()
        };
        let all_good = upstream(&g, &results(JobStatus::Success, JobStatus::Success), "c");
        assert_eq!(
            all_good,
            Upstream {
                failed: false,
                blocked: false
            }
        );
        // b ran with always() after a failed: c's success() is still false, failure() true.
        let after_failure = upstream(&g, &results(JobStatus::Failure, JobStatus::Success), "c");
        assert_eq!(
            after_failure,
            Upstream {
                failed: true,
                blocked: true
            }
        );
        let after_skip = upstream(&g, &results(JobStatus::Skipped, JobStatus::Success), "c");
        assert_eq!(
            after_skip,
            Upstream {
                failed: false,
                blocked: true
            }
        );
        assert_eq!(
            upstream(&g, &IndexMap::new(), "a"),
            Upstream {
                failed: false,
                blocked: false
            }
        );
    }
}
