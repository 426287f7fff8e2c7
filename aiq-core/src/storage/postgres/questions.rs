//! `QuestionStore` on PostgreSQL.

use std::collections::HashSet;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

use super::{PgStore, db_error, timed};
use crate::questions::{Difficulty, Domain, NewQuestion};
use crate::scoring::ItemStatistics;
use crate::selection::Candidate;
use crate::storage::StorageError;
use crate::storage::questions::{
    QualityFlag, Question, QuestionId, QuestionStore, RefreshedQuestion, content_key,
};
use crate::storage::users::UserId;

/// The columns [`question_from_row`] reads.
pub(super) const QUESTION_COLUMNS: &str = "id, question_text, question_type, difficulty_level, \
     correct_answer, answer_options, explanation, stimulus, sub_type, source_llm, source_model, \
     is_anchor, metadata, is_active, quality_flag, quality_flag_reason, empirical_difficulty, \
     discrimination, response_count, irt_difficulty, irt_discrimination, created_at";

fn corrupt(what: &str, value: &str) -> StorageError {
    StorageError::Backend(format!("unknown {what} {value:?}").into())
}

pub(super) fn domain_from(row: &Row, column: &str) -> Result<Domain, StorageError> {
    let text: &str = row.try_get(column).map_err(db_error)?;
    Domain::parse(text).ok_or_else(|| corrupt(column, text))
}

pub(super) fn difficulty_from(row: &Row, column: &str) -> Result<Difficulty, StorageError> {
    let text: &str = row.try_get(column).map_err(db_error)?;
    Difficulty::parse(text).ok_or_else(|| corrupt(column, text))
}

pub(super) fn question_from_row(row: &Row) -> Result<Question, StorageError> {
    let options: Option<serde_json::Value> = row.try_get("answer_options").map_err(db_error)?;
    let flag: &str = row.try_get("quality_flag").map_err(db_error)?;
    Ok(Question {
        id: row.try_get("id").map_err(db_error)?,
        content: NewQuestion {
            question_text: row.try_get("question_text").map_err(db_error)?,
            question_type: domain_from(row, "question_type")?,
            difficulty_level: difficulty_from(row, "difficulty_level")?,
            correct_answer: row.try_get("correct_answer").map_err(db_error)?,
            answer_options: options.map(options_from_json).unwrap_or_default(),
            explanation: row.try_get("explanation").map_err(db_error)?,
            stimulus: row.try_get("stimulus").map_err(db_error)?,
            sub_type: row.try_get("sub_type").map_err(db_error)?,
            source_llm: row.try_get("source_llm").map_err(db_error)?,
            source_model: row.try_get("source_model").map_err(db_error)?,
            is_anchor: row.try_get("is_anchor").map_err(db_error)?,
            metadata: row.try_get("metadata").map_err(db_error)?,
        },
        is_active: row.try_get("is_active").map_err(db_error)?,
        quality_flag: QualityFlag::parse(flag).ok_or_else(|| corrupt("quality_flag", flag))?,
        quality_flag_reason: row.try_get("quality_flag_reason").map_err(db_error)?,
        empirical_difficulty: row.try_get("empirical_difficulty").map_err(db_error)?,
        discrimination: row.try_get("discrimination").map_err(db_error)?,
        response_count: row.try_get("response_count").map_err(db_error)?,
        irt_difficulty: row.try_get("irt_difficulty").map_err(db_error)?,
        irt_discrimination: row.try_get("irt_discrimination").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
    })
}

/// `answer_options` as stored: a list of option texts, or (rows copied from the old backend) a
/// legacy `{"A": "...", ...}` object, read as its values in sorted-key order. Anything else
/// (an open-ended question's null included) reads as no options.
fn options_from_json(value: serde_json::Value) -> Vec<String> {
    let text = |value: serde_json::Value| match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    };
    match value {
        serde_json::Value::Array(items) => items.into_iter().map(text).collect(),
        // serde_json's Map is ordered by key.
        serde_json::Value::Object(map) => map.into_iter().map(|(_, v)| text(v)).collect(),
        _ => Vec::new(),
    }
}

/// The import's rows as one array per column, for a single `INSERT ... SELECT FROM unnest`.
struct ImportColumns<'a> {
    keys: Vec<String>,
    texts: Vec<&'a str>,
    types: Vec<&'static str>,
    difficulties: Vec<&'static str>,
    answers: Vec<&'a str>,
    options: Vec<Json<&'a [String]>>,
    explanations: Vec<Option<&'a str>>,
    stimuli: Vec<Option<&'a str>>,
    sub_types: Vec<Option<&'a str>>,
    source_llms: Vec<Option<&'a str>>,
    source_models: Vec<Option<&'a str>>,
    anchors: Vec<bool>,
    metadata: Vec<Json<&'a serde_json::Value>>,
}

