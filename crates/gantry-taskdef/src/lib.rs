//! gantry-taskdef: ECS task definitions — render many containers in one step, validate strictly
//! against AWS's own ECS model, register only when changed, diff, and prune safely.
//! `cli` → `config` → `commands/{render,register,diff,prune}` over the pure `model`, [`load`],
//! `render`, [`compare`], [`prune`] and the ECS edge [`aws`] → `report`.

pub mod aws;
pub mod cli;
mod commands;
pub mod compare;
mod config;
#[cfg(test)]
mod fixtures;
pub mod load;
pub mod model;
pub mod prune;
mod render;
mod report;

pub use cli::Cli;
