//! Writing the staged rows into aiq's tables so that they mirror the old database: new rows
//! inserted, changed rows updated, rows the old database no longer has deleted, all under the
//! import's one transaction.

use tokio_postgres::Client;

use super::stage::stage_name;
use super::tables::{SYSTEM_CONFIG_SELECT, Table};

/// What one table's merge changed.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub(super) struct Changes {
    pub(super) inserted: u64,
    pub(super) updated: u64,
    pub(super) deleted: u64,
}

/// Deletes the rows an earlier import brought (ids up to `watermark`) that the old database
/// no longer has (an account deleted between two passes, with what cascades from it). aiq's
/// own guest sentinel (-1) is never touched.
pub(super) async fn delete_missing(
    target: &Client,
    table: &Table,
    watermark: i64,
) -> Result<u64, tokio_postgres::Error> {
    if watermark <= 0 {
        return Ok(0);
    }
    target
        .execute(
            &format!(
                "DELETE FROM {name} t WHERE t.id > 0 AND t.id <= $1 AND NOT EXISTS \
                 (SELECT 1 FROM {stage} s WHERE s.id = t.id AND s.refusal IS NULL)",
                name = table.name,
                stage = stage_name(table.name),
            ),
            &[&watermark],
        )
        .await
}

/// Below this many staged rows an empty table is filled the ordinary way.
const BULK_ROWS: i64 = 50_000;

