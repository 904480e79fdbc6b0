//! The first half of `render`, `register` and `diff`: read the task definition (a file, or a
//! registered revision), render the overrides, check it; and write the rendered file.

use crate::aws::ecs;
use crate::config::{self, Origin, SourceConfig};
use crate::load;
use crate::render::{self, Rendered};
use crate::report;
use gantry_kit::Error;
use gantry_kit::aws::AwsArgs;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Loads, renders and checks the task definition `cfg` names; warnings are annotated.
pub(crate) async fn load_source(cfg: &SourceConfig, aws: &AwsArgs) -> Result<Rendered, Error> {
    let loaded = match &cfg.origin {
        Origin::File(p) => config::load_file(p)?,
        Origin::Registered(r) => {
            let c = ecs::connect(aws).await;
            let live = ecs::describe(&c, r)
                .await?
                .ok_or_else(|| config::not_registered(r))?;
            load::from_value(Value::Object(live.def), r).map_err(config::load_error)?
        }
    };
    let r = render::prepare(loaded, &cfg.overrides).map_err(config::invalid)?;
    if !r.dropped.is_empty() {
        tracing::debug!("dropped describe-only keys: {}", r.dropped.join(", "));
    }
    report::annotate_warnings(&r.warnings);
    Ok(r)
}

/// Writes the rendered task definition; returns its path.
pub(crate) fn write_rendered(r: &Rendered, out: Option<&Path>) -> Result<PathBuf, Error> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("RUNNER_TEMP")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("gantry-taskdef-{}.json", r.family())),
    };
    let mut text = serde_json::to_string_pretty(&r.def)
        .map_err(|e| Error::failed(format!("internal: {e}")))?;
    text.push('\n');
    std::fs::write(&path, text)
        .map_err(|e| Error::failed(format!("could not write {}: {e}", path.display())))?;
    Ok(path)
}
