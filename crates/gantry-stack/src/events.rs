//! Following an execution: stack events de-duplicated by EventId (nested stacks included), the
//! first failure as the root cause, and what a stack's final status means.

use std::collections::{BTreeSet, HashSet};

/// One stack event (DescribeStackEvents).
#[derive(Debug, Clone, PartialEq)]
pub struct StackEvent {
    pub id: String,
    /// The stack the event belongs to (a nested stack's id for its own events).
    pub stack_id: String,
    pub stack_name: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the epoch (with milliseconds).
    pub timestamp: f64,
}

impl StackEvent {
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    /// `stack LogicalId (Type) STATUS: reason` — one log line.
    pub fn line(&self) -> String {
        let reason = self
            .reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!(
            "{} {} ({}) {}{reason}",
            self.stack_name, self.logical_id, self.resource_type, self.status
        )
    }
}

/// What has been seen so far of one execution.
#[derive(Debug, Default)]
pub struct EventLog {
    seen: HashSet<String>,
    /// Nested stacks found in the events (their ids), followed too.
    nested: BTreeSet<String>,
    root_cause: Option<StackEvent>,
}

impl EventLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a page of events (any order) and returns the new ones at or after `since`, oldest
    /// first. A nested stack's resource event adds that stack to [`Self::nested`].
    pub fn absorb(&mut self, events: Vec<StackEvent>, since: f64) -> Vec<StackEvent> {
        let mut new: Vec<StackEvent> = events
            .into_iter()
            .filter(|e| e.timestamp >= since && !self.seen.contains(&e.id))
            .collect();
        new.sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
        for e in &new {
            self.seen.insert(e.id.clone());
            if e.resource_type == "AWS::CloudFormation::Stack"
                && let Some(p) = e.physical_id.as_deref()
                && p != e.stack_id
                && p.starts_with("arn:")
            {
                self.nested.insert(p.to_owned());
            }
            if self.root_cause.is_none() && e.is_failure() {
                self.root_cause = Some(e.clone());
            }
        }
        new
    }

    pub fn nested(&self) -> impl Iterator<Item = &str> {
        self.nested.iter().map(String::as_str)
    }

    /// The first failed event, in time order: the root cause of a failed execution.
    pub fn root_cause(&self) -> Option<&StackEvent> {
        self.root_cause.as_ref()
    }
}

/// What a stack status means once an execution has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Pending,
    Complete,
    /// The update failed and CloudFormation rolled back (exit 3).
    RolledBack,
    Failed,
}

pub fn finish(status: &str) -> Finish {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => Finish::Complete,
        "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_ROLLBACK_COMPLETE" => Finish::RolledBack,
        // A failed first create rolled back: the stack is left unusable.
        "ROLLBACK_COMPLETE" => Finish::Failed,
        s if s.ends_with("_IN_PROGRESS") => Finish::Pending,
        _ => Finish::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        id: &str,
        t: f64,
        logical: &str,
        ty: &str,
        status: &str,
        physical: Option<&str>,
    ) -> StackEvent {
        StackEvent {
            id: id.into(),
            stack_id: "arn:aws:cloudformation:eu-west-1:1:stack/app/1".into(),
            stack_name: "app".into(),
            logical_id: logical.into(),
            physical_id: physical.map(str::to_owned),
            resource_type: ty.into(),
            status: status.into(),
            reason: None,
            timestamp: t,
        }
    }

    #[test]
    fn dedupes_orders_and_finds_the_root_cause() {
        let mut log = EventLog::new();
        let page1 = vec![
            ev(
                "3",
                12.0,
                "Db",
                "AWS::RDS::DBInstance",
                "UPDATE_FAILED",
                None,
            ),
            ev(
                "2",
                11.0,
                "Bucket",
                "AWS::S3::Bucket",
                "UPDATE_IN_PROGRESS",
                None,
            ),
            ev(
                "1",
                10.0,
                "app",
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                Some("arn:aws:cloudformation:eu-west-1:1:stack/app/1"),
            ),
            ev(
                "0",
                5.0,
                "app",
                "AWS::CloudFormation::Stack",
                "UPDATE_COMPLETE",
                None,
            ),
        ];
        let new: Vec<String> = log
            .absorb(page1.clone(), 10.0)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            new,
            ["1", "2", "3"],
            "oldest first, nothing before the start"
        );
        let mut page2 = page1;
        page2.insert(
            0,
            ev(
                "4",
                13.0,
                "Bucket",
                "AWS::S3::Bucket",
                "UPDATE_FAILED",
                None,
            ),
        );
        let new: Vec<String> = log.absorb(page2, 10.0).into_iter().map(|e| e.id).collect();
        assert_eq!(new, ["4"], "seen events are not repeated");
        assert_eq!(
            log.root_cause().unwrap().logical_id,
            "Db",
            "the first failure, not the last"
        );
        assert_eq!(
            log.nested().count(),
            0,
            "the stack's own events are not a nested stack"
        );
    }

    #[test]
    fn nested_stacks_are_found() {
        let mut log = EventLog::new();
        log.absorb(
            vec![ev(
                "1",
                1.0,
                "Data",
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                Some("arn:aws:cloudformation:eu-west-1:1:stack/app-Data-X/2"),
            )],
            0.0,
        );
        assert_eq!(
            log.nested().collect::<Vec<_>>(),
            ["arn:aws:cloudformation:eu-west-1:1:stack/app-Data-X/2"]
        );
    }

    #[test]
    fn final_statuses() {
        assert_eq!(finish("UPDATE_COMPLETE"), Finish::Complete);
        assert_eq!(finish("CREATE_COMPLETE"), Finish::Complete);
        assert_eq!(finish("UPDATE_ROLLBACK_COMPLETE"), Finish::RolledBack);
        assert_eq!(finish("ROLLBACK_COMPLETE"), Finish::Failed);
        assert_eq!(finish("UPDATE_ROLLBACK_FAILED"), Finish::Failed);
        assert_eq!(
            finish("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            Finish::Pending
        );
        assert_eq!(finish("UPDATE_ROLLBACK_IN_PROGRESS"), Finish::Pending);
        let mut e = ev(
            "1",
            1.0,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            None,
        );
        e.reason = Some("Resource handler returned message: boom".into());
        assert_eq!(
            e.line(),
            "app Db (AWS::RDS::DBInstance) CREATE_FAILED: Resource handler returned message: boom"
        );
    }
}
