//! The image benchmark (not built yet).

use super::BenchResult;
use std::io::Write;

pub async fn run(out: &mut dyn Write) -> BenchResult {
    writeln!(out, "bench image: not built yet")?;
    Ok(())
}
