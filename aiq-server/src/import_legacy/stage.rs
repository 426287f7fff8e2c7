//! Copying the old tables into the target's temporary staging tables, and deciding there what
//! can be imported.
//!
//! Each table travels as one binary `COPY` stream from the old server to the target, never
//! decoded here. Staging tables are temporary and dropped with the transaction, so an
//! interrupted or dry run leaves nothing behind.

use std::collections::HashMap;

use futures_util::{SinkExt, StreamExt};
use tokio_postgres::Client;

use super::tables::Table;
use aiq_core::storage::content_key_of;

/// The staging table of `table`.
pub(super) fn stage_name(table: &str) -> String {
    format!("stage_{table}")
}

/// Creates `table`'s staging table (aiq's column types, plus `refusal`), fills it from the old
/// database and returns the number of rows read.
pub(super) async fn copy_table(
    source: &Client,
    target: &Client,
    table: &Table,
) -> Result<u64, tokio_postgres::Error> {
    let stage = stage_name(table.name);
    let columns = table.columns.join(", ");
    target
        .batch_execute(&format!(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {name} \
             WITH NO DATA; ALTER TABLE {stage} ADD COLUMN refusal text",
            name = table.name,
        ))
        .await?;
    let rows = source
        .copy_out(&format!(
            "COPY ({}) TO STDOUT (FORMAT binary)",
            table.select
        ))
        .await?;
    let sink = target
        .copy_in(&format!(
            "COPY {stage} ({columns}, refusal) FROM STDIN (FORMAT binary)"
        ))
        .await?;
    futures_util::pin_mut!(rows);
    futures_util::pin_mut!(sink);
    while let Some(chunk) = rows.next().await {
        sink.feed(chunk?).await?;
    }
    let count = sink.as_mut().finish().await?;
    // Temporary tables are never analysed automatically; the merges join on them.
    target.batch_execute(&format!("ANALYZE {stage}")).await?;
    Ok(count)
}

/// Refuses the rows of `table` whose parent row was refused (the foreign key would fail).
pub(super) async fn refuse_orphans(
    target: &Client,
    table: &Table,
) -> Result<u64, tokio_postgres::Error> {
    let stage = stage_name(table.name);
    let mut refused = 0;
    for (column, parent) in table.parents {
        let parent_stage = stage_name(parent);
        refused += target
            .execute(
                &format!(
                    "UPDATE {stage} c SET refusal = format('its {column} %s was refused', \
                     c.{column}) WHERE c.refusal IS NULL AND c.{column} IN \
                     (SELECT id FROM {parent_stage} WHERE refusal IS NOT NULL)"
                ),
                &[],
            )
            .await?;
    }
    Ok(refused)
}

/// Gives each staged question aiq's content key (the same hash `questions import` uses). Two
/// old questions with the same content both stay, the later one under a key derived from its
/// id. Returns how many were such duplicates.
pub(super) async fn fill_content_keys(target: &Client) -> Result<u64, tokio_postgres::Error> {
    let rows = target
        .query(
            "SELECT id, question_type, question_text, stimulus FROM stage_questions ORDER BY id",
            &[],
        )
        .await?;
    let mut first_by_key: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut duplicates = 0;
    for row in rows {
        let id: i64 = row.get(0);
        let mut key = content_key_of(row.get(1), row.get(2), row.get(3));
        if first_by_key.contains_key(&key) {
            duplicates += 1;
            key = content_key_of("legacy-duplicate", &format!("{key}:{id}"), None);
        } else {
            first_by_key.insert(key.clone(), id);
        }
        ids.push(id);
        keys.push(key);
    }
    target
        .execute(
            "UPDATE stage_questions s SET content_key = k.key \
             FROM unnest($1::int8[], $2::text[]) AS k(id, key) WHERE s.id = k.id",
            &[&ids, &keys],
        )
        .await?;
    Ok(duplicates)
}

/// Decodes compositions stored as a JSON string holding JSON (the old demo-account script's
/// double encoding). A string that does not hold JSON is kept as it is. Returns how many were
/// decoded.
pub(super) async fn decode_double_encoded(target: &Client) -> Result<u64, tokio_postgres::Error> {
    let rows = target
        .query(
            "SELECT id, composition_metadata #>> '{}' FROM stage_test_sessions \
             WHERE jsonb_typeof(composition_metadata) = 'string'",
            &[],
        )
        .await?;
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for row in rows {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(row.get(1)) else {
            continue;
        };
        if value.is_object() || value.is_array() {
            ids.push(row.get::<_, i64>(0));
            values.push(value);
        }
    }
    let decoded = target
        .execute(
            "UPDATE stage_test_sessions s SET composition_metadata = d.value \
             FROM unnest($1::int8[], $2::jsonb[]) AS d(id, value) WHERE s.id = d.id",
            &[&ids, &values],
        )
        .await?;
    Ok(decoded)
}

/// One row that cannot be imported.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Refusal {
    pub(super) table: &'static str,
    pub(super) id: i64,
    pub(super) reason: String,
}

/// Every refused row of `table`, by id.
pub(super) async fn refusals(
    target: &Client,
    table: &'static str,
) -> Result<Vec<Refusal>, tokio_postgres::Error> {
    let rows = target
        .query(
            &format!(
                "SELECT id, refusal FROM {} WHERE refusal IS NOT NULL ORDER BY id",
                stage_name(table)
            ),
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Refusal {
            table,
            id: row.get(0),
            reason: row.get(1),
        })
        .collect())
}
