//! A deployment record as gantry reads it back: the deployment, its payload and its statuses.
//! The GitHub edge (`github/`) builds these; the pure core (`choose`) judges them.

use serde_json::Value;
use std::time::SystemTime;

/// A deployment status state, as GitHub names them (REST lower case, GraphQL upper case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusState {
    Error,
    Failure,
    Inactive,
    InProgress,
    Queued,
    Pending,
    Success,
}

impl StatusState {
    /// The REST name (`in_progress`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Failure => "failure",
            Self::Inactive => "inactive",
            Self::InProgress => "in_progress",
            Self::Queued => "queued",
            Self::Pending => "pending",
            Self::Success => "success",
        }
    }

    /// Either spelling (`in_progress`, `IN_PROGRESS`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "error" => Self::Error,
            "failure" => Self::Failure,
            "inactive" => Self::Inactive,
            "in_progress" => Self::InProgress,
            "queued" => Self::Queued,
            "pending" => Self::Pending,
            "success" => Self::Success,
            _ => return None,
        })
    }
}

/// One status of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    pub state: StatusState,
    pub description: String,
    pub created_at: Option<SystemTime>,
}

/// A deployment with what last-good needs to judge it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: u64,
    pub created_at: Option<SystemTime>,
    /// The payload as GitHub returns it (GraphQL: a JSON string; REST: an object).
    pub payload: Value,
    /// GitHub's `latestStatus`.
    pub latest: Option<StatusState>,
    /// Every status, in any order.
    pub statuses: Vec<StatusEntry>,
}

/// Parses GitHub's RFC 3339 timestamps (`2026-12-03T08:00:00Z`).
pub fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z')).ok()
}

/// Formats a time as GitHub does.
pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn states_in_both_spellings_and_times() {
        assert_eq!(
            StatusState::parse("IN_PROGRESS"),
            Some(StatusState::InProgress)
        );
        assert_eq!(StatusState::parse("success"), Some(StatusState::Success));
        assert_eq!(StatusState::parse("destroyed"), None);
        assert_eq!(StatusState::Inactive.as_str(), "inactive");
        let t = parse_time("2026-12-03T08:00:00Z").unwrap();
        assert_eq!(format_time(t), "2026-12-03T08:00:00Z");
        assert_eq!(
            parse_time("1970-01-01T00:01:00Z"),
            Some(UNIX_EPOCH + Duration::from_secs(60))
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
