//! Logging: tracing to stderr, no timestamps (the runner adds its own), filtered by `GANTRY_LOG`
//! then `RUST_LOG` (default `info`).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(!in_actions && std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring GANTRY_LOG/RUST_LOG `{directive}`: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
