//! Abandoning a test.

use super::AssessmentError;
use super::common::owned_session;
use crate::state::AppState;
use crate::storage::{SessionId, SessionStatus, TestSession, User};
use crate::telemetry;

/// Abandons the user's in-progress session, keeping its responses; returns it with how many.
pub(crate) async fn abandon_test(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<(TestSession, u64), AssessmentError> {
    let session = owned_session(state, user, id).await?;
    if session.status != SessionStatus::InProgress {
        return Err(AssessmentError::NotInProgress(session.status));
    }
    match state
        .storage
        .abandon_session(id, crate::time::now())
        .await?
    {
        Some(abandoned) => {
            metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).decrement(1.0);
            metrics::counter!(telemetry::TEST_SESSIONS_ABANDONED, "test.kind" => "user")
                .increment(1);
            Ok(abandoned)
        }
        // Another request completed or abandoned it in between.
        None => {
            let status = state
                .storage
                .session(id)
                .await?
                .map_or(SessionStatus::Abandoned, |s| s.status);
            Err(AssessmentError::NotInProgress(status))
        }
    }
}
