//! Pure pre-flight checks: what is decided from data before anything is changed.

use std::time::{Duration, SystemTime};

/// A task definition reference: a full ARN (`arn:aws:ecs:us-east-1:123456789012:task-definition/web:7`)
/// or `family:revision`. Returns a message saying what is accepted when it is neither.
pub fn task_definition_ref(s: &str) -> Result<String, String> {
    let s = s.trim();
    let family_ok = |f: &str| {
        !f.is_empty()
            && f.len() <= 255
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let rev_ok = |r: &str| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()) && r != "0";
    let family_rev = |fr: &str| {
        fr.rsplit_once(':')
            .is_some_and(|(f, r)| family_ok(f) && rev_ok(r))
    };
    let ok = if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        parts.len() == 5
            && parts[0].starts_with("aws")
            && parts[1] == "ecs"
            && !parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].chars().all(|c| c.is_ascii_digit())
            && parts[4]
                .strip_prefix("task-definition/")
                .is_some_and(family_rev)
    } else {
        family_rev(s)
    };
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a task definition ARN; use e.g. \
             `arn:aws:ecs:us-east-1:123456789012:task-definition/web:7` or `web:7` (family:revision)"
        ))
    }
}

/// The migration command: a JSON array of strings, or shell words.
pub fn command(s: &str) -> Result<Vec<String>, String> {
    let t = s.trim();
    let words = if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t)
            .map_err(|e| format!("`{t}` is not a JSON array of strings ({e})"))?
    } else {
        shell_words::split(t).map_err(|e| format!("`{t}` is not valid shell words ({e})"))?
    };
    if words.is_empty() {
        return Err(
            "empty command; give e.g. `bin/migrate --up` or `[\"bin/migrate\",\"--up\"]`".into(),
        );
    }
    Ok(words)
}

/// What the credentials' expiry means for a run that may last `needed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialCheck {
    /// No expiry, or it is far enough away.
    Fine,
    /// They might expire before the end (a slow deployment would outlive them).
    Warn(String),
    /// They will expire before even the bake could end.
    Fail(String),
}

/// `timeout + bake` is the longest a deploy can take; `bake + one poll` the shortest (a
/// deployment that completes at once). Expiring before the shortest is a sure failure.
pub fn credentials(
    expiry: Option<SystemTime>,
    now: SystemTime,
    timeout: Duration,
    bake: Duration,
    interval: Duration,
) -> CredentialCheck {
    let Some(expiry) = expiry else {
        return CredentialCheck::Fine;
    };
    let left = expiry.duration_since(now).unwrap_or(Duration::ZERO);
    let fmt = gantry_kit::cli::format_duration;
    let at = aws_smithy_types::DateTime::from(expiry)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "an unknown time".into());
    if left <= bake + interval {
        CredentialCheck::Fail(format!(
            "the AWS credentials expire at {at} (in {}), before the bake of {} could end",
            fmt(left),
            fmt(bake)
        ))
    } else if left < timeout + bake {
        CredentialCheck::Warn(format!(
            "the AWS credentials expire at {at} (in {}), before timeout + bake-time ({}); \
             a slow deployment would outlive them",
            fmt(left),
            fmt(timeout + bake)
        ))
    } else {
        CredentialCheck::Fine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_refs() {
        for ok in [
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/my_app-2:12",
            "web:7",
        ] {
            assert_eq!(task_definition_ref(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "web",
            "web:latest",
            "web:0",
            "arn:aws:ecs:us-east-1:123:task-definition/web:7",
            "arn:aws:ecr:us-east-1:123456789012:repository/web",
            "arn:aws:ecs:us-east-1:123456789012:service/c/web",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web",
            "",
        ] {
            let e = task_definition_ref(bad).unwrap_err();
            assert!(e.contains("is not a task definition ARN"), "{bad}: {e}");
        }
    }

    #[test]
    fn commands() {
        assert_eq!(
            command(r#"["bin/migrate", "--to", "a b"]"#).unwrap(),
            vec!["bin/migrate", "--to", "a b"]
        );
        assert_eq!(
            command("bin/migrate --to 'a b'").unwrap(),
            vec!["bin/migrate", "--to", "a b"]
        );
        assert!(
            command("[1, 2]")
                .unwrap_err()
                .contains("JSON array of strings")
        );
        assert!(
            command("bin/migrate 'open")
                .unwrap_err()
                .contains("shell words")
        );
        assert!(command("  ").unwrap_err().contains("empty command"));
    }

    #[test]
    fn credential_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let m = |n: u64| Duration::from_secs(60 * n);
        let check = |expiry: Option<SystemTime>| credentials(expiry, now, m(30), m(5), m(0));
        assert_eq!(check(None), CredentialCheck::Fine);
        assert_eq!(check(Some(now + m(60))), CredentialCheck::Fine);
        match check(Some(now + m(20))) {
            CredentialCheck::Warn(w) => {
                assert!(w.contains("expire at 2027-01-15T08:20:00Z (in 20m)"), "{w}");
                assert!(w.contains("(35m)"), "{w}");
            }
            other => panic!("{other:?}"),
        }
        match check(Some(now + m(4))) {
            CredentialCheck::Fail(f) => assert!(f.contains("before the bake of 5m"), "{f}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(check(Some(now - m(1))), CredentialCheck::Fail(_)));
    }
}
