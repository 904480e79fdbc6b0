//! AWS client set-up and the one mapping from SDK errors to gantry errors.

use crate::error::Error;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Flags every AWS-calling binary flattens into its CLI.
#[derive(clap::Args, Debug, Clone)]
pub struct AwsArgs {
    /// Attempts per AWS call, first try included (standard retry mode: jittered back-off on
    /// throttling and 5xx).
    #[arg(long, env = "GANTRY_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

impl Default for AwsArgs {
    fn default() -> Self {
        Self { max_attempts: 5 }
    }
}

/// Builds the shared `SdkConfig`: the default credential chain (what
/// `aws-actions/configure-aws-credentials` leaves behind), region from the usual sources (else
/// `fallback_region`), standard retries. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`
/// are honoured by the SDK's own config loader.
pub async fn sdk_config(args: &AwsArgs, fallback_region: Option<&'static str>) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(args.max_attempts))
        .timeout_config(timeouts())
        .http_client(http_client());
    match fallback_region {
        Some(r) => loader.region(region_chain().or_else(r)),
        // The loader's own default chain, built with the loader's HTTP client.
        None => loader,
    }
    .load()
    .await
}

/// The SDK's default region chain — `AWS_REGION`/`AWS_DEFAULT_REGION`, the profile, then the
/// instance metadata — built with [`http_client`]: `RegionProviderChain::default_provider()`
/// would build its metadata client with the SDK's own HTTPS client, which gantry leaves out.
fn region_chain() -> RegionProviderChain {
    use aws_config::environment::region::EnvironmentVariableRegionProvider;
    use aws_config::imds::region::ImdsRegionProvider;
    use aws_config::profile::region::ProfileFileRegionProvider;
    use aws_config::provider_config::ProviderConfig;
    let conf = ProviderConfig::default().with_http_client(http_client());
    RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(
            ProfileFileRegionProvider::builder()
                .configure(&conf)
                .build(),
        )
        .or_else(ImdsRegionProvider::builder().configure(&conf).build())
}

/// The HTTPS client every AWS client of a process shares (one connection pool): hyper with
/// rustls over ring, the TLS stack the GitHub and registry clients use too, and the machine's
/// root certificates. Built once; cloning it is cheap.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    static CLIENT: std::sync::OnceLock<aws_smithy_runtime_api::client::http::SharedHttpClient> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https()
        })
        .clone()
}

/// How long one connection may take to open.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a request may wait for its response to begin (its body sent included: at most
/// 8 MiB, a part of a multipart upload).
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long one attempt of a call may take in all; a timed-out attempt is retried like a
/// broken connection, within `max-attempts`.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The SDK's timeouts: an endpoint that accepts the connection and never answers costs an
/// attempt, not the run. A command's own deadline (`--timeout`) bounds the whole call on top
/// (`poll::until`, and each probe of `poll::poll`).
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The endpoint override in force for a service (`S3`, `CLOUDFRONT`, …), as the SDK reads it:
/// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
pub fn endpoint_override(service: &str) -> Option<String> {
    endpoint_override_from(service, |k| std::env::var(k).ok())
}

fn endpoint_override_from(service: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let key = format!(
        "AWS_ENDPOINT_URL_{}",
        service.to_ascii_uppercase().replace([' ', '-'], "_")
    );
    configured_endpoint(&key, &env)
        .or_else(|| configured_endpoint("AWS_ENDPOINT_URL", &env))
        .filter(|v| !v.is_empty())
}

/// One endpoint variable, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns them all off.
fn configured_endpoint(key: &str, env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    if env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    env(key)
}

fn process_endpoint(key: &str) -> Option<String> {
    configured_endpoint(key, &|k: &str| std::env::var(k).ok()).filter(|v| !v.is_empty())
}

/// An S3 client from the shared config, with path-style addressing when an endpoint override is
/// in force (an emulator has no per-bucket host names; the docs.rs storage backend does the same).
#[cfg(feature = "s3")]
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(sdk))
}

/// The S3 client config [`s3_client`] uses.
#[cfg(feature = "s3")]
pub fn s3_config(sdk: &SdkConfig) -> aws_sdk_s3::Config {
    aws_sdk_s3::config::Builder::from(sdk)
        // The general AWS_ENDPOINT_URL already reaches the SdkConfig; the S3-only one does not.
        .force_path_style(
            sdk.endpoint_url().is_some() || process_endpoint("AWS_ENDPOINT_URL_S3").is_some(),
        )
        .build()
}

