//! Adaptive (CAT) sessions: the item pool, the prior, and the stored engine state that every
//! answer advances atomically (compare-and-set on the number of answered items).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;
use super::questions::QuestionId;
use super::sessions::{NewResponse, NewResult, NewSession, SessionId, TestResult, TestSession};
use super::users::UserId;
use crate::cat::{ItemParams, PoolItem, prior_params};
use crate::questions::Difficulty;

/// The stored state of an adaptive session.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveState {
    /// The engine's state ([`crate::cat::CatSession`] as JSON).
    pub state: serde_json::Value,
    /// Items answered so far (the compare-and-set token of the next step).
    pub items: u32,
}

/// One answer to an adaptive session, with the state it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveStep {
    /// The session.
    pub session_id: SessionId,
    /// The answered-item count read with the state this step started from; the step is
    /// refused when the stored count differs (another answer won).
    pub expected_items: u32,
    /// The answer.
    pub response: NewResponse,
    /// When it was answered.
    pub answered_at: OffsetDateTime,
    /// The engine's state after the answer.
    pub state: serde_json::Value,
    /// θ after each answer (`test_sessions.theta_history`).
    pub theta_history: Vec<f64>,
    /// The question served next, recorded as seen by the owner (none when the test ends).
    pub next_question: Option<QuestionId>,
}

/// How an adaptive session ended.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveCompletion {
    /// The final θ (`final_theta`, `theta_estimate`).
    pub theta: f64,
    /// Its standard error (`final_se`, `theta_se`).
    pub theta_se: f64,
    /// `se_threshold`, `theta_stable`, `max_items` or `item_pool_exhausted`.
    pub stopping_reason: String,
    /// The scores (`scoring_method` is `irt`).
    pub result: NewResult,
}

/// Storage of adaptive sessions.
#[async_trait]
pub trait AdaptiveStore {
    /// The items an adaptive test may serve `user`: active, quality `normal`, never shown to
    /// them; calibrated items with their 2PL parameters (those with `a ≤ 0` or non-finite
    /// parameters are left out), uncalibrated ones with [`crate::cat::prior_params`] of their
    /// difficulty level. The starter bank is uncalibrated, so these priors let adaptive tests
    /// run before the first calibration.
    async fn adaptive_pool(&self, user: UserId) -> Result<Vec<PoolItem>, StorageError>;

    /// `final_theta` of the user's latest completed adaptive session, if any.
    async fn adaptive_prior(&self, user: UserId) -> Result<Option<f64>, StorageError>;

    /// Starts an adaptive session with its engine state, like
    /// [`SessionStore::start_session`](super::SessionStore::start_session) (same conflicts).
    async fn start_adaptive_session(
        &self,
        session: NewSession,
        state: serde_json::Value,
    ) -> Result<TestSession, StorageError>;

    /// The engine state of a session; `None` when it is not an adaptive session with a state.
    async fn adaptive_state(&self, id: SessionId) -> Result<Option<AdaptiveState>, StorageError>;

    /// Stores an answer, the new state and the next question as seen, atomically.
    ///
    /// # Errors
    /// [`Conflict::Response`](super::Conflict::Response) when the stored answered-item count is
    /// no longer `expected_items` or the question was answered already;
    /// [`Conflict::SessionNotInProgress`](super::Conflict::SessionNotInProgress) when the session
    /// is no longer in progress; [`Conflict::QuestionSeen`](super::Conflict::QuestionSeen) when
    /// the next question was shown to the owner meanwhile. Nothing is written then.
    async fn record_adaptive_step(&self, step: AdaptiveStep) -> Result<(), StorageError>;

    /// Stores the last answer and the state as [`AdaptiveStore::record_adaptive_step`] does,
    /// and completes the session with its final θ and its result, in one transaction.
    ///
    /// # Errors
    /// As [`AdaptiveStore::record_adaptive_step`]; nothing is written then.
    async fn finish_adaptive_session(
        &self,
        step: AdaptiveStep,
        completion: AdaptiveCompletion,
    ) -> Result<(TestSession, TestResult), StorageError>;
}

/// The parameters an item is served with: its calibration (`a`, `b`) when usable, else the
/// prior of its difficulty level; `None` for a calibration that must not be used (`a ≤ 0` or
/// not finite).
///
/// ```
/// use aiq_core::cat::ItemParams;
/// use aiq_core::questions::Difficulty;
/// use aiq_core::storage::pool_params;
/// assert_eq!(pool_params(None, None, Difficulty::Hard), Some(ItemParams { a: 1.0, b: 1.0 }));
/// assert_eq!(pool_params(Some(1.5), Some(-0.2), Difficulty::Hard), Some(ItemParams { a: 1.5, b: -0.2 }));
/// assert_eq!(pool_params(Some(-0.1), Some(0.0), Difficulty::Easy), None);
/// ```
pub fn pool_params(a: Option<f64>, b: Option<f64>, difficulty: Difficulty) -> Option<ItemParams> {
    match (a, b) {
        (Some(a), Some(b)) => {
            (a.is_finite() && b.is_finite() && a > 0.0).then_some(ItemParams { a, b })
        }
        _ => Some(prior_params(difficulty)),
    }
}
