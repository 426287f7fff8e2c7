//! Revoked tokens and login sessions.
//!
//! Entries are keyed by a string (`jti:<id>` for one token, `sid:<id>` for every token of one
//! login) and kept until `expires_at`, when the tokens they cover would have expired anyway.
//! Both storage backends implement [`RevocationStore`]; a Redis implementation can replace them
//! when several instances share Redis.

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
