//! Rate limiting: the contract, the strategies and their stores.
//!
//! A [`Limiter`] answers one question: may `key` make one more request under `quota`, and what
//! are the numbers to report (`X-RateLimit-*`, `Retry-After`)? It knows nothing of HTTP; the
//! HTTP side (which endpoint has which quota, who the caller is, the 429 response) lives in
//! `layer`. Three strategies share one arithmetic ([`strategy`]):
//! - token bucket (the default): capacity = limit, refilled at limit/window per second. It runs
//!   as GCRA (one theoretical arrival time per key) on [governor](https://docs.rs/governor)'s
//!   limiter, which decides each check and gives the tokens left and the wait;
//! - sliding window: at most `limit` requests in any trailing window;
//! - fixed window: at most `limit` requests per aligned window.
//!
//! Implementations: [`MemoryLimiter`] (this process, bounded memory) and `RedisLimiter` (feature
//! `redis`), whose checks are single atomic Lua scripts, for limits shared by every instance.
//! Both read the time from a [`Clock`](crate::clock::Clock) and give identical answers for the
//! same requests at the same times (`tests/redis_limiter.rs` runs them side by side): the Redis
//! token bucket is the same GCRA, on the same whole microseconds.
//!
//! The in-process limiter keeps its keys in its own map, each with its GCRA state, rather than in
//! a governor keyed store: its quotas come with each check (a governor limiter has one), and its
//! key cap must tell a limited key from one that may be forgotten, which needs the key's state,
//! private in governor's stores. Governor decides over that state, one check at a time.

mod fallback;
mod gcra;
mod memory;
#[cfg(feature = "redis")]
mod redis;
pub mod strategy;

use std::time::Duration;

use async_trait::async_trait;

pub use self::fallback::FallbackLimiter;
pub use self::memory::MemoryLimiter;
#[cfg(feature = "redis")]
pub use self::redis::RedisLimiter;
pub use self::strategy::Strategy;

/// How many requests a key may make per window.
///
/// ```
/// use std::time::Duration;
/// use aiq_core::ratelimit::Quota;
/// let login = Quota::new(5, Duration::from_secs(300));
/// assert_eq!(login.limit, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Requests allowed per window (at least 1).
    pub limit: u32,
    /// The window (at least one second).
    pub window: Duration,
}

impl Quota {
    /// A quota of `limit` requests per `window`; zeros are raised to 1 request / 1 second.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window: window.max(Duration::from_secs(1)),
        }
    }
}

/// The verdict on one request, with the numbers a client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed (and was counted).
    pub allowed: bool,
    /// The quota's limit (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left now (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Unix time, in whole seconds rounded up, when the next request will be allowed again or
    /// the window resets (`X-RateLimit-Reset`).
    pub reset_at: i64,
    /// Seconds to wait before retrying: at least 1 when denied, 0 when allowed (`Retry-After`).
    pub retry_after: u64,
}

/// Why a limiter could not decide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimiterError {
    /// The shared store (Redis) did not answer.
    #[error("rate limit store unavailable: {0}")]
    Unavailable(#[source] crate::BoxError),
}

/// Decides whether a request may proceed.
#[async_trait]
pub trait Limiter: std::fmt::Debug + Send + Sync + 'static {
    /// Counts one request of `key` against `quota` if it is allowed.
    async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError>;

    /// A short name for logs (`memory`, `redis`).
    fn backend(&self) -> &'static str;
}
