//! `make bench`: each benchmark compares gantry with the tool a user would otherwise run, in the
//! same run on the same machine, and prints a markdown table of figures and ratios
//! (copied into docs/benchmarks.md). `gantry-bench [site|image|rollout|setup]…` (default: all);
//! `gantry-bench serve [RTT_MS]` runs the site benchmark's server alone, to time a tool by hand.

mod image;
mod latency;
mod rollout;
mod setup;
mod site;

use std::io::Write;
use std::process::ExitCode;

pub type BenchResult = Result<(), Box<dyn std::error::Error>>;

/// The median of some runs, as durations or seconds (the upper one of an even count).
pub(crate) fn median<T: PartialOrd>(mut runs: Vec<T>) -> T {
    runs.sort_by(|a, b| a.partial_cmp(b).expect("run times compare"));
    runs.swap_remove(runs.len() / 2)
}

/// Runs in seconds as `0.70/0.71/0.75`, in the order they ran.
pub(crate) fn spread(secs: impl IntoIterator<Item = f64>) -> String {
    let v: Vec<String> = secs.into_iter().map(|s| format!("{s:.2}")).collect();
    v.join("/")
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() || names.iter().any(|n| n == "all") {
        names = ["site", "image", "rollout", "setup"]
            .map(String::from)
            .to_vec();
    }
    let mut out = std::io::stdout().lock();
    if names.first().is_some_and(|n| n == "serve") {
        return match site::serve(names.get(1).map(String::as_str), &mut out).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(out, "bench serve failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut ok = true;
    for name in names {
        let r = match name.as_str() {
            "site" => site::run(&mut out).await,
            "image" => image::run(&mut out).await,
            "rollout" => rollout::run(&mut out).await,
            "setup" => setup::run(&mut out).await,
            other => Err(format!(
                "unknown benchmark '{other}': expected site, image, rollout, setup or all"
            )
            .into()),
        };
        if let Err(e) = r {
            let _ = writeln!(out, "bench {name} failed: {e}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
