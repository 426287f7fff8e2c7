//! Revocations checked in Redis and recorded in the database: Redis is the fast path, the
//! database what is remembered.
//!
//! A Redis without persistence (Railway's default) comes back empty from a restart; on its own
//! ([`RedisRevocations`]) that would bring logged-out tokens back to life. So:
//! - a revocation is written to Redis, then to the record (the store's [`RevocationRecord`]).
//!   Redis first: if the record's write fails the logout fails (and can be retried) with the
//!   token revoked in Redis already, until Redis is next emptied; the other order could leave a revocation in the record
//!   only, invisible to checks that trust a filled Redis. "New or not" is the record's answer,
//!   so refresh rotation keeps its one-winner guarantee;
//! - a check reads the keys and a marker in one `MGET`. The marker (`<prefix>refill:done`) is
//!   written at the end of a refill and never expires, so its absence means Redis was emptied
//!   (or never filled). Then the check is answered from the record (merged with what Redis
//!   holds: the earlier time wins) and a background refill is started;
//! - a refill copies every live revocation of the record into Redis, page by page, and then
//!   sets the marker. One reader across all instances refills: a Redis lock taken by a script
//!   that also checks the marker, plus a flag per process. If Redis is emptied again during the
//!   refill, the lock goes with it and the marker is not set, so the next check starts over;
//! - while Redis is unreachable, checks read the record (correct, only slower) and skip Redis
//!   for a few seconds after each failure, so that requests do not each wait for its timeout.
//!   Revocations still need Redis and fail (503): one written to the record only would be
//!   missing from Redis once it answers again with its marker in place.
//!
//! What the marker cannot see: Redis evicting single keys under memory pressure. Keep Redis's
//! `maxmemory-policy` at `noeviction` (the default).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::redis::micros;
use super::{RedisRevocations, RevocationRecord, RevocationStore, StorageError};

/// Revocations read from the record, and written to Redis, per step of a refill.
const REFILL_PAGE: usize = 500;

/// After a failed Redis check, how long checks go straight to the record.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// A [`RevocationStore`] that checks in Redis and records in a [`RevocationRecord`] (the
/// database), refilling Redis from the record when it finds Redis emptied.
///
/// Any [`Storage`](super::Storage) is a record: [`PgStore`](super::PgStore) in production. With
/// the [`MemoryStore`](super::MemoryStore) the record is this process's memory, which holds only
/// the revocations made by this process since it started. Give each record its own Redis
/// prefix: the refill marker says that Redis holds every revocation of one record.
///
/// ```no_run
/// use std::sync::Arc;
/// use aiq_core::storage::{CachedRevocations, MemoryStore, RedisRevocations};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let storage = Arc::new(MemoryStore::new()); // a PgStore in production
/// let redis = RedisRevocations::new("redis://127.0.0.1:6379/0", "aiq:revoked:")?;
/// let revocations = CachedRevocations::new(redis, storage.clone());
/// let service = aiq_core::Aiq::builder(aiq_core::Config::default())
///     .storage(storage)
///     .revocations(Arc::new(revocations))
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct CachedRevocations {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cache: RedisRevocations,
    record: Arc<dyn RevocationRecord>,
    /// Whether this process runs a refill now (the Redis lock guards across processes).
    refilling: AtomicBool,
    /// Until when (Unix µs) checks skip Redis after a failure; 0 while Redis answers.
    degraded_until: AtomicI64,
}

/// Why a refill stopped before setting the marker.
#[derive(Debug, thiserror::Error)]
enum RefillError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the refill lock was lost: Redis was emptied again, or the lock lapsed")]
    LockLost,
}

