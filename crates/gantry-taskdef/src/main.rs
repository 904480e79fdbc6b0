//! `gantry-taskdef`: see the crate docs and docs/actions/task-definition.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let cli: gantry_taskdef::Cli = gantry_kit::cli::parse();
    let json = cli.json();
    let title = cli.title();
    let result = gantry_taskdef::run(cli).await;
    gantry_kit::report::finish(title, json, result)
}
