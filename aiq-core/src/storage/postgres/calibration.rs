//! `CalibrationStore` on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PgStore, db_error, timed};
use crate::cat::{CalibratedItem, ItemResponse};
use crate::storage::StorageError;
use crate::storage::calibration::{CalibrationRun, CalibrationStatus, CalibrationStore};
use crate::storage::sessions::SessionId;

/// Inserts a run record.
async fn insert_run<C: GenericClient>(
    client: &C,
    run: &CalibrationRun,
) -> Result<(), StorageError> {
    let statement = client
        .prepare_cached(
            "INSERT INTO irt_calibration_runs (started_at, finished_at, status, new_responses, \
                    questions_calibrated, questions_skipped, mean_difficulty, \
                    mean_discrimination, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await
        .map_err(db_error)?;
    client
        .execute(
            &statement,
            &[
                &run.started_at,
                &run.finished_at,
                &run.status.as_str(),
                &i64::try_from(run.new_responses).unwrap_or(i64::MAX),
                &i32::try_from(run.questions_calibrated).unwrap_or(i32::MAX),
                &i32::try_from(run.questions_skipped).unwrap_or(i32::MAX),
                &run.mean_difficulty,
                &run.mean_discrimination,
                &run.reason,
            ],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

fn run_from_row(row: &Row) -> Result<CalibrationRun, StorageError> {
    let status: &str = row.try_get("status").map_err(db_error)?;
    let new: i64 = row.try_get("new_responses").map_err(db_error)?;
    let calibrated: i32 = row.try_get("questions_calibrated").map_err(db_error)?;
    let skipped: i32 = row.try_get("questions_skipped").map_err(db_error)?;
    Ok(CalibrationRun {
        started_at: row.try_get("started_at").map_err(db_error)?,
        finished_at: row.try_get("finished_at").map_err(db_error)?,
        status: match status {
            "completed" => CalibrationStatus::Completed,
            "skipped" => CalibrationStatus::Skipped,
            "failed" => CalibrationStatus::Failed,
            other => {
                return Err(StorageError::Backend(
                    format!("unknown calibration status {other:?}").into(),
                ));
            }
        },
        new_responses: u64::try_from(new).unwrap_or_default(),
        questions_calibrated: u32::try_from(calibrated).unwrap_or_default(),
        questions_skipped: u32::try_from(skipped).unwrap_or_default(),
        mean_difficulty: row.try_get("mean_difficulty").map_err(db_error)?,
        mean_discrimination: row.try_get("mean_discrimination").map_err(db_error)?,
        reason: row.try_get("reason").map_err(db_error)?,
    })
}

/// A finite value, else NULL.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[async_trait]
impl CalibrationStore for PgStore {
    async fn calibration_responses(
        &self,
        before: Option<SessionId>,
        sessions: u32,
    ) -> Result<Vec<ItemResponse>, StorageError> {
        let _timed = timed("calibration_responses", "responses");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "WITH chosen AS ( \
                     SELECT s.id FROM test_sessions s \
                     WHERE s.status = 'completed' AND NOT s.is_adaptive AND s.id < $1 \
                       AND EXISTS (SELECT 1 FROM responses e WHERE e.test_session_id = s.id) \
                     ORDER BY s.id DESC LIMIT $2) \
                 SELECT r.test_session_id, r.question_id, r.is_correct \
                 FROM chosen c JOIN responses r ON r.test_session_id = c.id \
                 ORDER BY r.test_session_id DESC, r.question_id",
            )
            .await
            .map_err(db_error)?;
        let before = before.unwrap_or(SessionId::MAX);
        let rows = conn
            .query(&statement, &[&before, &i64::from(sessions)])
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(ItemResponse {
                    person: row.try_get(0).map_err(db_error)?,
                    item: row.try_get(1).map_err(db_error)?,
                    correct: row.try_get(2).map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn new_calibration_responses(&self) -> Result<u64, StorageError> {
        let _timed = timed("new_calibration_responses", "responses");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT count(*) FROM responses r \
                 JOIN test_sessions s ON s.id = r.test_session_id \
                 WHERE s.status = 'completed' AND NOT s.is_adaptive \
                 AND r.answered_at >= COALESCE( \
                     (SELECT max(finished_at) FROM irt_calibration_runs \
                      WHERE status = 'completed'), '-infinity')",
            )
            .await
            .map_err(db_error)?;
        let n: i64 = conn
            .query_one(&statement, &[])
            .await
            .map_err(db_error)?
            .try_get(0)
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn publish_calibration(
        &self,
        items: &[CalibratedItem],
        run: &CalibrationRun,
    ) -> Result<(), StorageError> {
        let _timed = timed("publish_calibration", "questions");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let a: Vec<f64> = items.iter().map(|i| i.a).collect();
        let b: Vec<f64> = items.iter().map(|i| i.b).collect();
        let se_a: Vec<Option<f64>> = items.iter().map(|i| finite(i.se_a)).collect();
        let se_b: Vec<Option<f64>> = items.iter().map(|i| finite(i.se_b)).collect();
        let n: Vec<i32> = items
            .iter()
            .map(|i| i32::try_from(i.n).unwrap_or(i32::MAX))
            .collect();
        let statement = tx
            .prepare_cached(
                "UPDATE questions q SET irt_discrimination = u.a, irt_difficulty = u.b, \
                        irt_se_discrimination = u.se_a, irt_se_difficulty = u.se_b, \
                        irt_calibration_n = u.n, irt_calibrated_at = $7 \
                 FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::float8[], \
                             $5::float8[], $6::int[]) AS u(id, a, b, se_a, se_b, n) \
                 WHERE q.id = u.id",
            )
            .await
            .map_err(db_error)?;
        tx.execute(
            &statement,
            &[&ids, &a, &b, &se_a, &se_b, &n, &run.finished_at],
        )
        .await
        .map_err(db_error)?;
        insert_run(&tx, run).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn record_calibration_run(&self, run: &CalibrationRun) -> Result<(), StorageError> {
        let _timed = timed("record_calibration_run", "irt_calibration_runs");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        insert_run(&tx, run).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn calibration_runs(&self, limit: u32) -> Result<Vec<CalibrationRun>, StorageError> {
        let _timed = timed("calibration_runs", "irt_calibration_runs");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT * FROM irt_calibration_runs ORDER BY finished_at DESC, id DESC LIMIT $1",
            )
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&i64::from(limit)])
            .await
            .map_err(db_error)?;
        rows.iter().map(run_from_row).collect()
    }
}
