//! `gantry-site`: see the crate docs and docs/actions/site.md.

fn main() -> std::process::ExitCode {
    gantry_kit::action::main::<gantry_site::Cli>()
}
