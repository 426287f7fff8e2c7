//! `GuestStore` and `SystemConfigStore` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::types::Json;

use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::sessions::GuestStore;
use crate::storage::system_config::SystemConfigStore;

#[async_trait]
impl GuestStore for PgStore {
    async fn guest_tests_taken(&self, device_id: &str) -> Result<i32, StorageError> {
        let _timed = timed("guest_tests_taken", "guest_device_limits");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("SELECT tests_taken FROM guest_device_limits WHERE device_id = $1")
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&device_id])
            .await
            .map_err(db_error)?;
        row.map_or(Ok(0), |row| row.try_get(0).map_err(db_error))
    }

    async fn record_guest_test(
        &self,
        device_id: &str,
        at: OffsetDateTime,
    ) -> Result<i32, StorageError> {
        let _timed = timed("record_guest_test", "guest_device_limits");
        let conn = self.conn().await?;
        // An upsert: concurrent tests from one device each count.
        let statement = conn
            .prepare_cached(
                "INSERT INTO guest_device_limits (device_id, tests_taken, first_test_at, \
                 last_test_at) VALUES ($1, 1, $2, $2) \
                 ON CONFLICT (device_id) DO UPDATE \
                 SET tests_taken = guest_device_limits.tests_taken + 1, \
                     last_test_at = EXCLUDED.last_test_at \
                 RETURNING tests_taken",
            )
            .await
            .map_err(db_error)?;
        conn.query_one(&statement, &[&device_id, &at])
            .await
            .map_err(db_error)?
            .try_get(0)
            .map_err(db_error)
    }
}

#[async_trait]
impl SystemConfigStore for PgStore {
    async fn system_config(&self, key: &str) -> Result<Option<serde_json::Value>, StorageError> {
        let _timed = timed("system_config", "system_config");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("SELECT value FROM system_config WHERE key = $1")
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&key])
            .await
            .map_err(db_error)?;
        row.map(|row| row.try_get(0).map_err(db_error)).transpose()
    }

    async fn set_system_config(
        &self,
        key: &str,
        value: serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        let _timed = timed("set_system_config", "system_config");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "INSERT INTO system_config (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE \
                 SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
            )
            .await
            .map_err(db_error)?;
        conn.execute(&statement, &[&key, &Json(&value), &at])
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn claim_system_config(
        &self,
        key: &str,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let _timed = timed("claim_system_config", "system_config");
        let conn = self.conn().await?;
        // The conditional upsert is the lock: of two instances claiming at once, the row lock
        // makes the second re-check the condition against the first one's `updated_at`.
        let statement = conn
            .prepare_cached(
                "INSERT INTO system_config (key, value, updated_at) VALUES ($1, 'null', $3) \
                 ON CONFLICT (key) DO UPDATE SET updated_at = EXCLUDED.updated_at \
                 WHERE system_config.updated_at IS NULL OR system_config.updated_at < $2 \
                 RETURNING key",
            )
            .await
            .map_err(db_error)?;
        let claimed = conn
            .query_opt(&statement, &[&key, &stale_before, &now])
            .await
            .map_err(db_error)?;
        Ok(claimed.is_some())
    }
}
