//! `gantry-stack`: see the crate docs and docs/actions/stack.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let cli: gantry_stack::Cli = gantry_kit::cli::parse();
    let json = cli.json;
    let result = gantry_stack::run(cli).await;
    gantry_kit::report::finish("CloudFormation", json, result)
}
