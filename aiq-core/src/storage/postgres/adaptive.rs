//! `AdaptiveStore` on PostgreSQL: the engine state lives in `test_sessions.cat_state`, and
//! `cat_items` is the compare-and-set token each answer must match.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use tokio_postgres::types::Json;

use super::questions::{difficulty_from, domain_from};
use super::sessions::{SESSION_COLUMNS, result_from_row, session_from_row};
use super::{PgStore, db_error, timed};
use crate::cat::PoolItem;
use crate::storage::adaptive::{
    AdaptiveCompletion, AdaptiveState, AdaptiveStep, AdaptiveStore, pool_params,
};
use crate::storage::sessions::{NewSession, SessionId, TestResult, TestSession};
use crate::storage::users::UserId;
use crate::storage::{Conflict, StorageError};

/// Stores one answer inside `tx`: the state (only if the answered-item count still matches),
/// the response, and the next question as seen. Returns the owner.
async fn apply_step(tx: &Transaction<'_>, step: &AdaptiveStep) -> Result<UserId, StorageError> {
    let expected = i32::try_from(step.expected_items).unwrap_or(i32::MAX);
    // The row lock makes a concurrent step wait; it then re-reads cat_items and matches nothing.
    let statement = tx
        .prepare_cached(
            "UPDATE test_sessions SET cat_state = $3, cat_items = cat_items + 1, \
                    theta_history = $4 \
             WHERE id = $1 AND status = 'in_progress' AND cat_state IS NOT NULL \
                   AND cat_items = $2 \
             RETURNING user_id",
        )
        .await
        .map_err(db_error)?;
    let updated = tx
        .query_opt(
            &statement,
            &[
                &step.session_id,
                &expected,
                &Json(&step.state),
                &Json(&step.theta_history),
            ],
        )
        .await
        .map_err(db_error)?;
    let Some(row) = updated else {
        let status = tx
            .query_opt(
                "SELECT status FROM test_sessions WHERE id = $1",
                &[&step.session_id],
            )
            .await
            .map_err(db_error)?;
        let in_progress = status
            .map(|row| row.try_get::<_, String>(0).map_err(db_error))
            .transpose()?
            .is_some_and(|status| status == "in_progress");
        return Err(StorageError::Conflict(if in_progress {
            Conflict::Response
        } else {
            Conflict::SessionNotInProgress
        }));
    };
    let user: UserId = row.try_get(0).map_err(db_error)?;
    let response = &step.response;
    let statement = tx
        .prepare_cached(
            "INSERT INTO responses (test_session_id, user_id, question_id, user_answer, \
                                    is_correct, answered_at, time_spent_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await
        .map_err(db_error)?;
    tx.execute(
        &statement,
        &[
            &step.session_id,
            &user,
            &response.question_id,
            &response.user_answer,
            &response.is_correct,
            &step.answered_at,
            &response.time_spent_seconds,
        ],
    )
    .await
    .map_err(db_error)?;
    if let Some(next) = step.next_question {
        let statement = tx
            .prepare_cached(
                "INSERT INTO user_questions (user_id, question_id, test_session_id, seen_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .await
            .map_err(db_error)?;
        tx.execute(
            &statement,
            &[&user, &next, &step.session_id, &step.answered_at],
        )
        .await
        .map_err(db_error)?;
    }
    Ok(user)
}

#[async_trait]
impl AdaptiveStore for PgStore {
    async fn adaptive_pool(&self, user: UserId) -> Result<Vec<PoolItem>, StorageError> {
        let _timed = timed("adaptive_pool", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT q.id, q.question_type, q.difficulty_level, q.irt_discrimination, \
                        q.irt_difficulty \
                 FROM questions q \
                 WHERE q.is_active AND q.quality_flag = 'normal' \
                 AND NOT EXISTS (SELECT 1 FROM user_questions uq \
                                 WHERE uq.user_id = $1 AND uq.question_id = q.id) \
                 ORDER BY q.id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&user]).await.map_err(db_error)?;
        let mut pool = Vec::with_capacity(rows.len());
        for row in &rows {
            let difficulty = difficulty_from(row, "difficulty_level")?;
            let a: Option<f64> = row.try_get("irt_discrimination").map_err(db_error)?;
            let b: Option<f64> = row.try_get("irt_difficulty").map_err(db_error)?;
            if let Some(params) = pool_params(a, b, difficulty) {
                pool.push(PoolItem {
                    id: row.try_get("id").map_err(db_error)?,
                    domain: domain_from(row, "question_type")?,
                    difficulty,
                    params,
                });
            }
        }
        Ok(pool)
    }

    async fn adaptive_prior(&self, user: UserId) -> Result<Option<f64>, StorageError> {
        let _timed = timed("adaptive_prior", "test_sessions");
        let conn = self.conn().await?;
        // LIMIT 1: the old backend expected at most one row and failed with several.
        let statement = conn
            .prepare_cached(
                "SELECT final_theta FROM test_sessions \
                 WHERE user_id = $1 AND status = 'completed' AND is_adaptive \
                       AND final_theta IS NOT NULL \
                 ORDER BY completed_at DESC, id DESC LIMIT 1",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&user])
            .await
            .map_err(db_error)?;
        row.map(|row| row.try_get(0).map_err(db_error)).transpose()
    }

    async fn start_adaptive_session(
        &self,
        new: NewSession,
        state: serde_json::Value,
    ) -> Result<TestSession, StorageError> {
        let _timed = timed("start_adaptive_session", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "WITH s AS ( \
                     INSERT INTO test_sessions (user_id, started_at, status, \
                            composition_metadata, is_adaptive, theta_history, cat_state) \
                     VALUES ($1, $2, 'in_progress', $3, TRUE, '[]', $6) \
                     RETURNING {SESSION_COLUMNS}), \
                 seen AS ( \
                     INSERT INTO user_questions (user_id, question_id, test_session_id, seen_at) \
                     SELECT s.user_id, u.q, s.id, s.started_at \
                     FROM s, unnest($4::bigint[]) WITH ORDINALITY AS u(q, ord) \
                     WHERE $5 ORDER BY u.ord) \
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
                    &new.question_ids,
                    &new.record_seen,
                    &Json(&state),
                ],
            )
            .await
            .map_err(db_error)?;
        session_from_row(&row)
    }

    async fn adaptive_state(&self, id: SessionId) -> Result<Option<AdaptiveState>, StorageError> {
        let _timed = timed("adaptive_state", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT cat_state, cat_items FROM test_sessions \
                 WHERE id = $1 AND is_adaptive AND cat_state IS NOT NULL",
            )
            .await
            .map_err(db_error)?;
        let Some(row) = conn.query_opt(&statement, &[&id]).await.map_err(db_error)? else {
            return Ok(None);
        };
        let items: i32 = row.try_get("cat_items").map_err(db_error)?;
        Ok(Some(AdaptiveState {
            state: row.try_get("cat_state").map_err(db_error)?,
            items: u32::try_from(items).unwrap_or_default(),
        }))
    }

    async fn record_adaptive_step(&self, step: AdaptiveStep) -> Result<(), StorageError> {
        let _timed = timed("record_adaptive_step", "test_sessions");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        apply_step(&tx, &step).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn finish_adaptive_session(
        &self,
        step: AdaptiveStep,
        completion: AdaptiveCompletion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        let _timed = timed("finish_adaptive_session", "test_sessions");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        apply_step(&tx, &step).await?;
        let at = step.answered_at;
        let statement = tx
            .prepare_cached(&format!(
                "UPDATE test_sessions SET status = 'completed', completed_at = $2, \
                        final_theta = $3, final_se = $4, stopping_reason = $5 \
                 WHERE id = $1 RETURNING {SESSION_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let session = session_from_row(
            &tx.query_one(
                &statement,
                &[
                    &step.session_id,
                    &at,
                    &completion.theta,
                    &completion.theta_se,
                    &completion.stopping_reason,
                ],
            )
            .await
            .map_err(db_error)?,
        )?;
        let scores = &completion.result;
        let statement = tx
            .prepare_cached(
                "INSERT INTO test_results (test_session_id, user_id, iq_score, percentile_rank, \
                        total_questions, correct_answers, completion_time_seconds, completed_at, \
                        standard_error, ci_lower, ci_upper, response_time_flags, \
                        validity_status, validity_flags, validity_checked_at, domain_scores, \
                        scoring_method, theta_estimate, theta_se) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $8, $15, \
                         $16, $17, $18) \
                 RETURNING id AS tr_id, test_session_id, user_id AS tr_user_id, \
                        completed_at AS tr_completed_at, validity_checked_at, iq_score, \
                        percentile_rank, total_questions, correct_answers, \
                        completion_time_seconds, standard_error, ci_lower, ci_upper, \
                        response_time_flags, validity_status, validity_flags, domain_scores, \
                        scoring_method",
            )
            .await
            .map_err(db_error)?;
        let row = tx
            .query_one(
                &statement,
                &[
                    &session.id,
                    &session.user_id,
                    &scores.iq_score,
                    &scores.percentile_rank,
                    &scores.total_questions,
                    &scores.correct_answers,
                    &scores.completion_time_seconds,
                    &at,
                    &scores.standard_error,
                    &scores.ci_lower,
                    &scores.ci_upper,
                    &scores.response_time_flags.as_ref().map(Json),
                    &scores.validity_status,
                    &scores.validity_flags.as_ref().map(Json),
                    &scores.domain_scores.as_ref().map(Json),
                    &scores.scoring_method,
                    &completion.theta,
                    &completion.theta_se,
                ],
            )
            .await
            .map_err(db_error)?;
        let result = result_from_row(&row)?;
        tx.commit().await.map_err(db_error)?;
        Ok((session, result))
    }
}
