//! The arithmetic of the three strategies, as pure functions of a key's state and the time.
//!
//! Time is in microseconds since the Unix epoch. [`step`] takes the key's previous state (or
//! none), applies one request and returns the new state, the decision and how long the state
//! must be kept. The windows' arithmetic is here; the token bucket's is GCRA, decided by
//! governor (`gcra.rs`). The in-process limiter calls [`step`]; the Redis scripts implement the
//! same rules and are tested against the same cases.

use std::collections::VecDeque;

use super::{Decision, Quota};

const MICROS: i64 = 1_000_000;

/// Which strategy a limiter applies (`RATE_LIMIT_STRATEGY`).
pub use crate::config::RateLimitStrategy as Strategy;

/// The state one key carries between requests.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Token bucket, as GCRA.
    Bucket {
        /// The theoretical arrival time (microseconds): the bucket holds
        /// `(now + capacity × t - tat) / t` tokens, where `t` = window / limit, and is full when
        /// `tat` is not after now.
        tat: i64,
    },
    /// Sliding window: the times of the counted requests still inside the window, oldest first.
    Log(VecDeque<i64>),
    /// Fixed window.
    Window {
        /// Which window: the time divided by the window's length.
        id: i64,
        /// Requests counted in it.
        count: u32,
    },
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What to tell the client.
    pub decision: Decision,
    /// The key's new state.
    pub state: State,
    /// When the state may be forgotten (microseconds): it would then be back to a fresh key's.
    pub expires_at: i64,
}

/// The quota's window in microseconds.
pub(crate) fn window_us(quota: Quota) -> i64 {
    i64::try_from(quota.window.as_micros()).unwrap_or(i64::MAX)
}

/// Whole seconds, rounded up, from a duration in microseconds.
fn ceil_secs(us: i64) -> i64 {
    us.max(0).div_euclid(MICROS) + i64::from(us.max(0).rem_euclid(MICROS) != 0)
}

/// The numbers told to the client, the same for every strategy: `next_at` (microseconds) is
/// when the next request will be allowed or the window resets.
///
/// Shared with the Redis limiter, whose scripts return `allowed`, `remaining` and `next_at`, so
/// the rounding to whole seconds and the "never `Retry-After: 0` when denied" rule exist once.
pub(crate) fn decision(
    quota: Quota,
    allowed: bool,
    remaining: u32,
    now: i64,
    next_at: i64,
) -> Decision {
    Decision {
        allowed,
        limit: quota.limit,
        remaining,
        reset_at: ceil_secs(next_at),
        retry_after: if allowed {
            0
        } else {
            ceil_secs(next_at - now).max(1) as u64
        },
    }
}

/// Applies one request under `strategy`.
///
/// ```
/// use std::time::Duration;
/// use aiq_core::ratelimit::strategy::{State, step};
/// use aiq_core::ratelimit::{Quota, Strategy};
/// let login = Quota::new(5, Duration::from_secs(300)); // a token every 60 s
/// let now = 1_700_000_000_000_000;
/// let first = step(Strategy::TokenBucket, login, None, now);
/// assert_eq!(first.decision.remaining, 4);
/// // GCRA: the bucket owes one token, so it is full again (and forgettable) 60 s on.
/// assert_eq!(first.state, State::Bucket { tat: now + 60_000_000 });
/// assert_eq!(first.expires_at, now + 60_000_000);
/// ```
pub fn step(strategy: Strategy, quota: Quota, previous: Option<State>, now: i64) -> Step {
    match strategy {
        Strategy::TokenBucket => super::gcra::step(quota, previous, now),
        Strategy::SlidingWindow => sliding_window(quota, previous, now),
        Strategy::FixedWindow => fixed_window(quota, previous, now),
    }
}

fn sliding_window(quota: Quota, previous: Option<State>, now: i64) -> Step {
    let window = window_us(quota);
    let mut log = match previous {
        Some(State::Log(log)) => log,
        _ => VecDeque::new(),
    };
    while log.front().is_some_and(|t| *t <= now - window) {
        log.pop_front();
    }
    let allowed = log.len() < quota.limit as usize;
    if allowed {
        log.push_back(now);
    }
    let oldest = log.front().copied().unwrap_or(now);
    let frees_at = oldest + window;
    let newest = log.back().copied().unwrap_or(now);
    let remaining = quota.limit.saturating_sub(log.len() as u32);
    Step {
        decision: decision(quota, allowed, remaining, now, frees_at),
        state: State::Log(log),
        expires_at: newest + window,
    }
}

