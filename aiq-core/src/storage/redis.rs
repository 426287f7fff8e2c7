//! Revocations in Redis, shared by every instance that uses the same Redis.
//!
//! Each revoked key is one Redis key (`<prefix><key>`) whose value is the revocation time in
//! microseconds and whose expiry is the end of the revoked tokens' life, so Redis forgets it by
//! itself. `SET NX` makes a revocation atomic: of two racing callers one sees it as new.
//! Connections reconnect on their own; while Redis is unreachable, checks fail (503) rather than
//! letting revoked tokens through.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use time::OffsetDateTime;
use tracing::Instrument;

use super::{RevocationStore, StorageError};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "aiq:revoked:";

/// How long one Redis command may take before it counts as a failure.
const TIMEOUT: Duration = Duration::from_secs(2);

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
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
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
        Ok(values
            .into_iter()
            .map(|value| {
                value.and_then(|us| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
                })
            })
            .collect())
    }
}