impl<'a> ImportColumns<'a> {
    fn new(rows: &'a [NewQuestion]) -> Self {
        Self {
            keys: rows.iter().map(content_key).collect(),
            texts: rows.iter().map(|r| r.question_text.as_str()).collect(),
            types: rows.iter().map(|r| r.question_type.as_str()).collect(),
            difficulties: rows.iter().map(|r| r.difficulty_level.as_str()).collect(),
            answers: rows.iter().map(|r| r.correct_answer.as_str()).collect(),
            options: rows
                .iter()
                .map(|r| Json(r.answer_options.as_slice()))
                .collect(),
            explanations: rows.iter().map(|r| r.explanation.as_deref()).collect(),
            stimuli: rows.iter().map(|r| r.stimulus.as_deref()).collect(),
            sub_types: rows.iter().map(|r| r.sub_type.as_deref()).collect(),
            source_llms: rows.iter().map(|r| r.source_llm.as_deref()).collect(),
            source_models: rows.iter().map(|r| r.source_model.as_deref()).collect(),
            anchors: rows.iter().map(|r| r.is_anchor).collect(),
            metadata: rows.iter().map(|r| Json(&r.metadata)).collect(),
        }
    }
}

/// Rows per `INSERT`: keeps each statement's parameters a few hundred kilobytes at most.
const IMPORT_BATCH: usize = 500;

