//! `gantry-image`: see the crate docs and docs/actions/image.md.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gantry_kit::log::init();
    let args: gantry_image::Args = gantry_kit::cli::parse();
    let json = args.json;
    let title = gantry_image::title(&args);
    let result = gantry_image::run(args).await;
    gantry_kit::report::finish(title, json, result)
}
