//! CallerReferences: what makes a re-run of the same step reuse its invalidation, and two
//! steps (or two runs) get their own.

use crate::config::Config;
use gantry_kit::github::RunIdentity;
use sha2::{Digest, Sha256};

/// The current time in milliseconds: what makes each invocation outside Actions its own
/// CallerReference (see [`caller_reference`]).
pub fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The CallerReference for batch `index` of `batches`. Inside Actions it is a pure function of
/// the run, job, step, distribution and paths, so "Re-run failed jobs" sends the same reference
/// and CloudFront returns the invalidation it already has. Outside Actions there is no run to
/// tie it to, so `nonce` (the current time) makes each invocation its own invalidation.
pub(crate) fn caller_reference(
    explicit: Option<&str>,
    id: &RunIdentity,
    distribution_id: &str,
    index: usize,
    batches: usize,
    paths: &[String],
    nonce: u128,
) -> String {
    if let Some(r) = explicit {
        return if batches > 1 {
            format!("{r}-{}", index + 1)
        } else {
            r.to_owned()
        };
    }
    let mut h = Sha256::new();
    for part in [
        id.repository.as_deref().unwrap_or(""),
        id.run_id.as_deref().unwrap_or(""),
        id.job.as_deref().unwrap_or(""),
        &id.step_key(),
        distribution_id,
        &index.to_string(),
        &id.occurrence.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for p in paths {
        h.update(p.as_bytes());
        h.update([b'\n']);
    }
    let digest = gantry_kit::fmt::hex(&h.finalize()[..10]);
    match &id.run_id {
        Some(run) => format!("gantry-{run}-{digest}"),
        None => format!("gantry-local-{nonce}-{digest}"),
    }
}

/// The CallerReference of each planned batch, in order.
pub(crate) fn references(cfg: &Config, id: &RunIdentity, nonce: u128) -> Vec<String> {
    let n = cfg.plan.batches.len();
    cfg.plan
        .batches
        .iter()
        .enumerate()
        .map(|(i, batch)| {
            caller_reference(
                cfg.caller_reference.as_deref(),
                id,
                &cfg.distribution_id,
                i,
                n,
                batch,
                nonce,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use gantry_kit::testing::run_identity as run;

    fn reference(id: &RunIdentity, paths: &[&str]) -> String {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        caller_reference(None, id, "E1", 0, 1, &paths, 0)
    }

    #[test]
    fn reference_depends_on_run_step_paths_and_occurrence_only() {
        let a = reference(&run("7"), &["/a"]);
        assert!(a.starts_with("gantry-7-"), "{a}");
        assert_eq!(a, reference(&run("7"), &["/a"]), "deterministic");
        assert_ne!(a, reference(&run("8"), &["/a"]), "another run");
        assert_ne!(a, reference(&run("7"), &["/b"]), "other paths");
        let mut other_step = run("7");
        other_step.step = Some("invalidate-again".into());
        assert_ne!(a, reference(&other_step, &["/a"]));
        let site = reference(&run("7").for_purpose("r1->r2"), &["/a"]);
        assert_ne!(a, site, "another purpose within the step");
        let mut packed = run("7");
        packed.step = Some("invalidate|r1->r2".into());
        assert_eq!(
            site,
            reference(&packed, &["/a"]),
            "a purpose keys as the step `step|purpose` did before it had its own field"
        );
        let mut second = run("7");
        second.occurrence = 2;
        assert_ne!(
            a,
            reference(&second, &["/a"]),
            "the second identical step in a job"
        );
        let local = RunIdentity::default();
        let l1 = caller_reference(None, &local, "E1", 0, 1, &["/a".into()], 1);
        let l2 = caller_reference(None, &local, "E1", 0, 1, &["/a".into()], 2);
        assert!(l1.starts_with("gantry-local-1-"));
        assert_ne!(l1, l2, "outside Actions every invocation is its own");
        assert_eq!(
            caller_reference(Some("mine"), &local, "E1", 1, 3, &[], 0),
            "mine-2"
        );
        assert_eq!(
            caller_reference(Some("mine"), &local, "E1", 0, 1, &[], 0),
            "mine"
        );
    }
}
