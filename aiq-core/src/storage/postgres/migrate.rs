//! Schema migrations, embedded at compile time from the workspace's `migrations/` folder.
//!
//! They run on a dedicated connection holding a session-level advisory lock: a second replica
//! booting at the same moment waits for the first, then finds nothing left to apply. Closing the
//! connection releases the lock even when a migration fails. Seeding an empty question bank
//! (`SEED_STARTER_BANK`) happens under the same lock, so replicas seed once.

use super::{PgStore, db_error};
use crate::questions::NewQuestion;
use crate::storage::{QuestionStore, StorageError};

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
    /// Questions loaded into an empty bank by this run (0 when none was asked for, or the bank
    /// held questions already).
    pub seeded: usize,
}

/// Applies pending migrations, then, when `seed` is given and the bank is empty, loads it.
pub(super) async fn run(
    store: &PgStore,
    seed: Option<&[NewQuestion]>,
) -> Result<MigrationReport, StorageError> {
    let (mut client, connection) = store
        .pg_config
        .connect(store.tls.clone())
        .await
        .map_err(db_error)?;
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
        // Still under the lock: a replica that waited finds the bank loaded.
        let seeded = match seed {
            Some(bank) if store.question_count().await? == 0 => {
                let added = store.import_questions(bank).await?;
                added.iter().filter(|added| **added).count()
            }
            _ => 0,
        };
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
            seeded,
        })
    }
    .await;

    drop(client);
    let _ = driver.await;
    result
}
