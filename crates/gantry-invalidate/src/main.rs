//! `gantry-invalidate`: see the crate docs and docs/actions/invalidate.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let args: gantry_invalidate::Cli = gantry_kit::cli::parse();
    let json = args.json;
    let result = gantry_invalidate::run(args).await;
    gantry_kit::report::finish("CloudFront invalidation", json, result)
}
