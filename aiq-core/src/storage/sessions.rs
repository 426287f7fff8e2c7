//! Test sessions, their responses and results: the records and the atomic operations on them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StorageError;
use super::questions::QuestionId;
use super::users::UserId;

/// A test session's id.
pub type SessionId = i64;
/// A test result's id.
pub type ResultId = i64;

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Questions served, not yet submitted.
    InProgress,
    /// Submitted and scored.
    Completed,
    /// Given up (or a guest session left too long).
    Abandoned,
}

impl SessionStatus {
    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::storage::SessionStatus;
    /// assert_eq!(SessionStatus::InProgress.as_str(), "in_progress");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
        }
    }

    /// Parses a column value.
    ///
    /// ```
    /// use aiq_core::storage::SessionStatus;
    /// assert_eq!(SessionStatus::parse("abandoned"), Some(SessionStatus::Abandoned));
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        [Self::InProgress, Self::Completed, Self::Abandoned]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A stored test session.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSession {
    /// The id.
    pub id: SessionId,
    /// The owner ([`super::GUEST_USER_ID`] for guest sessions).
    pub user_id: UserId,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it was completed or abandoned.
    pub completed_at: Option<OffsetDateTime>,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// How the questions were composed (difficulty and domain counts).
    pub composition_metadata: Option<serde_json::Value>,
    /// Submitted after the 30-minute limit (or the client said so).
    pub time_limit_exceeded: bool,
    /// An adaptive session.
    pub is_adaptive: bool,
}

/// A session about to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The owner.
    pub user_id: UserId,
    /// When it starts.
    pub started_at: OffsetDateTime,
    /// The questions served, in the order shown.
    pub question_ids: Vec<QuestionId>,
    /// How they were composed.
    pub composition_metadata: serde_json::Value,
    /// An adaptive session.
    pub is_adaptive: bool,
    /// Whether to record the questions as seen by the owner (false for guests).
    pub record_seen: bool,
}

/// One answer being stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResponse {
    /// The question answered.
    pub question_id: QuestionId,
    /// The answer as submitted (trimmed of control characters, otherwise verbatim).
    pub user_answer: String,
    /// Whether it matched the correct answer.
    pub is_correct: bool,
    /// Seconds the client says it took.
    pub time_spent_seconds: Option<i32>,
}

/// A stored answer, with the question facts that scoring reads back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// The question answered.
    pub question_id: QuestionId,
    /// The answer as submitted.
    pub user_answer: String,
    /// Whether it was right.
    pub is_correct: bool,
    /// When it was stored.
    pub answered_at: OffsetDateTime,
    /// Seconds the client says it took.
    pub time_spent_seconds: Option<i32>,
    /// The producer of the question (`model_scores` group by it).
    pub source_model: Option<String>,
}

/// Scores of a submitted test, as computed before storing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResult {
    /// The IQ score.
    pub iq_score: i32,
    /// Population percentile, one decimal.
    pub percentile_rank: Option<f64>,
    /// Responses scored.
    pub total_questions: i32,
    /// Correct responses.
    pub correct_answers: i32,
    /// Seconds from start to submit.
    pub completion_time_seconds: Option<i32>,
    /// Standard error of measurement, when reliability allows a confidence interval.
    pub standard_error: Option<f64>,
    /// Lower bound of the 95% interval.
    pub ci_lower: Option<i32>,
    /// Upper bound of the 95% interval.
    pub ci_upper: Option<i32>,
    /// Response-time analysis.
    pub response_time_flags: Option<serde_json::Value>,
    /// `valid`, `suspect` or `invalid`.
    pub validity_status: String,
    /// What made it suspect, if anything.
    pub validity_flags: Option<serde_json::Value>,
    /// Per-domain scores.
    pub domain_scores: Option<serde_json::Value>,
    /// `ctt` or `irt`.
    pub scoring_method: String,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// The id.
    pub id: ResultId,
    /// The session scored.
    pub test_session_id: SessionId,
    /// The owner.
    pub user_id: UserId,
    /// When the session was completed.
    pub completed_at: OffsetDateTime,
    /// When the validity analysis ran.
    pub validity_checked_at: Option<OffsetDateTime>,
    /// The scores.
    pub scores: NewResult,
}

/// Completing a session: everything written in one transaction, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The session.
    pub session_id: SessionId,
    /// When it was submitted.
    pub completed_at: OffsetDateTime,
    /// The time-limit flag to store.
    pub time_limit_exceeded: bool,
    /// The answers.
    pub responses: Vec<NewResponse>,
    /// The scores.
    pub result: NewResult,
}

