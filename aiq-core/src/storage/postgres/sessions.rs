//! `SessionStore` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use super::{PgStore, db_error, timed};
use crate::storage::questions::QuestionId;
use crate::storage::sessions::{
    ClaimOutcome, Completion, NewResult, NewSession, ResultId, ResultPage, SessionId,
    SessionStatus, SessionStore, StartContext, StoredResponse, TestResult, TestSession,
};
use crate::storage::users::{GUEST_USER_ID, UserId};
use crate::storage::{Conflict, StorageError};

/// The columns [`session_from_row`] reads.
pub(super) const SESSION_COLUMNS: &str = "id, user_id, started_at, completed_at, status, \
     composition_metadata, time_limit_exceeded, is_adaptive";

/// The columns [`result_from_row`] reads, prefixed with `tr_` where they would clash with a
/// session's in a join.
const RESULT_COLUMNS: &str = "id AS tr_id, test_session_id, user_id AS tr_user_id, \
     completed_at AS tr_completed_at, validity_checked_at, iq_score, percentile_rank, \
     total_questions, correct_answers, completion_time_seconds, standard_error, ci_lower, \
     ci_upper, response_time_flags, validity_status, validity_flags, domain_scores, \
     scoring_method";

pub(super) fn session_from_row(row: &Row) -> Result<TestSession, StorageError> {
    let status: &str = row.try_get("status").map_err(db_error)?;
    Ok(TestSession {
        id: row.try_get("id").map_err(db_error)?,
        user_id: row.try_get("user_id").map_err(db_error)?,
        started_at: row.try_get("started_at").map_err(db_error)?,
        completed_at: row.try_get("completed_at").map_err(db_error)?,
        status: SessionStatus::parse(status).ok_or_else(|| {
            StorageError::Backend(format!("unknown session status {status:?}").into())
        })?,
        composition_metadata: row.try_get("composition_metadata").map_err(db_error)?,
        time_limit_exceeded: row.try_get("time_limit_exceeded").map_err(db_error)?,
        is_adaptive: row.try_get("is_adaptive").map_err(db_error)?,
    })
}

pub(super) fn result_from_row(row: &Row) -> Result<TestResult, StorageError> {
    Ok(TestResult {
        id: row.try_get("tr_id").map_err(db_error)?,
        test_session_id: row.try_get("test_session_id").map_err(db_error)?,
        user_id: row.try_get("tr_user_id").map_err(db_error)?,
        completed_at: row.try_get("tr_completed_at").map_err(db_error)?,
        validity_checked_at: row.try_get("validity_checked_at").map_err(db_error)?,
        scores: NewResult {
            iq_score: row.try_get("iq_score").map_err(db_error)?,
            percentile_rank: row.try_get("percentile_rank").map_err(db_error)?,
            total_questions: row.try_get("total_questions").map_err(db_error)?,
            correct_answers: row.try_get("correct_answers").map_err(db_error)?,
            completion_time_seconds: row.try_get("completion_time_seconds").map_err(db_error)?,
            standard_error: row.try_get("standard_error").map_err(db_error)?,
            ci_lower: row.try_get("ci_lower").map_err(db_error)?,
            ci_upper: row.try_get("ci_upper").map_err(db_error)?,
            response_time_flags: row.try_get("response_time_flags").map_err(db_error)?,
            validity_status: row.try_get("validity_status").map_err(db_error)?,
            validity_flags: row.try_get("validity_flags").map_err(db_error)?,
            domain_scores: row.try_get("domain_scores").map_err(db_error)?,
            scoring_method: row.try_get("scoring_method").map_err(db_error)?,
        },
    })
}

