//! The Redis limiter: limits shared by every instance that uses the same Redis.
//!
//! Each check is one Lua script run atomically by Redis (EVALSHA, with EVAL when the server does
//! not have it cached yet), so the read-compute-write of a key's state never interleaves with
//! another instance's and concurrent requests cannot overshoot a limit. The scripts apply the
//! rules of [`strategy`](super::strategy) (for the token bucket, the GCRA that governor runs in
//! the in-process limiter) to state kept in Redis and return the raw numbers
//! (allowed, remaining, when the next request is allowed); the rounding into a [`Decision`] is
//! the same code the in-process limiter uses.
//!
//! The time is the limiter's [`Clock`], passed to the script, rather than Redis `TIME`: tests
//! drive both limiters with one `ManualClock` and compare their answers, and instances' clocks
//! are NTP-synced to a few milliseconds, which is nothing next to windows of seconds. Every
//! written key gets a `PEXPIRE` at the moment its state would be back to a fresh key's, so Redis
//! forgets idle keys by itself. Keys (`<prefix><key>` and a suffix per strategy):
//! - token bucket, `…:gcra`: the theoretical arrival time of GCRA (a new name: the float bucket
//!   this replaced kept a hash under `…:tb`, which expires by itself);
//! - sliding window, `…:sw`: a sorted set of counted request times (score = microseconds);
//! - fixed window, `…:fw:<window id>`: a counter per aligned window.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;
use tracing::Instrument;

use super::gcra::Gcra;
use super::strategy::{Strategy, decision, window_us};
use super::{Decision, Limiter, LimiterError, Quota};
use crate::clock::{Clock, SystemClock};

/// Token bucket, as GCRA. KEYS[1]: `<tat>:<last now>` (µs): the key's theoretical arrival time,
/// and the latest time a request was counted at. ARGV: now, the emission interval `t`, the
/// tolerance `tau` (µs, from `gcra::Gcra`).
/// Returns {allowed (0/1), remaining, when the next token arrives (µs)}.
///
/// The arithmetic is governor's GCRA, which decides for the memory limiter (`gcra.rs`), on
/// whole microseconds: integers below 2^53, which Lua's doubles hold exactly, and whose
/// quotients `math.floor`/`math.ceil` round as integer division does. A `tat` at or before now
/// is a full bucket, so a state that outlived its TTL (which runs on Redis's clock, not ours)
/// still counts as a fresh key's. A refusal writes nothing, as in governor; an allowed request
/// keeps the key until its bucket is full again.
///
/// Concurrent callers read their clocks before their scripts run, so a script can see an
/// earlier `now` than the one before it; GCRA would then count that request early and refuse
/// one the burst allows (5 concurrent logins let only 4 through). A key's time therefore never
/// goes back: `now` is at least the last time stored with it. The in-process limiter reads its
/// clock under the key's lock, so its times are already in order, and the manual clocks of the
/// parity tests only move forward: both agree.
const TOKEN_BUCKET_LUA: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local at, last = string.match(stored, '^(%d+):(%d+)$')
  if at then
    tat = tonumber(at)
    now = math.max(now, tonumber(last))
  end
end
tat = math.max(tat, now)
if now < tat - tolerance then
  return {0, 0, tat - tolerance}
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d:%d', tat, now),
  'PX', string.format('%d', math.ceil((tat - now) / 1000)))
local remaining = math.floor((now + tolerance + interval - tat) / interval)
return {1, remaining, tat - tolerance + remaining * interval}
";

/// Sliding window. KEYS[1]: the sorted set of counted request times. ARGV: now (µs), limit,
/// window (µs). Returns {allowed (0/1), remaining, when the oldest counted request leaves (µs)}.
///
/// Members must be unique or two requests at the same microsecond would count once: the member
/// is the time, with `-1`, `-2`, … appended while `ZADD NX` finds it taken (at most as many
/// tries as there are requests in the window). Denied requests are not added. The TTL runs to
/// the newest request's exit, taking the newest from the set in case another instance's clock
/// is slightly ahead.
const SLIDING_WINDOW_LUA: &str = r"
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  allowed = 1
  count = count + 1
  local member, n = ARGV[1], 0
  while redis.call('ZADD', KEYS[1], 'NX', ARGV[1], member) == 0 do
    n = n + 1
    member = ARGV[1] .. '-' .. n
  end
  local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
  local ttl = math.ceil((math.max(newest, now) + window - now) / 1000)
  redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(ttl, 1)))
end
local oldest = now
if count > 0 then
  oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
end
return {allowed, math.max(limit - count, 0), oldest + window}
";

/// Fixed window. KEYS[1]: the counter of the current window (its id is in the key, so a new
/// window starts from a fresh key). ARGV: limit, TTL (ms, until the window ends).
/// Returns {allowed (0/1), count}. Denied requests are not counted.
const FIXED_WINDOW_LUA: &str = r"
local limit = tonumber(ARGV[1])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= limit then
  return {0, count}
end
count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, count}
";

// Hashed once per process; `Script` sends EVALSHA and loads the script on NOSCRIPT.
static TOKEN_BUCKET: LazyLock<Script> = LazyLock::new(|| Script::new(TOKEN_BUCKET_LUA));
static SLIDING_WINDOW: LazyLock<Script> = LazyLock::new(|| Script::new(SLIDING_WINDOW_LUA));
static FIXED_WINDOW: LazyLock<Script> = LazyLock::new(|| Script::new(FIXED_WINDOW_LUA));

