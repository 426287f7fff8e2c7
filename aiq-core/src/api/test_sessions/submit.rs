//! `POST /v1/test/submit`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::{ResultExtras, TestResultResponse, TestSessionResponse};
use super::{ResponseItem, answered};
use crate::assessment::{self, Submitted, Taker, owned_session};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::PositiveId;
use crate::state::AppState;

/// The answers of a test.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ResponseSubmission {
    #[schema(value_type = i64, minimum = 1)]
    session_id: PositiveId,
    responses: Vec<ResponseItem>,
    #[serde(default)]
    time_limit_exceeded: bool,
}

/// A submitted, scored test.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmitTestResponse {
    pub(super) session: TestSessionResponse,
    pub(super) result: TestResultResponse,
    pub(super) responses_count: usize,
    pub(super) message: String,
}

impl SubmitTestResponse {
    /// The answer to a submission, built from what was just stored.
    pub(super) fn new(submitted: Submitted) -> Self {
        let result = TestResultResponse::new(
            submitted.result,
            &ResultExtras {
                models: Some(&submitted.models),
                population: submitted.population.as_ref(),
            },
        );
        Self {
            message: format!("Test completed! IQ Score: {}", result.iq_score()),
            session: submitted.session.into(),
            result,
            responses_count: submitted.responses_count,
        }
    }
}

/// Submits the answers of the user's session in progress and scores it. Unanswered questions
/// are not scored.
#[utoipa::path(
    post,
    path = "/test/submit",
    tag = "test",
    operation_id = "submit_test_v1_test_submit_post",
    security(("HTTPBearer" = [])),
    request_body = ResponseSubmission,
    responses(
        (status = 200, description = "The result", body = SubmitTestResponse),
        (status = 400, description = "Not in progress, no answers, a foreign question or a blank answer"),
        (status = 403, description = "Someone else's session"),
        (status = 404, description = "No such session or question"),
        (status = 409, description = "Already submitted"),
    )
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<ResponseSubmission>,
) -> Result<Json<SubmitTestResponse>, ApiError> {
    let session = owned_session(&state, &current.user, body.session_id.get()).await?;
    let allowed = state
        .storage
        .seen_since(current.user.id, session.started_at)
        .await?;
    let submitted = assessment::submit_test(
        &state,
        Taker::User(current.user.id),
        session,
        answered(body.responses),
        body.time_limit_exceeded,
        &allowed,
    )
    .await?;
    Ok(Json(SubmitTestResponse::new(submitted)))
}
