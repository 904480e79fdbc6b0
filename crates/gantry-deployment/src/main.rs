//! `gantry-deployment`: see the crate docs and docs/actions/deployment.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let cli: gantry_deployment::Cli = gantry_kit::cli::parse();
    let (title, json) = (cli.title(), cli.json);
    let result = gantry_deployment::run(cli).await;
    gantry_kit::report::finish(title, json, result)
}
