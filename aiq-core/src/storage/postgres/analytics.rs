//! `AnalyticsStore` on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use super::{PgStore, db_error, timed};
use crate::questions::{Difficulty, Domain};
use crate::storage::StorageError;
use crate::storage::analytics::{
    AccuracyScope, AnalyticsStore, ClientEvent, Feedback, FeedbackCategory, FeedbackId, LlmRun,
    ModelAccuracy, NewClientEvent, NewFeedback, NewLlmRun, QuestionStatistics,
};

fn corrupt(what: &str, value: &str) -> StorageError {
    StorageError::Backend(format!("unknown {what} {value:?}").into())
}

const FEEDBACK_COLUMNS: &str = "id, user_id, name, email, category, description, app_version, \
     ios_version, device_id, status, created_at";

fn feedback_from_row(row: &Row) -> Result<Feedback, StorageError> {
    let category: &str = row.try_get("category").map_err(db_error)?;
    Ok(Feedback {
        id: row.try_get("id").map_err(db_error)?,
        status: row.try_get("status").map_err(db_error)?,
        feedback: NewFeedback {
            user_id: row.try_get("user_id").map_err(db_error)?,
            name: row.try_get("name").map_err(db_error)?,
            email: row.try_get("email").map_err(db_error)?,
            category: FeedbackCategory::parse(category)
                .ok_or_else(|| corrupt("category", category))?,
            description: row.try_get("description").map_err(db_error)?,
            app_version: row.try_get("app_version").map_err(db_error)?,
            ios_version: row.try_get("ios_version").map_err(db_error)?,
            device_id: row.try_get("device_id").map_err(db_error)?,
            created_at: row.try_get("created_at").map_err(db_error)?,
        },
    })
}

