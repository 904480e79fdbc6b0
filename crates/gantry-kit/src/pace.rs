//! How many transfers a run keeps in flight — a pure core that sees completions, throttling and
//! the time, and answers with a limit — and [`drive`], the loop that runs transfers by it.
//!
//! Pinned (`concurrency: N`): always N. Adaptive (`concurrency: auto`): start at the crate's
//! [`Auto::start`]; measure throughput over windows (at least [`WINDOW`] long and at least one
//! completion per transfer in flight, so about one round trip or more); double the limit while a
//! window's throughput beats the one before by [`GAIN`] and no throttling was seen, up to
//! [`Auto::max`]; when a doubling gains less, go back to the limit before it and hold. On
//! throttling (S3's 503 SlowDown, a registry's 429 or 503) halve at once (not below
//! [`Auto::min`]), then grow only additively — an eighth per quiet window whose throughput did
//! not fall — so a throttled server settles below the rate that throttled it.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The shortest measurement window.
pub const WINDOW: Duration = Duration::from_millis(100);
/// The throughput gain a doubling has to bring to be kept.
pub const GAIN: f64 = 0.10;
/// What a finished transfer weighs besides its bytes: a request is worth this many bytes.
pub const REQUEST_WEIGHT: u64 = 256 * 1024;

/// Where an adaptive limit starts and the bounds it moves within (each action sets its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auto {
    /// The limit a run starts at.
    pub start: usize,
    /// The ceiling doubling stops at.
    pub max: usize,
    /// The floor throttling halves down to.
    pub min: usize,
}

/// What a `concurrency` input asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// This many, whatever happens.
    Pinned(usize),
    /// Chosen from what the run observes, within these bounds.
    Auto(Auto),
}

impl Concurrency {
    /// Reads a `concurrency` input: `auto` (or blank) adapts within `auto`; a number from 1 to
    /// `pinned_max` pins it. Anything else is what the caller's exit-2 error says after the
    /// input's name (``` `fast` is neither `auto` nor a number from 1 to 64 ```).
    pub fn parse(v: &str, auto: Auto, pinned_max: usize) -> Result<Self, String> {
        let v = v.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("auto") {
            return Ok(Concurrency::Auto(auto));
        }
        match v.parse::<usize>() {
            Ok(n) if (1..=pinned_max).contains(&n) => Ok(Concurrency::Pinned(n)),
            _ => Err(format!(
                "`{v}` is neither `auto` nor a number from 1 to {pinned_max}"
            )),
        }
    }

    /// The fixed number in flight for work that does not adapt (a plan's HEADs, a check of
    /// local files): the pinned value, or where `auto` starts.
    pub fn fixed(self) -> usize {
        match self {
            Concurrency::Pinned(n) => n,
            Concurrency::Auto(a) => a.start,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pinned,
    /// Doubling while it pays.
    Doubling,
    /// A doubling did not pay and nothing throttled: stay.
    Holding,
    /// Throttled once: additive growth while quiet.
    Additive,
}

/// The measurement in progress.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Duration,
    /// Completions and weight (bytes plus [`REQUEST_WEIGHT`] per object) so far.
    done: usize,
    weight: u64,
}

/// The limit, as it moves.
#[derive(Debug, Clone)]
pub struct Pace {
    limit: usize,
    bounds: Auto,
    mode: Mode,
    window: Option<Window>,
    /// Throughput (weight per second) of the last closed window, and the limit it ran at.
    last: Option<(f64, usize)>,
    /// When throttling last halved the limit.
    cut_at: Option<Duration>,
}

impl Pace {
    pub fn new(c: Concurrency) -> Self {
        let (limit, mode, bounds) = match c {
            Concurrency::Pinned(n) => {
                let n = n.max(1);
                (
                    n,
                    Mode::Pinned,
                    Auto {
                        start: n,
                        max: n,
                        min: n,
                    },
                )
            }
            Concurrency::Auto(a) => (a.start.max(1), Mode::Doubling, a),
        };
        Self {
            limit,
            bounds,
            mode,
            window: None,
            last: None,
            cut_at: None,
        }
    }

    /// Objects to keep in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Measuring (re)starts at `now`: a phase begins with its queue full. Completions while the
    /// queue has run dry are not reported (a phase's tail says nothing about the link).
    pub fn begin(&mut self, now: Duration) {
        self.window = Some(Window {
            start: now,
            done: 0,
            weight: 0,
        });
    }

