//! What to do with an answer from GitHub: use it, wait and ask again, or give up — the rules of
//! GitHub's "Rate limits for the REST API" page, as plain data in and out.
//!
//! - Primary limit: 403/429 with `x-ratelimit-remaining: 0` → wait until `x-ratelimit-reset`
//!   when that is within the deadline, else fail naming the reset time.
//! - Secondary limit: 403/429 with `retry-after` → wait that many seconds; without it (the body
//!   says "secondary rate limit", or a bare 429) → wait a minute, doubling on each repeat.
//! - 500/502/503/504 and transport errors → retried a bounded number of times with doubling
//!   delays.

use std::time::Duration;

/// The rate-limit facts of one response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `x-ratelimit-remaining`
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`, seconds since the epoch.
    pub reset: Option<u64>,
    /// `retry-after`, seconds.
    pub retry_after: Option<u64>,
    /// The body mentions a secondary rate limit.
    pub says_secondary: bool,
}

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Retries of a 5xx or transport error after the first attempt.
    pub server_retries: u32,
    /// The first 5xx delay; each further one doubles.
    pub server_delay: Duration,
    /// Retries after a secondary limit.
    pub secondary_retries: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            server_retries: 3,
            server_delay: Duration::from_secs(1),
            secondary_retries: 5,
        }
    }
}

/// Why a request is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    PrimaryLimit,
    SecondaryLimit,
    ServerError,
}

/// The verdict on one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not a limit and not retryable: the caller reads it (success or a plain error).
    Use,
    /// Ask again after `after`.
    Retry { after: Duration, why: Wait },
    /// The primary limit resets at `reset` (epoch seconds), after the deadline.
    PrimaryPastDeadline { reset: u64 },
    /// Still limited after every retry, or the next wait passes the deadline.
    SecondaryExhausted,
    /// A 5xx after every retry (or the next wait passes the deadline).
    ServerExhausted,
}

/// Decides on `answer`, the `attempt`-th for this request (0 = first), at `now` (epoch seconds)
/// with `time_left` before the deadline.
pub fn decide(
    answer: &Answer,
    attempt: u32,
    now: u64,
    time_left: Duration,
    policy: &Policy,
) -> Decision {
    let limited = matches!(answer.status, 403 | 429);
    if limited && answer.remaining == Some(0) {
        // The reset time is in whole seconds; one more second keeps us from arriving early.
        let reset = answer.reset.unwrap_or(now + 60);
        let wait = Duration::from_secs(reset.saturating_sub(now) + 1);
        return if wait <= time_left {
            Decision::Retry {
                after: wait,
                why: Wait::PrimaryLimit,
            }
        } else {
            Decision::PrimaryPastDeadline { reset }
        };
    }
    let secondary =
        limited && (answer.retry_after.is_some() || answer.says_secondary || answer.status == 429);
    if secondary {
        let after = match answer.retry_after {
            Some(s) => Duration::from_secs(s),
            None => Duration::from_secs(60u64.saturating_mul(1 << attempt.min(6))),
        };
        return if attempt < policy.secondary_retries && after <= time_left {
            Decision::Retry {
                after,
                why: Wait::SecondaryLimit,
            }
        } else {
            Decision::SecondaryExhausted
        };
    }
    if is_server_error(answer.status) {
        return server_retry(attempt, time_left, policy);
    }
    Decision::Use
}

/// The verdict on a request that got no answer (connection refused or reset, timeout).
pub fn decide_transport(attempt: u32, time_left: Duration, policy: &Policy) -> Decision {
    server_retry(attempt, time_left, policy)
}

fn is_server_error(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

fn server_retry(attempt: u32, time_left: Duration, policy: &Policy) -> Decision {
    let after = policy.server_delay.saturating_mul(1 << attempt.min(10));
    if attempt < policy.server_retries && after <= time_left {
        Decision::Retry {
            after,
            why: Wait::ServerError,
        }
    } else {
        Decision::ServerExhausted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_780_000_000;
    const MIN: Duration = Duration::from_secs(60);

    fn answer(status: u16) -> Answer {
        Answer {
            status,
            remaining: Some(4999),
            reset: Some(NOW + 3600),
            ..Answer::default()
        }
    }

    #[test]
    fn success_and_plain_errors_are_used() {
        let p = Policy::default();
        for s in [200, 201, 404, 409, 422, 401] {
            assert_eq!(decide(&answer(s), 0, NOW, MIN, &p), Decision::Use, "{s}");
        }
        // A 403 without any limit sign is a permission problem, not a limit.
        assert_eq!(decide(&answer(403), 0, NOW, MIN, &p), Decision::Use);
    }

    #[test]
    fn primary_limit_waits_until_reset_within_the_deadline() {
        let p = Policy::default();
        let a = Answer {
            remaining: Some(0),
            reset: Some(NOW + 30),
            ..answer(403)
        };
        assert_eq!(
            decide(&a, 0, NOW, MIN, &p),
            Decision::Retry {
                after: Duration::from_secs(31),
                why: Wait::PrimaryLimit
            }
        );
        assert_eq!(
            decide(&a, 0, NOW, Duration::from_secs(20), &p),
            Decision::PrimaryPastDeadline { reset: NOW + 30 }
        );
        let b = Answer { status: 429, ..a };
        assert!(matches!(
            decide(&b, 3, NOW, MIN, &p),
            Decision::Retry {
                why: Wait::PrimaryLimit,
                ..
            }
        ));
        // A reset already past: one second, then ask again.
        let c = Answer {
            reset: Some(NOW - 5),
            ..a
        };
        assert_eq!(
            decide(&c, 0, NOW, MIN, &p),
            Decision::Retry {
                after: Duration::from_secs(1),
                why: Wait::PrimaryLimit
            }
        );
    }

    #[test]
    fn secondary_limit_honours_retry_after_then_gives_up() {
        let p = Policy::default();
        let a = Answer {
            retry_after: Some(7),
            ..answer(403)
        };
        assert_eq!(
            decide(&a, 0, NOW, MIN, &p),
            Decision::Retry {
                after: Duration::from_secs(7),
                why: Wait::SecondaryLimit
            }
        );
        assert_eq!(
            decide(&a, p.secondary_retries, NOW, MIN, &p),
            Decision::SecondaryExhausted
        );
        assert_eq!(
            decide(&a, 0, NOW, Duration::from_secs(5), &p),
            Decision::SecondaryExhausted
        );
        // Without retry-after: a minute, doubling.
        let b = Answer {
            says_secondary: true,
            ..answer(403)
        };
        let hour = Duration::from_secs(3600);
        assert_eq!(
            decide(&b, 0, NOW, hour, &p),
            Decision::Retry {
                after: MIN,
                why: Wait::SecondaryLimit
            }
        );
        assert_eq!(
            decide(&b, 2, NOW, hour, &p),
            Decision::Retry {
                after: MIN * 4,
                why: Wait::SecondaryLimit
            }
        );
        assert!(matches!(
            decide(&answer(429), 0, NOW, hour, &p),
            Decision::Retry {
                why: Wait::SecondaryLimit,
                ..
            }
        ));
    }

    #[test]
    fn server_errors_are_retried_a_bounded_number_of_times() {
        let p = Policy {
            server_retries: 2,
            server_delay: Duration::from_millis(100),
            secondary_retries: 1,
        };
        for s in [500, 502, 503, 504] {
            assert_eq!(
                decide(&answer(s), 0, NOW, MIN, &p),
                Decision::Retry {
                    after: Duration::from_millis(100),
                    why: Wait::ServerError
                }
            );
        }
        assert_eq!(
            decide(&answer(502), 1, NOW, MIN, &p),
            Decision::Retry {
                after: Duration::from_millis(200),
                why: Wait::ServerError
            }
        );
        assert_eq!(
            decide(&answer(502), 2, NOW, MIN, &p),
            Decision::ServerExhausted
        );
        assert_eq!(decide(&answer(501), 0, NOW, MIN, &p), Decision::Use);
        assert_eq!(
            decide_transport(0, Duration::from_millis(50), &p),
            Decision::ServerExhausted
        );
        assert!(matches!(
            decide_transport(1, MIN, &p),
            Decision::Retry { .. }
        ));
    }
}
