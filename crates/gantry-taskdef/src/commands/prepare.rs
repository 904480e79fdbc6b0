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

/// Writes the rendered task definition; returns its path. It holds environment values, so it
/// is private to the user (0600) wherever it goes:
/// - `--out`: that path (created 0600 when new);
/// - else `$RUNNER_TEMP/gantry-taskdef-<family>.json` (the job's own directory), written to a
///   fresh file beside it and renamed over it, so a link planted at that name is replaced, not
///   followed;
/// - else the temp dir, under a name no one can guess (`gantry-taskdef-<family>-XXXXXX.json`),
///   created exclusively: a shared `/tmp` cannot hand us a file or a link in advance.
pub(crate) fn write_rendered(r: &Rendered, out: Option<&Path>) -> Result<PathBuf, Error> {
    let mut text = serde_json::to_string_pretty(&r.def)
        .map_err(|e| Error::failed(format!("internal: {e}")))?;
    text.push('\n');
    let runner_temp = std::env::var_os("RUNNER_TEMP")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let written = match (out, runner_temp) {
        (Some(p), _) => write_private(p, &text).map(|()| p.to_path_buf()),
        (None, Some(dir)) => {
            let path = dir.join(format!("gantry-taskdef-{}.json", r.family()));
            fresh_file(&dir, r.family(), &text)
                .and_then(|f| f.persist(&path).map_err(|e| e.error))
                .map(|_| path)
        }
        (None, None) => fresh_file(&std::env::temp_dir(), r.family(), &text)
            .and_then(|f| f.keep().map_err(|e| e.error))
            .map(|(_, path)| path),
    };
    written.map_err(|e| {
        let place = out.map_or_else(
            || "the rendered task definition".to_owned(),
            |p| p.display().to_string(),
        );
        Error::failed(format!("could not write {place}: {e}"))
    })
}

/// A new file in `dir` with a random name, created with O_EXCL and mode 0600, holding `text`.
fn fresh_file(dir: &Path, family: &str, text: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write as _;
    let mut f = tempfile::Builder::new()
        .prefix(&format!("gantry-taskdef-{family}-"))
        .suffix(".json")
        .tempfile_in(dir)?;
    f.write_all(text.as_bytes())?;
    f.as_file().sync_all()?;
    Ok(f)
}

/// Writes `text` to `path`, creating it 0600 when it does not exist.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn rendered() -> Rendered {
        Rendered {
            def: crate::fixtures::realistic(),
            warnings: Vec::new(),
            dropped: Vec::new(),
        }
    }

    #[test]
    fn a_fresh_file_is_private_unguessable_and_never_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        // What the old fixed name would have been: a link planted there is not followed.
        let planted = dir.path().join("gantry-taskdef-shop-api.json");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let f = fresh_file(dir.path(), "shop-api", "{}\n").unwrap();
        let (_, path) = f.keep().unwrap();
        assert_ne!(path, planted);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("gantry-taskdef-shop-api-") && name.ends_with(".json"),
            "{name}"
        );
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    }

    #[test]
    fn out_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("td.json");
        let p = write_rendered(&rendered(), Some(&out)).unwrap();
        assert_eq!(p, out);
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(std::fs::read_to_string(&out).unwrap().contains("shop-api"));
    }
}