fn count(row: &Row, index: usize) -> Result<u64, StorageError> {
    let value: i64 = row.try_get(index).map_err(db_error)?;
    Ok(u64::try_from(value).unwrap_or_default())
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn insert_client_events(&self, events: &[NewClientEvent]) -> Result<u64, StorageError> {
        let _timed = timed("insert_client_events", "client_analytics_events");
        if events.is_empty() {
            return Ok(0);
        }
        let conn = self.conn().await?;
        // One statement for the whole batch: one round trip, all rows or none.
        let statement = conn
            .prepare_cached(
                "INSERT INTO client_analytics_events (event_name, client_timestamp, received_at, \
                 user_id, properties, client_platform, app_version, device_id) \
                 SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], \
                 $4::bigint[], $5::jsonb[], $6::text[], $7::text[], $8::text[])",
            )
            .await
            .map_err(db_error)?;
        let names: Vec<&str> = events.iter().map(|e| e.event_name.as_str()).collect();
        let client_times: Vec<_> = events.iter().map(|e| e.client_timestamp).collect();
        let received: Vec<_> = events.iter().map(|e| e.received_at).collect();
        let users: Vec<Option<i64>> = events.iter().map(|e| e.user_id).collect();
        let properties: Vec<Option<Json<&serde_json::Value>>> = events
            .iter()
            .map(|e| e.properties.as_ref().map(Json))
            .collect();
        let platforms: Vec<&str> = events.iter().map(|e| e.client_platform.as_str()).collect();
        let versions: Vec<&str> = events.iter().map(|e| e.app_version.as_str()).collect();
        let devices: Vec<Option<&str>> = events.iter().map(|e| e.device_id.as_deref()).collect();
        conn.execute(
            &statement,
            &[
                &names,
                &client_times,
                &received,
                &users,
                &properties,
                &platforms,
                &versions,
                &devices,
            ],
        )
        .await
        .map_err(db_error)
    }

    async fn recent_client_events(&self, limit: usize) -> Result<Vec<ClientEvent>, StorageError> {
        let _timed = timed("recent_client_events", "client_analytics_events");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT id, event_name, client_timestamp, received_at, user_id, properties, \
                 client_platform, app_version, device_id FROM client_analytics_events \
                 ORDER BY id DESC LIMIT $1",
            )
            .await
            .map_err(db_error)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn.query(&statement, &[&limit]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(ClientEvent {
                    id: row.try_get("id").map_err(db_error)?,
                    event: NewClientEvent {
                        event_name: row.try_get("event_name").map_err(db_error)?,
                        client_timestamp: row.try_get("client_timestamp").map_err(db_error)?,
                        received_at: row.try_get("received_at").map_err(db_error)?,
                        user_id: row.try_get("user_id").map_err(db_error)?,
                        properties: row.try_get("properties").map_err(db_error)?,
                        client_platform: row.try_get("client_platform").map_err(db_error)?,
                        app_version: row.try_get("app_version").map_err(db_error)?,
                        device_id: row.try_get("device_id").map_err(db_error)?,
                    },
                })
            })
            .collect()
    }

    async fn create_feedback(&self, feedback: NewFeedback) -> Result<Feedback, StorageError> {
        let _timed = timed("create_feedback", "feedback_submissions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "INSERT INTO feedback_submissions (user_id, name, email, category, description, \
                 app_version, ios_version, device_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {FEEDBACK_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(
                &statement,
                &[
                    &feedback.user_id,
                    &feedback.name,
                    &feedback.email,
                    &feedback.category.as_str(),
                    &feedback.description,
                    &feedback.app_version,
                    &feedback.ios_version,
                    &feedback.device_id,
                    &feedback.created_at,
                ],
            )
            .await
            .map_err(db_error)?;
        feedback_from_row(&row)
    }

    async fn feedback(&self, id: FeedbackId) -> Result<Option<Feedback>, StorageError> {
        let _timed = timed("feedback", "feedback_submissions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {FEEDBACK_COLUMNS} FROM feedback_submissions WHERE id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn.query_opt(&statement, &[&id]).await.map_err(db_error)?;
        row.as_ref().map(feedback_from_row).transpose()
    }

    async fn model_accuracy(
        &self,
        scope: AccuracyScope,
    ) -> Result<Vec<ModelAccuracy>, StorageError> {
        let _timed = timed("model_accuracy", "responses");
        let (filter, id) = match scope {
            AccuracyScope::User(user) => ("s.user_id = $1 AND s.status = 'completed'", user),
            AccuracyScope::Session(session) => ("s.id = $1", session),
        };
        let conn = self.conn().await?;
        // Byte order (COLLATE "C"), as the in-memory store sorts.
        let statement = conn
            .prepare_cached(&format!(
                "SELECT q.source_llm, q.source_model, \
                 count(*) FILTER (WHERE r.is_correct), count(*) \
                 FROM responses r \
                 JOIN test_sessions s ON s.id = r.test_session_id \
                 JOIN questions q ON q.id = r.question_id \
                 WHERE {filter} AND q.source_llm IS NOT NULL \
                 GROUP BY q.source_llm, q.source_model \
                 ORDER BY q.source_llm COLLATE \"C\", q.source_model COLLATE \"C\" NULLS FIRST"
            ))
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&id]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(ModelAccuracy {
                    vendor: row.try_get(0).map_err(db_error)?,
                    model: row.try_get(1).map_err(db_error)?,
                    correct: count(row, 2)?,
                    total: count(row, 3)?,
                })
            })
            .collect()
    }

    async fn record_llm_run(&self, run: NewLlmRun) -> Result<i64, StorageError> {
        let _timed = timed("record_llm_run", "llm_test_sessions");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        let session = tx
            .prepare_cached(
                "INSERT INTO llm_test_sessions (vendor, model_id, status, completed_at) \
                 VALUES ($1, $2, $3::varchar, CASE WHEN $3::varchar = 'in_progress' THEN NULL ELSE now() END) \
                 RETURNING id",
            )
            .await
            .map_err(db_error)?;
        let id: i64 = tx
            .query_one(&session, &[&run.vendor, &run.model_id, &run.status])
            .await
            .map_err(db_error)?
            .try_get(0)
            .map_err(db_error)?;
        let result = tx
            .prepare_cached(
                "INSERT INTO llm_test_results (session_id, vendor, model_id, iq_score, \
                 total_questions, correct_answers, domain_scores) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await
            .map_err(db_error)?;
        tx.execute(
            &result,
            &[
                &id,
                &run.vendor,
                &run.model_id,
                &run.iq_score,
                &run.total_questions,
                &run.correct_answers,
                &run.domain_scores,
            ],
        )
        .await
        .map_err(db_error)?;
        let responses = tx
            .prepare_cached(
                "INSERT INTO llm_responses (session_id, error) SELECT $1, e FROM unnest($2::text[]) AS u(e)",
            )
            .await
            .map_err(db_error)?;
        tx.execute(&responses, &[&id, &run.response_errors])
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    async fn llm_runs(&self) -> Result<Vec<LlmRun>, StorageError> {
        let _timed = timed("llm_runs", "llm_test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT r.vendor, r.model_id, r.iq_score, r.total_questions, r.correct_answers, \
                 r.domain_scores FROM llm_test_results r \
                 JOIN llm_test_sessions s ON s.id = r.session_id \
                 WHERE s.status = 'completed' AND r.iq_score IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM llm_responses e \
                     WHERE e.session_id = s.id AND e.error IS NOT NULL AND e.error <> '') \
                 ORDER BY s.id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(LlmRun {
                    vendor: row.try_get(0).map_err(db_error)?,
                    model_id: row.try_get(1).map_err(db_error)?,
                    iq_score: row.try_get(2).map_err(db_error)?,
                    total_questions: row.try_get(3).map_err(db_error)?,
                    correct_answers: row.try_get(4).map_err(db_error)?,
                    domain_scores: row.try_get(5).map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn question_statistics(
        &self,
        min_responses: i32,
    ) -> Result<Vec<QuestionStatistics>, StorageError> {
        let _timed = timed("question_statistics", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT id, question_type, difficulty_level, is_active, empirical_difficulty, \
                 discrimination, response_count FROM questions WHERE response_count >= $1 \
                 ORDER BY response_count DESC, id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&min_responses])
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let domain: &str = row.try_get(1).map_err(db_error)?;
                let difficulty: &str = row.try_get(2).map_err(db_error)?;
                Ok(QuestionStatistics {
                    question_id: row.try_get(0).map_err(db_error)?,
                    question_type: Domain::parse(domain)
                        .ok_or_else(|| corrupt("question_type", domain))?,
                    difficulty_level: Difficulty::parse(difficulty)
                        .ok_or_else(|| corrupt("difficulty_level", difficulty))?,
                    is_active: row.try_get(3).map_err(db_error)?,
                    empirical_difficulty: row.try_get(4).map_err(db_error)?,
                    discrimination: row.try_get(5).map_err(db_error)?,
                    response_count: row.try_get(6).map_err(db_error)?,
                })
            })
            .collect()
    }
}
