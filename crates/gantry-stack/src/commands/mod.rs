//! One orchestration per subcommand.

pub mod apply;
pub mod deploy;
pub mod plan;
pub mod status;
