//! The overview's counts: users, sessions by status, questions, scores, completions per day
//! and the item bank's inventory. None reads a whole large table: users and finished sessions
//! are estimated from the planner's statistics above [`ESTIMATE_FROM`] rows, the scores are the
//! latest [`SCORE_SAMPLE`], and the completions per day walk an index over their window.

use time::Date;

use super::count;
use crate::storage::StorageError;
use crate::storage::admin::{ESTIMATE_FROM, InventoryCell, OverviewCounts, SCORE_SAMPLE};
use crate::storage::postgres::questions::{difficulty_from, domain_from};
use crate::storage::postgres::{PgStore, db_error, timed};
use crate::storage::users::GUEST_USER_ID;

pub(super) async fn overview(store: &PgStore) -> Result<OverviewCounts, StorageError> {
    let _timed = timed("overview_counts", "test_sessions");
    let conn = store.conn().await?;
    // Each estimate replaces its count only when the table is large (`$2` rows by the
    // planner's statistics) and, for statuses, when the status column has statistics; a CASE
    // runs the subquery of the branch it takes only.
    let statement = conn
        .prepare_cached(
            "WITH est AS (SELECT \
               (SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass) AS users, \
               (SELECT reltuples FROM pg_class WHERE oid = 'test_sessions'::regclass) AS sessions), \
             freq AS (SELECT v.status, v.freq FROM pg_stats s, \
               unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(status, freq) \
               WHERE s.tablename = 'test_sessions' AND s.attname = 'status' \
               AND s.schemaname = (SELECT n.nspname FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = 'test_sessions'::regclass)), \
             big AS (SELECT est.users >= $2 AS users, \
               est.sessions >= $2 AND EXISTS (SELECT 1 FROM freq) AS sessions FROM est) \
             SELECT big.users OR big.sessions AS estimated, \
             CASE WHEN big.users THEN (SELECT users::bigint FROM est) \
               ELSE (SELECT count(*) FROM users WHERE id <> $1) END AS users, \
             (SELECT count(*) FROM test_sessions WHERE status = 'in_progress') AS in_progress, \
             CASE WHEN big.sessions THEN (SELECT COALESCE(round(sum(freq) * min(est.sessions)), 0)::bigint \
                 FROM freq, est WHERE status = 'completed') \
               ELSE (SELECT count(*) FROM test_sessions WHERE status = 'completed') END AS completed, \
             CASE WHEN big.sessions THEN (SELECT COALESCE(round(sum(freq) * min(est.sessions)), 0)::bigint \
                 FROM freq, est WHERE status = 'abandoned') \
               ELSE (SELECT count(*) FROM test_sessions WHERE status = 'abandoned') END AS abandoned, \
             (SELECT count(*) FROM questions) AS questions, \
             (SELECT count(*) FROM questions \
              WHERE is_active AND quality_flag = 'normal') AS selectable \
             FROM big",
        )
        .await
        .map_err(db_error)?;
    let row = conn
        .query_one(&statement, &[&GUEST_USER_ID, &(ESTIMATE_FROM as f32)])
        .await
        .map_err(db_error)?;
    Ok(OverviewCounts {
        users: count(&row, "users")?,
        in_progress: count(&row, "in_progress")?,
        completed: count(&row, "completed")?,
        abandoned: count(&row, "abandoned")?,
        questions: count(&row, "questions")?,
        selectable_questions: count(&row, "selectable")?,
        estimated: row.try_get("estimated").map_err(db_error)?,
    })
}

/// The latest [`SCORE_SAMPLE`] results per IQ score: a backward walk of the completion-time
/// index, however many results there are.
pub(super) async fn iq_scores(store: &PgStore) -> Result<Vec<(i32, u64)>, StorageError> {
    let _timed = timed("iq_score_counts", "test_results");
    let conn = store.conn().await?;
    let statement = conn
        .prepare_cached(
            "SELECT iq_score, count(*) AS n FROM (SELECT iq_score FROM test_results \
             ORDER BY completed_at DESC, id DESC LIMIT $1) latest \
             GROUP BY iq_score ORDER BY iq_score",
        )
        .await
        .map_err(db_error)?;
    let sample = i64::try_from(SCORE_SAMPLE).unwrap_or(i64::MAX);
    let rows = conn.query(&statement, &[&sample]).await.map_err(db_error)?;
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
