//! A shared limiter that degrades to per-instance limits instead of failing open.
//!
//! While the primary (Redis) answers, its decisions stand. When it does not, the request is
//! checked against an in-process limiter instead: limits then hold per instance rather than
//! across the deployment, which is far better than letting everything through. The switch is
//! logged once each way, every fallback check is counted, and the primary is tried again every
//! few seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Decision, Limiter, LimiterError, MemoryLimiter, Quota};
use crate::clock::Clock;

/// How long to stay on the fallback before trying the primary again (microseconds).
const RETRY_AFTER_US: i64 = 5 * 1_000_000;

/// Uses `primary`, or `fallback` while `primary` is unreachable.
///
/// ```
/// use std::sync::Arc;
/// use aiq_core::ratelimit::{FallbackLimiter, MemoryLimiter, Strategy};
/// let shared = Arc::new(MemoryLimiter::new(Strategy::TokenBucket, 0)); // Redis in production
/// let limiter = FallbackLimiter::new(shared, MemoryLimiter::new(Strategy::TokenBucket, 100_000));
/// assert_eq!(limiter.fallback_checks(), 0);
/// ```
#[derive(Debug)]
pub struct FallbackLimiter {
    primary: Arc<dyn Limiter>,
    fallback: MemoryLimiter,
    degraded: AtomicBool,
    retry_at: AtomicI64,
    fallback_checks: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl FallbackLimiter {
    /// `primary` while it answers, `fallback` otherwise.
    pub fn new(primary: Arc<dyn Limiter>, fallback: MemoryLimiter) -> Self {
        Self::with_clock(primary, fallback, Arc::new(crate::clock::SystemClock))
    }

    /// The same, reading the time from `clock`.
    pub fn with_clock(
        primary: Arc<dyn Limiter>,
        fallback: MemoryLimiter,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            primary,
            fallback,
            degraded: AtomicBool::new(false),
            retry_at: AtomicI64::new(0),
            fallback_checks: AtomicU64::new(0),
            clock,
        }
    }

    /// Whether checks currently go to the fallback.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// How many checks the fallback has answered so far.
    pub fn fallback_checks(&self) -> u64 {
        self.fallback_checks.load(Ordering::Relaxed)
    }

    /// The in-process limiter used while degraded (its key gauge, its sweep).
    pub fn fallback(&self) -> &MemoryLimiter {
        &self.fallback
    }

    async fn degrade(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        self.fallback_checks.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::RATELIMIT_FALLBACK_CHECKS).increment(1);
        self.fallback.check(key, quota).await
    }
}

#[async_trait]
impl Limiter for FallbackLimiter {
    async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        let now = self.clock.now_micros();
        if self.is_degraded() && now < self.retry_at.load(Ordering::Relaxed) {
            return self.degrade(key, quota).await;
        }
        match self.primary.check(key, quota).await {
            Ok(decision) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        backend = self.primary.backend(),
                        "rate limit store reachable again: limits are shared across instances"
                    );
                }
                Ok(decision)
            }
            Err(error) => {
                self.retry_at.store(now + RETRY_AFTER_US, Ordering::Relaxed);
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        %error,
                        backend = self.primary.backend(),
                        "rate limit store unreachable: limiting per instance until it answers"
                    );
                }
                self.degrade(key, quota).await
            }
        }
    }

    fn backend(&self) -> &'static str {
        self.primary.backend()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ratelimit::Strategy;

    /// A primary that can be switched off.
    #[derive(Debug)]
    struct Switchable {
        up: AtomicBool,
        inner: MemoryLimiter,
    }

    #[async_trait]
    impl Limiter for Switchable {
        async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
            if self.up.load(Ordering::SeqCst) {
                self.inner.check(key, quota).await
            } else {
                Err(LimiterError::Unavailable("down".into()))
            }
        }

        fn backend(&self) -> &'static str {
            "switchable"
        }
    }

    #[tokio::test]
    async fn limits_per_instance_while_the_primary_is_down_then_returns_to_it() {
        let clock = Arc::new(ManualClock::new(1_000_000_000_000_000));
        let primary = Arc::new(Switchable {
            up: AtomicBool::new(true),
            inner: MemoryLimiter::with_clock(Strategy::FixedWindow, 0, clock.clone()),
        });
        let limiter = FallbackLimiter::with_clock(
            primary.clone(),
            MemoryLimiter::with_clock(Strategy::FixedWindow, 0, clock.clone()),
            clock.clone(),
        );
        let quota = Quota::new(2, Duration::from_secs(3600));
        assert!(limiter.check("k", quota).await.unwrap().allowed);

        primary.up.store(false, Ordering::SeqCst);
        let during: Vec<bool> = [
            limiter.check("k", quota).await.unwrap().allowed,
            limiter.check("k", quota).await.unwrap().allowed,
            limiter.check("k", quota).await.unwrap().allowed,
        ]
        .into();
        assert_eq!(during, [true, true, false], "the fallback still limits");
        assert!(limiter.is_degraded());
        assert_eq!(limiter.fallback_checks(), 3);

        primary.up.store(true, Ordering::SeqCst);
        // Before the retry time the fallback keeps answering.
        assert!(!limiter.check("k", quota).await.unwrap().allowed);
        clock.advance(Duration::from_secs(6));
        // Back on the primary, which counted one request before the outage.
        assert!(limiter.check("k", quota).await.unwrap().allowed);
        assert!(!limiter.is_degraded());
        assert!(!limiter.check("k", quota).await.unwrap().allowed);
    }
}