    /// One object of `bytes` finished at `now` while more were waiting.
    pub fn done(&mut self, now: Duration, bytes: u64) {
        if self.mode == Mode::Pinned {
            return;
        }
        let w = self.window.get_or_insert(Window {
            start: now,
            done: 0,
            weight: 0,
        });
        w.done += 1;
        w.weight += bytes + REQUEST_WEIGHT;
        let elapsed = now.saturating_sub(w.start);
        if w.done < self.limit || elapsed < WINDOW {
            return;
        }
        let rate = w.weight as f64 / elapsed.as_secs_f64();
        self.close(rate);
        self.begin(now);
    }

    fn close(&mut self, rate: f64) {
        let last = self.last;
        match self.mode {
            Mode::Pinned | Mode::Holding => {}
            Mode::Doubling => match last {
                Some((before, at)) if at < self.limit && rate < before * (1.0 + GAIN) => {
                    // The doubling did not pay: back to the limit before it, and stay there.
                    self.limit = at;
                    self.mode = Mode::Holding;
                    self.last = Some((before, at));
                    return;
                }
                _ => {
                    if self.limit >= self.bounds.max {
                        self.mode = Mode::Holding;
                    } else {
                        self.last = Some((rate, self.limit));
                        self.limit = (self.limit * 2).min(self.bounds.max);
                        return;
                    }
                }
            },
            Mode::Additive => {
                if last.is_none_or(|(before, _)| rate >= before * (1.0 - GAIN)) {
                    self.limit = (self.limit + (self.limit / 8).max(1)).min(self.bounds.max);
                }
            }
        }
        self.last = Some((rate, self.limit));
    }

    /// The server throttled a request at `now`: halve, at most once a window.
    pub fn throttled(&mut self, now: Duration) {
        if self.mode == Mode::Pinned {
            return;
        }
        // Several throttled requests of one burst are one signal: only the first halves.
        if self
            .cut_at
            .is_some_and(|at| now.saturating_sub(at) < WINDOW)
        {
            return;
        }
        self.cut_at = Some(now);
        self.limit = (self.limit / 2).max(self.bounds.min);
        self.mode = Mode::Additive;
        self.last = None;
        self.begin(now);
    }
}

/// What a [`drive`] did with the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paced {
    /// The limit it started at, ended at, and the highest it reached.
    pub from: usize,
    pub to: usize,
    pub peak: usize,
}

impl std::fmt::Display for Paced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "concurrency {} → {} (peak {})",
            self.from, self.to, self.peak
        )
    }
}