/// What kind of failure an SDK error is, for retry decisions and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The service answered with an error code.
    Service,
    /// The service throttled us (after the SDK's own retries).
    Throttling,
    /// Missing, expired or invalid credentials, or not allowed.
    Credentials,
    /// The request never got an answer (connection refused, DNS, TLS).
    Network,
    /// The call timed out.
    Timeout,
    /// The service failed on its side (5xx) after the SDK's retries.
    Server,
    /// Anything else (the request could not be built, the response could not be read).
    Other,
}

/// A classified SDK error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFault {
    pub kind: FaultKind,
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "BandwidthLimitExceeded",
];

/// Server-side failures the SDK retries; once its attempts are spent they are still transient.
const SERVER: &[&str] = &[
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
];

const CREDENTIALS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
    "UnauthorizedOperation",
];

/// Classifies an SDK error by its error code and HTTP status.
pub fn classify<E, R>(err: &SdkError<E, R>) -> AwsFault
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().map(str::to_owned);
            let message = e
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string());
            let kind = match code.as_deref() {
                Some(c) if THROTTLING.contains(&c) => FaultKind::Throttling,
                Some(c) if CREDENTIALS.contains(&c) => FaultKind::Credentials,
                Some(c) if SERVER.contains(&c) => FaultKind::Server,
                _ => FaultKind::Service,
            };
            AwsFault {
                kind,
                code,
                message,
                status: None,
            }
        }
        SdkError::TimeoutError(_) => AwsFault {
            kind: FaultKind::Timeout,
            code: None,
            message: DisplayErrorContext(err).to_string(),
            status: None,
        },
        SdkError::DispatchFailure(d) => {
            let message = DisplayErrorContext(err).to_string();
            use aws_smithy_types::retry::ErrorKind;
            let kind = if d.is_timeout() {
                FaultKind::Timeout
            } else if mentions_credentials(&message) {
                FaultKind::Credentials
            } else if d.is_io() {
                FaultKind::Network
            } else {
                match d.as_other() {
                    // "connection closed before message completed" and its kin.
                    Some(ErrorKind::TransientError | ErrorKind::ServerError) => FaultKind::Network,
                    Some(ErrorKind::ThrottlingError) => FaultKind::Throttling,
                    _ => FaultKind::Other,
                }
            };
            AwsFault {
                kind,
                code: None,
                message,
                status: None,
            }
        }
        // The connection broke while the answer was being read.
        SdkError::ResponseError(_) => AwsFault {
            kind: FaultKind::Network,
            code: None,
            message: DisplayErrorContext(err).to_string(),
            status: None,
        },
        _ => {
            let message = DisplayErrorContext(err).to_string();
            let kind = if mentions_credentials(&message) {
                FaultKind::Credentials
            } else {
                FaultKind::Other
            };
            AwsFault {
                kind,
                code: None,
                message,
                status: None,
            }
        }
    }
}

fn mentions_credentials(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("credential") || m.contains("identity resolver")
}

impl FaultKind {
    /// The network, a timeout, throttling or a 5xx: it may pass by itself.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Network | Self::Timeout | Self::Throttling | Self::Server
        )
    }
}

impl AwsFault {
    /// The gantry error for this fault, with hints a user can act on. `operation` names what
    /// was being done, e.g. `CloudFront CreateInvalidation`.
    pub fn into_error(self, operation: &str) -> Error {
        let what = match &self.code {
            Some(code) => format!("{operation}: {code}: {}", self.message),
            None => format!("{operation}: {}", self.message),
        };
        let e = Error::failed(what);
        let e = match self.kind {
            FaultKind::Credentials => e.with_hint(
                "check the AWS credentials and the role's permissions for this call \
                 (in Actions: aws-actions/configure-aws-credentials before this step)",
            ),
            FaultKind::Throttling => e.with_hint(
                "AWS kept throttling after the retries; raise `max-attempts` \
                 (GANTRY_MAX_ATTEMPTS) or run fewer jobs against this account at once",
            ),
            FaultKind::Network => {
                let ep = process_endpoint("AWS_ENDPOINT_URL")
                    .map(|u| format!(" (AWS_ENDPOINT_URL is {u})"))
                    .unwrap_or_default();
                e.with_hint(format!(
                    "could not reach AWS{ep}; check the network and endpoint settings"
                ))
            }
            FaultKind::Timeout => e.with_hint("the call timed out; re-running is safe"),
            FaultKind::Server | FaultKind::Service | FaultKind::Other => e,
        };
        if self.kind.is_transient() {
            e.transient()
        } else {
            e
        }
    }
}

