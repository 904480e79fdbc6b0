//! Exit codes shared by every gantry binary (docs/contracts.md, "Exit codes").

/// What a gantry process tells its caller. The numbers are a public contract: workflows branch
/// on them, so they never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// 0 — the work is done (or there was nothing to do).
    Success,
    /// 1 — failed: an error AWS reported, a refusal in pre-flight, anything that is not bad input.
    Failed,
    /// 2 — an input was rejected before anything was written.
    InputRejected,
    /// 3 — a deployment failed and was rolled back.
    RolledBack,
    /// 4 — the deadline passed without a completed rollback.
    DeadlineExceeded,
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed => 1,
            Self::InputRejected => 2,
            Self::RolledBack => 3,
            Self::DeadlineExceeded => 4,
        }
    }

    /// A one-line meaning, as printed in `--help` and the docs.
    pub const fn meaning(self) -> &'static str {
        match self {
            Self::Success => "done",
            Self::Failed => "failed (an error AWS reported, or a refusal in pre-flight)",
            Self::InputRejected => "input rejected before anything was written",
            Self::RolledBack => "a deployment failed and was rolled back",
            Self::DeadlineExceeded => "the deadline passed without a completed rollback",
        }
    }

    /// All codes, in order — the docs table and `--help` are generated from this.
    pub const ALL: [ExitCode; 5] = [
        Self::Success,
        Self::Failed,
        Self::InputRejected,
        Self::RolledBack,
        Self::DeadlineExceeded,
    ];

    /// The exit-code section every binary appends to its `--help`.
    pub fn help_text() -> String {
        let mut s = String::from("Exit codes:\n");
        for c in Self::ALL {
            s.push_str(&format!("  {}  {}\n", c.code(), c.meaning()));
        }
        s
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4]);
        insta::assert_snapshot!(ExitCode::help_text(), @r"
        Exit codes:
          0  done
          1  failed (an error AWS reported, or a refusal in pre-flight)
          2  input rejected before anything was written
          3  a deployment failed and was rolled back
          4  the deadline passed without a completed rollback
        ");
    }
}
