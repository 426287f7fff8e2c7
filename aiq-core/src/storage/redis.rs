//! Revocations in Redis, shared by every instance that uses the same Redis.
//!
//! Each revoked key is one Redis key (`<prefix><key>`) whose value is the revocation time in
//! microseconds and whose expiry is the end of the revoked tokens' life, so Redis forgets it by
//! itself. `SET NX` makes a revocation atomic: of two racing callers one sees it as new.
//! Connections reconnect on their own; while Redis is unreachable, checks fail (503) rather than
//! letting revoked tokens through.
//!
//! On its own, Redis is the only place the revocations live, so a Redis that restarts without
//! persistence forgets them. [`CachedRevocations`](super::CachedRevocations) puts the database
//! behind it; the commands it needs for that (a check that also reads the refill marker, and the
//! refill's scripts) are here, next to the key layout they share.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use time::OffsetDateTime;
use tracing::Instrument;

use super::{Revocation, RevocationStore, StorageError};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "aiq:revoked:";

/// How long one Redis command may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The marker (`<prefix>refill:done`) that says Redis holds every live revocation of the record:
/// written at the end of a refill, without expiry, so that only an emptied Redis (a restart
/// without persistence, `FLUSHALL`) lacks it. Its value is when the refill finished (µs).
/// Revocation keys start with `jti:` or `sid:`, so neither this nor the lock can clash with one.
const FILLED: &str = "refill:done";

/// The refill lock (`<prefix>refill:lock`), holding the refilling reader's random token.
const REFILL_LOCK: &str = "refill:lock";

/// How long the refill lock lives without news from its holder: each page extends it, so only a
/// refill that died (its process stopped, Redis or the database stalled) lets it lapse, and then
/// another reader takes over.
const REFILL_LOCK_TTL: Duration = Duration::from_secs(30);

/// Takes the refill lock, unless the marker is there (another reader finished a refill a moment
/// ago) or someone else holds it. KEYS: marker, lock. ARGV: token, lock TTL (ms). Returns 1 when
/// taken. One script, so that a refill finishing between the two checks cannot be run again.
static CLAIM_REFILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
",
    )
});

/// Writes one page of the record, if the lock is still the caller's (extending it). KEYS: lock,
/// then the revocation keys. ARGV: token, lock TTL (ms), then for each key its revocation time
/// (µs) and TTL (ms). Returns 0 when the lock was lost: Redis was emptied again, or the lock
/// lapsed and another reader took over.
///
/// A key already there is overwritten only by an earlier revocation time: a logout that reached
/// an emptied Redis before the refill may have written a later time than the record's first one,
/// and the first one is what counts (the refresh grace period runs from it).
static REFILL_PAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
for i = 2, #KEYS do
  local at = ARGV[2 * i - 1]
  local held = tonumber(redis.call('GET', KEYS[i]))
  if not held or held > tonumber(at) then
    redis.call('SET', KEYS[i], at, 'PX', ARGV[2 * i])
  end
end
return 1
",
    )
});

/// Sets the marker and drops the lock, if the lock is still the caller's. KEYS: marker, lock.
/// ARGV: token, the marker's value. Returns 0 when the lock was lost (the refill may have
/// written into a Redis emptied since, so it does not count).
static FINISH_REFILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1
",
    )
});

/// A Redis connection that reconnects by itself, with timeouts set; no connection is opened
/// until the first command. Fails for a malformed URL, or when called outside a Tokio runtime.
///
/// Shared by every Redis-backed part of the crate (revocations, the rate limiter), which map the
/// error into their own error types.
pub(crate) fn connect(url: &str) -> Result<ConnectionManager, redis::RedisError> {
    let client = redis::Client::open(url)?;
    // The manager spawns its background task at once, and `tokio::spawn` panics without a
    // runtime; an error is kinder to a caller building its state before starting one.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "a Redis connection must be created within a Tokio runtime",
        )));
    }
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_lazy_with_config(client, config)
}

/// The client span of one Redis command (`GET`, `EVALSHA`...), child of the current span (the
/// request's), for trace export. Instrument the command's future with it.
pub(crate) fn command_span(command: &'static str) -> tracing::Span {
    tracing::info_span!(
        target: crate::telemetry::CLIENT_SPANS,
        "redis",
        otel.name = command,
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = command,
    )
}

/// `url` without its password, for logs: `redis://:secret@host:6379/0` -> `redis://host:6379/0`.
///
/// ```
/// use aiq_core::storage::redis_display_url;
/// assert_eq!(redis_display_url("redis://:pw@cache.internal:6379/0"), "redis://cache.internal:6379/0");
/// assert_eq!(redis_display_url("redis://user:pw@h:1/2"), "redis://h:1/2");
/// assert_eq!(redis_display_url("redis://h:1"), "redis://h:1");
/// ```
pub fn display_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => "(unparseable Redis URL)".to_owned(),
    }
}

fn unavailable(err: redis::RedisError) -> StorageError {
    StorageError::Unavailable(Box::new(err))
}

