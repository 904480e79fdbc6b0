//! Environment gates: whether a job that deploys to an environment may start (pure: the
//! approvals given on the command line, and an optional question on a terminal).

use serde::Serialize;

/// How a gate was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// `--approve NAME`.
    Approved,
    /// Answered yes on the terminal.
    ApprovedOnTerminal,
    /// `--reject NAME`.
    Rejected,
    /// Answered no on the terminal.
    RejectedOnTerminal,
    /// Neither flag, and no terminal to ask on: the job does not start.
    NotApproved,
}

impl Decision {
    pub fn approved(&self) -> bool {
        matches!(self, Decision::Approved | Decision::ApprovedOnTerminal)
    }

    /// The line printed for it.
    pub fn describe(&self, environment: &str) -> String {
        match self {
            Decision::Approved => format!("approved (--approve {environment})"),
            Decision::ApprovedOnTerminal => "approved on the terminal".to_owned(),
            Decision::Rejected => format!("rejected (--reject {environment})"),
            Decision::RejectedOnTerminal => "rejected on the terminal".to_owned(),
            Decision::NotApproved => {
                format!("not approved: no --approve {environment} and no terminal to ask on")
            }
        }
    }
}

/// Decides the gate of `environment` (names compare case-insensitively, as GitHub's do).
/// `ask` is called only when neither flag names it; `None` means there is no terminal.
pub fn decide(
    environment: &str,
    approve: &[String],
    reject: &[String],
    ask: Option<&mut dyn FnMut(&str) -> bool>,
) -> Decision {
    let named = |list: &[String]| list.iter().any(|e| e.eq_ignore_ascii_case(environment));
    if named(reject) {
        Decision::Rejected
    } else if named(approve) {
        Decision::Approved
    } else {
        match ask.map(|ask| ask(environment)) {
            Some(true) => Decision::ApprovedOnTerminal,
            Some(false) => Decision::RejectedOnTerminal,
            None => Decision::NotApproved,
        }
    }
}

/// An environment named in both `--approve` and `--reject`.
pub fn conflict(approve: &[String], reject: &[String]) -> Option<String> {
    approve
        .iter()
        .find(|a| reject.iter().any(|r| r.eq_ignore_ascii_case(a)))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_decide_before_the_terminal() {
        let mut asked = Vec::new();
        let mut ask = |env: &str| {
            asked.push(env.to_owned());
            env == "staging"
        };
        assert_eq!(
            decide("PROD", &names(&["prod"]), &[], Some(&mut ask)),
            Decision::Approved
        );
        assert_eq!(
            decide("prod", &[], &names(&["Prod"]), Some(&mut ask)),
            Decision::Rejected
        );
        assert_eq!(
            decide("staging", &[], &[], Some(&mut ask)),
            Decision::ApprovedOnTerminal
        );
        assert_eq!(
            decide("qa", &[], &[], Some(&mut ask)),
            Decision::RejectedOnTerminal
        );
        assert_eq!(asked, ["staging", "qa"]);
        assert_eq!(decide("qa", &[], &[], None), Decision::NotApproved);
        assert!(!Decision::NotApproved.approved());
    }

    #[test]
    fn both_flags_for_one_environment_conflict() {
        assert_eq!(
            conflict(&names(&["a", "prod"]), &names(&["PROD"])),
            Some("prod".to_owned())
        );
        assert_eq!(conflict(&names(&["a"]), &names(&["b"])), None);
    }
}
