//! Logging: tracing to stderr, no timestamps (the runner adds its own), filtered by `GANTRY_LOG`
//! then `RUST_LOG` (default `info`), with the SDK's and the HTTP stack's own tracing capped
//! whatever those ask for ([`WIRE_CAPS`]).

use std::io::IsTerminal;
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// The most each library may log, by target prefix, whatever `GANTRY_LOG`/`RUST_LOG` say. At
/// trace level the SDK's orchestrator prints every response body and deserialized output —
/// ECR's GetAuthorizationToken answer is the registry password — and its signer prints the
/// request with the session token; the HTTP stack below logs connections and frames. Their
/// debug lines (attempts, retries, back-off, endpoints) carry no secrets and stay available.
pub const WIRE_CAPS: &[(&str, Level)] = &[
    ("aws_smithy_", Level::DEBUG),
    ("aws_runtime", Level::DEBUG),
    ("aws_config", Level::DEBUG),
    ("aws_sdk_", Level::DEBUG),
    ("aws_sigv4", Level::INFO),
    ("aws_credential_types", Level::INFO),
    ("hyper", Level::DEBUG),
    ("h2", Level::DEBUG),
    ("reqwest", Level::DEBUG),
    ("rustls", Level::INFO),
    ("tower", Level::DEBUG),
    ("octocrab", Level::DEBUG),
];

/// Whether an event or span of `target` at `level` may be logged at all ([`WIRE_CAPS`]).
pub fn within_caps(target: &str, level: &Level) -> bool {
    WIRE_CAPS
        .iter()
        .find(|(prefix, _)| {
            target.strip_prefix(prefix).is_some_and(|rest| {
                prefix.ends_with('_') || rest.is_empty() || rest.starts_with([':', '_'])
            })
        })
        // Levels order by verbosity: TRACE > DEBUG > INFO.
        .is_none_or(|(_, cap)| level <= cap)
}

/// The filter directive in force: `GANTRY_LOG`, else `RUST_LOG`, else `info`.
pub fn filter_directive(env: impl Fn(&str) -> Option<String>) -> String {
    env("GANTRY_LOG")
        .filter(|v| !v.is_empty())
        .or_else(|| env("RUST_LOG").filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "info".to_owned())
}

/// Installs the subscriber once; later calls are no-ops. A bad filter falls back to `info`
/// with a warning rather than failing the action.
pub fn init() {
    let directive = filter_directive(|k| std::env::var(k).ok());
    let (filter, bad) = match EnvFilter::try_new(&directive) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let caps = filter_fn(|meta| within_caps(meta.target(), meta.level()));
    let layer = fmt::layer()
        .without_time()
        .with_target(false)
        .with_ansi(!in_actions && std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(filter.and(caps));
    let _ = tracing_subscriber::registry().with(layer).try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring GANTRY_LOG/RUST_LOG `{directive}`: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_and_http_stack_are_capped_whatever_is_asked() {
        let orchestrator = "aws_smithy_runtime::client::orchestrator";
        assert!(!within_caps(orchestrator, &Level::TRACE), "response bodies");
        assert!(
            within_caps(orchestrator, &Level::DEBUG),
            "attempts and retries"
        );
        assert!(!within_caps(
            "aws_smithy_runtime::client::orchestrator::http",
            &Level::TRACE
        ));
        assert!(!within_caps("aws_sigv4::http_request::sign", &Level::DEBUG));
        assert!(!within_caps("aws_sigv4::http_request::sign", &Level::TRACE));
        assert!(!within_caps("h2::codec::framed_read", &Level::TRACE));
        assert!(!within_caps(
            "hyper_util::client::legacy::pool",
            &Level::TRACE
        ));
        assert!(!within_caps("aws_sdk_ecr::operation", &Level::TRACE));
        assert!(
            within_caps("gantry_image::registry", &Level::TRACE),
            "our own code"
        );
        assert!(
            within_caps("h2o_wrapper", &Level::TRACE),
            "only whole names match"
        );
        assert!(within_caps("aws_smithy_runtime", &Level::INFO));
    }

    #[test]
    fn gantry_log_wins_over_rust_log() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(filter_directive(env(&[])), "info");
        assert_eq!(filter_directive(env(&[("RUST_LOG", "debug")])), "debug");
        assert_eq!(
            filter_directive(env(&[("RUST_LOG", "debug"), ("GANTRY_LOG", "warn")])),
            "warn"
        );
        assert_eq!(
            filter_directive(env(&[("GANTRY_LOG", ""), ("RUST_LOG", "trace")])),
            "trace"
        );
    }
}