/// Maps an SDK error to a gantry error (exit 1) by error code: the one place that does it.
pub fn aws_error<E, R>(operation: &str, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    classify(err).into_error(operation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct Svc(ErrorMetadata);
    impl std::fmt::Display for Svc {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "service error")
        }
    }
    impl std::error::Error for Svc {}
    impl ProvideErrorMetadata for Svc {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service_err(code: &str, msg: &str) -> SdkError<Svc, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(msg).build();
        let resp = HttpResponse::new(400u16.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(Svc(meta), resp)
    }

    #[test]
    fn classifies_by_code() {
        let f = classify(&service_err(
            "NoSuchDistribution",
            "The specified distribution does not exist.",
        ));
        assert_eq!(f.kind, FaultKind::Service);
        assert_eq!(f.code.as_deref(), Some("NoSuchDistribution"));
        assert_eq!(
            classify(&service_err("Throttling", "Rate exceeded")).kind,
            FaultKind::Throttling
        );
        assert_eq!(
            classify(&service_err("AccessDenied", "no")).kind,
            FaultKind::Credentials
        );
        assert_eq!(
            classify(&service_err("ExpiredToken", "old")).kind,
            FaultKind::Credentials
        );
    }

    #[test]
    fn error_message_names_operation_code_and_aws_text() {
        let e = aws_error(
            "CloudFront CreateInvalidation",
            &service_err(
                "NoSuchDistribution",
                "The specified distribution does not exist.",
            ),
        );
        assert_eq!(e.exit_code(), crate::ExitCode::Failed);
        insta::assert_snapshot!(e.render(), @"error: CloudFront CreateInvalidation: NoSuchDistribution: The specified distribution does not exist.");
        let e = aws_error(
            "S3 ListObjectsV2",
            &service_err("AccessDenied", "Access Denied"),
        );
        assert!(
            e.render().contains("help: check the AWS credentials"),
            "{}",
            e.render()
        );
    }

    #[test]
    fn network_timeouts_throttling_and_server_faults_are_transient() {
        assert!(
            aws_error(
                "ECS DescribeServices",
                &service_err("Throttling", "slow down")
            )
            .is_transient()
        );
        assert!(
            aws_error(
                "ECS DescribeServices",
                &service_err("ServerException", "oops")
            )
            .is_transient()
        );
        assert!(
            !aws_error("ECS DescribeServices", &service_err("AccessDenied", "no")).is_transient()
        );
        assert!(
            !aws_error(
                "ECS DescribeServices",
                &service_err("ServiceNotFoundException", "gone")
            )
            .is_transient()
        );
        let timeout: SdkError<Svc, HttpResponse> = SdkError::timeout_error("attempt timeout");
        assert!(aws_error("ECS DescribeServices", &timeout).is_transient());
        // What a connection cut by the network looks like: hyper's IncompleteMessage.
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let cut: SdkError<Svc, HttpResponse> = SdkError::dispatch_failure(ConnectorError::other(
            "connection closed before message completed".into(),
            Some(aws_smithy_types::retry::ErrorKind::TransientError),
        ));
        let f = classify(&cut);
        assert_eq!(f.kind, FaultKind::Network);
        assert!(f.into_error("ECS DescribeServices").is_transient());
    }

    #[test]
    fn endpoint_override_precedence() {
        let env = crate::testing::env_of;
        assert_eq!(endpoint_override_from("S3", env(&[])), None);
        assert_eq!(
            endpoint_override_from("s3", env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")])),
            Some("http://127.0.0.1:5000".into())
        );
        assert_eq!(
            endpoint_override_from(
                "S3",
                env(&[
                    ("AWS_ENDPOINT_URL", "http://a"),
                    ("AWS_ENDPOINT_URL_S3", "http://b")
                ])
            ),
            Some("http://b".into())
        );
        assert_eq!(
            endpoint_override_from(
                "S3",
                env(&[
                    ("AWS_ENDPOINT_URL", "http://a"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
                ])
            ),
            None
        );
    }
}
