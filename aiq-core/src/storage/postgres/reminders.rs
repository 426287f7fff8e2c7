//! `ReminderStore` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::reminders::{ReminderCandidate, ReminderStore};
use crate::storage::sessions::ResultId;
use crate::storage::users::UserId;

/// Users who can receive a push at all.
const PUSHABLE: &str = "u.notification_enabled AND u.apns_device_token IS NOT NULL \
     AND u.apns_device_token <> ''";

fn candidate_from_row(row: &Row) -> Result<ReminderCandidate, StorageError> {
    Ok(ReminderCandidate {
        user_id: row.try_get("id").map_err(db_error)?,
        first_name: row.try_get("first_name").map_err(db_error)?,
        device_token: row.try_get("apns_device_token").map_err(db_error)?,
        result_id: row.try_get("result_id").map_err(db_error)?,
        completed_at: row.try_get("completed_at").map_err(db_error)?,
    })
}

impl PgStore {
    async fn candidates(
        &self,
        sql: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        let conn = self.conn().await?;
        let statement = conn.prepare_cached(sql).await.map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&from, &to])
            .await
            .map_err(db_error)?;
        rows.iter().map(candidate_from_row).collect()
    }
}

#[async_trait]
impl ReminderStore for PgStore {
    async fn test_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        let _timed = timed("test_reminder_candidates", "users");
        let sql = format!(
            // From the results in the window (ix_test_results_completed_at_id), those that are
            // their user's latest: the run reads the window, not every user.
            "SELECT u.id, u.first_name, u.apns_device_token, r.id AS result_id, r.completed_at \
             FROM test_results r JOIN users u ON u.id = r.user_id \
             WHERE r.completed_at BETWEEN $1 AND $2 \
               AND NOT EXISTS (SELECT 1 FROM test_results later \
                   WHERE later.user_id = r.user_id \
                     AND (later.completed_at, later.id) > (r.completed_at, r.id)) \
               AND {PUSHABLE} AND NOT u.bypass_cooldown \
               AND u.test_reminder_sent_for IS DISTINCT FROM r.id \
             ORDER BY u.id"
        );
        self.candidates(&sql, from, to).await
    }

    async fn mark_test_reminder_sent(
        &self,
        user: UserId,
        result: ResultId,
    ) -> Result<bool, StorageError> {
        let _timed = timed("mark_test_reminder_sent", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("UPDATE users SET test_reminder_sent_for = $2 WHERE id = $1")
            .await
            .map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&user, &result])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }

    async fn day_30_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        let _timed = timed("day_30_reminder_candidates", "users");
        let sql = format!(
            // The results in the window whose user has no other result.
            "SELECT u.id, u.first_name, u.apns_device_token, r.id AS result_id, r.completed_at \
             FROM test_results r JOIN users u ON u.id = r.user_id \
             WHERE r.completed_at BETWEEN $1 AND $2 \
               AND NOT EXISTS (SELECT 1 FROM test_results other \
                   WHERE other.user_id = r.user_id AND other.id <> r.id) \
               AND {PUSHABLE} AND u.day_30_reminder_sent_at IS NULL \
             ORDER BY u.id"
        );
        self.candidates(&sql, from, to).await
    }

    async fn mark_day_30_reminder_sent(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let _timed = timed("mark_day_30_reminder_sent", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "UPDATE users SET day_30_reminder_sent_at = $2 \
                 WHERE id = $1 AND day_30_reminder_sent_at IS NULL",
            )
            .await
            .map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&user, &at])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }
}
