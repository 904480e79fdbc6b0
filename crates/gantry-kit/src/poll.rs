//! A deadline-bounded poll loop with a fixed interval.
//!
//! Not exponential back-off: a deploy wait that backs off to minutes between polls reports late
//! and wastes runner time. The loop takes a [`Clock`] so tests run instantly.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Time as the poll loop sees it: elapsed time since some start, and a way to wait.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's start.
    fn elapsed(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
    /// Runs `fut` for at most `limit`: `None` when it had not finished by then (a call to an
    /// endpoint that accepted the connection and never answered).
    fn within<F>(&self, limit: Duration, fut: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send;
}

/// Runs `fut` until `deadline` on `clock` at the latest (`None` past it): for the calls a
/// command makes outside a [`poll`], bounded by the same deadline.
pub async fn until<C, F>(clock: &C, deadline: Duration, fut: F) -> Option<F::Output>
where
    C: Clock,
    F: Future + Send,
    F::Output: Send,
{
    clock
        .within(deadline.saturating_sub(clock.elapsed()), fut)
        .await
}

/// The real clock (tokio time).
#[derive(Debug)]
pub struct SystemClock {
    start: tokio::time::Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
    async fn within<F>(&self, limit: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        tokio::time::timeout(limit, fut).await.ok()
    }
}

/// A clock that advances only when slept on, recording every sleep (tests).
#[derive(Debug, Default)]
pub struct FakeClock {
    now: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
    /// How long the next bounded calls take ([`Clock::within`]), in order.
    stalls: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub fn new() -> Self {
        Self::default()
    }
    /// Every sleep taken so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().map(|s| s.clone()).unwrap_or_default()
    }
    /// Makes the next bounded call ([`Clock::within`]) take `d`: past its limit it gives up.
    pub fn stall(&self, d: Duration) {
        if let Ok(mut s) = self.stalls.lock() {
            s.push(d);
        }
    }
    /// Moves time forward without a sleep (work that took time).
    pub fn advance(&self, d: Duration) {
        if let Ok(mut n) = self.now.lock() {
            *n += d;
        }
    }
}

impl Clock for FakeClock {
    fn elapsed(&self) -> Duration {
        self.now.lock().map(|n| *n).unwrap_or_default()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        if let Ok(mut s) = self.sleeps.lock() {
            s.push(d);
        }
        self.advance(d);
        std::future::ready(())
    }
    /// A call that takes longer than `limit` (see [`FakeClock::stall`]) moves time to the
    /// limit and gives `None`, as the real clock would after waiting.
    async fn within<F>(&self, limit: Duration, fut: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let stalled = self
            .stalls
            .lock()
            .map(|mut s| (!s.is_empty()).then(|| s.remove(0)))
            .unwrap_or_default();
        match stalled {
            Some(takes) if takes > limit => {
                self.advance(limit);
                None
            }
            Some(takes) => {
                self.advance(takes);
                Some(fut.await)
            }
            None => Some(fut.await),
        }
    }
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<T> {
    /// Done: stop polling with this value.
    Ready(T),
    /// Not yet; the text says what was seen (logged, and reported if the deadline passes).
    Pending(String),
}

/// Interval and deadline of a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    /// Measured from the clock's start.
    pub deadline: Duration,
}

/// Why a poll ended without a ready value.
#[derive(Debug, PartialEq, Eq)]
pub enum PollError<E> {
    /// The deadline passed; `last` is what the last probe saw. `answered` is false when the
    /// last probe was cut off at the deadline without an answer.
    Deadline {
        elapsed: Duration,
        probes: u32,
        last: String,
        answered: bool,
    },
    /// A probe failed.
    Probe(E),
}

/// How long a probe may take at the latest when less time than this is left: the last probe,
/// at the deadline itself, is one AWS normally answers in well under a second.
pub const LAST_PROBE_GRACE: Duration = Duration::from_secs(5);

