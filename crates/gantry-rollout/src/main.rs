//! `gantry-rollout`: see the crate docs and docs/actions/rollout.md.

fn main() -> std::process::ExitCode {
    gantry_kit::action::main::<gantry_rollout::Cli>()
}
