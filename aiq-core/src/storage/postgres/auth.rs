//! OAuth identities, password reset tokens and revocations on PostgreSQL.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::users::{USER_COLUMNS, insert_user, user_from_row};
use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::oauth::OAuthStore;
use crate::storage::password_reset::{NewPasswordReset, PasswordChange, PasswordResetStore};
use crate::storage::revocations::{Revocation, RevocationRecord, RevocationStore};
use crate::storage::users::{NewUser, User, UserId};

/// Expired revocation rows are swept at most this often (seconds) by each store instance.
const SWEEP_INTERVAL_SECS: i64 = 600;

#[async_trait]
impl OAuthStore for PgStore {
    async fn user_by_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<User>, StorageError> {
        let _timed = timed("user_by_oauth_identity", "oauth_identities");
        let conn = self.conn().await?;
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM oauth_identities o JOIN users u ON u.id = o.user_id \
                 WHERE o.provider = $1 AND o.provider_subject = $2"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&provider, &subject])
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn link_oauth_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        let _timed = timed("link_oauth_identity", "oauth_identities");
        let conn = self.conn().await?;
        insert_identity(&conn, user_id, provider, subject, at).await
    }

    async fn create_oauth_user(
        &self,
        user: NewUser,
        provider: &str,
        subject: &str,
    ) -> Result<User, StorageError> {
        let _timed = timed("create_oauth_user", "oauth_identities");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        let created = insert_user(&tx, &user).await?;
        insert_identity(&tx, created.id, provider, subject, created.created_at).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(created)
    }
}

/// Links an identity on `client` (a pooled connection or a transaction).
async fn insert_identity(
    client: &impl deadpool_postgres::GenericClient,
    user_id: UserId,
    provider: &str,
    subject: &str,
    at: OffsetDateTime,
) -> Result<(), StorageError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO oauth_identities (user_id, provider, provider_subject, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .await
        .map_err(db_error)?;
    client
        .execute(&statement, &[&user_id, &provider, &subject, &at])
        .await
        .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl PasswordResetStore for PgStore {
    async fn create_password_reset(
        &self,
        reset: NewPasswordReset,
        max_active: usize,
    ) -> Result<bool, StorageError> {
        let _timed = timed("create_password_reset", "password_reset_tokens");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // Serialises requests for one user, so the count below cannot be raced past.
        let locked = tx
            .query_opt(
                "SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
                &[&reset.user_id],
            )
            .await
            .map_err(db_error)?;
        if locked.is_none() {
            return Ok(false);
        }
        let active: i64 = tx
            .query_one(
                "SELECT count(*) FROM password_reset_tokens \
                 WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
                &[&reset.user_id, &reset.created_at],
            )
            .await
            .map_err(db_error)?
            .get(0);
        if usize::try_from(active).unwrap_or(usize::MAX) >= max_active {
            return Ok(false);
        }
        tx.execute(
            "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            &[&reset.user_id, &reset.created_at],
        )
        .await
        .map_err(db_error)?;
        tx.execute(
            "INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &reset.user_id,
                &reset.token_hash,
                &reset.created_at,
                &reset.expires_at,
            ],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn redeem_password_reset(
        &self,
        token_hash: &str,
        change: PasswordChange,
    ) -> Result<Option<User>, StorageError> {
        let _timed = timed("redeem_password_reset", "password_reset_tokens");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // The row lock taken by this UPDATE makes a racing redemption wait, re-check
        // `used_at IS NULL` and find nothing.
        let Some(row) = tx
            .query_opt(
                "UPDATE password_reset_tokens SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING user_id",
                &[&token_hash, &change.at],
            )
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let user_id: UserId = row.get(0);
        tx.execute(
            "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            &[&user_id, &change.at],
        )
        .await
        .map_err(db_error)?;
        let user = tx
            .query_opt(
                &format!(
                    "UPDATE users SET password_hash = $2, password_login_enabled = TRUE, \
                     token_generation = token_generation + 1, token_revoked_before = $3 \
                     WHERE id = $1 RETURNING {USER_COLUMNS}"
                ),
                &[&user_id, &change.password_hash, &change.at],
            )
            .await
            .map_err(db_error)?;
        let user = user.as_ref().map(user_from_row).transpose()?;
        tx.commit().await.map_err(db_error)?;
        Ok(user)
    }
}

#[async_trait]
impl RevocationStore for PgStore {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let _timed = timed("revoke", "revoked_tokens");
        let conn = self.conn().await?;
        let now = revoked_at.unix_timestamp();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last >= SWEEP_INTERVAL_SECS
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            conn.execute(
                "DELETE FROM revoked_tokens WHERE expires_at <= $1",
                &[&revoked_at],
            )
            .await
            .map_err(db_error)?;
        }
        // An expired entry for the same key is replaced; a live one is kept, so exactly one
        // of two racing revocations reports a new revocation.
        let statement = conn
            .prepare_cached(
                "INSERT INTO revoked_tokens (key, revoked_at, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE \
                 SET revoked_at = EXCLUDED.revoked_at, expires_at = EXCLUDED.expires_at \
                 WHERE revoked_tokens.expires_at <= EXCLUDED.revoked_at \
                 RETURNING key",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&key, &revoked_at, &expires_at])
            .await
            .map_err(db_error)?;
        Ok(row.is_some())
    }

    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        let _timed = timed("revoked_at", "revoked_tokens");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT key, revoked_at FROM revoked_tokens \
                 WHERE key = ANY($1) AND expires_at > $2",
            )
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&keys, &now])
            .await
            .map_err(db_error)?;
        Ok(keys
            .iter()
            .map(|key| {
                rows.iter()
                    .find(|row| row.get::<_, &str>(0) == *key)
                    .map(|row| row.get(1))
            })
            .collect())
    }
}

#[async_trait]
impl RevocationRecord for PgStore {
    async fn live_revocations(
        &self,
        after: Option<&str>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StorageError> {
        let _timed = timed("live_revocations", "revoked_tokens");
        let conn = self.conn().await?;
        // Keyset paging on the primary key. '' sorts before every key (none is empty), so it
        // stands for "from the first"; comparison and order use the same collation, so pages
        // neither overlap nor skip.
        let statement = conn
            .prepare_cached(
                "SELECT key, revoked_at, expires_at FROM revoked_tokens \
                 WHERE key > $1 AND expires_at > $2 ORDER BY key LIMIT $3",
            )
            .await
            .map_err(db_error)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn
            .query(&statement, &[&after.unwrap_or(""), &now, &limit])
            .await
            .map_err(db_error)?;
        Ok(rows
            .iter()
            .map(|row| Revocation {
                key: row.get(0),
                revoked_at: row.get(1),
                expires_at: row.get(2),
            })
            .collect())
    }
}
