//! Revoked tokens and login sessions.
//!
//! Entries are keyed by a string (`jti:<id>` for one token, `sid:<id>` for every token of one
//! login) and kept until `expires_at`, when the tokens they cover would have expired anyway.
//! Both storage backends implement [`RevocationStore`], and [`RevocationRecord`] too: they can
//! list what they hold, so that they can be the record behind a Redis cache
//! ([`CachedRevocations`](super::CachedRevocations)) that is refilled from them when Redis comes
//! back empty.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;

/// Remembering what was revoked, and when.
#[async_trait]
pub trait RevocationStore: std::fmt::Debug + Send + Sync + 'static {
    /// Revokes `key` until `expires_at`. Returns false when it was already revoked (the earlier
    /// revocation time is kept): of two concurrent callers exactly one gets true.
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError>;

    /// For each key, when it was revoked (`None`: not revoked, or the entry has expired by `now`).
    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError>;
}

/// One revocation, as [`RevocationRecord::live_revocations`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// `jti:<id>` or `sid:<id>`.
    pub key: String,
    /// When it was revoked (the first time, if it was revoked more than once).
    pub revoked_at: OffsetDateTime,
    /// When the tokens it covers expire, and the entry with them.
    pub expires_at: OffsetDateTime,
}

/// A [`RevocationStore`] that keeps revocations for good (until they expire) and can list them:
/// the record a cache is refilled from.
#[async_trait]
pub trait RevocationRecord: RevocationStore {
    /// Up to `limit` revocations still live at `now`, in key order, starting after the key
    /// `after` (from the first with `None`). A page shorter than `limit` is the last one; pass
    /// the last key of a full page as `after` to get the next.
    async fn live_revocations(
        &self,
        after: Option<&str>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StorageError>;
}
