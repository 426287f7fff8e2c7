//! Schema migrations, embedded at compile time from the workspace's `migrations/` folder.
//!
//! They run on a dedicated connection holding a session-level advisory lock: a second replica
//! booting at the same moment waits for the first, then finds nothing left to apply. Closing the
//! connection releases the lock even when a migration fails.

use tokio_postgres_rustls::MakeRustlsConnect;

use super::db_error;
use crate::storage::StorageError;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The advisory lock key that serialises migrations ("AIQ" + 1).
const MIGRATION_LOCK_KEY: i64 = 0x0041_4951_0001;

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Names of the migrations this run applied (`V1__users`, ...), in order.
    pub applied: Vec<String>,
}

pub(super) async fn run(
    pg_config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
) -> Result<MigrationReport, StorageError> {
    let (mut client, connection) = pg_config.connect(tls).await.map_err(db_error)?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "migration connection closed with an error");
        }
    });

    let result = async {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(db_error)?;
        let report = embedded::migrations::runner()
            .set_abort_divergent(true)
            .run_async(&mut client)
            .await
            .map_err(|e| StorageError::Backend(Box::new(e)))?;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(db_error)?;
        Ok(MigrationReport {
            applied: report
                .applied_migrations()
                .iter()
                .map(|m| format!("V{}__{}", m.version(), m.name()))
                .collect(),
        })
    }
    .await;

    drop(client);
    let _ = driver.await;
    result
}
