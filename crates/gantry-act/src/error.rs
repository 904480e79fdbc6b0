//! Errors that stop a run before or outside of a step.
//!
//! A step that fails is not an error: it is recorded in [`crate::RunResult`]. These are the
//! problems GitHub would report as "failed to load action" or that gantry-act refuses.

use std::path::PathBuf;

use crate::expr::ExprError;

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no action.yml or action.yaml in {}", dir.display())]
    ActionNotFound { dir: PathBuf },

    #[error("{}: invalid YAML: {source}", file.display())]
    Yaml {
        file: PathBuf,
        source: serde_yaml_ng::Error,
    },

    #[error("{}: {message}", file.display())]
    InvalidAction { file: PathBuf, message: String },

    #[error("{}: runs.using '{using}' is not supported: gantry-act runs composite actions only", file.display())]
    UnsupportedRuns { file: PathBuf, using: String },

    #[error("{}: {step}: Required property is missing: shell (composite actions need a 'shell' on every 'run' step)", file.display())]
    MissingShell { file: PathBuf, step: String },

    #[error("{}: 'uses: {uses}' is not supported: gantry-act runs local composite actions ('./path') only", file.display())]
    RemoteAction { file: PathBuf, uses: String },

    #[error("{}: nested action '{uses}' resolves to {}, which does not exist (a './' path is relative to GITHUB_WORKSPACE, a '$/' path to the repository's top level)", file.display(), path.display())]
    LocalActionNotFound {
        file: PathBuf,
        uses: String,
        path: PathBuf,
    },

    #[error("{}: composite actions nest deeper than {max} levels", file.display())]
    TooDeep { file: PathBuf, max: usize },

    #[error("{}: {place}: {source}", file.display())]
    Expression {
        file: PathBuf,
        place: String,
        source: ExprError,
    },

    #[error("{}: Input required and not supplied: {name}", file.display())]
    MissingInput { file: PathBuf, name: String },

    #[error("{}: {message}", file.display())]
    InvalidWorkflow { file: PathBuf, message: String },

    #[error("{}: {step}: 'uses: {uses}' has no shim ({reason}): gantry-act runs local actions ('./path', '$/path') and, of the remote ones, only those in its shim table, pinned by full SHA (docs/act.md, \"Shims\"); skip the step with --skip-step to run the rest", file.display())]
    NoShim {
        file: PathBuf,
        step: String,
        uses: String,
        reason: String,
    },

    /// A value given on the command line or in a vars/secrets file is not accepted.
    #[error("{0}")]
    BadInput(String),

    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl ActError {
    /// The CLI's exit code: 2 for a problem with the action or its inputs, 1 for the machine.
    pub fn exit_code(&self) -> u8 {
        match self {
            ActError::Io { .. } => 1,
            _ => 2,
        }
    }
}
