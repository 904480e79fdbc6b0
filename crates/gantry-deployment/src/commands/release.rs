//! `release`: assemble and validate a gantry.release/v1 document (nothing is written).

use crate::release::Release;
use crate::report;
use gantry_kit::Report;

pub fn run(release: &Release) -> Report {
    report::release(release)
}
