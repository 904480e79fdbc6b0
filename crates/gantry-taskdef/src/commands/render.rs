//! `render`: the task definition with its overrides, validated and written to a file.

use super::prepare::{load_source, write_rendered};
use crate::cli::RenderArgs;
use crate::config;
use crate::report;
use gantry_kit::{Error, Report};

pub(crate) async fn render(a: RenderArgs) -> Result<Report, Error> {
    let cfg = config::validate_source(&a.source)?;
    let r = load_source(&cfg, &a.aws).await?;
    let path = write_rendered(&r, a.out.as_deref())?;
    Ok(report::rendered(r, &path))
}
