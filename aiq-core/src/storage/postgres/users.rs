//! `UserStore` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::users::{EducationLevel, NewUser, ProfileUpdate, User, UserId, UserStore};

/// The columns [`user_from_row`] reads, for `SELECT` and `RETURNING` lists.
pub(super) const USER_COLUMNS: &str = "id, email, password_hash, first_name, last_name, \
     created_at, last_login_at, notification_enabled, apns_device_token, \
     day_30_reminder_sent_at, token_revoked_before, token_generation, bypass_cooldown, \
     is_admin, password_login_enabled, birth_year, education_level, country, region";

pub(super) fn user_from_row(row: &Row) -> Result<User, StorageError> {
    let education_level: Option<String> = row.try_get("education_level").map_err(db_error)?;
    let education_level = match education_level {
        None => None,
        Some(text) => Some(EducationLevel::parse(&text).ok_or_else(|| {
            StorageError::Backend(format!("unknown education_level {text:?}").into())
        })?),
    };
    Ok(User {
        id: row.try_get("id").map_err(db_error)?,
        email: row.try_get("email").map_err(db_error)?,
        password_hash: row.try_get("password_hash").map_err(db_error)?,
        first_name: row.try_get("first_name").map_err(db_error)?,
        last_name: row.try_get("last_name").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        last_login_at: row.try_get("last_login_at").map_err(db_error)?,
        notification_enabled: row.try_get("notification_enabled").map_err(db_error)?,
        apns_device_token: row.try_get("apns_device_token").map_err(db_error)?,
        day_30_reminder_sent_at: row.try_get("day_30_reminder_sent_at").map_err(db_error)?,
        token_revoked_before: row.try_get("token_revoked_before").map_err(db_error)?,
        token_generation: row.try_get("token_generation").map_err(db_error)?,
        bypass_cooldown: row.try_get("bypass_cooldown").map_err(db_error)?,
        is_admin: row.try_get("is_admin").map_err(db_error)?,
        password_login_enabled: row.try_get("password_login_enabled").map_err(db_error)?,
        birth_year: row.try_get("birth_year").map_err(db_error)?,
        education_level,
        country: row.try_get("country").map_err(db_error)?,
        region: row.try_get("region").map_err(db_error)?,
    })
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError> {
        let _timed = timed("create_user", "users");
        let conn = self.conn().await?;
        insert_user(&conn, &user).await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        let _timed = timed("user_by_id", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .await
            .map_err(db_error)?;
        let row = conn.query_opt(&statement, &[&id]).await.map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        let _timed = timed("user_by_email", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&email])
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StorageError> {
        let _timed = timed("delete_user", "users");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // Groups they own pass on (or go) first; the cascades below take the rest.
        super::groups::release_groups_of(&tx, id).await?;
        let statement = tx
            .prepare_cached("DELETE FROM users WHERE id = $1")
            .await
            .map_err(db_error)?;
        let deleted = tx.execute(&statement, &[&id]).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(deleted == 1)
    }

    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        verified_hash: &str,
        new_password_hash: Option<String>,
    ) -> Result<Option<User>, StorageError> {
        let _timed = timed("record_login", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "UPDATE users SET last_login_at = $2, \
                 password_hash = COALESCE($3, password_hash) \
                 WHERE id = $1 AND password_hash = $4 RETURNING {USER_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&id, &at, &new_password_hash, &verified_hash])
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
    ) -> Result<Option<User>, StorageError> {
        let _timed = timed("update_profile", "users");
        let conn = self.conn().await?;
        // Each field has a "set it" flag so that an explicit null can clear a name.
        let statement = conn
            .prepare_cached(&format!(
                "UPDATE users SET \
                 first_name = CASE WHEN $2 THEN $3 ELSE first_name END, \
                 last_name = CASE WHEN $4 THEN $5 ELSE last_name END, \
                 notification_enabled = COALESCE($6, notification_enabled) \
                 WHERE id = $1 RETURNING {USER_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(
                &statement,
                &[
                    &id,
                    &update.first_name.is_some(),
                    &update.first_name.flatten(),
                    &update.last_name.is_some(),
                    &update.last_name.flatten(),
                    &update.notification_enabled,
                ],
            )
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn revoke_all_tokens(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<User>, StorageError> {
        let _timed = timed("revoke_all_tokens", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "UPDATE users SET token_generation = token_generation + 1, \
                 token_revoked_before = $2 WHERE id = $1 RETURNING {USER_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&id, &at])
            .await
            .map_err(db_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_device_token(
        &self,
        id: UserId,
        token: Option<&str>,
    ) -> Result<bool, StorageError> {
        let _timed = timed("set_device_token", "users");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        if let Some(token) = token {
            // Registrations of one token take turns, so the second sees the first's owner
            // (without this, two at once would each find no other owner and both keep it).
            let lock = tx
                .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .await
                .map_err(db_error)?;
            tx.execute(&lock, &[&token]).await.map_err(db_error)?;
        }
        // The previous owner loses the token only if the new one exists.
        let statement = tx
            .prepare_cached(
                "WITH previous AS ( \
                     UPDATE users SET apns_device_token = NULL \
                     WHERE $2::text IS NOT NULL AND apns_device_token = $2 AND id <> $1 \
                       AND EXISTS (SELECT 1 FROM users WHERE id = $1)) \
                 UPDATE users SET apns_device_token = $2 WHERE id = $1",
            )
            .await
            .map_err(db_error)?;
        let updated = tx
            .execute(&statement, &[&id, &token])
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(updated == 1)
    }

    async fn clear_device_token_if(&self, id: UserId, token: &str) -> Result<bool, StorageError> {
        let _timed = timed("clear_device_token_if", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "UPDATE users SET apns_device_token = NULL \
                 WHERE id = $1 AND apns_device_token = $2",
            )
            .await
            .map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&id, &token])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }
}

/// Inserts `user` on `client` (a pooled connection or a transaction).
pub(super) async fn insert_user(
    client: &impl deadpool_postgres::GenericClient,
    user: &NewUser,
) -> Result<User, StorageError> {
    let statement = client
        .prepare_cached(&format!(
            "INSERT INTO users (email, password_hash, first_name, last_name, birth_year, \
             education_level, country, region, password_login_enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {USER_COLUMNS}"
        ))
        .await
        .map_err(db_error)?;
    let row = client
        .query_one(
            &statement,
            &[
                &user.email,
                &user.password_hash,
                &user.first_name,
                &user.last_name,
                &user.birth_year,
                &user.education_level.map(EducationLevel::as_str),
                &user.country,
                &user.region,
                &user.password_login_enabled,
                &user.created_at,
            ],
        )
        .await
        .map_err(db_error)?;
    user_from_row(&row)
}
