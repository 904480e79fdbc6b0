//! `gantry-deployment`: see the crate docs and docs/actions/deployment.md.

fn main() -> std::process::ExitCode {
    gantry_kit::action::main::<gantry_deployment::Cli>()
}
