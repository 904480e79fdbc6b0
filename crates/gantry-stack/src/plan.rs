//! What a plan decides, from what CloudFormation reports: which kind of change set a stack
//! gets, when a change set is ready, empty or failed, and whether a reviewed change set may
//! still be executed. Decisions go by status, never by the number of changes (an outputs-only
//! edit is an executable change set with no resource changes).

/// What a stack's status means for planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No such stack (or only a deleted one).
    Absent,
    /// Created by a change set that was never executed: only a CREATE change set works on it.
    ReviewInProgress,
    /// A first create that failed and rolled back: it can only be deleted and created again.
    RollbackComplete,
    /// Stable and updatable (`CREATE_COMPLETE`, `UPDATE_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, …).
    Stable(String),
    /// An operation is running (`*_IN_PROGRESS`).
    Busy(String),
    /// Needs a person (`UPDATE_ROLLBACK_FAILED`, `DELETE_FAILED`, …).
    Stuck(String),
}

/// Classifies a stack status as DescribeStacks reports it (`None`: no stack).
pub fn stack_state(status: Option<&str>) -> StackState {
    let Some(s) = status else {
        return StackState::Absent;
    };
    match s {
        "DELETE_COMPLETE" => StackState::Absent,
        "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
        "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackState::Stable(s.to_owned()),
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy(s.to_owned()),
        s => StackState::Stuck(s.to_owned()),
    }
}

/// The change set a stack gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSetKind {
    Create,
    Update,
}

impl ChangeSetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
        }
    }
}

/// What planning does with a stack in `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    ChangeSet(ChangeSetKind),
    /// ROLLBACK_COMPLETE: the plan says "will be deleted and re-created"; only
    /// `apply --replace-failed` (or `deploy --replace-failed`) does it.
    Recreate,
    /// Cannot be planned now; the text says why and what to do.
    Refuse(String),
}

pub fn start(state: &StackState) -> Start {
    match state {
        StackState::Absent | StackState::ReviewInProgress => {
            Start::ChangeSet(ChangeSetKind::Create)
        }
        StackState::Stable(_) => Start::ChangeSet(ChangeSetKind::Update),
        StackState::RollbackComplete => Start::Recreate,
        StackState::Busy(s) => Start::Refuse(format!(
            "the stack is {s}: another operation is running; plan again when it has finished"
        )),
        StackState::Stuck(s) => Start::Refuse(format!(
            "the stack is {s}: CloudFormation needs a decision first (e.g. continue-update-rollback, or delete it), then plan again"
        )),
    }
}

/// AWS's two wordings of "nothing to change": the StatusReason of a FAILED change set, and the
/// ValidationError of CreateChangeSet / UpdateStack.
pub const EMPTY_REASONS: [&str; 2] = [
    "The submitted information didn't contain changes",
    "No updates are to be performed",
];

/// Whether an AWS message says there is nothing to change.
pub fn says_no_changes(message: &str) -> bool {
    EMPTY_REASONS.iter().any(|r| message.contains(r))
}

/// Where a change set being created stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    Pending(String),
    /// CREATE_COMPLETE: reviewable and executable.
    Ready,
    /// FAILED because nothing changes: success without changes (the change set is deleted).
    Empty,
    /// FAILED for another reason (template error, missing capability, …).
    Failed(String),
}

/// Classifies DescribeChangeSet's `Status` and `StatusReason` while creating.
pub fn creation(status: &str, reason: Option<&str>) -> Creation {
    match status {
        "CREATE_COMPLETE" => Creation::Ready,
        "CREATE_PENDING" | "CREATE_IN_PROGRESS" => Creation::Pending(status.to_owned()),
        "FAILED" if reason.is_some_and(says_no_changes) => Creation::Empty,
        other => Creation::Failed(match reason {
            Some(r) => format!("{other}: {r}"),
            None => other.to_owned(),
        }),
    }
}

/// Whether a reviewed change set may be executed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// AVAILABLE: execute it.
    Available,
    /// Already executing (a re-run of the same apply): follow it.
    InProgress,
    /// Already executed: nothing to do but report (a re-run after success).
    Done,
    /// Cannot be executed; the text names the state and says to re-plan.
    Refused(String),
}

/// Classifies DescribeChangeSet's `ExecutionStatus` (with `Status` and `StatusReason`).
pub fn execution(status: &str, execution_status: &str, reason: Option<&str>) -> Execution {
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    match execution_status {
        "AVAILABLE" if status == "CREATE_COMPLETE" => Execution::Available,
        "EXECUTE_IN_PROGRESS" => Execution::InProgress,
        "EXECUTE_COMPLETE" => Execution::Done,
        "OBSOLETE" => Execution::Refused(format!(
            "is OBSOLETE: the stack changed after the plan (another change set was executed or the stack was updated){why}; re-plan"
        )),
        "EXECUTE_FAILED" => Execution::Refused(format!(
            "is EXECUTE_FAILED: it was executed and failed{why}; re-plan"
        )),
        other => Execution::Refused(format!(
            "is not executable (status {status}, execution status {other}){why}; re-plan"
        )),
    }
}

