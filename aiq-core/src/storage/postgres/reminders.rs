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
            "SELECT u.id, u.first_name, u.apns_device_token, r.id AS result_id, r.completed_at \
             FROM users u CROSS JOIN LATERAL ( \
                 SELECT id, completed_at FROM test_results WHERE user_id = u.id \
                 ORDER BY completed_at DESC, id DESC LIMIT 1) r \
             WHERE {PUSHABLE} AND NOT u.bypass_cooldown \
               AND r.completed_at BETWEEN $1 AND $2 \
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
            "SELECT u.id, u.first_name, u.apns_device_token, r.result_id, r.completed_at \
             FROM users u JOIN ( \
                 SELECT user_id, min(id) AS result_id, min(completed_at) AS completed_at \
                 FROM test_results GROUP BY user_id HAVING count(*) = 1) r \
               ON r.user_id = u.id \
             WHERE {PUSHABLE} AND u.day_30_reminder_sent_at IS NULL \
               AND r.completed_at BETWEEN $1 AND $2 \
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
