//! One orchestration per subcommand, readable top to bottom.

pub mod finish;
pub mod last_good;
pub mod mark;
pub mod release;
pub mod start;

use crate::api::deployments::{Deployment, Deployments};
use crate::release::{Payload, Release};
use gantry_kit::Error;

/// The release a gantry record carries; any other record is left alone (exit 1).
pub(crate) fn gantry_release(d: &Deployment, doing: &str) -> Result<Release, Error> {
    match Release::read_payload(&d.payload) {
        Payload::Release(r) => Ok(*r),
        Payload::Other => Err(Error::failed(format!(
            "{doing}: deployment {} is not a gantry record (its payload is not gantry.release/v1); it is left alone",
            d.id
        ))
        .with_hint("give the `deployment-id` output of `gantry-deployment start`")),
        Payload::Invalid(e) => Err(Error::failed(format!(
            "{doing}: deployment {} claims gantry.release/v1 but its payload breaks it: {e}; it is left alone",
            d.id
        ))),
    }
}

/// Reads deployment `id` and its gantry release.
pub(crate) async fn read_record(
    d: &Deployments<'_>,
    id: u64,
    doing: &str,
) -> Result<(Deployment, Release), Error> {
    let dep = d.get(id).await?;
    let release = gantry_release(&dep, doing)?;
    Ok((dep, release))
}
