//! The AWS edge: one file per service, domain types in and out. Nothing here decides.

pub mod cloudwatch;
pub mod ecs;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::time::SystemTime;

/// The clients the rollout uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    /// The provider the clients sign with (its credentials' expiry is checked in pre-flight).
    pub credentials: Option<SharedCredentialsProvider>,
}

impl Clients {
    /// The credentials' expiry: the clients' own provider's, else `AWS_CREDENTIAL_EXPIRATION`
    /// (RFC 3339), which `aws-actions/configure-aws-credentials` exports with the session it
    /// leaves as plain environment variables — the provider reads those without an expiry.
    pub async fn credential_expiry(&self) -> Option<SystemTime> {
        let from_provider = match self.credentials.as_ref() {
            None => None,
            Some(provider) => match provider.provide_credentials().await {
                Ok(c) => c.expiry(),
                Err(e) => {
                    tracing::debug!("could not resolve credentials to read their expiry: {e}");
                    None
                }
            },
        };
        from_provider
            .or_else(|| expiry_from_env(std::env::var("AWS_CREDENTIAL_EXPIRATION").ok().as_deref()))
    }
}

/// `AWS_CREDENTIAL_EXPIRATION` as a time; a value that is not RFC 3339 is ignored (logged).
pub fn expiry_from_env(value: Option<&str>) -> Option<SystemTime> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    match aws_smithy_types::DateTime::from_str(v, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
    {
        Some(t) => Some(t),
        None => {
            tracing::warn!("AWS_CREDENTIAL_EXPIRATION `{v}` is not an RFC 3339 time; ignored");
            None
        }
    }
}

/// A short name for a fault (an error code, else its kind): raw responses stay out of the log.
pub fn fault_label(f: &gantry_kit::aws::AwsFault) -> String {
    f.code
        .clone()
        .unwrap_or_else(|| format!("{:?} error", f.kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_expiry_configure_aws_credentials_exports_is_read() {
        let t = expiry_from_env(Some("2026-12-03T14:05:00Z")).unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_secs(1_796_306_700)
        );
        assert!(expiry_from_env(Some("2026-12-03T14:05:00.000Z")).is_some());
        assert_eq!(expiry_from_env(Some("tomorrow")), None);
        assert_eq!(expiry_from_env(Some("  ")), None);
        assert_eq!(expiry_from_env(None), None);
    }
}
