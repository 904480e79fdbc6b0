//! Names of the environment variables the runner sets or reads, in one place.

pub const CI: &str = "CI";
pub const PATH: &str = "PATH";
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
pub const GITHUB_ACTION: &str = "GITHUB_ACTION";
/// The running action's directory, absolute.
pub const GITHUB_ACTION_PATH: &str = "GITHUB_ACTION_PATH";
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// Per-step file-command files, fresh for every step.
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
pub const GITHUB_ENV: &str = "GITHUB_ENV";
pub const GITHUB_PATH: &str = "GITHUB_PATH";
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
pub const GITHUB_STATE: &str = "GITHUB_STATE";
pub const RUNNER_OS: &str = "RUNNER_OS";
pub const RUNNER_ARCH: &str = "RUNNER_ARCH";
pub const RUNNER_NAME: &str = "RUNNER_NAME";
/// Kept from the caller when set; otherwise a directory removed after the run.
pub const RUNNER_TEMP: &str = "RUNNER_TEMP";
/// Kept from the caller when set; otherwise a directory removed after the run.
pub const RUNNER_TOOL_CACHE: &str = "RUNNER_TOOL_CACHE";