/// Probes at once, then every `interval` until a probe is ready, a probe fails, or the deadline
/// passes. The last sleep is shortened so the final probe happens at the deadline, not after it,
/// and each probe gets only the time left (at least [`LAST_PROBE_GRACE`]): one that has not
/// answered by then is cut off (`answered: false`), so a stalled endpoint cannot hold the run
/// past the deadline.
pub async fn poll<C, F, Fut, T, E>(
    clock: &C,
    schedule: Schedule,
    mut probe: F,
) -> Result<T, PollError<E>>
where
    C: Clock,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Probe<T>, E>> + Send,
    T: Send,
    E: Send,
{
    let mut attempt = 0u32;
    let mut seen = String::new();
    loop {
        attempt += 1;
        // The probe at the deadline (the last sleep ends there) still gets a moment to answer.
        let left = schedule
            .deadline
            .saturating_sub(clock.elapsed())
            .max(LAST_PROBE_GRACE);
        let Some(outcome) = clock.within(left, probe(attempt)).await else {
            let last = if seen.is_empty() {
                "no answer before the deadline".to_owned()
            } else {
                format!("no answer before the deadline (last seen: {seen})")
            };
            return Err(PollError::Deadline {
                elapsed: clock.elapsed(),
                probes: attempt,
                last,
                answered: false,
            });
        };
        let last = match outcome.map_err(PollError::Probe)? {
            Probe::Ready(v) => return Ok(v),
            Probe::Pending(seen) => seen,
        };
        seen.clone_from(&last);
        let elapsed = clock.elapsed();
        let remaining = schedule.deadline.saturating_sub(elapsed);
        if remaining.is_zero() {
            return Err(PollError::Deadline {
                elapsed,
                probes: attempt,
                last,
                answered: true,
            });
        }
        tracing::debug!(attempt, %last, "not yet; polling again");
        clock.sleep(schedule.interval.min(remaining)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(interval: u64, deadline: u64) -> Schedule {
        Schedule {
            interval: Duration::from_secs(interval),
            deadline: Duration::from_secs(deadline),
        }
    }

    #[tokio::test]
    async fn fixed_interval_until_ready() {
        let clock = FakeClock::new();
        let r: Result<&str, PollError<()>> = poll(&clock, sched(10, 600), |n| async move {
            Ok(if n < 4 {
                Probe::Pending(format!("InProgress #{n}"))
            } else {
                Probe::Ready("Completed")
            })
        })
        .await;
        assert_eq!(r, Ok("Completed"));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10); 3]);
    }

    #[tokio::test]
    async fn deadline_shortens_last_sleep_and_reports_last_status() {
        let clock = FakeClock::new();
        let r: Result<(), PollError<()>> = poll(&clock, sched(10, 25), |n| async move {
            Ok(Probe::Pending(format!("InProgress #{n}")))
        })
        .await;
        assert_eq!(
            r,
            Err(PollError::Deadline {
                elapsed: Duration::from_secs(25),
                probes: 4,
                last: "InProgress #4".into(),
                answered: true,
            })
        );
        let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
        assert_eq!(secs, vec![10, 10, 5]);
    }

    #[tokio::test]
    async fn a_probe_that_never_answers_is_cut_off_at_the_deadline() {
        let clock = FakeClock::new();
        clock.stall(Duration::from_secs(3));
        clock.stall(Duration::from_secs(3600));
        let r: Result<(), PollError<()>> = poll(&clock, sched(10, 25), |n| async move {
            Ok(Probe::Pending(format!("InProgress #{n}")))
        })
        .await;
        assert_eq!(
            r,
            Err(PollError::Deadline {
                elapsed: Duration::from_secs(25),
                probes: 2,
                last: "no answer before the deadline (last seen: InProgress #1)".into(),
                answered: false,
            })
        );
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10)]);
    }

    #[tokio::test]
    async fn the_system_clock_cuts_off_a_stalled_call() {
        let clock = SystemClock::new();
        let stalled = std::future::pending::<()>();
        let t = std::time::Instant::now();
        assert_eq!(
            until(&clock, Duration::from_millis(50), stalled).await,
            None
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(
            until(&clock, Duration::from_secs(5), async { 7 }).await,
            Some(7)
        );
    }

    #[tokio::test]
    async fn the_probe_at_the_deadline_still_gets_time_to_answer() {
        let clock = FakeClock::new();
        // Each probe takes 2 s of the clock; the one at the deadline has 0 s left.
        for _ in 0..4 {
            clock.stall(Duration::from_secs(2));
        }
        let r: Result<u32, PollError<()>> = poll(&clock, sched(10, 24), |n| async move {
            Ok(if n < 3 {
                Probe::Pending(String::new())
            } else {
                Probe::Ready(n)
            })
        })
        .await;
        assert_eq!(r, Ok(3), "answered at the deadline, within the grace");
    }

    #[tokio::test]
    async fn probe_error_stops_at_once() {
        let clock = FakeClock::new();
        let r: Result<(), PollError<&str>> =
            poll(&clock, sched(10, 600), |_| async { Err("AccessDenied") }).await;
        assert_eq!(r, Err(PollError::Probe("AccessDenied")));
        assert!(clock.sleeps().is_empty());
    }

    #[tokio::test]
    async fn zero_deadline_probes_once() {
        let clock = FakeClock::new();
        let r: Result<(), PollError<()>> = poll(&clock, sched(10, 0), |_| async {
            Ok(Probe::Pending("x".into()))
        })
        .await;
        assert!(matches!(r, Err(PollError::Deadline { probes: 1, .. })));
    }

    #[tokio::test]
    async fn system_clock_really_sleeps() {
        let clock = SystemClock::new();
        let r: Result<u32, PollError<()>> = poll(
            &clock,
            Schedule {
                interval: Duration::from_millis(20),
                deadline: Duration::from_secs(5),
            },
            |n| async move {
                Ok(if n < 3 {
                    Probe::Pending(String::new())
                } else {
                    Probe::Ready(n)
                })
            },
        )
        .await;
        assert_eq!(r, Ok(3));
        assert!(clock.elapsed() >= Duration::from_millis(40));
    }
}