fn fixed_window(quota: Quota, previous: Option<State>, now: i64) -> Step {
    let window = window_us(quota);
    let id = now.div_euclid(window);
    let count = match previous {
        Some(State::Window {
            id: previous_id,
            count,
        }) if previous_id == id => count,
        _ => 0,
    };
    let allowed = count < quota.limit;
    let count = if allowed { count + 1 } else { count };
    let ends_at = (id + 1) * window;
    Step {
        decision: decision(quota, allowed, quota.limit - count, now, ends_at),
        state: State::Window { id, count },
        expires_at: ends_at,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A whole number of minutes since the epoch, so fixed windows of 60 s start at T0.
    const T0_SECS: i64 = 1_699_999_980;
    const T0: i64 = T0_SECS * MICROS;

    fn secs(s: f64) -> i64 {
        T0 + (s * MICROS as f64) as i64
    }

    /// Runs requests at the given times (seconds after T0), returning each decision.
    fn run(strategy: Strategy, quota: Quota, times: &[f64]) -> Vec<Decision> {
        let mut state = None;
        times
            .iter()
            .map(|t| {
                let step = step(strategy, quota, state.take(), secs(*t));
                state = Some(step.state);
                step.decision
            })
            .collect()
    }

    #[test]
    fn token_bucket_bursts_to_capacity_then_refills_at_the_rate() {
        let login = Quota::new(5, Duration::from_secs(300)); // one token per 60 s
        let d = run(
            Strategy::TokenBucket,
            login,
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        assert!(d[..5].iter().all(|d| d.allowed));
        assert_eq!(
            d.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            [4, 3, 2, 1, 0, 0]
        );
        assert!(!d[5].allowed);
        assert_eq!(d[5].retry_after, 60);
        assert_eq!(d[5].reset_at, T0_SECS + 60);

        // 59 s later there is still no whole token; at 60 s there is one.
        let d = run(
            Strategy::TokenBucket,
            login,
            &[0.0, 0.0, 0.0, 0.0, 0.0, 59.0, 60.0, 60.0],
        );
        assert!(!d[5].allowed);
        assert_eq!(d[5].retry_after, 1);
        assert!(d[6].allowed);
        assert!(!d[7].allowed);
    }

    #[test]
    fn token_bucket_never_says_retry_after_zero() {
        // 100 per 60 s refills a token every 0.6 s: the old backend answered Retry-After: 0.
        let quota = Quota::new(100, Duration::from_secs(60));
        let times = vec![0.0; 101];
        let d = run(Strategy::TokenBucket, quota, &times);
        assert!(!d[100].allowed);
        assert_eq!(d[100].retry_after, 1);
    }

    #[test]
    fn token_bucket_state_expires_when_it_would_be_full_again() {
        let quota = Quota::new(10, Duration::from_secs(60));
        let step = step(Strategy::TokenBucket, quota, None, T0);
        assert_eq!(step.expires_at, T0 + 6 * MICROS, "one token back takes 6 s");
    }

    #[test]
    fn sliding_window_counts_the_trailing_window() {
        let quota = Quota::new(3, Duration::from_secs(10));
        let d = run(
            Strategy::SlidingWindow,
            quota,
            &[0.0, 4.0, 8.0, 9.0, 10.0, 10.5, 14.0],
        );
        let allowed: Vec<bool> = d.iter().map(|d| d.allowed).collect();
        // At 10.0 the request from 0.0 has left the window; at 10.5 the window holds 4, 8, 10.
        assert_eq!(allowed, [true, true, true, false, true, false, true]);
        assert_eq!(d[3].retry_after, 1, "the 0.0 request leaves at 10.0");
        assert_eq!(d[3].remaining, 0);
        assert_eq!(d[5].retry_after, 4, "the 4.0 request leaves at 14.0");
        assert_eq!(d[0].remaining, 2);
        assert_eq!(d[0].reset_at, T0_SECS + 10);
    }

    #[test]
    fn fixed_window_resets_on_the_boundary() {
        let quota = Quota::new(2, Duration::from_secs(60));
        let d = run(
            Strategy::FixedWindow,
            quota,
            &[0.0, 30.0, 59.5, 60.0, 60.1, 61.0],
        );
        let allowed: Vec<bool> = d.iter().map(|d| d.allowed).collect();
        assert_eq!(allowed, [true, true, false, true, true, false]);
        assert_eq!(d[2].retry_after, 1);
        assert_eq!(d[2].reset_at, T0_SECS + 60);
        assert_eq!(d[5].retry_after, 59);
        assert_eq!(d[5].remaining, 0);
    }

    #[test]
    fn denied_requests_do_not_extend_a_window() {
        let quota = Quota::new(1, Duration::from_secs(10));
        let d = run(Strategy::SlidingWindow, quota, &[0.0, 5.0, 9.9, 10.0]);
        assert_eq!(
            d.iter().map(|d| d.allowed).collect::<Vec<_>>(),
            [true, false, false, true]
        );
    }
}
