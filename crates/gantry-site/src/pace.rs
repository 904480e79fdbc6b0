//! How many uploads (or restores) a publish keeps in flight — pure: it sees completions,
//! throttling and the time, and answers with a limit.
//!
//! Pinned (`concurrency: N`): always N. Adaptive (`concurrency: auto`, the default): start at
//! [`START`]; measure throughput over windows (at least [`WINDOW`] long and at least one
//! completion per request in flight, so about one round trip or more); double the limit while a
//! window's throughput beats the one before by [`GAIN`] and no throttling was seen, up to
//! [`MAX`]; when a doubling gains less, go back to the limit before it and hold. On throttling
//! (S3's 503 SlowDown) halve at once (not below [`MIN`]), then grow only additively — an eighth
//! per quiet window whose throughput did not fall — so a throttled bucket settles below the
//! rate that throttled it.

use std::time::Duration;

/// The adaptive limit's starting point: twice the 32 that was fixed before it adapted (timed
/// by hand against the site benchmark's server, docs/benchmarks.md: ~6 % faster at a 20 ms
/// round trip, the same on loopback).
pub(crate) const START: usize = 64;
/// The adaptive limit's ceiling (s5cmd's default worker count).
pub(crate) const MAX: usize = 256;
/// The adaptive limit's floor after throttling.
pub(crate) const MIN: usize = 4;
/// The shortest measurement window.
pub(crate) const WINDOW: Duration = Duration::from_millis(100);
/// The throughput gain a doubling has to bring to be kept.
pub(crate) const GAIN: f64 = 0.10;
/// What a finished object weighs besides its bytes: a request is worth this many bytes.
pub(crate) const REQUEST_WEIGHT: u64 = 256 * 1024;

/// What the `concurrency` input asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Concurrency {
    /// This many, whatever happens.
    Pinned(usize),
    /// Chosen from what the publish observes.
    Auto,
}

impl Concurrency {
    /// The fixed number of requests in flight for work that does not adapt (the HEADs of a
    /// plan): the pinned value, or [`START`].
    pub(crate) fn fixed(self) -> usize {
        match self {
            Concurrency::Pinned(n) => n,
            Concurrency::Auto => START,
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

#[derive(Debug, Clone)]
pub(crate) struct Pace {
    limit: usize,
    mode: Mode,
    window: Option<Window>,
    /// Throughput (weight per second) of the last closed window, and the limit it ran at.
    last: Option<(f64, usize)>,
    /// When throttling last halved the limit.
    cut_at: Option<Duration>,
}

impl Pace {
    pub(crate) fn new(c: Concurrency) -> Self {
        let (limit, mode) = match c {
            Concurrency::Pinned(n) => (n.max(1), Mode::Pinned),
            Concurrency::Auto => (START, Mode::Doubling),
        };
        Self {
            limit,
            mode,
            window: None,
            last: None,
            cut_at: None,
        }
    }

    /// Objects to keep in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Measuring (re)starts at `now`: a phase begins with its queue full. Completions while the
    /// queue has run dry are not reported (a phase's tail says nothing about the link).
    pub(crate) fn begin(&mut self, now: Duration) {
        self.window = Some(Window {
            start: now,
            done: 0,
            weight: 0,
        });
    }

    /// One object of `bytes` finished at `now` while more were waiting.
    pub(crate) fn done(&mut self, now: Duration, bytes: u64) {
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
                    if self.limit >= MAX {
                        self.mode = Mode::Holding;
                    } else {
                        self.last = Some((rate, self.limit));
                        self.limit = (self.limit * 2).min(MAX);
                        return;
                    }
                }
            },
            Mode::Additive => {
                if last.is_none_or(|(before, _)| rate >= before * (1.0 - GAIN)) {
                    self.limit = (self.limit + (self.limit / 8).max(1)).min(MAX);
                }
            }
        }
        self.last = Some((rate, self.limit));
    }

    /// The server throttled a request (503 SlowDown) at `now`: halve, at most once a window.
    pub(crate) fn throttled(&mut self, now: Duration) {
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
        self.limit = (self.limit / 2).max(MIN);
        self.mode = Mode::Additive;
        self.last = None;
        self.begin(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut p = Pace::new(Concurrency::Auto);
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
        let mut p = Pace::new(Concurrency::Auto);
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
        let mut p = Pace::new(Concurrency::Auto);
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
        let mut p = Pace::new(Concurrency::Auto);
        for i in 0..20u64 {
            p.throttled(Duration::from_secs(i));
        }
        assert_eq!(p.limit(), MIN);
    }

    #[test]
    fn a_short_window_decides_nothing() {
        // Completions faster than WINDOW: no decision until the window has lasted.
        let mut p = Pace::new(Concurrency::Auto);
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
        let mut p = Pace::new(Concurrency::Auto);
        let mut now = Duration::ZERO;
        p.begin(now);
        for _ in 0..2_000 {
            // 1 GiB/s shared by everything in flight: one 8 MiB object every 8 ms.
            now += Duration::from_millis(8);
            p.done(now, 8 << 20);
        }
        assert_eq!(p.limit(), START, "no doubling gains: back to {START}");
    }
}