/// Rate limits kept in Redis, shared by every instance using the same Redis and prefix.
///
/// Cloning is cheap and clones share the connection.
///
/// ```no_run
/// use std::time::Duration;
/// use aiq_core::ratelimit::{Limiter, Quota, RedisLimiter, Strategy};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let limiter =
///     RedisLimiter::new("redis://127.0.0.1:6379/0", "aiq:ratelimit:", Strategy::TokenBucket)?;
/// let login = Quota::new(5, Duration::from_secs(300));
/// let decision = limiter.check("ip:203.0.113.7::/v1/auth/login", login).await?;
/// assert!(decision.allowed);
/// # Ok::<(), aiq_core::ratelimit::LimiterError>(())
/// # });
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    connection: ConnectionManager,
    prefix: String,
    strategy: Strategy,
    clock: Arc<dyn Clock>,
    /// The URL without its password, for `Debug`.
    display_url: String,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("url", &self.display_url)
            .field("prefix", &self.prefix)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: redis::RedisError) -> LimiterError {
    LimiterError::Unavailable(Box::new(err))
}

impl RedisLimiter {
    /// Uses the Redis at `url` (`redis://[:password@]host:port/db`), with keys under `prefix`
    /// (e.g. `aiq:ratelimit:`), applying `strategy`. The connection is opened on first use;
    /// this fails ([`LimiterError::Unavailable`]) only for a malformed URL or when called
    /// outside a Tokio runtime, on which the connection's background task runs.
    pub fn new(url: &str, prefix: &str, strategy: Strategy) -> Result<Self, LimiterError> {
        Self::with_clock(url, prefix, strategy, Arc::new(SystemClock))
    }

    /// The same, reading the time from `clock` (tests move time by hand).
    pub fn with_clock(
        url: &str,
        prefix: &str,
        strategy: Strategy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LimiterError> {
        Ok(Self {
            connection: crate::storage::redis_connect(url).map_err(unavailable)?,
            prefix: prefix.to_owned(),
            strategy,
            clock,
            display_url: crate::storage::redis_display_url(url),
        })
    }

    /// Runs a token-bucket or sliding-window script on `<prefix><key><suffix>` with `args`.
    async fn run(
        &self,
        script: &Script,
        suffix: &str,
        key: &str,
        args: [i64; 3],
    ) -> redis::RedisResult<Raw> {
        let (allowed, remaining, next_at): (i64, i64, i64) = script
            .key(format!("{}{key}{suffix}", self.prefix))
            .arg(&args[..])
            .invoke_async(&mut self.connection.clone())
            .instrument(crate::storage::redis::command_span("EVALSHA"))
            .await?;
        Ok(Raw {
            allowed: allowed == 1,
            remaining,
            next_at,
        })
    }

    async fn fixed_window(&self, key: &str, quota: Quota, now: i64) -> redis::RedisResult<Raw> {
        // The window id and its end are exact integer arithmetic, done here rather than in
        // Lua's doubles; they depend only on the arguments, so nothing is read before writing.
        let window = window_us(quota);
        let id = now.div_euclid(window);
        let ends_at = id.saturating_add(1).saturating_mul(window);
        // `ends_at > now`, so this is the remaining time in milliseconds, rounded up.
        let ttl_ms = ((ends_at - now + 999) / 1_000).max(1);
        let (allowed, count): (i64, i64) = FIXED_WINDOW
            .key(format!("{}{key}:fw:{id}", self.prefix))
            .arg(quota.limit)
            .arg(ttl_ms)
            .invoke_async(&mut self.connection.clone())
            .instrument(crate::storage::redis::command_span("EVALSHA"))
            .await?;
        Ok(Raw {
            allowed: allowed == 1,
            remaining: i64::from(quota.limit) - count,
            next_at: ends_at,
        })
    }
}

/// What a script answered, before rounding.
struct Raw {
    allowed: bool,
    remaining: i64,
    /// When the next request will be allowed or the window resets (µs).
    next_at: i64,
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn check(&self, key: &str, quota: Quota) -> Result<Decision, LimiterError> {
        let now = self.clock.now_micros();
        let raw = match self.strategy {
            Strategy::TokenBucket => {
                let gcra = Gcra::new(quota);
                let args = [now, gcra.interval, gcra.tolerance];
                self.run(&TOKEN_BUCKET, ":gcra", key, args).await
            }
            Strategy::SlidingWindow => {
                let args = [now, i64::from(quota.limit), window_us(quota)];
                self.run(&SLIDING_WINDOW, ":sw", key, args).await
            }
            Strategy::FixedWindow => self.fixed_window(key, quota, now).await,
        }
        .map_err(unavailable)?;
        // A state written under a smaller quota can leave more than `limit` counted.
        let remaining = u32::try_from(raw.remaining.max(0))
            .unwrap_or(u32::MAX)
            .min(quota.limit);
        Ok(decision(quota, raw.allowed, remaining, now, raw.next_at))
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_shows_no_password() {
        let limiter = RedisLimiter::new(
            "redis://:hunter2@127.0.0.1:6379/0",
            "aiq:ratelimit:",
            Strategy::FixedWindow,
        )
        .unwrap();
        let shown = format!("{limiter:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://127.0.0.1:6379/0"), "{shown}");
        assert_eq!(limiter.backend(), "redis");
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let err =
            RedisLimiter::new("redis://127.0.0.1:6379/0", "p:", Strategy::TokenBucket).unwrap_err();
        assert!(matches!(err, LimiterError::Unavailable(_)));
        assert!(err.to_string().contains("Tokio runtime"), "{err}");
    }

    #[test]
    fn a_malformed_url_is_an_error() {
        let err =
            RedisLimiter::new("http://:hunter2@nowhere", "p:", Strategy::TokenBucket).unwrap_err();
        assert!(matches!(err, LimiterError::Unavailable(_)));
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
