//! Helpers every test operation shares: loading questions in served order, the session
//! ownership check, the composition's random source, and the start metrics.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{AssessmentError, Taker};
use crate::state::AppState;
use crate::storage::{Question, QuestionId, SessionId, StorageError, TestSession, User};
use crate::telemetry;

/// A random generator seeded from the operating system, for drawing test compositions.
pub(super) fn fresh_rng() -> StdRng {
    // getrandom only fails where no entropy source exists at all; a fixed seed would still
    // give a valid (if predictable) composition.
    StdRng::seed_from_u64(getrandom::u64().unwrap_or(0x5eed))
}

/// The questions with these ids, in this order.
pub(crate) async fn questions_in_order(
    state: &AppState,
    ids: &[QuestionId],
) -> Result<Vec<Question>, StorageError> {
    let mut found = state.storage.questions_by_ids(ids).await?;
    found.sort_by_key(|q| ids.iter().position(|id| *id == q.id));
    Ok(found)
}

/// Counts a started session (call as soon as it is stored, so every later decrement has its
/// increment).
pub(super) fn record_start(taker: Taker, questions: usize) {
    metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).increment(1.0);
    metrics::counter!(telemetry::TEST_SESSIONS_STARTED, "test.kind" => taker.kind()).increment(1);
    metrics::counter!(telemetry::QUESTIONS_SERVED).increment(questions as u64);
}

/// The session, if it exists and belongs to `user` (404, then 403).
pub(crate) async fn owned_session(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<TestSession, AssessmentError> {
    let session = state
        .storage
        .session(id)
        .await?
        .ok_or(AssessmentError::SessionNotFound)?;
    if session.user_id != user.id {
        return Err(AssessmentError::NotYourSession);
    }
    Ok(session)
}
