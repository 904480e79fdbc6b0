//! The one error type every gantry binary ends with: a one-line message, `help:` hints, an exit
//! code, and (optionally) the outputs known when it happened.

use crate::exit::ExitCode;
use crate::outputs::Outputs;
use std::fmt;

/// A failure a user can act on. Rendered as one line plus `help:` lines, never as a Debug dump
/// (SDK errors' Debug includes raw responses).
#[derive(Debug)]
pub struct Error {
    code: ExitCode,
    message: String,
    hints: Vec<String>,
    /// Outputs known at the time (e.g. the invalidation id when only the wait timed out); they
    /// are still written so an `if: failure()` step can use them.
    outputs: Option<Outputs>,
    /// Markdown for the step summary known at the time (e.g. the rollout's timeline), written
    /// by `report::finish` as a success's summary is.
    summary: Option<String>,
    /// The failure may pass by itself (AWS unreachable, a timeout, throttling): a poll may
    /// treat it as "not known yet" rather than as the end.
    transient: bool,
}

impl Error {
    fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hints: Vec::new(),
            outputs: None,
            summary: None,
            transient: false,
        }
    }

    /// Exit 2: an input was rejected before anything was written. Name the input and what
    /// would be accepted.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ExitCode::InputRejected, message)
    }

    /// Exit 1: failed (including errors AWS reports and pre-flight refusals).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Failed, message)
    }

    /// Exit 3: a deployment failed and was rolled back.
    pub fn rolled_back(message: impl Into<String>) -> Self {
        Self::new(ExitCode::RolledBack, message)
    }

    /// Exit 4: the deadline passed without a completed rollback.
    pub fn deadline(message: impl Into<String>) -> Self {
        Self::new(ExitCode::DeadlineExceeded, message)
    }

    /// Adds a `help:` line.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Attaches the outputs known when the failure happened.
    #[must_use]
    pub fn with_outputs(mut self, outputs: Outputs) -> Self {
        self.outputs = Some(outputs);
        self
    }

    /// Attaches step-summary markdown known when the failure happened.
    #[must_use]
    pub fn with_summary(mut self, markdown: impl Into<String>) -> Self {
        self.summary = Some(markdown.into());
        self
    }

    /// Marks the failure as one that may pass by itself (see [`Error::is_transient`]).
    #[must_use]
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Whether the failure may pass by itself: the network, a timeout, throttling, a 5xx.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// Prefixes the message with what was being done: `context: message`.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    pub fn outputs(&self) -> Option<&Outputs> {
        self.outputs.as_ref()
    }

    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// Title of the `::error` annotation.
    pub fn title(&self) -> &'static str {
        match self.code {
            ExitCode::InputRejected => "gantry: input rejected",
            ExitCode::RolledBack => "gantry: rolled back",
            ExitCode::DeadlineExceeded => "gantry: deadline passed",
            ExitCode::Success | ExitCode::Failed => "gantry: failed",
        }
    }

    /// The human rendering: `error: message` then one `  help: …` line per hint.
    pub fn render(&self) -> String {
        let mut s = format!("error: {}", self.message);
        for h in &self.hints {
            s.push_str("\n  help: ");
            s.push_str(h);
        }
        s
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with the kit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_message_and_hints() {
        let e = Error::input("--paths: `/a*b` has `*` before the end")
            .with_hint("a wildcard is only allowed as the last character, e.g. `/a*`");
        assert_eq!(e.exit_code(), ExitCode::InputRejected);
        insta::assert_snapshot!(e.render(), @r"
        error: --paths: `/a*b` has `*` before the end
          help: a wildcard is only allowed as the last character, e.g. `/a*`
        ");
    }

    #[test]
    fn context_prefixes_message() {
        let e = Error::failed("NoSuchDistribution").context("CreateInvalidation");
        assert_eq!(e.message(), "CreateInvalidation: NoSuchDistribution");
        assert_eq!(e.title(), "gantry: failed");
        assert_eq!(Error::deadline("x").exit_code().code(), 4);
        assert_eq!(Error::rolled_back("x").exit_code().code(), 3);
    }

    #[test]
    fn summary_and_outputs_survive_context() {
        let mut o = Outputs::new();
        o.set("status", "failed");
        let e = Error::rolled_back("alarm web-5xx")
            .with_summary("| rollout | |")
            .with_outputs(o)
            .context("bake");
        assert_eq!(e.summary(), Some("| rollout | |"));
        assert_eq!(e.message(), "bake: alarm web-5xx");
        assert!(e.outputs().is_some_and(|o| !o.is_empty()));
        assert_eq!(Error::failed("x").summary(), None);
    }
}
