//! What earlier imports brought into the target, and what the target may hold before the next.
//!
//! Each committed import records, per table, the highest old id it covered (its watermark).
//! Rows up to it came from the old database, so a later pass may update or delete them to
//! mirror it; a row above it was written by aiq itself, and a later pass refuses to run rather
//! than overwrite it.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::tables::Table;
use super::{Failure, Summary, stage};

/// The highest old id per table that the last committed import brought (none before the first).
pub(super) async fn previous_watermarks(target: &Client) -> Result<BTreeMap<String, i64>, Failure> {
    let row = target
        .query_opt(
            "SELECT watermarks FROM legacy_imports ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await?;
    let Some(row) = row else {
        return Ok(BTreeMap::new());
    };
    let value: serde_json::Value = row.get(0);
    serde_json::from_value(value)
        .map_err(|e| Failure::Database(format!("legacy_imports.watermarks is malformed: {e}")))
}

/// Refuses a target that holds rows aiq wrote itself: before the first import, any row (the
/// starter bank, a test account); after it, any row above the last import's ids.
pub(super) async fn check_target(
    target: &Client,
    tables: &[Table],
    watermarks: &BTreeMap<String, i64>,
) -> Result<(), Failure> {
    let mut found = Vec::new();
    for table in tables {
        let watermark = watermarks.get(table.name).copied().unwrap_or(0);
        let count: i64 = target
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE id > $1", table.name),
                &[&watermark],
            )
            .await?
            .get(0);
        if count > 0 {
            found.push(format!("{count} in {}", table.name));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let when = if watermarks.is_empty() {
        "DATABASE_URL already holds rows that did not come from the old database"
    } else {
        "DATABASE_URL holds rows aiq wrote itself since the last import"
    };
    Err(Failure::Refused(format!(
        "{when} ({}). Import into a new, empty database (with SEED_STARTER_BANK=false), and \
         do not let users onto aiq before the last pass (docs/switch-over.md)",
        found.join(", ")
    )))
}

/// Records the committed run: the old ids it covered (the next pass's watermarks) and its counts.
pub(super) async fn record_run(
    target: &Client,
    tables: &[Table],
    previous: &BTreeMap<String, i64>,
    summary: &Summary,
) -> Result<(), Failure> {
    let mut watermarks = previous.clone();
    for table in tables {
        let highest: Option<i64> = target
            .query_one(
                &format!("SELECT max(id) FROM {}", stage::stage_name(table.name)),
                &[],
            )
            .await?
            .get(0);
        let entry = watermarks.entry(table.name.to_owned()).or_insert(0);
        *entry = (*entry).max(highest.unwrap_or(0));
    }
    let counts = serde_json::to_value(&summary.tables).unwrap_or_default();
    let watermarks = serde_json::to_value(&watermarks).unwrap_or_default();
    target
        .execute(
            "INSERT INTO legacy_imports (started_at, finished_at, watermarks, counts) \
             VALUES (now(), clock_timestamp(), $1, $2)",
            &[&watermarks, &counts],
        )
        .await?;
    Ok(())
}
