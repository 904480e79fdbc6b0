//! The site benchmark (not built yet).

use super::BenchResult;
use std::io::Write;

pub async fn run(out: &mut dyn Write) -> BenchResult {
    writeln!(out, "bench site: not built yet")?;
    Ok(())
}
