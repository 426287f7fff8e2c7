//! The shapes of the test endpoints' answers, as the iOS client was generated from them.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::questions::{Difficulty, Domain};
use std::collections::HashMap;

use crate::scoring::{
    ConfidenceInterval, DomainScores, PopulationStats, model_scores, strongest_weakest,
};
use crate::storage::{Question, SessionStatus, StoredResponse, TestResult, TestSession};

/// The (`source_model`, correct) pairs of stored responses.
pub(crate) fn model_pairs(responses: &[StoredResponse]) -> Vec<(Option<String>, bool)> {
    responses
        .iter()
        .map(|r| (r.source_model.clone(), r.is_correct))
        .collect()
}

/// A question as test takers see it: never the answer or the explanation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionResponse {
    id: i64,
    question_text: String,
    question_type: Domain,
    difficulty_level: Difficulty,
    answer_options: Option<Vec<String>>,
    /// Always null for test takers.
    explanation: Option<String>,
    stimulus: Option<String>,
    sub_type: Option<String>,
    inferred_sub_type: Option<String>,
}

impl From<Question> for QuestionResponse {
    fn from(question: Question) -> Self {
        Self {
            id: question.id,
            question_text: question.content.question_text.trim().to_owned(),
            question_type: question.content.question_type,
            difficulty_level: question.content.difficulty_level,
            // No options: an open-ended question (only in data copied from the old backend).
            answer_options: Some(question.content.answer_options).filter(|o| !o.is_empty()),
            explanation: None,
            stimulus: question.content.stimulus,
            sub_type: question.content.sub_type,
            inferred_sub_type: None,
        }
    }
}

pub(crate) fn questions(list: Vec<Question>) -> Vec<QuestionResponse> {
    list.into_iter().map(QuestionResponse::from).collect()
}

/// A test session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestSessionResponse {
    id: i64,
    /// -1 for guest sessions.
    user_id: i64,
    status: SessionStatus,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    started_at: OffsetDateTime,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    completed_at: Option<OffsetDateTime>,
    time_limit_exceeded: bool,
    is_adaptive: bool,
}

impl From<TestSession> for TestSessionResponse {
    fn from(session: TestSession) -> Self {
        Self {
            id: session.id,
            user_id: session.user_id,
            status: session.status,
            started_at: session.started_at,
            completed_at: session.completed_at,
            time_limit_exceeded: session.time_limit_exceeded,
            is_adaptive: session.is_adaptive,
        }
    }
}

/// A scored test.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestResultResponse {
    id: i64,
    test_session_id: i64,
    user_id: i64,
    iq_score: i32,
    percentile_rank: Option<f64>,
    /// Responses scored.
    total_questions: i32,
    correct_answers: i32,
    /// `correct / total * 100`, unrounded.
    accuracy_percentage: f64,
    completion_time_seconds: Option<i32>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    completed_at: OffsetDateTime,
    #[schema(value_type = Option<Object>)]
    response_time_flags: Option<serde_json::Value>,
    /// Keys in the order `pattern, logic, spatial, math, verbal, memory`.
    #[schema(value_type = Option<Object>)]
    domain_scores: Option<DomainScores>,
    strongest_domain: Option<Domain>,
    weakest_domain: Option<Domain>,
    #[schema(value_type = Option<Object>)]
    model_scores: Option<serde_json::Value>,
    confidence_interval: Option<ConfidenceInterval>,
}

/// What a result view needs besides the stored result.
#[derive(Debug, Default)]
pub(crate) struct ResultExtras<'a> {
    /// Per response, the question's `source_model` and whether it was right, for
    /// `model_scores` (history leaves it out, as the old API did).
    pub(crate) models: Option<&'a [(Option<String>, bool)]>,
    /// `system_config.domain_population_stats`, for domain percentiles.
    pub(crate) population: Option<&'a serde_json::Value>,
}

impl TestResultResponse {
    pub(crate) fn new(result: TestResult, extras: &ResultExtras<'_>) -> Self {
        let scores = result.scores;
        let accuracy = if scores.total_questions > 0 {
            f64::from(scores.correct_answers) / f64::from(scores.total_questions) * 100.0
        } else {
            0.0
        };
        // Stored as JSON (PostgreSQL's jsonb does not keep key order); the typed value writes the
        // domains in the order the app shows them.
        let domains: Option<DomainScores> = scores
            .domain_scores
            .and_then(|value| serde_json::from_value(value).ok());
        let (strongest, weakest) = domains.as_ref().map_or((None, None), strongest_weakest);
        let population = extras.population.and_then(population_stats);
        let domain_scores = domains.map(|mut domains| {
            if let Some(population) = &population {
                domains.add_percentiles(population);
            }
            domains
        });
        let model_scores = extras.models.and_then(|models| {
            model_scores(
                models
                    .iter()
                    .map(|(model, correct)| (model.as_deref(), *correct)),
            )
            .and_then(|scores| serde_json::to_value(scores).ok())
        });
        let confidence_interval = match (scores.ci_lower, scores.ci_upper, scores.standard_error) {
            (Some(lower), Some(upper), Some(standard_error)) => Some(ConfidenceInterval {
                lower,
                upper,
                confidence_level: 0.95,
                standard_error,
            }),
            _ => None,
        };
        Self {
            id: result.id,
            test_session_id: result.test_session_id,
            user_id: result.user_id,
            iq_score: scores.iq_score,
            percentile_rank: scores.percentile_rank,
            total_questions: scores.total_questions,
            correct_answers: scores.correct_answers,
            accuracy_percentage: accuracy,
            completion_time_seconds: scores.completion_time_seconds,
            completed_at: result.completed_at,
            response_time_flags: scores.response_time_flags,
            domain_scores,
            strongest_domain: strongest,
            weakest_domain: weakest,
            model_scores,
            confidence_interval,
        }
    }
}

impl TestResultResponse {
    /// The score, for messages.
    pub(crate) fn iq_score(&self) -> i32 {
        self.iq_score
    }
}

/// `system_config.domain_population_stats` by domain; keys that name no domain are skipped, a
/// value of the wrong shape is logged and ignored (no percentiles rather than no result).
fn population_stats(value: &serde_json::Value) -> Option<HashMap<Domain, PopulationStats>> {
    match serde_json::from_value::<HashMap<String, PopulationStats>>(value.clone()) {
        Ok(stats) => Some(
            stats
                .into_iter()
                .filter_map(|(key, stats)| Domain::parse(&key).map(|domain| (domain, stats)))
                .collect(),
        ),
        Err(error) => {
            tracing::warn!(%error, "system_config.domain_population_stats has the wrong shape");
            None
        }
    }
}
