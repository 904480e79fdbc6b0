//! The image part of the demo (not built yet: it prints nothing and succeeds).

use super::{Ctx, DemoResult};
use std::io::Write;

pub async fn run(_out: &mut dyn Write, _ctx: &mut Ctx) -> DemoResult {
    Ok(true)
}
