//! `gantry-site`: see the crate docs and docs/actions/site.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let cli: gantry_site::Cli = gantry_kit::cli::parse();
    let json = cli.command.json();
    let title = match &cli.command {
        gantry_site::Command::Deploy(_) => "Site deploy",
        gantry_site::Command::Rollback(_) => "Site rollback",
        gantry_site::Command::Releases(_) => "Site releases",
    };
    let result = gantry_site::run(cli).await;
    gantry_kit::report::finish(title, json, result)
}
