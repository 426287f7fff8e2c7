//! How long a failed login waits before it answers, so timing tells nothing.
//!
//! Verifying a password against an argon2id hash takes ~20 ms, against a bcrypt hash the old
//! backend left ~250 ms, and an unknown email costs the dummy argon2id check. Under load the
//! checks also queue for the hashing threads. A fixed floor (400 ms) hid the difference on an
//! idle machine but not under load, where a legacy-hash account's answer came later than the
//! floor (p90 591 ms seen). The floor now follows the recent verifications: the longest of the
//! last 256 (request start to verification done, queueing included) plus a tenth, never below
//! 400 ms, never above 2 s. The longest rather than a percentile: a rare legacy account is
//! exactly the outlier a percentile would leave out, and a floor set by an outlier only makes
//! failed logins a little slower for the next few hundred attempts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// The floor on an idle machine.
const BASE: Duration = Duration::from_millis(400);
/// The floor never exceeds this, whatever the load (a failed login still answers).
const CAP: Duration = Duration::from_secs(2);
/// Verifications remembered.
const WINDOW: usize = 256;

/// The recent verification times and the floor they give.
#[derive(Debug, Default)]
pub(crate) struct LoginFloor {
    recent: Mutex<VecDeque<Duration>>,
}

impl LoginFloor {
    /// Remembers how long one verification took, from the request's start.
    pub(crate) fn record(&self, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == WINDOW {
            recent.pop_front();
        }
        recent.push_back(took);
    }

    /// How long after its start a failed login answers now.
    pub(crate) fn current(&self) -> Duration {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let longest = recent.iter().copied().max().unwrap_or_default();
        (longest + longest / 10).clamp(BASE, CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_covers_the_slowest_recent_verification_within_bounds() {
        let floor = LoginFloor::default();
        assert_eq!(floor.current(), BASE, "idle: the base floor");
        for _ in 0..100 {
            floor.record(Duration::from_millis(20));
        }
        assert_eq!(floor.current(), BASE, "fast checks keep the base floor");
        // Under load a legacy bcrypt check took 591 ms: every failed login now waits longer.
        floor.record(Duration::from_millis(591));
        assert!(
            floor.current() > Duration::from_millis(591),
            "{:?}",
            floor.current()
        );
        floor.record(Duration::from_secs(30));
        assert_eq!(floor.current(), CAP, "capped");
        // The slow ones leave the window after 256 newer verifications.
        for _ in 0..WINDOW {
            floor.record(Duration::from_millis(20));
        }
        assert_eq!(floor.current(), BASE);
    }
}
