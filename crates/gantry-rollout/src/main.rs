//! `gantry-rollout`: see the crate docs and docs/actions/rollout.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let cli: gantry_rollout::Cli = gantry_kit::cli::parse();
    let json = cli.command.json();
    let title = match cli.command {
        gantry_rollout::Command::Deploy(_) => "ECS rollout",
        gantry_rollout::Command::Rollback(_) => "ECS rollback",
        gantry_rollout::Command::Status(_) => "ECS service status",
    };
    let result = gantry_rollout::run(cli).await;
    gantry_kit::report::finish(title, json, result)
}
