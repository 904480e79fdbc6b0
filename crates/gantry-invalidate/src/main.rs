//! `gantry-invalidate`: see the crate docs and docs/actions/invalidate.md.

fn main() -> std::process::ExitCode {
    gantry_kit::action::main::<gantry_invalidate::Cli>()
}