/// Inserts the staged rows that are new and updates those that changed; identical rows are
/// left alone (a second pass over an unchanged database writes nothing).
pub(super) async fn upsert(
    target: &Client,
    table: &Table,
) -> Result<Upserted, tokio_postgres::Error> {
    if is_bulk_fill(target, table).await? {
        return Ok(Upserted {
            inserted: bulk_fill(target, table).await?,
            updated: 0,
            bulk: true,
        });
    }
    let columns = table.columns.join(", ");
    let updated: Vec<&str> = table.columns[1..].to_vec();
    let set = updated
        .iter()
        .map(|column| format!("{column} = EXCLUDED.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let current = updated
        .iter()
        .map(|column| format!("t.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let incoming = updated
        .iter()
        .map(|column| format!("EXCLUDED.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = target
        .query_one(
            &format!(
                "WITH merged AS (INSERT INTO {name} AS t ({columns}) \
                 SELECT {columns} FROM {stage} WHERE refusal IS NULL ORDER BY id \
                 ON CONFLICT (id) DO UPDATE SET {set} \
                 WHERE ({current}) IS DISTINCT FROM ({incoming}) \
                 RETURNING (xmax = 0) AS inserted) \
                 SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) \
                 FROM merged",
                name = table.name,
                stage = stage_name(table.name),
            ),
            &[],
        )
        .await?;
    Ok(Upserted {
        inserted: count(row.get(0)),
        updated: count(row.get(1)),
        bulk: false,
    })
}

/// What [`upsert`] wrote.
pub(super) struct Upserted {
    pub(super) inserted: u64,
    pub(super) updated: u64,
    /// The table was empty and filled with its indexes built afterwards.
    pub(super) bulk: bool,
}

/// Whether `table` is empty and many rows are staged for it (the first import of a large
/// table), so that building its indexes once beats maintaining them row by row.
async fn is_bulk_fill(target: &Client, table: &Table) -> Result<bool, tokio_postgres::Error> {
    let row = target
        .query_one(
            &format!(
                "SELECT NOT EXISTS (SELECT 1 FROM {name}), \
                 (SELECT count(*) FROM {stage} WHERE refusal IS NULL)",
                name = table.name,
                stage = stage_name(table.name),
            ),
            &[],
        )
        .await?;
    Ok(row.get::<_, bool>(0) && row.get::<_, i64>(1) >= BULK_ROWS)
}

/// Fills an empty table the way `pg_restore` does: its foreign keys, unique constraints and
/// secondary indexes are dropped, the rows inserted, then each is built again in one pass
/// (a foreign key is then checked by one join instead of a lookup per row). Inside the
/// import's transaction, so a failure (a duplicate, a missing parent) restores everything.
/// For 7.5 million responses this takes less than half the time of inserting under the
/// indexes (see the closing note of issue 16).
async fn bulk_fill(target: &Client, table: &Table) -> Result<u64, tokio_postgres::Error> {
    let name = table.name;
    target
        .batch_execute("SET LOCAL maintenance_work_mem = '256MB'")
        .await?;
    // Foreign keys and unique constraints of this table that nothing else depends on.
    let constraints = target
        .query(
            "SELECT quote_ident(c.conname), pg_get_constraintdef(c.oid) FROM pg_constraint c \
             WHERE c.conrelid = $1::text::regclass AND c.contype IN ('f', 'u') \
             AND NOT (c.contype = 'u' AND EXISTS (SELECT 1 FROM pg_constraint f \
                      WHERE f.contype = 'f' AND f.conindid = c.conindid)) \
             ORDER BY c.contype DESC, c.conname",
            &[&name],
        )
        .await?;
    // Indexes that back no constraint (the primary key's stays: upserts need it).
    let indexes = target
        .query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
             WHERE i.indrelid = $1::text::regclass AND NOT i.indisprimary AND NOT EXISTS \
             (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid \
              AND c.conrelid = i.indrelid)",
            &[&name],
        )
        .await?;
    for row in &constraints {
        let constraint: &str = row.get(0);
        target
            .batch_execute(&format!("ALTER TABLE {name} DROP CONSTRAINT {constraint}"))
            .await?;
    }
    for row in &indexes {
        let index: &str = row.get(0);
        target.batch_execute(&format!("DROP INDEX {index}")).await?;
    }
    let columns = table.columns.join(", ");
    let inserted = target
        .execute(
            &format!(
                "INSERT INTO {name} ({columns}) SELECT {columns} FROM {stage} \
                 WHERE refusal IS NULL ORDER BY id",
                stage = stage_name(name),
            ),
            &[],
        )
        .await?;
    for row in &indexes {
        let definition: &str = row.get(1);
        target.batch_execute(definition).await?;
    }
    // Unique constraints before foreign keys (`ORDER BY contype DESC`: 'u' > 'f').
    for row in &constraints {
        let (constraint, definition): (&str, &str) = (row.get(0), row.get(1));
        target
            .batch_execute(&format!(
                "ALTER TABLE {name} ADD CONSTRAINT {constraint} {definition}"
            ))
            .await?;
    }
    Ok(inserted)
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Copies the old `system_config` keys (the scoring weights, the adaptive switch, population
/// statistics): new keys are added and changed values updated; aiq's own keys stay.
pub(super) async fn system_config(
    source: &Client,
    target: &Client,
) -> Result<Changes, tokio_postgres::Error> {
    let rows = source.query(SYSTEM_CONFIG_SELECT, &[]).await?;
    let mut changes = Changes::default();
    for row in rows {
        let key: &str = row.get(0);
        let value: serde_json::Value = row.get(1);
        let updated_at: time::OffsetDateTime = row.get(2);
        let written = target
            .query_opt(
                "INSERT INTO system_config AS t (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, \
                 updated_at = EXCLUDED.updated_at \
                 WHERE (t.value, t.updated_at) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.updated_at) \
                 RETURNING (xmax = 0)",
                &[&key, &value, &updated_at],
            )
            .await?;
        match written.map(|row| row.get::<_, bool>(0)) {
            Some(true) => changes.inserted += 1,
            Some(false) => changes.updated += 1,
            None => {}
        }
    }
    Ok(changes)
}

/// aiq gives a push token to one account at a time (migration V10): where the old database
/// had one token on several accounts, the account that signed in last keeps it. Returns how
/// many accounts lost it.
pub(super) async fn one_account_per_device_token(
    target: &Client,
) -> Result<u64, tokio_postgres::Error> {
    target
        .execute(
            "UPDATE users SET apns_device_token = NULL WHERE id IN (\
                 SELECT id FROM (SELECT id, row_number() OVER (\
                     PARTITION BY apns_device_token \
                     ORDER BY last_login_at DESC NULLS LAST, id DESC) AS holder \
                 FROM users WHERE apns_device_token IS NOT NULL) holders \
             WHERE holder > 1)",
            &[],
        )
        .await
}

/// Moves `table`'s id sequence past both the old database's sequence and every row now in
/// the table, so aiq never hands out an id the old backend used: a token or link naming a
/// deleted account must not reach a new one.
pub(super) async fn advance_sequence(
    source: &Client,
    target: &Client,
    table: &str,
) -> Result<(), tokio_postgres::Error> {
    let old: Option<i64> = source
        .query_one(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)",
            &[&table],
        )
        .await?
        .get(0);
    target
        .execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), \
                 GREATEST($2::int8, (SELECT COALESCE(max(id), 0) FROM {table}), 1))"
            ),
            &[&table, &old.unwrap_or(0)],
        )
        .await?;
    Ok(())
}
