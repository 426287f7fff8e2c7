//! Client analytics events, feedback submissions, and what the read-only analytics endpoints
//! read: per-vendor accuracy of a user's answers, LLM benchmark runs, item statistics.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StorageError;
use super::questions::QuestionId;
use super::sessions::SessionId;
use super::users::UserId;
use crate::questions::{Difficulty, Domain};

/// A feedback submission's id.
pub type FeedbackId = i64;

/// One analytics event sent by the app, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClientEvent {
    /// The event's name, already validated and lowercased (`test.started`).
    pub event_name: String,
    /// When the app says it happened.
    pub client_timestamp: OffsetDateTime,
    /// When the server received it.
    pub received_at: OffsetDateTime,
    /// The signed-in user, when the request carried a valid token.
    pub user_id: Option<UserId>,
    /// Free-form properties (a JSON object), if any.
    pub properties: Option<serde_json::Value>,
    /// `ios` unless the app says otherwise.
    pub client_platform: String,
    /// The app's version.
    pub app_version: String,
    /// The app's device id, if sent.
    pub device_id: Option<String>,
}

/// A stored analytics event.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEvent {
    /// The id, assigned by the store.
    pub id: i64,
    /// The event as it was stored.
    pub event: NewClientEvent,
}

/// What a feedback submission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackCategory {
    /// Something is broken.
    BugReport,
    /// Something is missing.
    FeatureRequest,
    /// Anything else about the app.
    GeneralFeedback,
    /// Help with a question.
    QuestionHelp,
    /// None of the above.
    Other,
}

impl FeedbackCategory {
    /// Every category, in the app's order.
    pub const ALL: [Self; 5] = [
        Self::BugReport,
        Self::FeatureRequest,
        Self::GeneralFeedback,
        Self::QuestionHelp,
        Self::Other,
    ];

    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::storage::FeedbackCategory;
    /// assert_eq!(FeedbackCategory::BugReport.as_str(), "bug_report");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BugReport => "bug_report",
            Self::FeatureRequest => "feature_request",
            Self::GeneralFeedback => "general_feedback",
            Self::QuestionHelp => "question_help",
            Self::Other => "other",
        }
    }

    /// Parses a column value.
    ///
    /// ```
    /// use aiq_core::storage::FeedbackCategory;
    /// assert_eq!(FeedbackCategory::parse("other"), Some(FeedbackCategory::Other));
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == value)
    }
}

/// A feedback submission about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedback {
    /// The signed-in user, when the request carried a valid token.
    pub user_id: Option<UserId>,
    /// Who wrote it (at most 100 characters).
    pub name: String,
    /// Where to answer.
    pub email: String,
    /// What it is about.
    pub category: FeedbackCategory,
    /// The text, verbatim (trimmed).
    pub description: String,
    /// `X-App-Version`, at most 20 characters.
    pub app_version: Option<String>,
    /// `X-Platform`, at most 50 characters (the old column name).
    pub ios_version: Option<String>,
    /// `X-Device-ID`, at most 100 characters.
    pub device_id: Option<String>,
    /// When it was received.
    pub created_at: OffsetDateTime,
}

/// A stored feedback submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The id.
    pub id: FeedbackId,
    /// `pending` until someone looks at it (then `reviewed`, `resolved`).
    pub status: String,
    /// The submission as stored.
    pub feedback: NewFeedback,
}

/// Whose answers [`AnalyticsStore::model_accuracy`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccuracyScope {
    /// Every response of this user in their completed sessions.
    User(UserId),
    /// Every response of this session.
    Session(SessionId),
}

/// Correct and total responses to the questions of one (vendor, model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAccuracy {
    /// `questions.source_llm` (questions without one are left out).
    pub vendor: String,
    /// `questions.source_model`, if known.
    pub model: Option<String>,
    /// Correct responses.
    pub correct: u64,
    /// Responses.
    pub total: u64,
}

/// One benchmark run of a language model, written by the benchmark job.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLlmRun {
    /// `anthropic`, `openai`, ...
    pub vendor: String,
    /// The model's id (`claude-opus-4-7`).
    pub model_id: String,
    /// `in_progress`, `completed` or `failed`.
    pub status: String,
    /// The IQ score, once scored.
    pub iq_score: Option<i32>,
    /// Questions asked.
    pub total_questions: i32,
    /// Questions answered correctly.
    pub correct_answers: i32,
    /// `{"<domain>": {"correct": n, "total": m}}`.
    pub domain_scores: Option<serde_json::Value>,
    /// One entry per response: the error of the model call, if it failed.
    pub response_errors: Vec<Option<String>>,
}

/// A benchmark run that counts in the summary: completed, scored, no failed model call.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRun {
    /// The vendor.
    pub vendor: String,
    /// The model's id.
    pub model_id: String,
    /// The IQ score.
    pub iq_score: i32,
    /// Questions asked.
    pub total_questions: i32,
    /// Questions answered correctly.
    pub correct_answers: i32,
    /// Per-domain counts, as stored.
    pub domain_scores: Option<serde_json::Value>,
}

/// A question's classical statistics, as the question analytics show them.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionStatistics {
    /// The question.
    pub question_id: QuestionId,
    /// The domain.
    pub question_type: Domain,
    /// The intended difficulty.
    pub difficulty_level: Difficulty,
    /// Whether tests may use it.
    pub is_active: bool,
    /// Share of correct responses.
    pub empirical_difficulty: Option<f64>,
    /// Point-biserial discrimination.
    pub discrimination: Option<f64>,
    /// Responses counted.
    pub response_count: i32,
}

/// Analytics: what the app reports, and what the read-only analytics endpoints read.
#[async_trait]
pub trait AnalyticsStore {
    /// Stores a batch of events in one round trip; returns how many were stored.
    async fn insert_client_events(&self, events: &[NewClientEvent]) -> Result<u64, StorageError>;

    /// The latest `limit` events, newest (highest id) first.
    async fn recent_client_events(&self, limit: usize) -> Result<Vec<ClientEvent>, StorageError>;

    /// Stores a feedback submission (status `pending`).
    async fn create_feedback(&self, feedback: NewFeedback) -> Result<Feedback, StorageError>;

    /// A feedback submission by id.
    async fn feedback(&self, id: FeedbackId) -> Result<Option<Feedback>, StorageError>;

    /// Correct and total responses per (vendor, model) of the questions answered in `scope`,
    /// sorted by vendor then model (unknown models first).
    async fn model_accuracy(
        &self,
        scope: AccuracyScope,
    ) -> Result<Vec<ModelAccuracy>, StorageError>;

    /// Stores a benchmark run with its result and responses; returns its session id.
    async fn record_llm_run(&self, run: NewLlmRun) -> Result<i64, StorageError>;

    /// Every benchmark run that counts: session `completed`, an IQ score, and no response with
    /// a non-empty error. In session id order.
    async fn llm_runs(&self) -> Result<Vec<LlmRun>, StorageError>;

    /// Statistics of the questions with at least `min_responses` responses, most answered
    /// first (then by id).
    async fn question_statistics(
        &self,
        min_responses: i32,
    ) -> Result<Vec<QuestionStatistics>, StorageError>;
}
