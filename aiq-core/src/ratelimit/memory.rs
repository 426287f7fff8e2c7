//! The in-process limiter: every strategy, bounded memory.
//!
//! Keys live in a few mutex-guarded shards, so checks for different keys rarely wait on each
//! other. Each entry remembers when it would be back to a fresh key's state; [`sweep`]
//! (run by [`spawn_janitor`]) drops such entries and gives the memory back, and at most
//! `max_keys` entries are kept: a new key beyond that replaces the entry that expires first, so
//! a flood of distinct addresses cannot grow the process.
//!
//! [`sweep`]: MemoryLimiter::sweep
//! [`spawn_janitor`]: MemoryLimiter::spawn_janitor

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::strategy::{State, Strategy, step};
use super::{Decision, Limiter, LimiterError, Quota};
use crate::clock::Clock;

const SHARDS: usize = 16;

#[derive(Debug)]
struct Entry {
    state: State,
    expires_at: i64,
}

/// Rate limits kept in this process.
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
    shards: Vec<Mutex<HashMap<String, Entry>>>,
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
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_keys,
            tracked: AtomicUsize::new(0),
            clock,
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Entry>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many keys are tracked now (the gauge of the limiter's memory).
    pub fn tracked_keys(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    /// Drops every entry that is back to a fresh key's state and returns the memory it used.
    /// Returns how many were dropped.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now_micros();
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = shard.len();
            shard.retain(|_, entry| entry.expires_at > now);
            dropped += before - shard.len();
            // `retain` keeps the table's capacity; a flood of keys would otherwise stay
            // allocated for good.
            if shard.capacity() > 2 * shard.len() + 64 {
                shard.shrink_to_fit();
            }
        }
        self.tracked.fetch_sub(dropped, Ordering::Relaxed);
        dropped
    }

    /// Runs [`sweep`](Self::sweep) every `interval` until the limiter is dropped.
    pub fn spawn_janitor(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(limiter) = weak.upgrade() else { break };
                let dropped = limiter.sweep();
                tracing::debug!(
                    dropped,
                    tracked = limiter.tracked_keys(),
                    "rate limit janitor"
                );
            }
        })
    }

    /// Makes room for one more key when the cap is reached: the entry of this shard that
    /// expires first goes (expired ones first of all).
    fn make_room(&self, shard: &mut HashMap<String, Entry>) {
        if self.max_keys == 0 || self.tracked.load(Ordering::Relaxed) < self.max_keys {
            return;
        }
        if let Some(victim) = shard
            .iter()
            .min_by_key(|(_, entry)| entry.expires_at)
            .map(|(key, _)| key.clone())
        {
            shard.remove(&victim);
            self.tracked.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        let now = self.clock.now_micros();
        let mut shard = self.shard(key);
        let previous = match shard.remove(key) {
            Some(entry) if entry.expires_at > now => Some(entry.state),
            Some(_) => None,
            None => {
                self.make_room(&mut shard);
                self.tracked.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let step = step(self.strategy, quota, previous, now);
        shard.insert(
            key.to_owned(),
            Entry {
                state: step.state,
                expires_at: step.expires_at,
            },
        );
        Ok(step.decision)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
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
        let counted: usize = limiter.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert_eq!(counted, limiter.tracked_keys());

        clock.advance(Duration::from_secs(120));
        assert_eq!(limiter.sweep(), counted);
        assert_eq!(limiter.tracked_keys(), 0);
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
