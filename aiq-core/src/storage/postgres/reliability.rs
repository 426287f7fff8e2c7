//! The reliability aggregates, computed by PostgreSQL: aiq receives a row per item at most.

use async_trait::async_trait;

use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::questions::QuestionId;
use crate::storage::reliability::{ItemAppearances, ReliabilityStore, ScoreSums, SplitHalfSums};

/// The latest completed sessions, `$1` of them (newest ids first: the primary key read
/// backwards).
macro_rules! latest_sessions {
    ($param:literal) => {
        concat!(
            "SELECT id FROM test_sessions WHERE status = 'completed' ORDER BY id DESC LIMIT ",
            $param
        )
    };
}

/// A session count as a `LIMIT`.
fn limit(latest: u64) -> i64 {
    i64::try_from(latest).unwrap_or(i64::MAX)
}

/// A count or a sum of counts, never negative.
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[async_trait]
impl ReliabilityStore for PgStore {
    async fn item_appearances(&self, latest: u64) -> Result<ItemAppearances, StorageError> {
        let _timed = timed("item_appearances", "responses");
        let conn = self.conn().await?;
        // One row per question answered, each carrying the number of completed sessions; a
        // database without any answer still returns that number (the row with a NULL id).
        let statement = conn
            .prepare_cached(concat!(
                "WITH chosen AS MATERIALIZED (",
                latest_sessions!("$1"),
                "), \
                 done AS (SELECT count(*) AS n FROM chosen) \
                 SELECT done.n, a.question_id, a.sessions FROM done LEFT JOIN ( \
                     SELECT r.question_id, count(*) AS sessions FROM responses r \
                     JOIN chosen c ON c.id = r.test_session_id \
                     GROUP BY r.question_id) a ON TRUE"
            ))
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&limit(latest)])
            .await
            .map_err(db_error)?;
        let mut appearances = ItemAppearances::default();
        for row in &rows {
            appearances.sessions = unsigned(row.try_get(0).map_err(db_error)?);
            let question: Option<QuestionId> = row.try_get(1).map_err(db_error)?;
            let sessions: Option<i64> = row.try_get(2).map_err(db_error)?;
            if let (Some(question), Some(sessions)) = (question, sessions) {
                appearances.items.push((question, unsigned(sessions)));
            }
        }
        Ok(appearances)
    }

    async fn score_sums(
        &self,
        items: &[QuestionId],
        min_answered: u64,
        latest: u64,
    ) -> Result<ScoreSums, StorageError> {
        let _timed = timed("score_sums", "responses");
        let conn = self.conn().await?;
        let min_answered = i64::try_from(min_answered.max(1)).unwrap_or(i64::MAX);
        let statement = conn
            .prepare_cached(concat!(
                "WITH chosen AS MATERIALIZED (",
                latest_sessions!("$3"),
                "), \
                 scored AS MATERIALIZED ( \
                     SELECT r.test_session_id, count(*) FILTER (WHERE r.is_correct) AS score \
                     FROM responses r JOIN chosen c ON c.id = r.test_session_id \
                     WHERE r.question_id = ANY($1) \
                     GROUP BY r.test_session_id HAVING count(*) >= $2), \
                 sums AS (SELECT count(*) AS n, COALESCE(sum(score), 0)::bigint AS score_sum, \
                                 COALESCE(sum(score * score), 0)::bigint AS score_squares \
                          FROM scored) \
                 SELECT sums.n, sums.score_sum, sums.score_squares, c.question_id, c.correct \
                 FROM sums LEFT JOIN ( \
                     SELECT r.question_id, count(*) AS correct FROM responses r \
                     JOIN scored USING (test_session_id) \
                     WHERE r.question_id = ANY($1) AND r.is_correct \
                     GROUP BY r.question_id) c ON TRUE"
            ))
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&items, &min_answered, &limit(latest)])
            .await
            .map_err(db_error)?;
        let mut sums = ScoreSums::default();
        for row in &rows {
            sums.sessions = unsigned(row.try_get(0).map_err(db_error)?);
            sums.score_sum = unsigned(row.try_get(1).map_err(db_error)?);
            sums.score_squares = unsigned(row.try_get(2).map_err(db_error)?);
            let question: Option<QuestionId> = row.try_get(3).map_err(db_error)?;
            let correct: Option<i64> = row.try_get(4).map_err(db_error)?;
            if let (Some(question), Some(correct)) = (question, correct) {
                sums.correct.push((question, unsigned(correct)));
            }
        }
        Ok(sums)
    }

    async fn split_half_sums(&self, latest: u64) -> Result<SplitHalfSums, StorageError> {
        let _timed = timed("split_half_sums", "responses");
        let conn = self.conn().await?;
        // Positions follow the response ids, the order the answers were stored in.
        let statement = conn
            .prepare_cached(concat!(
                "WITH chosen AS MATERIALIZED (",
                latest_sessions!("$1"),
                "), \
                 halves AS ( \
                     SELECT count(*) FILTER (WHERE is_correct AND position % 2 = 1) AS odd, \
                            count(*) FILTER (WHERE is_correct AND position % 2 = 0) AS even \
                     FROM (SELECT r.test_session_id, r.is_correct, \
                                  row_number() OVER (PARTITION BY r.test_session_id \
                                                     ORDER BY r.id) AS position \
                           FROM responses r JOIN chosen c ON c.id = r.test_session_id) positioned \
                     GROUP BY test_session_id HAVING count(*) >= 2) \
                 SELECT count(*), COALESCE(sum(odd), 0)::bigint, COALESCE(sum(even), 0)::bigint, \
                        COALESCE(sum(odd * odd), 0)::bigint, \
                        COALESCE(sum(even * even), 0)::bigint, \
                        COALESCE(sum(odd * even), 0)::bigint \
                 FROM halves"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(&statement, &[&limit(latest)])
            .await
            .map_err(db_error)?;
        let get = |i: usize| -> Result<u64, StorageError> {
            Ok(unsigned(row.try_get(i).map_err(db_error)?))
        };
        Ok(SplitHalfSums {
            sessions: get(0)?,
            odd: get(1)?,
            even: get(2)?,
            odd_squares: get(3)?,
            even_squares: get(4)?,
            products: get(5)?,
        })
    }
}
