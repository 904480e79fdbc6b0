//! `gantry-taskdef`: work in progress.

fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    tracing::error!("gantry-taskdef is not built yet");
    std::process::ExitCode::from(1)
}
