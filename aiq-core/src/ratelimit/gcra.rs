//! The token bucket as GCRA, decided by governor.
//!
//! GCRA (the generic cell rate algorithm) keeps a token bucket as one number per key, its
//! theoretical arrival time `tat`. With the emission interval `t` = window / limit and the
//! tolerance `tau` = t × (limit − 1), a request at `now` is allowed when `now >= tat - tau`, and
//! then `tat` becomes `max(tat, now) + t`; a refused request changes nothing. It is the token
//! bucket of capacity `limit` refilled at `limit` per window: the bucket holds
//! `(now + tau + t - tat) / t` tokens, and a `tat` at or before `now` is a full bucket, the state
//! of a key never seen.
//!
//! [governor](https://docs.rs/governor) decides: each check runs a governor `RateLimiter` over
//! the key's `tat` ([`KeyState`]), at the instant the check read from aiq's
//! [`Clock`](crate::clock::Clock) ([`CheckInstant`]), and reads from it the tokens left
//! (`StateSnapshot::remaining_burst_capacity`) or the wait (`NotUntil::wait_time_from`). The keys
//! themselves stay in the in-process limiter's map rather than in a governor keyed store: a
//! governor limiter has one quota while ours come with each check, the key cap must see a key's
//! `tat` to never evict a limited key, and `X-RateLimit-Reset` needs it too, where governor's
//! stores and snapshots keep it private.
//!
//! Times are whole microseconds, as aiq's clock reads them: `t` is window / limit rounded down
//! to a microsecond (at least one; governor's own `Quota::new` rounds down to the nanosecond),
//! so every `tat` is a whole microsecond too. The Redis script computes the same integers in
//! Lua's doubles, which are exact up to 2^53 µs (285 years).

use std::cell::Cell;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::RateLimiter;
use governor::clock::Clock as GovernorClock;
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{NotKeyed, StateStore};

use super::Quota;
use super::strategy::{State, Step, decision, window_us};

/// A quota's GCRA parameters, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// The emission interval `t`: one token's worth of time.
    pub(crate) interval: i64,
    /// The tolerance `tau`: how far `tat` may be ahead of now, beyond one interval, for a
    /// request to be allowed (the capacity less one token).
    pub(crate) tolerance: i64,
}

impl Gcra {
    /// The parameters of `quota`: `t` = window / limit, `tau` = t × (limit − 1).
    pub(crate) fn new(quota: Quota) -> Self {
        let limit = i64::from(quota.limit.max(1));
        let interval = (window_us(quota) / limit).max(1);
        Self {
            interval,
            tolerance: interval.saturating_mul(limit - 1),
        }
    }

    /// The same as governor's quota: one token per `t`, bursts of `limit`.
    fn quota(self, limit: u32) -> governor::Quota {
        let period = Duration::from_micros(self.interval.unsigned_abs());
        let burst = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        governor::Quota::with_period(period)
            .expect("the interval is at least one microsecond")
            .allow_burst(burst)
    }
}

/// The time of one check (aiq's clock, microseconds since the Unix epoch) as governor's clock.
///
/// A check reads aiq's clock once, and governor sees that one reading both when its limiter is
/// made (its start, from which it measures every `tat`) and when it checks: the decision and the
/// stored state belong to the same instant, and a `tat` is the check's instant plus the offset
/// governor works with.
#[derive(Debug, Clone, Copy)]
struct CheckInstant(Nanos);

impl CheckInstant {
    fn at(now_us: i64) -> Self {
        Self(Nanos::from(
            now_us.max(0).unsigned_abs().saturating_mul(1_000),
        ))
    }
}

impl GovernorClock for CheckInstant {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        self.0
    }
}

/// One key's state as governor's state store: its `tat`, as governor measures it, from the
/// check's instant (none for a full bucket).
#[derive(Debug)]
struct KeyState(Cell<Option<Nanos>>);

impl StateStore for KeyState {
    type Key = NotKeyed;

    fn measure_and_replace<T, F, E>(&self, _key: &NotKeyed, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let (outcome, tat) = f(self.0.get())?;
        self.0.set(Some(tat));
        Ok(outcome)
    }
}

fn micros(nanos: u64) -> i64 {
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

/// Applies one request at `now` to a key whose state was `previous`.
///
/// The state is back to a fresh key's at its `tat`, which is when the state expires.
pub(crate) fn step(quota: Quota, previous: Option<State>, now: i64) -> Step {
    let gcra = Gcra::new(quota);
    let ahead = match previous {
        Some(State::Bucket { tat }) if tat > now => Some(Nanos::from(
            (tat - now).unsigned_abs().saturating_mul(1_000),
        )),
        _ => None,
    };
    let instant = CheckInstant::at(now);
    let limiter = RateLimiter::<NotKeyed, KeyState, CheckInstant, StateInformationMiddleware>::new(
        gcra.quota(quota.limit),
        KeyState(Cell::new(ahead)),
        instant,
    );
    let outcome = limiter.check();
    let tat = now
        + limiter
            .into_state_store()
            .0
            .get()
            .map_or(0, |n| micros(n.as_u64()));
    let decision = match outcome {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            // The next whole token: the bucket holds `remaining` and some, and gains its
            // `remaining + 1`th when `now + tau + t - tat` reaches that many intervals.
            let next_at = tat - gcra.tolerance + i64::from(remaining) * gcra.interval;
            decision(quota, true, remaining, now, next_at)
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(instant.now());
            let wait = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
            decision(quota, false, 0, now, now.saturating_add(wait))
        }
    };
    Step {
        decision,
        state: State::Bucket { tat },
        expires_at: tat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000 * 1_000_000;

    #[test]
    fn the_parameters_are_whole_microseconds() {
        let login = Gcra::new(Quota::new(5, Duration::from_secs(300)));
        assert_eq!((login.interval, login.tolerance), (60_000_000, 240_000_000));
        // 13 s / 7 = 1,857,142.857… µs, rounded down.
        let odd = Gcra::new(Quota::new(7, Duration::from_secs(13)));
        assert_eq!((odd.interval, odd.tolerance), (1_857_142, 6 * 1_857_142));
    }

    #[test]
    fn a_refusal_leaves_the_state_as_it_was() {
        let quota = Quota::new(1, Duration::from_secs(10));
        let first = step(quota, None, T0);
        assert_eq!(
            first.state,
            State::Bucket {
                tat: T0 + 10_000_000
            }
        );
        let refused = step(quota, Some(first.state.clone()), T0 + 3_000_000);
        assert!(!refused.decision.allowed);
        assert_eq!(refused.state, first.state);
        assert_eq!(refused.decision.retry_after, 7);
    }

    #[test]
    fn a_tat_in_the_past_is_a_full_bucket() {
        let quota = Quota::new(3, Duration::from_secs(3));
        let old = Some(State::Bucket { tat: T0 - 1 });
        assert_eq!(step(quota, old, T0), step(quota, None, T0));
    }
}
