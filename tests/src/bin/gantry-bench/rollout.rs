//! Time to notice: from the moment a deployment turns FAILED (or a guard alarm turns ALARM) to
//! gantry acting, against the schedule of the SDK waiter aws-actions' deploy action uses
//! (`waitUntilServicesStable`: first check at once, then 15 s min delay, exponential back-off with
//! jitter up to a max delay of 120 s, or 600 s).
//!
//! - Timeline: the kit's real poll loop on a fake clock against a timeline that turns at T (T
//!   uniform over 0–20 min, 10 000 draws), and the waiter's schedule (smithy util-waiter's
//!   `exponentialBackoffWithJitter`) against the same T.
//! - Moto: gantry-rollout against `scripts/moto-launcher.py` (ECS lifecycle patch). FAILED: a
//!   failing task definition; launchers with three deployment durations put the turn at
//!   different phases of the 5 s poll. Measured from the FAILED deployment's `updatedAt` (when it
//!   turned) to gantry's exit with its verdict. ALARM: `set_alarm_state` at a random moment of
//!   the bake; measured to the `createdAt` of the rollback deployment gantry started.

use super::BenchResult;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use gantry_kit::poll::{Clock, FakeClock, PollError, Probe, Schedule, poll};
use gantry_tests::{RolloutMoto, json_command, unique_name};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INTERVAL: f64 = 5.0;

/// A small deterministic generator (xorshift64*): the figures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// smithy-typescript util-waiter: the check times of `runPolling` (first at once).
fn waiter_checks(min: f64, max: f64, until: f64, rng: &mut Rng) -> Vec<f64> {
    let ceiling = (max / min).ln() / 2f64.ln() + 1.0;
    let mut t = 0.0;
    let mut checks = vec![0.0];
    let mut attempt = 1.0;
    while t < until {
        let delay = if attempt > ceiling {
            max
        } else {
            rng.range(min, min * 2f64.powf(attempt - 1.0))
        };
        t += delay;
        checks.push(t);
        attempt += 1.0;
    }
    checks
}

/// The kit's poll loop (fixed interval) on a fake clock: when does it first see a turn at `t`?
async fn gantry_notices(t: f64) -> f64 {
    let clock = FakeClock::new();
    let turned = Duration::from_secs_f64(t);
    let r: Result<Duration, PollError<()>> = poll(
        &clock,
        Schedule {
            interval: Duration::from_secs_f64(INTERVAL),
            deadline: Duration::from_secs(3600),
        },
        |_| {
            let now = clock.elapsed();
            async move {
                Ok(if now >= turned {
                    Probe::Ready(now)
                } else {
                    Probe::Pending("IN_PROGRESS".into())
                })
            }
        },
    )
    .await;
    r.map(|d| d.as_secs_f64() - t).unwrap_or(f64::NAN)
}

fn stats(mut v: Vec<f64>) -> [f64; 5] {
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    [
        q(0.0),
        q(0.5),
        q(0.9),
        q(0.99),
        *v.last().unwrap_or(&f64::NAN),
    ]
}