/// A [`RevocationStore`] in Redis.
///
/// Alone, it is the only place the revocations live, and a Redis restarted without persistence
/// forgets them: in a service, wrap it in [`CachedRevocations`](super::CachedRevocations) with the
/// store as its record.
///
/// ```no_run
/// use std::sync::Arc;
/// use aiq_core::storage::RedisRevocations;
/// let revocations = RedisRevocations::new("redis://127.0.0.1:6379/0", "aiq:revoked:")?;
/// let service = aiq_core::Aiq::builder(aiq_core::Config::default())
///     .revocations(Arc::new(revocations))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    connection: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRevocations {
    /// Uses the Redis at `url` (`redis://[:password@]host:port/db`), with keys under `prefix`.
    /// Fails for a malformed URL or outside a Tokio runtime; the connection is opened on first
    /// use.
    pub fn new(url: &str, prefix: &str) -> Result<Self, StorageError> {
        Ok(Self {
            connection: connect(url).map_err(unavailable)?,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The revocation times of `keys` and whether the refill marker is there, in one `MGET`.
    pub(super) async fn lookup(&self, keys: &[&str]) -> Result<Lookup, StorageError> {
        let mut full = Vec::with_capacity(keys.len() + 1);
        full.push(self.key(FILLED));
        full.extend(keys.iter().map(|k| self.key(k)));
        let mut values: Vec<Option<i64>> = redis::cmd("MGET")
            .arg(&full)
            .query_async(&mut self.connection.clone())
            .instrument(command_span("MGET"))
            .await
            .map_err(unavailable)?;
        let filled = !values.is_empty() && values.remove(0).is_some();
        Ok(Lookup {
            filled,
            revoked_at: values.into_iter().map(from_micros).collect(),
        })
    }

    /// Takes the refill lock under `token`; false when Redis is filled already or another reader
    /// is refilling it.
    pub(super) async fn claim_refill(&self, token: &str) -> Result<bool, StorageError> {
        let taken: i64 = CLAIM_REFILL
            .key(self.key(FILLED))
            .key(self.key(REFILL_LOCK))
            .arg(token)
            .arg(millis(REFILL_LOCK_TTL))
            .invoke_async(&mut self.connection.clone())
            .instrument(command_span("EVALSHA"))
            .await
            .map_err(unavailable)?;
        Ok(taken == 1)
    }

    /// Writes `page` (listed from the record at `now`) under the refill lock held with `token`;
    /// false when the lock was lost.
    pub(super) async fn refill_page(
        &self,
        token: &str,
        page: &[Revocation],
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut invocation = REFILL_PAGE.prepare_invoke();
        invocation
            .key(self.key(REFILL_LOCK))
            .arg(token)
            .arg(millis(REFILL_LOCK_TTL));
        for revocation in page {
            let ttl_ms = (revocation.expires_at - now).whole_milliseconds();
            // Listed as live at `now`, so at least a moment is left; 1 ms keeps `PX` valid.
            let ttl_ms = i64::try_from(ttl_ms).unwrap_or(i64::MAX).max(1);
            invocation
                .key(self.key(&revocation.key))
                .arg(micros(revocation.revoked_at))
                .arg(ttl_ms);
        }
        let written: i64 = invocation
            .invoke_async(&mut self.connection.clone())
            .instrument(command_span("EVALSHA"))
            .await
            .map_err(unavailable)?;
        Ok(written == 1)
    }

    /// Marks Redis as filled and drops the lock held with `token`; false when the lock was lost.
    pub(super) async fn finish_refill(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let finished: i64 = FINISH_REFILL
            .key(self.key(FILLED))
            .key(self.key(REFILL_LOCK))
            .arg(token)
            .arg(micros(now))
            .invoke_async(&mut self.connection.clone())
            .instrument(command_span("EVALSHA"))
            .await
            .map_err(unavailable)?;
        Ok(finished == 1)
    }
}

/// What one check read from Redis.
#[derive(Debug)]
pub(super) struct Lookup {
    /// Whether the refill marker is there, so Redis holds every live revocation of the record.
    pub(super) filled: bool,
    /// When each key was revoked, as far as Redis knows.
    pub(super) revoked_at: Vec<Option<OffsetDateTime>>,
}

/// `t` in Unix microseconds, the unit of the stored revocation times.
pub(super) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

fn from_micros(value: Option<i64>) -> Option<OffsetDateTime> {
    value.and_then(|us| OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl RevocationStore for RedisRevocations {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let ttl_ms = (expires_at - revoked_at).whole_milliseconds();
        if ttl_ms <= 0 {
            // The tokens have expired already; there is nothing left to revoke.
            return Ok(true);
        }
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(micros(revoked_at))
            .arg("NX")
            .arg("PX")
            .arg(i64::try_from(ttl_ms).unwrap_or(i64::MAX))
            .query_async(&mut self.connection.clone())
            .instrument(command_span("SET"))
            .await
            .map_err(unavailable)?;
        Ok(stored.is_some())
    }

    async fn revoked_at(
        &self,
        keys: &[&str],
        _now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let values: Vec<Option<i64>> = redis::cmd("MGET")
            .arg(&full)
            .query_async(&mut self.connection.clone())
            .instrument(command_span("MGET"))
            .await
            .map_err(unavailable)?;
        Ok(values.into_iter().map(from_micros).collect())
    }
}
