//! `GET /v1/test/session/{id}`, `GET /v1/test/active`, `POST /v1/test/{id}/abandon`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{self, QuestionResponse, TestSessionResponse};
use crate::assessment::{self, owned_session, questions_in_order};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::storage::{SessionStatus, TestSession};

/// A session with how many responses it has and, while in progress, its questions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestSessionStatusResponse {
    session: TestSessionResponse,
    /// Responses saved (not questions served: the old API's name).
    questions_count: u64,
    questions: Option<Vec<QuestionResponse>>,
}

async fn status_of(
    state: &AppState,
    session: TestSession,
) -> Result<TestSessionStatusResponse, ApiError> {
    let questions_count = state.storage.response_count(session.id).await?;
    let questions = if session.status == SessionStatus::InProgress {
        let ids = state.storage.session_question_ids(session.id).await?;
        Some(schema::questions(questions_in_order(state, &ids).await?))
    } else {
        None
    };
    Ok(TestSessionStatusResponse {
        session: session.into(),
        questions_count,
        questions,
    })
}

/// One of the user's sessions.
#[utoipa::path(
    get,
    path = "/test/session/{session_id}",
    tag = "test",
    operation_id = "get_test_session_v1_test_session__session_id__get",
    security(("HTTPBearer" = [])),
    params(("session_id" = i64, Path, description = "The session")),
    responses(
        (status = 200, description = "The session", body = TestSessionStatusResponse),
        (status = 403, description = "Someone else's session"),
        (status = 404, description = "No such session"),
    )
)]
pub(super) async fn get_session(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i64>,
) -> Result<Json<TestSessionStatusResponse>, ApiError> {
    let session = owned_session(&state, &current.user, session_id).await?;
    Ok(Json(status_of(&state, session).await?))
}

/// The user's session in progress, or the literal `null`.
#[utoipa::path(
    get,
    path = "/test/active",
    tag = "test",
    operation_id = "get_active_test_session_v1_test_active_get",
    security(("HTTPBearer" = [])),
    responses(
        (status = 200, description = "The active session, or null", body = Option<TestSessionStatusResponse>),
    )
)]
pub(super) async fn active_session(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<Option<TestSessionStatusResponse>>, ApiError> {
    let context = state
        .storage
        .start_context(current.user.id, i64::MAX)
        .await?;
    Ok(Json(match context.active {
        Some(session) => Some(status_of(&state, session).await?),
        None => None,
    }))
}

/// An abandoned session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestSessionAbandonResponse {
    session: TestSessionResponse,
    message: &'static str,
    responses_saved: u64,
}

/// Abandons the user's session in progress; its responses are kept.
#[utoipa::path(
    post,
    path = "/test/{session_id}/abandon",
    tag = "test",
    operation_id = "abandon_test_v1_test__session_id__abandon_post",
    security(("HTTPBearer" = [])),
    params(("session_id" = i64, Path, description = "The session")),
    responses(
        (status = 200, description = "Abandoned", body = TestSessionAbandonResponse),
        (status = 400, description = "Not in progress"),
        (status = 403, description = "Someone else's session"),
        (status = 404, description = "No such session"),
    )
)]
pub(super) async fn abandon(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(session_id): ApiPath<i64>,
) -> Result<Json<TestSessionAbandonResponse>, ApiError> {
    let (session, responses_saved) =
        assessment::abandon_test(&state, &current.user, session_id).await?;
    Ok(Json(TestSessionAbandonResponse {
        session: session.into(),
        message: "Test session abandoned successfully",
        responses_saved,
    }))
}