/// Runs `send` on every item, in the order given, timed from `clock` (tokio's, so tests can
/// pause it), keeping `pace.limit()` in flight. Each
/// transfer answers with its result and the bytes it moved; `each` gets the results in the
/// order they finish. `throttled` is asked after every completion whether the server
/// throttled anything since it was last asked (it counts the attempts retried too). Only
/// completions while items are still waiting are measured: the tail says nothing about the
/// link. The first error ends the run (what is in flight is dropped) and is returned.
pub async fn drive<I, T, E, Fut>(
    pace: &mut Pace,
    clock: Instant,
    items: impl IntoIterator<Item = I>,
    mut send: impl FnMut(I) -> Fut,
    mut throttled: impl FnMut() -> bool,
    mut each: impl FnMut(T),
) -> Result<Paced, E>
where
    Fut: Future<Output = Result<(T, u64), E>>,
{
    let from = pace.limit();
    let mut peak = from;
    let mut waiting = items.into_iter().peekable();
    let mut running = FuturesUnordered::new();
    pace.begin(clock.elapsed());
    loop {
        while running.len() < pace.limit() {
            let Some(item) = waiting.next() else { break };
            running.push(send(item));
        }
        let Some(done) = running.next().await else {
            break;
        };
        let (out, bytes) = done?;
        let now = clock.elapsed();
        if throttled() {
            let before = pace.limit();
            pace.throttled(now);
            if pace.limit() < before {
                tracing::info!(
                    "the server is throttling: {} at once from now on (was {before})",
                    pace.limit()
                );
            }
        }
        if waiting.peek().is_some() {
            pace.done(now, bytes);
        }
        peak = peak.max(pace.limit());
        each(out);
    }
    Ok(Paced {
        from,
        to: pace.limit(),
        peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The site's bounds, which these tests were first written for.
    const SITE: Auto = Auto {
        start: 64,
        max: 256,
        min: 4,
    };
    const START: usize = SITE.start;
    const MAX: usize = SITE.max;
    const MIN: usize = SITE.min;
    /// Small bounds, as an image's blobs have.
    const SMALL: Auto = Auto {
        start: 4,
        max: 32,
        min: 1,
    };

    const KIB: u64 = 1024;

    /// Drives `pace` against a link where every object takes `rtt` and the server serves at
    /// most `cap` objects at once (more wait), for `objects` objects of `size` bytes; returns
    /// the limit after each window-sized step and the total time.
    fn simulate(
        pace: &mut Pace,
        rtt: Duration,
        cap: usize,
        objects: usize,
        size: u64,
    ) -> (Vec<usize>, Duration) {
        let mut now = Duration::ZERO;
        let mut left = objects;
        let mut limits = Vec::new();
        pace.begin(now);
        while left > 0 {
            // One round: `limit` objects go out; the server serves `cap` per round trip.
            let sent = pace.limit().min(left);
            let rounds = sent.div_ceil(cap) as u32;
            let step = rtt * rounds / sent as u32;
            for _ in 0..sent {
                now += step;
                left -= 1;
                if left > 0 {
                    pace.done(now, size);
                }
            }
            limits.push(pace.limit());
        }
        (limits, now)
    }

    #[test]
    fn pinned_never_moves() {
        let mut p = Pace::new(Concurrency::Pinned(7));
        let (limits, _) = simulate(&mut p, Duration::from_millis(20), 10_000, 5_000, KIB);
        assert!(limits.iter().all(|&l| l == 7), "{limits:?}");
        p.throttled(Duration::from_secs(9));
        assert_eq!(p.limit(), 7, "a pinned limit ignores throttling");
    }

    #[test]
    fn grows_to_the_ceiling_while_the_link_rewards_it() {
        // Latency-bound: each doubling doubles throughput.
        let mut p = Pace::new(Concurrency::Auto(SITE));
        assert_eq!(p.limit(), START);
        let (limits, took) = simulate(&mut p, Duration::from_millis(20), 10_000, 20_000, KIB);
        assert_eq!(*limits.last().unwrap(), MAX, "{limits:?}");
        // It never skips a step or overshoots.
        for w in limits.windows(2) {
            assert!(w[1] == w[0] || w[1] == w[0] * 2, "{limits:?}");
        }
        // Well under what 32 in flight would take (20,000 × 20 ms / 32 = 12.5 s).
        assert!(took < Duration::from_secs(4), "{took:?}");
    }

    #[test]
    fn steps_back_when_a_doubling_brings_nothing() {
        // The server serves 64 at once: beyond 64 more in flight only queue.
        let mut p = Pace::new(Concurrency::Auto(SITE));
        let (limits, _) = simulate(&mut p, Duration::from_millis(20), 64, 20_000, KIB);
        assert!(limits.contains(&128), "it tried 128: {limits:?}");
        assert_eq!(
            *limits.last().unwrap(),
            64,
            "and went back to 64: {limits:?}"
        );
        assert!(!limits.contains(&256), "{limits:?}");
    }

    #[test]
    fn throttling_halves_then_grows_only_additively() {
        let mut p = Pace::new(Concurrency::Auto(SITE));
        let (_, t) = simulate(&mut p, Duration::from_millis(20), 10_000, 6_000, KIB);
        let before = p.limit();
        assert!(before >= 128, "{before}");
        p.throttled(t);
        assert_eq!(p.limit(), before / 2);
        // The rest of the burst: one signal, not three halvings.
        p.throttled(t + Duration::from_millis(1));
        p.throttled(t + Duration::from_millis(2));
        assert_eq!(p.limit(), before / 2);
        // Quiet windows: growth by an eighth at a time, never a doubling.
        let start = p.limit();
        let (limits, _) = simulate(&mut p, Duration::from_millis(20), 10_000, 3_000, KIB);
        let mut prev = start;
        for l in limits {
            assert!(l <= prev + (prev / 8).max(1), "{prev} → {l}");
            prev = l;
        }
        assert!(prev > start, "it grew again while quiet: {start} → {prev}");
    }

    #[test]
    fn throttling_never_goes_below_the_floor() {
        let mut p = Pace::new(Concurrency::Auto(SITE));
        for i in 0..20u64 {
            p.throttled(Duration::from_secs(i));
        }
        assert_eq!(p.limit(), MIN);
    }

    #[test]
    fn a_short_window_decides_nothing() {
        // Completions faster than WINDOW: no decision until the window has lasted.
        let mut p = Pace::new(Concurrency::Auto(SITE));
        p.begin(Duration::ZERO);
        for i in 0..1_000u64 {
            p.done(Duration::from_micros(i * 50), KIB);
        }
        assert_eq!(p.limit(), START, "50 ms of completions is under one window");
        p.done(WINDOW, KIB);
        assert_eq!(p.limit(), START * 2);
    }

    #[test]
    fn big_objects_count_by_their_bytes() {
        // Bandwidth-bound: 8 MiB objects, a server that moves a fixed number of bytes per
        // second whatever the concurrency (time per object grows with the limit).
        let mut p = Pace::new(Concurrency::Auto(SITE));
        let mut now = Duration::ZERO;
        p.begin(now);
        for _ in 0..2_000 {
            // 1 GiB/s shared by everything in flight: one 8 MiB object every 8 ms.
            now += Duration::from_millis(8);
            p.done(now, 8 << 20);
        }
        assert_eq!(p.limit(), START, "no doubling gains: back to {START}");
    }

    #[test]
    fn parse_reads_auto_and_pinned_numbers_only() {
        let a = SMALL;
        for v in ["auto", " AUTO ", "", "  "] {
            assert_eq!(
                Concurrency::parse(v, a, 64),
                Ok(Concurrency::Auto(a)),
                "{v:?}"
            );
        }
        assert_eq!(Concurrency::parse("1", a, 64), Ok(Concurrency::Pinned(1)));
        assert_eq!(
            Concurrency::parse(" 64 ", a, 64),
            Ok(Concurrency::Pinned(64))
        );
        for v in ["0", "65", "-1", "4.5", "many", "auto4"] {
            assert_eq!(
                Concurrency::parse(v, a, 64),
                Err(format!("`{v}` is neither `auto` nor a number from 1 to 64")),
                "{v:?}"
            );
        }
        assert_eq!(Concurrency::Auto(a).fixed(), 4);
        assert_eq!(Concurrency::Pinned(9).fixed(), 9);
    }

    #[test]
    fn small_bounds_grow_from_a_few_and_stop_at_their_ceiling() {
        // An image's blobs: start at 4, latency-bound, a ceiling of 32.
        let mut p = Pace::new(Concurrency::Auto(SMALL));
        let (limits, _) = simulate(&mut p, Duration::from_millis(20), 10_000, 2_000, KIB);
        assert_eq!(limits[0], 4, "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 32, "{limits:?}");
        for i in 0..10 {
            p.throttled(Duration::from_secs(60 + i));
        }
        assert_eq!(p.limit(), 1, "halved down to the floor, not below");
    }

    /// Items that each take `rtt` (tokio's clock, paused), counting how many run at once.
    async fn run(
        c: Concurrency,
        items: usize,
        rtt: Duration,
        throttle_at: Option<usize>,
    ) -> (Paced, usize, Vec<usize>) {
        use std::cell::Cell;
        let (now, peak, started) = (Cell::new(0usize), Cell::new(0usize), Cell::new(0usize));
        let mut order = Vec::new();
        let mut pace = Pace::new(c);
        let paced = drive(
            &mut pace,
            Instant::now(),
            0..items,
            |i| {
                started.set(started.get() + 1);
                now.set(now.get() + 1);
                peak.set(peak.get().max(now.get()));
                let now = &now;
                async move {
                    tokio::time::sleep(rtt).await;
                    now.set(now.get() - 1);
                    Ok::<_, ()>((i, KIB))
                }
            },
            || throttle_at.is_some_and(|at| started.get() == at),
            |i| order.push(i),
        )
        .await
        .expect("no item fails");
        (paced, peak.get(), order)
    }

    #[tokio::test(start_paused = true)]
    async fn drive_never_runs_more_than_a_pinned_limit() {
        let (paced, peak, order) =
            run(Concurrency::Pinned(3), 50, Duration::from_millis(20), None).await;
        assert_eq!(peak, 3);
        assert_eq!(
            paced,
            Paced {
                from: 3,
                to: 3,
                peak: 3
            }
        );
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>(), "every item, once");
    }

    #[tokio::test(start_paused = true)]
    async fn drive_grows_an_adaptive_limit_on_a_slow_link() {
        let (paced, peak, _) = run(
            Concurrency::Auto(SMALL),
            600,
            Duration::from_millis(20),
            None,
        )
        .await;
        assert_eq!(paced.from, 4);
        assert_eq!(paced.peak, 32, "{paced:?}");
        assert!(peak > 4 && peak <= 32, "{peak} at once");
    }

    #[tokio::test(start_paused = true)]
    async fn drive_halves_on_throttling() {
        let small = Auto {
            start: 8,
            max: 8,
            min: 1,
        };
        let (paced, _, _) = run(
            Concurrency::Auto(small),
            20,
            Duration::from_millis(20),
            Some(10),
        )
        .await;
        assert_eq!(paced.from, 8);
        assert_eq!(paced.to, 4, "{paced:?}");
    }

    #[tokio::test]
    async fn drive_stops_at_the_first_error() {
        let mut pace = Pace::new(Concurrency::Pinned(1));
        let mut seen = Vec::new();
        let r = drive(
            &mut pace,
            Instant::now(),
            0..10,
            |i| async move { if i == 3 { Err(i) } else { Ok((i, 0)) } },
            || false,
            |i| seen.push(i),
        )
        .await;
        assert_eq!(r, Err(3));
        assert_eq!(seen, vec![0, 1, 2], "nothing after the failure started");
    }
}
