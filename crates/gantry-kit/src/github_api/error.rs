//! What GitHub refused, in words a user can act on: the status, GitHub's own message, and the
//! permission the token needs.

use crate::error::Error;

/// A request GitHub did not fulfil. The `Display` form is one line; [`ApiError::into_error`]
/// adds the `help:` lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: the token is missing, expired or revoked.
    #[error("GitHub refused the token (401 {message})")]
    Unauthorized { message: String },
    /// 403 without a rate-limit sign: the token lacks a permission.
    #[error("GitHub refused the request (403 {message})")]
    Forbidden {
        message: String,
        /// `x-accepted-github-permissions`, e.g. `deployments=write`.
        accepted: Option<String>,
        /// What the action needs, e.g. `deployments: write`.
        permission: &'static str,
    },
    /// 404: not there — or not visible to this token, which GitHub also answers with 404.
    #[error("GitHub found no {what} (404 {message})")]
    NotFound {
        what: String,
        message: String,
        permission: &'static str,
    },
    /// 409: GitHub's conflict message (for deployments: a merge conflict or failed checks).
    #[error("GitHub answered 409 Conflict: {message}")]
    Conflict { message: String },
    /// 422: validation failed; GitHub's message and each `errors[]` entry.
    #[error("GitHub rejected the request (422 {message}{})", details(.errors))]
    Unprocessable {
        message: String,
        errors: Vec<String>,
    },
    /// The primary rate limit is used up until after the deadline.
    #[error(
        "GitHub's rate limit for this token is used up until {reset_time}, after this step's deadline"
    )]
    RateLimited { reset: u64, reset_time: String },
    /// A secondary rate limit still refuses after every retry.
    #[error("GitHub's secondary rate limit still refuses requests after {attempts} attempts")]
    SecondaryLimit { attempts: u32 },
    /// 5xx after every retry.
    #[error("GitHub answered {status} after {attempts} attempts: {message}")]
    Server {
        status: u16,
        attempts: u32,
        message: String,
    },
    /// No answer (connection refused, reset, timeout) after every retry.
    #[error("could not reach GitHub at {url}: {message}")]
    Transport { url: String, message: String },
    /// An answer whose body is not what GitHub documents.
    #[error("GitHub's answer to {what} could not be read: {message}")]
    Decode { what: String, message: String },
    /// GraphQL `errors`.
    #[error("GitHub's GraphQL API answered with errors: {}", .0.join("; "))]
    GraphQl(Vec<String>),
    /// Any other status.
    #[error("GitHub answered {status}: {message}")]
    Other { status: u16, message: String },
}

fn details(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join("; "))
    }
}

impl ApiError {
    /// The kit's error (exit 1), prefixed with what was being done, with hints.
    pub fn into_error(self, doing: &str) -> Error {
        let hints = self.hints();
        let mut e = Error::failed(format!("{doing}: {self}"));
        for h in hints {
            e = e.with_hint(h);
        }
        e
    }

    fn hints(&self) -> Vec<String> {
        let grant =
            |p: &str| format!("give the job `permissions: {p}` (or a `github-token` that has it)");
        match self {
            Self::Unauthorized { .. } => vec![
                "pass a valid token as `github-token` (the default is the workflow's `github.token`)".into(),
            ],
            Self::Forbidden {
                accepted,
                permission,
                ..
            } => {
                let mut h = vec![grant(permission)];
                if let Some(a) = accepted.as_deref().filter(|a| !a.is_empty()) {
                    h.push(format!("GitHub accepts a token with: {a}"));
                }
                h
            }
            Self::NotFound { permission, .. } => vec![
                "check the repository and id; GitHub also answers 404 when the token cannot see the repository".into(),
                grant(permission),
            ],
            Self::RateLimited { .. } => vec![
                "re-run after the reset time, or raise `timeout` so the step can wait for it".into(),
            ],
            Self::SecondaryLimit { .. } => vec![
                "too many requests in a short time (GitHub's secondary limit): re-run in a few minutes".into(),
            ],
            Self::Server { .. } | Self::Transport { .. } => vec![
                "GitHub may be degraded (https://www.githubstatus.com); re-run the job later".into(),
            ],
            _ => Vec::new(),
        }
    }

    /// The HTTP status GitHub answered, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } => Some(409),
            Self::Unprocessable { .. } => Some(422),
            Self::Server { status, .. } | Self::Other { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_permission() {
        let e = ApiError::Forbidden {
            message: "Resource not accessible by integration".into(),
            accepted: Some("deployments=write".into()),
            permission: "deployments: write",
        }
        .into_error("creating the deployment");
        insta::assert_snapshot!(e.render(), @r"
        error: creating the deployment: GitHub refused the request (403 Resource not accessible by integration)
          help: give the job `permissions: deployments: write` (or a `github-token` that has it)
          help: GitHub accepts a token with: deployments=write
        ");
    }

    #[test]
    fn unprocessable_lists_errors_and_rate_limit_names_reset() {
        let e = ApiError::Unprocessable {
            message: "Validation Failed".into(),
            errors: vec!["description is too long".into()],
        };
        assert_eq!(
            e.to_string(),
            "GitHub rejected the request (422 Validation Failed: description is too long)"
        );
        let r = ApiError::RateLimited {
            reset: 1,
            reset_time: "2026-12-03T09:00:00Z".into(),
        };
        assert!(r.to_string().contains("until 2026-12-03T09:00:00Z"));
        assert_eq!(r.status(), None);
        assert_eq!(
            ApiError::Conflict {
                message: "x".into()
            }
            .status(),
            Some(409)
        );
    }
}
