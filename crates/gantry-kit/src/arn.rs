//! ARNs that pass from one action to another: one grammar, so what one action emits the next
//! one accepts.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A task definition reference: a full ARN
/// (`arn:aws:ecs:us-east-1:123456789012:task-definition/web:7`) or `family:revision` (`web:7`).
/// The task-definition action emits it; the rollout action accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskDefinitionRef(String);

/// A string that is not a [`TaskDefinitionRef`]; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a task definition ARN; use e.g. \
     `arn:aws:ecs:us-east-1:123456789012:task-definition/web:7` or `web:7` (family:revision)"
)]
pub struct NotATaskDefinition(pub String);

impl TaskDefinitionRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Family: 1–255 letters, digits, `-` and `_`.
fn family_ok(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 255
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Revision: digits, not `0`.
fn revision_ok(r: &str) -> bool {
    !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()) && r != "0"
}

fn family_revision_ok(fr: &str) -> bool {
    fr.rsplit_once(':')
        .is_some_and(|(f, r)| family_ok(f) && revision_ok(r))
}

fn grammar_ok(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        parts.len() == 5
            && parts[0].starts_with("aws")
            && parts[1] == "ecs"
            && !parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].chars().all(|c| c.is_ascii_digit())
            && parts[4]
                .strip_prefix("task-definition/")
                .is_some_and(family_revision_ok)
    } else {
        family_revision_ok(s)
    }
}

impl FromStr for TaskDefinitionRef {
    type Err = NotATaskDefinition;

    /// Surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if grammar_ok(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(NotATaskDefinition(s.to_owned()))
        }
    }
}

impl fmt::Display for TaskDefinitionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TaskDefinitionRef {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for TaskDefinitionRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TaskDefinitionRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_grammar() {
        for ok in [
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/my_app-2:12",
            "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:task-definition/api:1",
            "web:7",
        ] {
            let r: TaskDefinitionRef = ok.parse().unwrap();
            assert_eq!(r.as_str(), ok);
            assert_eq!(r.to_string(), ok);
        }
        for bad in [
            "web",
            "web:latest",
            "web:0",
            "web:-1",
            "we b:7",
            "arn:aws:ecs:us-east-1:123:task-definition/web:7",
            "arn:aws:ecr:us-east-1:123456789012:repository/web",
            "arn:aws:ecs:us-east-1:123456789012:service/c/web",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web",
            "arn:aws:ecs::123456789012:task-definition/web:7",
            "arn:",
            "",
        ] {
            let e = bad.parse::<TaskDefinitionRef>().unwrap_err();
            assert!(
                e.to_string().contains("is not a task definition ARN"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn whitespace_is_trimmed_and_the_message_quotes_the_value() {
        let r: TaskDefinitionRef = "  web:7\n".parse().unwrap();
        assert_eq!(r.as_str(), "web:7");
        let e = " web ".parse::<TaskDefinitionRef>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`web` is not a task definition ARN; use e.g. \
             `arn:aws:ecs:us-east-1:123456789012:task-definition/web:7` or `web:7` (family:revision)"
        );
    }

    #[test]
    fn serde_uses_the_grammar() {
        let r: TaskDefinitionRef = serde_json::from_str("\"web:7\"").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"web:7\"");
        let e = serde_json::from_str::<TaskDefinitionRef>("\"web\"").unwrap_err();
        assert!(
            e.to_string().contains("is not a task definition ARN"),
            "{e}"
        );
    }
}