/// What [`SessionStore::start_context`] reads before a test starts, in one go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartContext {
    /// The user's session in progress, if any.
    pub active: Option<TestSession>,
    /// When the user's latest completed session was completed.
    pub last_completed_at: Option<OffsetDateTime>,
    /// When the user's latest abandoned session with at least the given number of responses
    /// was abandoned.
    pub last_substantive_abandon_at: Option<OffsetDateTime>,
}

/// A page of a user's results, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultPage {
    /// The results on this page.
    pub results: Vec<TestResult>,
    /// All of the user's results.
    pub total_count: u64,
}

/// The outcome of claiming a guest session.
// Returned once per claim and never stored, so boxing the claimed records would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// Moved to the account.
    Claimed(TestSession, TestResult),
    /// Someone (maybe the same user) claimed it already.
    AlreadyClaimed,
    /// No completed guest session with a result has this id.
    NotClaimable,
}

/// Test sessions, their responses and results.
#[async_trait]
pub trait SessionStore {
    /// The user's session in progress and the dates the cadence rules need.
    async fn start_context(
        &self,
        user: UserId,
        abandon_threshold: i64,
    ) -> Result<StartContext, StorageError>;

    /// Creates the session and, when asked, marks its questions seen by the owner, atomically.
    ///
    /// # Errors
    /// [`Conflict::ActiveSession`](super::Conflict::ActiveSession) when the owner (not the
    /// guest sentinel) has a session in progress already; [`Conflict::QuestionSeen`](super::Conflict::QuestionSeen)
    /// when one of the questions was shown to them meanwhile. Nothing is written then.
    async fn start_session(&self, session: NewSession) -> Result<TestSession, StorageError>;

    /// A session by id.
    async fn session(&self, id: SessionId) -> Result<Option<TestSession>, StorageError>;

    /// The ids of the questions served in a session, in the order they were served.
    async fn session_question_ids(&self, id: SessionId) -> Result<Vec<QuestionId>, StorageError>;

    /// The ids of every question the user was shown at or after `since`.
    async fn seen_since(
        &self,
        user: UserId,
        since: OffsetDateTime,
    ) -> Result<Vec<QuestionId>, StorageError>;

    /// How many responses a session has.
    async fn response_count(&self, id: SessionId) -> Result<u64, StorageError>;

    /// The responses of a session, in the order stored.
    async fn session_responses(&self, id: SessionId) -> Result<Vec<StoredResponse>, StorageError>;

    /// Abandons the session if it is in progress, returning it with the responses it keeps;
    /// `None` when it is not in progress (or does not exist).
    async fn abandon_session(
        &self,
        id: SessionId,
        at: OffsetDateTime,
    ) -> Result<Option<(TestSession, u64)>, StorageError>;

    /// Guest sessions in progress since before `started_before` become abandoned (their
    /// `completed_at` stays unset). Returns how many.
    async fn abandon_stale_guest_sessions(
        &self,
        started_before: OffsetDateTime,
    ) -> Result<u64, StorageError>;

    /// Completes an in-progress session with its responses and result, atomically.
    ///
    /// # Errors
    /// [`Conflict::SessionNotInProgress`](super::Conflict::SessionNotInProgress) when another
    /// request completed or abandoned it first, [`Conflict::Response`](super::Conflict::Response)
    /// when a question is answered twice. Nothing is written then.
    async fn complete_session(
        &self,
        completion: Completion,
    ) -> Result<(TestSession, TestResult), StorageError>;

    /// A result by id.
    async fn result(&self, id: ResultId) -> Result<Option<TestResult>, StorageError>;

    /// The result of a session.
    async fn result_for_session(
        &self,
        session: SessionId,
    ) -> Result<Option<TestResult>, StorageError>;

    /// A page of the user's results, newest first.
    async fn result_history(
        &self,
        user: UserId,
        limit: u64,
        offset: u64,
    ) -> Result<ResultPage, StorageError>;

    /// Moves a completed guest session, its result and responses to `user`, and records the
    /// answered questions as seen by them (those they have not seen), atomically.
    async fn claim_guest_session(
        &self,
        session: SessionId,
        user: UserId,
    ) -> Result<ClaimOutcome, StorageError>;

    /// Sessions in progress across all users, guest sessions included (the
    /// `test.sessions.active` gauge).
    async fn active_session_count(&self) -> Result<u64, StorageError>;
}

/// The per-device guest test allowance.
#[async_trait]
pub trait GuestStore {
    /// Tests this device has completed as a guest.
    async fn guest_tests_taken(&self, device_id: &str) -> Result<i32, StorageError>;

    /// Counts one more completed guest test for the device; returns the new count.
    async fn record_guest_test(
        &self,
        device_id: &str,
        at: OffsetDateTime,
    ) -> Result<i32, StorageError>;
}
