//! The overview's counts: users, sessions by status, questions, scores, completions per day
//! and the item bank's inventory.

use time::Date;

use super::count;
use crate::storage::StorageError;
use crate::storage::admin::{InventoryCell, OverviewCounts};
use crate::storage::postgres::questions::{difficulty_from, domain_from};
use crate::storage::postgres::{PgStore, db_error, timed};
use crate::storage::users::GUEST_USER_ID;

pub(super) async fn overview(store: &PgStore) -> Result<OverviewCounts, StorageError> {
    let _timed = timed("overview_counts", "test_sessions");
    let conn = store.conn().await?;
    let statement = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM users WHERE id <> $1) AS users, \
             count(*) FILTER (WHERE status = 'in_progress') AS in_progress, \
             count(*) FILTER (WHERE status = 'completed') AS completed, \
             count(*) FILTER (WHERE status = 'abandoned') AS abandoned, \
             (SELECT count(*) FROM questions) AS questions, \
             (SELECT count(*) FROM questions \
              WHERE is_active AND quality_flag = 'normal') AS selectable \
             FROM test_sessions",
        )
        .await
        .map_err(db_error)?;
    let row = conn
        .query_one(&statement, &[&GUEST_USER_ID])
        .await
        .map_err(db_error)?;
    Ok(OverviewCounts {
        users: count(&row, "users")?,
        in_progress: count(&row, "in_progress")?,
        completed: count(&row, "completed")?,
        abandoned: count(&row, "abandoned")?,
        questions: count(&row, "questions")?,
        selectable_questions: count(&row, "selectable")?,
    })
}

pub(super) async fn iq_scores(store: &PgStore) -> Result<Vec<(i32, u64)>, StorageError> {
    let _timed = timed("iq_score_counts", "test_results");
    let conn = store.conn().await?;
    let statement = conn
        .prepare_cached(
            "SELECT iq_score, count(*) AS n FROM test_results \
             GROUP BY iq_score ORDER BY iq_score",
        )
        .await
        .map_err(db_error)?;
    let rows = conn.query(&statement, &[]).await.map_err(db_error)?;
    rows.iter()
        .map(|row| Ok((row.try_get("iq_score").map_err(db_error)?, count(row, "n")?)))
        .collect()
}

pub(super) async fn completions_per_day(
    store: &PgStore,
    since: Date,
) -> Result<Vec<(Date, u64)>, StorageError> {
    let _timed = timed("completions_per_day", "test_sessions");
    let conn = store.conn().await?;
    let statement = conn
        .prepare_cached(
            "SELECT (completed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n \
             FROM test_sessions WHERE status = 'completed' AND completed_at >= $1 \
             GROUP BY day ORDER BY day",
        )
        .await
        .map_err(db_error)?;
    let from = since.midnight().assume_utc();
    let rows = conn.query(&statement, &[&from]).await.map_err(db_error)?;
    rows.iter()
        .map(|row| Ok((row.try_get("day").map_err(db_error)?, count(row, "n")?)))
        .collect()
}

pub(super) async fn inventory(store: &PgStore) -> Result<Vec<InventoryCell>, StorageError> {
    let _timed = timed("inventory", "questions");
    let conn = store.conn().await?;
    let statement = conn
        .prepare_cached(
            "SELECT question_type, difficulty_level, count(*) AS total, \
             count(*) FILTER (WHERE is_active AND quality_flag = 'normal') AS selectable \
             FROM questions GROUP BY question_type, difficulty_level",
        )
        .await
        .map_err(db_error)?;
    let rows = conn.query(&statement, &[]).await.map_err(db_error)?;
    let mut cells = rows
        .iter()
        .map(|row| {
            Ok(InventoryCell {
                domain: domain_from(row, "question_type")?,
                difficulty: difficulty_from(row, "difficulty_level")?,
                selectable: count(row, "selectable")?,
                total: count(row, "total")?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    cells.sort_by_key(|cell| (cell.domain, cell.difficulty));
    Ok(cells)
}
