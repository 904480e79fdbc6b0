//! Logging: tracing to stderr, no timestamps (the runner adds its own), filtered by `GANTRY_LOG`
//! then `RUST_LOG` (default `info`), with the SDK's and the HTTP stack's own tracing capped
//! whatever those ask for ([`WIRE_CAPS`]), and written through [`CommandSafe`], so no line of a
//! log event — a file name, an ECS event, a CloudFormation reason — can start a workflow command.

use std::io::{IsTerminal, Write};
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
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
        .with_writer(CommandSafe(std::io::stderr))
        .with_filter(filter.and(caps));
    let _ = tracing_subscriber::registry().with(layer).try_init();
    if let Some(e) = bad {
        tracing::warn!("ignoring GANTRY_LOG/RUST_LOG `{directive}`: {e}");
    }
}

/// One log event's text with every line that would start a workflow command neutralised: the
/// runner reads `::name …::` at a line's start (after blanks) on stdout and stderr, so a message
/// that carries text from outside (`evil\n::warning::…` as a file name, an ECS event, a stack
/// event's reason) could otherwise annotate, mask or stop commands. Such a line's `::` becomes
/// `%3A%3A` and a carriage return `%0D` (the runner's own escapes); other text is left as it is,
/// so multi-line messages stay readable. Commands gantry means to write go through
/// `gantry_kit::github`, never through the log.
pub fn command_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !text.contains('\r') && !text.split('\n').any(starts_command) {
        return std::borrow::Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let line = line.replace('\r', "%0D");
            if starts_command(&line) {
                let blanks = line.len() - line.trim_start().len();
                format!("{}%3A%3A{}", &line[..blanks], &line[blanks + 2..])
            } else {
                line
            }
        })
        .collect();
    std::borrow::Cow::Owned(lines.join("\n"))
}

/// A [`MakeWriter`] whose writers hold one event and write it, made [`command_safe`], when the
/// event is complete (the formatter asks for a writer per event).
#[derive(Debug, Clone, Copy)]
pub struct CommandSafe<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for CommandSafe<M> {
    type Writer = EventBuffer<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer {
            text: Vec::new(),
            out: self.0.make_writer(),
        }
    }
}

/// One event's bytes, written on drop (see [`CommandSafe`]).
#[derive(Debug)]
pub struct EventBuffer<W: Write> {
    text: Vec<u8>,
    out: W,
}

impl<W: Write> Write for EventBuffer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for EventBuffer<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let _ = self.out.write_all(command_safe(&text).as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_of_a_log_event_starts_a_workflow_command() {
        assert_eq!(
            command_safe(" INFO uploaded a.html"),
            " INFO uploaded a.html"
        );
        assert_eq!(
            command_safe(" INFO uploaded evil\n::warning title=pwned::x\n"),
            " INFO uploaded evil\n%3A%3Awarning title=pwned::x\n"
        );
        assert_eq!(
            command_safe("a\n  ::add-mask::z\r\n::stop-commands::t"),
            "a\n  %3A%3Aadd-mask::z%0D\n%3A%3Astop-commands::t"
        );
        assert_eq!(
            command_safe("two lines\nstay as they are: a::b"),
            "two lines\nstay as they are: a::b"
        );
    }

    #[test]
    fn an_event_logged_through_the_writer_cannot_start_a_command() {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::registry().with(
            fmt::layer()
                .without_time()
                .with_target(false)
                .with_ansi(false)
                .with_writer(CommandSafe(move || sink.clone())),
        );
        tracing::subscriber::with_default(subscriber, || {
            let name = "evil\n::warning title=pwned::x";
            tracing::info!("uploaded {name}");
            tracing::warn!("ECS: (service web) ::error::deployment failed");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("uploaded evil\n%3A%3Awarning title=pwned::x"),
            "{text}"
        );
        for line in text.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line:?} in {text}");
        }
        assert_eq!(text.lines().count(), 3, "{text}");
    }

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
        let env = crate::testing::env_of;
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
