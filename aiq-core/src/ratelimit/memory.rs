//! The in-process limiter: every strategy, bounded memory.
//!
//! Keys live in a few mutex-guarded shards, so checks for different keys rarely wait on each
//! other. Each entry holds its key's state, which [`step`] updates: for the token bucket, a GCRA
//! theoretical arrival time that governor's limiter checks and advances. Each entry remembers when it would be back to a fresh key's state. Each shard is swept
//! of such entries at most once a minute, by the check that finds it due (no background task to
//! start or stop), and the sweep gives the memory back; [`MemoryLimiter::sweep`] does all shards
//! at once.
//!
//! At most `max_keys` entries are kept, and the cap never frees a limited key. A new key beyond
//! it makes room in its shard, in this order:
//! 1. entries back to a fresh key's state (a full bucket, an empty window): forgetting them
//!    changes no decision (the shard is swept, at most once a second);
//! 2. otherwise the least recently used of a few sampled entries that are not limited now (such a
//!    key, partly used, starts afresh: a flood of other keys can give it back what it used, never
//!    let it through while it is limited);
//! 3. never a limited key (one whose next request would be refused): if every entry of the shard
//!    is limited, the new key is kept beyond the cap. Such entries go by themselves when their
//!    limit ends, so their number is bounded by the requests a window can refuse, and no flood of
//!    other keys can let a limited caller through early.
//!
//! Each eviction of a used key counts in `ratelimit.evictions`.

use async_trait::async_trait;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::strategy::{State, Step, Strategy, step};
use super::{Decision, Limiter, LimiterError, Quota};
use crate::clock::Clock;

const SHARDS: usize = 16;
/// How often each shard is swept of expired entries (microseconds).
const SWEEP_INTERVAL_US: i64 = 60 * 1_000_000;
/// Entries that are not limited looked at to pick the least recently used (approximate LRU keeps
/// a check O(1) under a flood).
const EVICTION_SAMPLE: usize = 8;
/// Entries looked at in all to find that sample, so a shard full of limited keys keeps a check
/// O(1) too (the new key then goes beyond the cap).
const EVICTION_SCAN: usize = 256;

#[derive(Debug)]
struct Entry {
    state: State,
    /// When the state is back to a fresh key's (microseconds).
    expires_at: i64,
    /// Until when the next request would be refused (microseconds; in the past when it would be
    /// allowed): such an entry is never evicted.
    limited_until: i64,
    /// The last check of this key (microseconds).
    used_at: i64,
}

impl Entry {
    fn new(step: Step, now: i64) -> Self {
        let limited_until = if step.decision.remaining == 0 {
            // `reset_at` is rounded up to the second: the entry is kept a little longer, never
            // shorter, than it is limited.
            step.decision.reset_at.saturating_mul(1_000_000)
        } else {
            0
        };
        Self {
            state: step.state,
            expires_at: step.expires_at,
            limited_until,
            used_at: now,
        }
    }
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<String, Entry>,
    swept_at: i64,
}

impl Shard {
    /// Drops expired entries and returns memory a flood left allocated; how many went.
    fn sweep(&mut self, now: i64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, entry| entry.expires_at > now);
        // `retain` keeps the table's capacity; a flood of keys would otherwise stay allocated.
        if self.entries.capacity() > 2 * self.entries.len() + 64 {
            self.entries.shrink_to_fit();
        }
        self.swept_at = now;
        before - self.entries.len()
    }
}

/// Rate limits kept in this process (the token bucket decided by governor's GCRA).
///
/// ```
/// use std::time::Duration;
/// use aiq_core::ratelimit::{Limiter, MemoryLimiter, Quota, Strategy};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let limiter = MemoryLimiter::new(Strategy::TokenBucket, 100_000);
/// let quota = Quota::new(2, Duration::from_secs(60));
/// assert!(limiter.check("ip:203.0.113.7", quota).await.unwrap().allowed);
/// assert!(limiter.check("ip:203.0.113.7", quota).await.unwrap().allowed);
/// assert!(!limiter.check("ip:203.0.113.7", quota).await.unwrap().allowed);
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryLimiter {
    strategy: Strategy,
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    /// Most keys kept (0: no cap).
    max_keys: usize,
    tracked: AtomicUsize,
    clock: Arc<dyn Clock>,
}

impl MemoryLimiter {
    /// A limiter applying `strategy`, keeping at most `max_keys` keys (0: no cap).
    pub fn new(strategy: Strategy, max_keys: usize) -> Self {
        Self::with_clock(strategy, max_keys, Arc::new(crate::clock::SystemClock))
    }

