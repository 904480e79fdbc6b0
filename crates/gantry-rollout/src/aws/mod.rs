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
    /// The credentials' expiry, from the clients' own provider.
    pub async fn credential_expiry(&self) -> Option<SystemTime> {
        let provider = self.credentials.as_ref()?;
        match provider.provide_credentials().await {
            Ok(c) => c.expiry(),
            Err(e) => {
                tracing::debug!("could not resolve credentials to read their expiry: {e}");
                None
            }
        }
    }
}

/// A short name for a fault (an error code, else its kind): raw responses stay out of the log.
pub fn fault_label(f: &gantry_kit::aws::AwsFault) -> String {
    f.code
        .clone()
        .unwrap_or_else(|| format!("{:?} error", f.kind))
}
