//! gantry-act runs gantry's composite actions locally, the way the GitHub runner does, for the
//! end-to-end tests and `make demo`.
//!
//! It supports what our actions use — `run:` steps with `bash`/`sh`/`python`/custom shells,
//! expressions, `GITHUB_OUTPUT`/`GITHUB_ENV`/`GITHUB_PATH`/`GITHUB_STEP_SUMMARY`, annotations,
//! `::add-mask::`, `if:`, `continue-on-error`, nested local actions — and refuses the rest
//! (remote `uses:`, other `runs.using`, unknown functions and contexts) with an [`ActError`].
//! [`workflow`] runs whole workflow files: jobs, `needs`, matrices, reusable workflows,
//! environment gates, and shims for the marketplace actions ([`workflow::run`]).
//!
//! ```no_run
//! let result = gantry_act::Runner::new("actions/invalidate")
//!     .input("paths", "/index.html")
//!     .run()?;
//! println!("{}", result.outputs["invalidation-id"]);
//! # Ok::<(), gantry_act::ActError>(())
//! ```
//!
//! See `docs/act.md` for how it differs from GitHub's runner.

pub mod action;
pub mod cli;
pub mod commands;
pub mod env_vars;
pub mod error;
pub mod expr;
pub mod glob;
mod runner;
pub mod workflow;

pub use commands::{Annotation, AnnotationLevel};
pub use error::ActError;
pub use runner::{RunResult, Runner, StepResult, StepStatus};
pub use workflow::{WorkflowResult, WorkflowRun};