    /// The same, reading the time from `clock` (tests move time by hand).
    pub fn with_clock(strategy: Strategy, max_keys: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            strategy,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            max_keys,
            tracked: AtomicUsize::new(0),
            clock,
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many keys are tracked now (the gauge of the limiter's memory).
    pub fn tracked_keys(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    /// Drops every entry that is back to a fresh key's state, in every shard, and returns the
    /// memory they used. Returns how many were dropped.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now_micros();
        let dropped: usize = self
            .shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|p| p.into_inner()).sweep(now))
            .sum();
        self.tracked.fetch_sub(dropped, Ordering::Relaxed);
        dropped
    }

    /// Makes room for one more key when the cap is reached (see the module's doc for the
    /// order): expired entries, else the least recently used of a sample of entries that are not
    /// limited, else none (the new key goes beyond the cap).
    fn make_room(&self, shard: &mut Shard, now: i64) {
        if self.max_keys == 0 || self.tracked.load(Ordering::Relaxed) < self.max_keys {
            return;
        }
        if now - shard.swept_at >= 1_000_000 {
            let dropped = shard.sweep(now);
            self.tracked.fetch_sub(dropped, Ordering::Relaxed);
            if dropped > 0 {
                return;
            }
        }
        let victim = shard
            .entries
            .iter()
            .take(EVICTION_SCAN)
            .filter(|(_, entry)| entry.limited_until <= now)
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, entry)| entry.used_at)
            .map(|(key, _)| key.clone());
        if let Some(victim) = victim {
            shard.entries.remove(&victim);
            self.tracked.fetch_sub(1, Ordering::Relaxed);
            metrics::counter!(crate::telemetry::RATELIMIT_EVICTIONS).increment(1);
        }
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        let mut shard = self.shard(key);
        // Read under the shard's lock, so the requests of one key are decided in the order of
        // their times (GCRA would otherwise count one with an earlier time as early).
        let now = self.clock.now_micros();
        if now - shard.swept_at >= SWEEP_INTERVAL_US {
            let dropped = shard.sweep(now);
            let tracked = self.tracked.fetch_sub(dropped, Ordering::Relaxed) - dropped;
            metrics::gauge!(crate::telemetry::RATELIMIT_TRACKED_KEYS).set(tracked as f64);
        }
        // A known key is updated in place: no allocation on the hot path.
        if let Some(entry) = shard.entries.get_mut(key) {
            let previous = (entry.expires_at > now)
                .then(|| std::mem::replace(&mut entry.state, State::Window { id: 0, count: 0 }));
            let step = step(self.strategy, quota, previous, now);
            let decision = step.decision;
            *entry = Entry::new(step, now);
            return Ok(decision);
        }
        self.make_room(&mut shard, now);
        self.tracked.fetch_add(1, Ordering::Relaxed);
        let step = step(self.strategy, quota, None, now);
        let decision = step.decision;
        shard.entries.insert(key.to_owned(), Entry::new(step, now));
        Ok(decision)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn keys_are_capped_and_swept() {
        let clock = Arc::new(ManualClock::new(1_000_000_000_000_000));
        let limiter = MemoryLimiter::with_clock(Strategy::FixedWindow, 1_000, clock.clone());
        let quota = Quota::new(5, Duration::from_secs(60));
        for i in 0..10_000 {
            limiter.check(&format!("ip:{i}"), quota).await.unwrap();
        }
        assert!(
            limiter.tracked_keys() <= 1_000,
            "{}",
            limiter.tracked_keys()
        );
        let counted: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().unwrap().entries.len())
            .sum();
        assert_eq!(counted, limiter.tracked_keys());

        clock.advance(Duration::from_secs(120));
        assert_eq!(limiter.sweep(), counted);
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[tokio::test]
    async fn checks_sweep_their_shard_once_a_minute() {
        let clock = Arc::new(ManualClock::new(1_000_000_000_000_000));
        let limiter = MemoryLimiter::with_clock(Strategy::TokenBucket, 0, clock.clone());
        let quota = Quota::new(1, Duration::from_secs(1));
        for i in 0..1_000 {
            limiter.check(&format!("ip:{i}"), quota).await.unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 1_000);
        // Every entry is back to fresh after a second; a minute on, the next checks sweep.
        clock.advance(Duration::from_secs(61));
        for i in 0..1_000 {
            limiter.check(&format!("new:{i}"), quota).await.unwrap();
        }
        assert_eq!(
            limiter.tracked_keys(),
            1_000,
            "the old keys were swept by the checks"
        );
    }

    #[tokio::test]
    async fn an_expired_entry_counts_as_a_fresh_key() {
        let clock = Arc::new(ManualClock::new(1_000_000_000_000_000));
        let limiter = MemoryLimiter::with_clock(Strategy::TokenBucket, 0, clock.clone());
        let quota = Quota::new(1, Duration::from_secs(10));
        assert!(limiter.check("k", quota).await.unwrap().allowed);
        assert!(!limiter.check("k", quota).await.unwrap().allowed);
        clock.advance(Duration::from_secs(10));
        assert!(limiter.check("k", quota).await.unwrap().allowed);
        assert_eq!(limiter.tracked_keys(), 1);
    }
}
