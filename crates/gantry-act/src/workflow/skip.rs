//! `--skip-step [JOB:]STEP`: the steps a run does not execute, named by id, name, `uses:`
//! action or 1-based number (pure: a selector and a step in, a verdict out).

use super::model::Step;
use crate::error::ActError;

/// A `--skip-step [JOB:]STEP` selector.
pub(super) struct SkipStep {
    pub(super) text: String,
    pub(super) job: Option<String>,
    pub(super) step: String,
    pub(super) used: bool,
}

impl SkipStep {
    pub(super) fn parse(text: &str) -> Result<Self, ActError> {
        let (job, step) = match text.split_once(':') {
            Some((job, step))
                if !job.is_empty()
                    && job
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                (Some(job.to_owned()), step.to_owned())
            }
            _ => (None, text.to_owned()),
        };
        if step.trim().is_empty() {
            return Err(ActError::BadInput(format!(
                "--skip-step '{text}': expected [JOB:]STEP (a step id, name, 'uses' action or 1-based number)"
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            job,
            step,
            used: false,
        })
    }

    pub(super) fn matches(&self, job: &str, index: usize, step: &Step) -> bool {
        if self.job.as_deref().is_some_and(|j| j != job) {
            return false;
        }
        let s = self.step.as_str();
        (step.has_id && step.id == s)
            || step.name_text.as_deref() == Some(s)
            || (step.name_text.is_none() && step.default_name == s)
            || step
                .uses
                .as_deref()
                .and_then(|u| u.split('@').next())
                .is_some_and(|u| u.eq_ignore_ascii_case(s))
            || s.parse::<usize>().is_ok_and(|n| n == index + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::model::{self, JobKind};

    fn steps() -> Vec<Step> {
        let w = model::parse(
            "on: push\njobs:\n  build:\n    runs-on: x\n    steps:\n      - id: first\n        run: echo\n      - name: Install tools\n        run: apt-get install x\n      - uses: Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6\n      - run: make test\n",
            std::path::PathBuf::from("w.yml"),
        )
        .unwrap();
        let mut jobs = w.jobs;
        match jobs.shift_remove("build").unwrap().kind {
            JobKind::Steps(s) => s,
            JobKind::Call { .. } => unreachable!(),
        }
    }

    fn hits(selector: &str, job: &str) -> Vec<usize> {
        let s = SkipStep::parse(selector).unwrap();
        steps()
            .iter()
            .enumerate()
            .filter(|(i, step)| s.matches(job, *i, step))
            .map(|(i, _)| i + 1)
            .collect()
    }

    #[test]
    fn selects_by_id_name_uses_number_and_job() {
        assert_eq!(hits("first", "build"), [1]);
        assert_eq!(hits("Install tools", "build"), [2]);
        assert_eq!(hits("swatinem/rust-cache", "build"), [3]);
        assert_eq!(
            hits("Run make test", "build"),
            [4],
            "the name shown for an unnamed step"
        );
        assert_eq!(hits("build:4", "build"), [4]);
        assert!(hits("test:4", "build").is_empty(), "another job");
        assert_eq!(
            hits("Run echo", "build"),
            [1],
            "the shown name of a step with an id"
        );
        assert!(
            hits("Run apt-get install x", "build").is_empty(),
            "a step with a name is not named by its run"
        );
        assert!(SkipStep::parse("build:").is_err());
        assert!(SkipStep::parse("  ").is_err());
    }
}