#[async_trait]
impl QuestionStore for PgStore {
    async fn import_questions(&self, rows: &[NewQuestion]) -> Result<Vec<bool>, StorageError> {
        let _timed = timed("import_questions", "questions");
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // Rows are inserted in input order, so of two rows with one key the first is added,
        // as in memory; DO NOTHING skips the later one within the same statement too.
        let statement = tx
            .prepare_cached(
                "INSERT INTO questions (content_key, question_text, question_type, \
                 difficulty_level, correct_answer, answer_options, explanation, stimulus, \
                 sub_type, source_llm, source_model, is_anchor, metadata, created_at) \
                 SELECT k, t, ty, d, a, o, e, s, st, sl, sm, an, m, $14 \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                 $12::bool[], $13::jsonb[]) \
                 WITH ORDINALITY AS u(k, t, ty, d, a, o, e, s, st, sl, sm, an, m, ord) \
                 ORDER BY ord \
                 ON CONFLICT (content_key) DO NOTHING RETURNING content_key",
            )
            .await
            .map_err(db_error)?;
        let now = crate::time::now();
        let mut added = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(IMPORT_BATCH) {
            let c = ImportColumns::new(chunk);
            let inserted = tx
                .query(
                    &statement,
                    &[
                        &c.keys,
                        &c.texts,
                        &c.types,
                        &c.difficulties,
                        &c.answers,
                        &c.options,
                        &c.explanations,
                        &c.stimuli,
                        &c.sub_types,
                        &c.source_llms,
                        &c.source_models,
                        &c.anchors,
                        &c.metadata,
                        &now,
                    ],
                )
                .await
                .map_err(db_error)?;
            let mut new_keys: HashSet<String> = inserted
                .iter()
                .map(|row| row.try_get::<_, String>(0).map_err(db_error))
                .collect::<Result<_, _>>()?;
            // The first row carrying an inserted key is the one that was added.
            added.extend(c.keys.iter().map(|key| new_keys.remove(key)));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(added)
    }

    async fn question_count(&self) -> Result<u64, StorageError> {
        let _timed = timed("question_count", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("SELECT count(*) FROM questions")
            .await
            .map_err(db_error)?;
        let count: i64 = conn
            .query_one(&statement, &[])
            .await
            .map_err(db_error)?
            .try_get(0)
            .map_err(db_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn questions_by_ids(&self, ids: &[QuestionId]) -> Result<Vec<Question>, StorageError> {
        let _timed = timed("questions_by_ids", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {QUESTION_COLUMNS} FROM questions WHERE id = ANY($1) ORDER BY id"
            ))
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&ids]).await.map_err(db_error)?;
        rows.iter().map(question_from_row).collect()
    }

    async fn unseen_questions(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Question>, StorageError> {
        let _timed = timed("unseen_questions", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {QUESTION_COLUMNS} FROM questions q WHERE q.is_active \
                 AND NOT EXISTS (SELECT 1 FROM user_questions uq \
                                 WHERE uq.user_id = $1 AND uq.question_id = q.id) \
                 ORDER BY q.id LIMIT $2"
            ))
            .await
            .map_err(db_error)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn
            .query(&statement, &[&user, &limit])
            .await
            .map_err(db_error)?;
        rows.iter().map(question_from_row).collect()
    }

    async fn selection_candidates(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<Candidate>, StorageError> {
        let _timed = timed("selection_candidates", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT q.id, q.question_type, q.difficulty_level, q.discrimination, q.is_anchor \
                 FROM questions q \
                 WHERE q.is_active AND q.quality_flag = 'normal' \
                 AND (q.discrimination IS NULL OR q.discrimination >= 0) \
                 AND ($1::bigint IS NULL OR NOT EXISTS ( \
                     SELECT 1 FROM user_questions uq \
                     WHERE uq.user_id = $1 AND uq.question_id = q.id)) \
                 ORDER BY q.id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&user]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(Candidate {
                    id: row.try_get("id").map_err(db_error)?,
                    domain: domain_from(row, "question_type")?,
                    difficulty: difficulty_from(row, "difficulty_level")?,
                    discrimination: row.try_get("discrimination").map_err(db_error)?,
                    is_anchor: row.try_get("is_anchor").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn refresh_question_statistics(
        &self,
        ids: &[QuestionId],
        now: OffsetDateTime,
        latest: u32,
    ) -> Result<Vec<RefreshedQuestion>, StorageError> {
        let _timed = timed("refresh_question_statistics", "questions");
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // The row locks serialise concurrent refreshes of one item, so the flag decision
        // below reads the flag it replaces. NO KEY UPDATE: the foreign-key checks of test
        // starts (KEY SHARE on the questions they serve) do not wait for a refresh. `corr` of correctness with the session's correct
        // count is the point-biserial; it is NULL below two responses or without variance.
        // The latest responses come newest first from ix_responses_question_id_id; the count
        // is an index-only scan of the same index.
        let statement = tx
            .prepare_cached(
                "WITH locked AS ( \
                     SELECT id, quality_flag FROM questions WHERE id = ANY($1) \
                     ORDER BY id FOR NO KEY UPDATE) \
                 SELECT l.id, l.quality_flag, \
                        (SELECT count(*) FROM responses c WHERE c.question_id = l.id)::int, \
                        st.p, st.d FROM locked l \
                 CROSS JOIN LATERAL ( \
                     SELECT COALESCE(avg(x::float8), 0.0) AS p, \
                            COALESCE(corr(x, y), 0.0) AS d \
                     FROM (SELECT r.is_correct::int AS x, tr.correct_answers AS y \
                           FROM responses r \
                           JOIN test_sessions s ON s.id = r.test_session_id \
                                AND s.status = 'completed' \
                           JOIN test_results tr ON tr.test_session_id = s.id \
                           WHERE r.question_id = l.id ORDER BY r.id DESC LIMIT $2) latest) st",
            )
            .await
            .map_err(db_error)?;
        let rows = tx
            .query(&statement, &[&ids, &i64::from(latest)])
            .await
            .map_err(db_error)?;
        let mut computed = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: QuestionId = row.try_get(0).map_err(db_error)?;
            let flag: &str = row.try_get(1).map_err(db_error)?;
            let count: i32 = row.try_get(2).map_err(db_error)?;
            let statistics = ItemStatistics {
                response_count: usize::try_from(count).unwrap_or(0),
                empirical_difficulty: row.try_get(3).map_err(db_error)?,
                discrimination: row.try_get(4).map_err(db_error)?,
            };
            let flagged = flag == QualityFlag::Normal.as_str() && statistics.should_flag();
            computed.insert(
                id,
                RefreshedQuestion {
                    id,
                    statistics,
                    flagged,
                },
            );
        }
        // In the order asked, each item once.
        let mut seen = HashSet::new();
        let refreshed: Vec<RefreshedQuestion> = ids
            .iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| computed.get(id).copied())
            .collect();
        let update = tx
            .prepare_cached(
                "UPDATE questions q SET empirical_difficulty = u.p, discrimination = u.d, \
                 response_count = u.n, \
                 quality_flag = CASE WHEN u.flagged THEN 'under_review' ELSE q.quality_flag END, \
                 quality_flag_reason = CASE WHEN u.flagged THEN u.reason \
                                       ELSE q.quality_flag_reason END, \
                 quality_flag_updated_at = CASE WHEN u.flagged THEN $6 \
                                           ELSE q.quality_flag_updated_at END \
                 FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::int[], $5::text[]) \
                      AS u0(id, p, d, n, reason), \
                      LATERAL (SELECT u0.*, u0.reason IS NOT NULL AS flagged) u \
                 WHERE q.id = u.id",
            )
            .await
            .map_err(db_error)?;
        let reasons: Vec<Option<String>> = refreshed
            .iter()
            .map(|r| r.flagged.then(|| r.statistics.flag_reason()))
            .collect();
        tx.execute(
            &update,
            &[
                &refreshed.iter().map(|r| r.id).collect::<Vec<_>>(),
                &refreshed
                    .iter()
                    .map(|r| r.statistics.empirical_difficulty)
                    .collect::<Vec<_>>(),
                &refreshed
                    .iter()
                    .map(|r| r.statistics.discrimination)
                    .collect::<Vec<_>>(),
                &refreshed
                    .iter()
                    .map(|r| i32::try_from(r.statistics.response_count).unwrap_or(i32::MAX))
                    .collect::<Vec<_>>(),
                &reasons,
                &now,
            ],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(refreshed)
    }
}