fn row(out: &mut dyn Write, what: &str, n: usize, s: [f64; 5]) -> std::io::Result<()> {
    writeln!(
        out,
        "| {what} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        s[0], s[1], s[2], s[3], s[4]
    )
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

async fn register(ecs: &aws_sdk_ecs::Client, family: &str, image: &str) -> String {
    ecs.register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("register task definition")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned()
}

/// A cluster with a settled service on a first task definition; returns (cluster, first).
async fn service(ecs: &aws_sdk_ecs::Client, seconds: f64) -> (String, String) {
    let cluster = unique_name("bench-rollout");
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("cluster");
    let first = register(ecs, &cluster, "busybox:1").await;
    ecs.create_service()
        .cluster(&cluster)
        .service_name("web")
        .task_definition(&first)
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    tokio::time::sleep(Duration::from_secs_f64(seconds + 0.5)).await;
    (cluster, first)
}

fn deploy(moto: &RolloutMoto, cluster: &str, td: &str, extra: &[&str]) -> std::process::Child {
    let mut args = vec![
        "deploy",
        "--cluster",
        cluster,
        "--service",
        "web",
        "--task-definition",
        td,
        "--timeout",
        "2m",
    ];
    args.extend_from_slice(extra);
    json_command("gantry-rollout", &args)
        .envs(moto.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run gantry-rollout")
}

/// FAILED on moto: seconds from the deployment turning FAILED to gantry's exit (exit 3).
async fn failed_on_moto(seconds: f64, runs: usize) -> Result<Vec<f64>, String> {
    let moto = RolloutMoto::start(seconds);
    let ecs = aws_sdk_ecs::Client::new(&moto.sdk().await);
    let mut jobs = Vec::new();
    for _ in 0..runs {
        let (cluster, _) = service(&ecs, seconds).await;
        let bad = register(&ecs, &cluster, "busybox:gantry-fail").await;
        let child = deploy(&moto, &cluster, &bad, &[]);
        jobs.push((cluster, child));
    }
    let mut out = Vec::new();
    for (cluster, child) in jobs {
        let o = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let acted = epoch(SystemTime::now());
        if o.status.code() != Some(3) {
            return Err(format!("expected exit 3, got {:?}", o.status.code()));
        }
        let s = ecs
            .describe_services()
            .cluster(&cluster)
            .services("web")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // The launcher's "deployment failed" event carries the moment it turned (the FAILED
        // deployment itself goes a period later).
        let turned = s.services()[0]
            .events()
            .iter()
            .find(|e| e.message().is_some_and(|m| m.contains("deployment failed")))
            .and_then(|e| e.created_at())
            .map(|t| t.as_secs_f64())
            .ok_or("no `deployment failed` event")?;
        out.push(acted - turned);
    }
    Ok(out)
}

/// ALARM on moto: seconds from set_alarm_state to the rollback deployment gantry started.
async fn alarm_on_moto(runs: usize, rng: &mut Rng) -> Result<Vec<f64>, String> {
    let seconds = 1.0;
    let moto = RolloutMoto::start(seconds);
    let sdk = moto.sdk().await;
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let mut jobs = Vec::new();
    for _ in 0..runs {
        let (cluster, first) = service(&ecs, seconds).await;
        let next = register(&ecs, &cluster, "busybox:2").await;
        let alarm = format!("{cluster}-5xx");
        cw.put_metric_alarm()
            .alarm_name(&alarm)
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(5.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .map_err(|e| format!("PutMetricAlarm: {e}"))?;
        let child = deploy(
            &moto,
            &cluster,
            &next,
            &["--alarms", &alarm, "--bake-time", "90s"],
        );
        // Into the bake (the deployment completes after `seconds`), at a random moment.
        let flip_after = seconds + rng.range(2.0, 17.0);
        jobs.push((cluster, first, alarm, child, flip_after));
    }
    let started = tokio::time::Instant::now();
    let mut flipped = vec![0.0; jobs.len()];
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|a, b| jobs[*a].4.total_cmp(&jobs[*b].4));
    for i in order {
        let at = started + Duration::from_secs_f64(jobs[i].4);
        tokio::time::sleep_until(at).await;
        cw.set_alarm_state()
            .alarm_name(&jobs[i].2)
            .state_value(StateValue::Alarm)
            .state_reason("Threshold Crossed: bench")
            .send()
            .await
            .map_err(|e| format!("SetAlarmState: {e}"))?;
        flipped[i] = epoch(SystemTime::now());
    }
    let mut out = Vec::new();
    for ((cluster, first, _, child, _), flipped) in jobs.into_iter().zip(flipped) {
        let o = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if o.status.code() != Some(3) {
            return Err(format!(
                "expected exit 3, got {:?}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout)
            ));
        }
        let s = ecs
            .describe_services()
            .cluster(&cluster)
            .services("web")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let rollback = s.services()[0]
            .deployments()
            .iter()
            .filter(|d| d.task_definition() == Some(first.as_str()))
            .filter_map(|d| d.created_at().map(|t| t.as_secs_f64()))
            .fold(f64::NAN, f64::max);
        out.push(rollback - flipped);
    }
    Ok(out)
}

pub(crate) async fn run(out: &mut dyn Write) -> BenchResult {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let draws = 10_000;
    let mut gantry = Vec::with_capacity(draws);
    let mut w120 = Vec::with_capacity(draws);
    let mut w600 = Vec::with_capacity(draws);
    for _ in 0..draws {
        let t = rng.range(0.0, 1200.0);
        gantry.push(gantry_notices(t).await);
        let next = |checks: Vec<f64>| {
            checks
                .into_iter()
                .find(|c| *c >= t)
                .map(|c| c - t)
                .unwrap_or(f64::NAN)
        };
        w120.push(next(waiter_checks(15.0, 120.0, t + 1.0, &mut rng)));
        w600.push(next(waiter_checks(15.0, 600.0, t + 1.0, &mut rng)));
    }
    let mut failed = Vec::new();
    let per = 3;
    let results = futures::future::join_all([1.2, 2.8, 4.1].map(|d| failed_on_moto(d, per))).await;
    for r in results {
        failed.extend(r?);
    }
    let alarm = alarm_on_moto(8, &mut rng).await?;

    writeln!(
        out,
        "\n### Rollout: time to notice (seconds), poll interval {INTERVAL} s\n"
    )?;
    writeln!(out, "| path | n | min | p50 | p90 | p99 | max |")?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
    row(
        out,
        "gantry, timeline (kit poll loop, fake clock)",
        draws,
        stats(gantry),
    )?;
    row(out, "SDK waiter 15 s → 120 s, timeline", draws, stats(w120))?;
    row(out, "SDK waiter 15 s → 600 s, timeline", draws, stats(w600))?;
    row(
        out,
        "gantry on moto: FAILED → verdict",
        failed.len(),
        stats(failed),
    )?;
    row(
        out,
        "gantry on moto: ALARM → rollback started",
        alarm.len(),
        stats(alarm),
    )?;
    Ok(())
}