/// The plan's `template-digest`: one digest over the planned stacks and the digests of their
/// templates (`stack` and `sha256:…` on a line each, in plan order). Apply recomputes it from the
/// change sets' own templates.
pub fn plan_digest<'a>(stacks: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (stack, digest) in stacks {
        text.push_str(stack);
        text.push('\n');
        text.push_str(digest);
        text.push('\n');
    }
    crate::template::digest(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_set_kind_by_stack_status() {
        let kind = |s| start(&stack_state(s));
        assert_eq!(kind(None), Start::ChangeSet(ChangeSetKind::Create));
        assert_eq!(
            kind(Some("DELETE_COMPLETE")),
            Start::ChangeSet(ChangeSetKind::Create)
        );
        // AWS answers an UPDATE change set on REVIEW_IN_PROGRESS with "Stack does not exist".
        assert_eq!(
            kind(Some("REVIEW_IN_PROGRESS")),
            Start::ChangeSet(ChangeSetKind::Create)
        );
        for s in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "IMPORT_COMPLETE",
        ] {
            assert_eq!(
                kind(Some(s)),
                Start::ChangeSet(ChangeSetKind::Update),
                "{s}"
            );
        }
        assert_eq!(kind(Some("ROLLBACK_COMPLETE")), Start::Recreate);
        for s in [
            "UPDATE_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
        ] {
            assert!(
                matches!(kind(Some(s)), Start::Refuse(m) if m.contains(s) && m.contains("running")),
                "{s}"
            );
        }
        for s in [
            "UPDATE_ROLLBACK_FAILED",
            "DELETE_FAILED",
            "ROLLBACK_FAILED",
            "CREATE_FAILED",
        ] {
            assert!(
                matches!(kind(Some(s)), Start::Refuse(m) if m.contains(s)),
                "{s}"
            );
        }
    }

    #[test]
    fn empty_change_sets_in_both_wordings() {
        assert_eq!(
            creation(
                "FAILED",
                Some(
                    "The submitted information didn't contain changes. Submit different information to create a change set."
                )
            ),
            Creation::Empty
        );
        assert_eq!(
            creation("FAILED", Some("No updates are to be performed.")),
            Creation::Empty
        );
        assert!(says_no_changes(
            "ValidationError: No updates are to be performed."
        ));
        assert_eq!(
            creation(
                "FAILED",
                Some("Requires capabilities : [CAPABILITY_NAMED_IAM]")
            ),
            Creation::Failed("FAILED: Requires capabilities : [CAPABILITY_NAMED_IAM]".into())
        );
        assert_eq!(creation("FAILED", None), Creation::Failed("FAILED".into()));
        assert_eq!(
            creation("CREATE_PENDING", None),
            Creation::Pending("CREATE_PENDING".into())
        );
        assert_eq!(
            creation("CREATE_IN_PROGRESS", None),
            Creation::Pending("CREATE_IN_PROGRESS".into())
        );
        // Status decides, not the number of changes: an outputs-only edit is CREATE_COMPLETE.
        assert_eq!(creation("CREATE_COMPLETE", None), Creation::Ready);
        assert!(matches!(
            creation("DELETE_COMPLETE", None),
            Creation::Failed(_)
        ));
    }

    #[test]
    fn plan_digest_depends_on_names_digests_and_order() {
        let a = plan_digest([("net", "sha256:1"), ("data", "sha256:2")]);
        assert_eq!(a, plan_digest([("net", "sha256:1"), ("data", "sha256:2")]));
        assert_ne!(a, plan_digest([("data", "sha256:2"), ("net", "sha256:1")]));
        assert_ne!(a, plan_digest([("net", "sha256:1"), ("data", "sha256:3")]));
        assert_ne!(a, plan_digest([("net", "sha256:1")]));
    }

    #[test]
    fn execution_by_execution_status() {
        assert_eq!(
            execution("CREATE_COMPLETE", "AVAILABLE", None),
            Execution::Available
        );
        assert_eq!(
            execution("CREATE_COMPLETE", "EXECUTE_IN_PROGRESS", None),
            Execution::InProgress
        );
        assert_eq!(
            execution("CREATE_COMPLETE", "EXECUTE_COMPLETE", None),
            Execution::Done
        );
        let Execution::Refused(m) = execution("CREATE_COMPLETE", "OBSOLETE", None) else {
            panic!()
        };
        assert!(
            m.starts_with("is OBSOLETE") && m.ends_with("re-plan"),
            "{m}"
        );
        let Execution::Refused(m) = execution("CREATE_COMPLETE", "EXECUTE_FAILED", Some("boom"))
        else {
            panic!()
        };
        assert!(m.contains("EXECUTE_FAILED") && m.contains("(boom)"), "{m}");
        let Execution::Refused(m) = execution("FAILED", "UNAVAILABLE", None) else {
            panic!()
        };
        assert!(m.contains("UNAVAILABLE"), "{m}");
    }
}