fn count(row: &Row) -> Result<u64, StorageError> {
    let n: i64 = row.try_get(0).map_err(db_error)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// Completes a session in one statement (one round trip, atomic on its own): the status
/// change is a compare-and-set whose row lock makes concurrent submits wait and then find the
/// session no longer in progress; the inserts read the updated row, so they write nothing
/// when it did not match.
const COMPLETE_SQL: &str = "\
    WITH s AS ( \
        UPDATE test_sessions SET status = 'completed', completed_at = $2, \
               time_limit_exceeded = $3 \
        WHERE id = $1 AND status = 'in_progress' \
        RETURNING id, user_id, started_at, completed_at, status, composition_metadata, \
                  time_limit_exceeded, is_adaptive), \
    r AS ( \
        INSERT INTO responses (test_session_id, user_id, question_id, user_answer, is_correct, \
                               answered_at, time_spent_seconds) \
        SELECT s.id, s.user_id, u.q, u.a, u.c, $2, u.t \
        FROM s, unnest($4::bigint[], $5::text[], $6::bool[], $7::int[]) \
                WITH ORDINALITY AS u(q, a, c, t, ord) \
        ORDER BY u.ord), \
    t AS ( \
        INSERT INTO test_results (test_session_id, user_id, iq_score, percentile_rank, \
               total_questions, correct_answers, completion_time_seconds, completed_at, \
               standard_error, ci_lower, ci_upper, response_time_flags, validity_status, \
               validity_flags, validity_checked_at, domain_scores, scoring_method) \
        SELECT s.id, s.user_id, $8, $9, $10, $11, $12, $2, $13, $14, $15, $16, $17, $18, $2, \
               $19, $20 FROM s \
        RETURNING id AS tr_id, test_session_id, user_id AS tr_user_id, \
               completed_at AS tr_completed_at, validity_checked_at, iq_score, percentile_rank, \
               total_questions, correct_answers, completion_time_seconds, standard_error, \
               ci_lower, ci_upper, response_time_flags, validity_status, validity_flags, \
               domain_scores, scoring_method) \
    SELECT s.*, t.* FROM s, t";

#[async_trait]
impl SessionStore for PgStore {
    async fn start_context(
        &self,
        user: UserId,
        abandon_threshold: i64,
    ) -> Result<StartContext, StorageError> {
        let _timed = timed("start_context", "test_sessions");
        let conn = self.conn().await?;
        // The dates ride along on the active session's row; a row of NULLs when there is none.
        let statement = conn
            .prepare_cached(&format!(
                "WITH dates AS ( \
                     SELECT max(completed_at) FILTER (WHERE status = 'completed') AS last_completed, \
                            max(completed_at) FILTER (WHERE status = 'abandoned' AND ( \
                                SELECT count(*) FROM responses r \
                                WHERE r.test_session_id = s.id) >= $2) AS last_abandon \
                     FROM test_sessions s WHERE user_id = $1 AND status <> 'in_progress') \
                 SELECT dates.*, a.* FROM dates LEFT JOIN LATERAL ( \
                     SELECT {SESSION_COLUMNS} FROM test_sessions \
                     WHERE user_id = $1 AND status = 'in_progress' \
                     ORDER BY id DESC LIMIT 1) a ON TRUE"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(&statement, &[&user, &abandon_threshold])
            .await
            .map_err(db_error)?;
        let active_id: Option<i64> = row.try_get("id").map_err(db_error)?;
        Ok(StartContext {
            active: active_id.map(|_| session_from_row(&row)).transpose()?,
            last_completed_at: row.try_get("last_completed").map_err(db_error)?,
            last_substantive_abandon_at: row.try_get("last_abandon").map_err(db_error)?,
        })
    }

    async fn start_session(&self, new: NewSession) -> Result<TestSession, StorageError> {
        let _timed = timed("start_session", "test_sessions");
        let conn = self.conn().await?;
        // One statement, so atomic: the session first (the partial unique index answers a
        // second active session), then the seen records in served order (their ids keep it).
        let statement = conn
            .prepare_cached(&format!(
                "WITH s AS ( \
                     INSERT INTO test_sessions (user_id, started_at, status, \
                                                composition_metadata, is_adaptive) \
                     VALUES ($1, $2, 'in_progress', $3, $4) RETURNING {SESSION_COLUMNS}), \
                 seen AS ( \
                     INSERT INTO user_questions (user_id, question_id, test_session_id, seen_at) \
                     SELECT s.user_id, u.q, s.id, s.started_at \
                     FROM s, unnest($5::bigint[]) WITH ORDINALITY AS u(q, ord) \
                     WHERE $6 ORDER BY u.ord) \
                 SELECT * FROM s"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(
                &statement,
                &[
                    &new.user_id,
                    &new.started_at,
                    &Json(&new.composition_metadata),
                    &new.is_adaptive,
                    &new.question_ids,
                    &new.record_seen,
                ],
            )
            .await
            .map_err(db_error)?;
        session_from_row(&row)
    }

    async fn session(&self, id: SessionId) -> Result<Option<TestSession>, StorageError> {
        let _timed = timed("session", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM test_sessions WHERE id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn.query_opt(&statement, &[&id]).await.map_err(db_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn session_question_ids(&self, id: SessionId) -> Result<Vec<QuestionId>, StorageError> {
        let _timed = timed("session_question_ids", "user_questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT question_id FROM user_questions WHERE test_session_id = $1 ORDER BY id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&id]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(db_error))
            .collect()
    }

    async fn seen_since(
        &self,
        user: UserId,
        since: OffsetDateTime,
    ) -> Result<Vec<QuestionId>, StorageError> {
        let _timed = timed("seen_since", "user_questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT question_id FROM user_questions WHERE user_id = $1 AND seen_at >= $2 \
                 ORDER BY question_id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&user, &since])
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(db_error))
            .collect()
    }

    async fn response_count(&self, id: SessionId) -> Result<u64, StorageError> {
        let _timed = timed("response_count", "responses");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("SELECT count(*) FROM responses WHERE test_session_id = $1")
            .await
            .map_err(db_error)?;
        count(&conn.query_one(&statement, &[&id]).await.map_err(db_error)?)
    }

    async fn session_responses(&self, id: SessionId) -> Result<Vec<StoredResponse>, StorageError> {
        let _timed = timed("session_responses", "responses");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT r.question_id, r.user_answer, r.is_correct, r.answered_at, \
                 r.time_spent_seconds, q.source_model \
                 FROM responses r JOIN questions q ON q.id = r.question_id \
                 WHERE r.test_session_id = $1 ORDER BY r.id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&id]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(StoredResponse {
                    question_id: row.try_get(0).map_err(db_error)?,
                    user_answer: row.try_get(1).map_err(db_error)?,
                    is_correct: row.try_get(2).map_err(db_error)?,
                    answered_at: row.try_get(3).map_err(db_error)?,
                    time_spent_seconds: row.try_get(4).map_err(db_error)?,
                    source_model: row.try_get(5).map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn abandon_session(
        &self,
        id: SessionId,
        at: OffsetDateTime,
    ) -> Result<Option<(TestSession, u64)>, StorageError> {
        let _timed = timed("abandon_session", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "UPDATE test_sessions SET status = 'abandoned', completed_at = $2 \
                 WHERE id = $1 AND status = 'in_progress' \
                 RETURNING {SESSION_COLUMNS}, \
                 (SELECT count(*) FROM responses r WHERE r.test_session_id = $1) AS kept"
            ))
            .await
            .map_err(db_error)?;
        let Some(row) = conn
            .query_opt(&statement, &[&id, &at])
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        let kept: i64 = row.try_get("kept").map_err(db_error)?;
        Ok(Some((
            session_from_row(&row)?,
            u64::try_from(kept).unwrap_or_default(),
        )))
    }

    async fn abandon_stale_guest_sessions(
        &self,
        started_before: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let _timed = timed("abandon_stale_guest_sessions", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "UPDATE test_sessions SET status = 'abandoned' \
                 WHERE user_id = $1 AND status = 'in_progress' AND started_at < $2",
            )
            .await
            .map_err(db_error)?;
        conn.execute(&statement, &[&GUEST_USER_ID, &started_before])
            .await
            .map_err(db_error)
    }

    async fn complete_session(
        &self,
        completion: Completion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        let _timed = timed("complete_session", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn.prepare_cached(COMPLETE_SQL).await.map_err(db_error)?;
        let responses = &completion.responses;
        let question_ids: Vec<QuestionId> = responses.iter().map(|r| r.question_id).collect();
        let answers: Vec<&str> = responses.iter().map(|r| r.user_answer.as_str()).collect();
        let correct: Vec<bool> = responses.iter().map(|r| r.is_correct).collect();
        let times: Vec<Option<i32>> = responses.iter().map(|r| r.time_spent_seconds).collect();
        let scores = &completion.result;
        let row = conn
            .query_opt(
                &statement,
                &[
                    &completion.session_id,
                    &completion.completed_at,
                    &completion.time_limit_exceeded,
                    &question_ids,
                    &answers,
                    &correct,
                    &times,
                    &scores.iq_score,
                    &scores.percentile_rank,
                    &scores.total_questions,
                    &scores.correct_answers,
                    &scores.completion_time_seconds,
                    &scores.standard_error,
                    &scores.ci_lower,
                    &scores.ci_upper,
                    &scores.response_time_flags.as_ref().map(Json),
                    &scores.validity_status,
                    &scores.validity_flags.as_ref().map(Json),
                    &scores.domain_scores.as_ref().map(Json),
                    &scores.scoring_method,
                ],
            )
            .await
            .map_err(db_error)?;
        let Some(row) = row else {
            return Err(StorageError::Conflict(Conflict::SessionNotInProgress));
        };
        Ok((session_from_row(&row)?, result_from_row(&row)?))
    }

    async fn result(&self, id: ResultId) -> Result<Option<TestResult>, StorageError> {
        let _timed = timed("result", "test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS} FROM test_results WHERE id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn.query_opt(&statement, &[&id]).await.map_err(db_error)?;
        row.as_ref().map(result_from_row).transpose()
    }

    async fn result_for_session(
        &self,
        session: SessionId,
    ) -> Result<Option<TestResult>, StorageError> {
        let _timed = timed("result_for_session", "test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS} FROM test_results WHERE test_session_id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&session])
            .await
            .map_err(db_error)?;
        row.as_ref().map(result_from_row).transpose()
    }

    async fn result_history(
        &self,
        user: UserId,
        limit: u64,
        offset: u64,
    ) -> Result<ResultPage, StorageError> {
        let _timed = timed("result_history", "test_results");
        let conn = self.conn().await?;
        // The total rides along on each row; a page past the end costs a second count.
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS}, count(*) OVER () AS total FROM test_results \
                 WHERE user_id = $1 ORDER BY completed_at DESC, id DESC LIMIT $2 OFFSET $3"
            ))
            .await
            .map_err(db_error)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = conn
            .query(&statement, &[&user, &limit, &offset])
            .await
            .map_err(db_error)?;
        let total_count = match rows.first() {
            Some(row) => {
                u64::try_from(row.try_get::<_, i64>("total").map_err(db_error)?).unwrap_or_default()
            }
            None => {
                let statement = conn
                    .prepare_cached("SELECT count(*) FROM test_results WHERE user_id = $1")
                    .await
                    .map_err(db_error)?;
                count(
                    &conn
                        .query_one(&statement, &[&user])
                        .await
                        .map_err(db_error)?,
                )?
            }
        };
        Ok(ResultPage {
            results: rows.iter().map(result_from_row).collect::<Result<_, _>>()?,
            total_count,
        })
    }

    async fn claim_guest_session(
        &self,
        session: SessionId,
        user: UserId,
    ) -> Result<ClaimOutcome, StorageError> {
        let _timed = timed("claim_guest_session", "test_sessions");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // The row lock makes a concurrent claim wait and then see the new owner.
        let lock = tx
            .prepare_cached(
                "SELECT s.user_id, s.status, \
                 EXISTS (SELECT 1 FROM test_results tr WHERE tr.test_session_id = s.id) \
                 FROM test_sessions s WHERE s.id = $1 FOR UPDATE",
            )
            .await
            .map_err(db_error)?;
        let Some(row) = tx.query_opt(&lock, &[&session]).await.map_err(db_error)? else {
            return Ok(ClaimOutcome::NotClaimable);
        };
        let owner: UserId = row.try_get(0).map_err(db_error)?;
        let status: &str = row.try_get(1).map_err(db_error)?;
        let has_result: bool = row.try_get(2).map_err(db_error)?;
        if status != SessionStatus::Completed.as_str() || !has_result {
            return Ok(ClaimOutcome::NotClaimable);
        }
        if owner != GUEST_USER_ID {
            return Ok(ClaimOutcome::AlreadyClaimed);
        }
        // The questions become seen at the time they were answered; they belong to no
        // session's served list (a guest session records none).
        let claim = tx
            .prepare_cached(&format!(
                "WITH s AS ( \
                     UPDATE test_sessions SET user_id = $2 WHERE id = $1 \
                     RETURNING {SESSION_COLUMNS}), \
                 t AS ( \
                     UPDATE test_results SET user_id = $2 WHERE test_session_id = $1 \
                     RETURNING {RESULT_COLUMNS}), \
                 r AS ( \
                     UPDATE responses SET user_id = $2 WHERE test_session_id = $1), \
                 seen AS ( \
                     INSERT INTO user_questions (user_id, question_id, test_session_id, seen_at) \
                     SELECT $2, question_id, NULL, answered_at FROM responses \
                     WHERE test_session_id = $1 ORDER BY id \
                     ON CONFLICT (user_id, question_id) DO NOTHING) \
                 SELECT s.*, t.* FROM s, t"
            ))
            .await
            .map_err(db_error)?;
        let row = tx
            .query_one(&claim, &[&session, &user])
            .await
            .map_err(db_error)?;
        let claimed = ClaimOutcome::Claimed(session_from_row(&row)?, result_from_row(&row)?);
        tx.commit().await.map_err(db_error)?;
        Ok(claimed)
    }

    async fn active_session_count(&self) -> Result<u64, StorageError> {
        let _timed = timed("active_session_count", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("SELECT count(*) FROM test_sessions WHERE status = 'in_progress'")
            .await
            .map_err(db_error)?;
        count(&conn.query_one(&statement, &[]).await.map_err(db_error)?)
    }
}