impl CachedRevocations {
    /// Checks in `cache`; every revocation is also written to `record`, which refills `cache`
    /// when it comes back empty.
    pub fn new(cache: RedisRevocations, record: Arc<dyn RevocationRecord>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cache,
                record,
                refilling: AtomicBool::new(false),
                degraded_until: AtomicI64::new(0),
            }),
        }
    }

    /// Starts a refill in the background, unless this process runs one already.
    fn start_refill(&self) {
        if self.inner.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            // Reset however the refill ends (a panic too), or this process would never refill
            // again.
            let _reset = ResetOnDrop(&inner.refilling);
            match inner.refill().await {
                Ok(Some(count)) => tracing::info!(
                    revocations = count,
                    "Redis had lost the token revocations: refilled them from the database"
                ),
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    %error,
                    "cannot refill Redis with the token revocations; checks read the database until a refill succeeds"
                ),
            }
        });
    }
}

impl Inner {
    /// Copies every live revocation of the record into Redis, then sets the marker. `None`:
    /// another reader refills, or has just done it.
    async fn refill(&self) -> Result<Option<usize>, RefillError> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        if !self.cache.claim_refill(&token).await? {
            return Ok(None);
        }
        let listed_at = crate::time::now();
        let mut after: Option<String> = None;
        let mut count = 0;
        loop {
            let page = self
                .record
                .live_revocations(after.as_deref(), REFILL_PAGE, listed_at)
                .await?;
            if !self
                .cache
                .refill_page(&token, &page, crate::time::now())
                .await?
            {
                return Err(RefillError::LockLost);
            }
            count += page.len();
            match page.last() {
                Some(last) if page.len() == REFILL_PAGE => after = Some(last.key.clone()),
                _ => break,
            }
        }
        if !self.cache.finish_refill(&token, crate::time::now()).await? {
            return Err(RefillError::LockLost);
        }
        Ok(Some(count))
    }

    /// Whether checks skip Redis at `now`, after a recent failure.
    fn skips_redis(&self, now: OffsetDateTime) -> bool {
        micros(now) < self.degraded_until.load(Ordering::Acquire)
    }

    /// Records a failed check: Redis is skipped for a while; logged once per outage.
    fn redis_failed(&self, now: OffsetDateTime, error: &StorageError) {
        let until = micros(now + RETRY_AFTER);
        if self.degraded_until.swap(until, Ordering::AcqRel) == 0 {
            tracing::warn!(
                %error,
                "Redis does not answer revocation checks: reading them from the database; logouts fail until it answers"
            );
        }
    }

    /// Records a check Redis answered, ending an outage.
    fn redis_answered(&self) {
        if self.degraded_until.load(Ordering::Acquire) != 0
            && self.degraded_until.swap(0, Ordering::AcqRel) != 0
        {
            tracing::info!("Redis answers revocation checks again");
        }
    }
}

#[async_trait]
impl RevocationStore for CachedRevocations {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        // Redis first (see the module documentation); the record says whether it is new.
        self.inner.cache.revoke(key, revoked_at, expires_at).await?;
        self.inner.record.revoke(key, revoked_at, expires_at).await
    }

    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        let inner = &self.inner;
        if inner.skips_redis(now) {
            return inner.record.revoked_at(keys, now).await;
        }
        match inner.cache.lookup(keys).await {
            Ok(lookup) if lookup.filled => {
                inner.redis_answered();
                Ok(lookup.revoked_at)
            }
            Ok(lookup) => {
                inner.redis_answered();
                self.start_refill();
                let recorded = inner.record.revoked_at(keys, now).await?;
                Ok(earliest(lookup.revoked_at, recorded))
            }
            Err(error) => {
                inner.redis_failed(now, &error);
                inner.record.revoked_at(keys, now).await
            }
        }
    }
}

/// Key by key, the earlier of two answers: Redis may hold a revocation that is not in the record
/// (written there before this store was deployed, or by a logout whose record write failed).
fn earliest(
    cached: Vec<Option<OffsetDateTime>>,
    recorded: Vec<Option<OffsetDateTime>>,
) -> Vec<Option<OffsetDateTime>> {
    cached
        .into_iter()
        .zip(recorded)
        .map(|(cached, recorded)| cached.into_iter().chain(recorded).min())
        .collect()
}

/// Clears a flag when dropped.
struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
