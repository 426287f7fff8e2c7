//! `POST /v1/test/guest/start`, `/guest/submit`, `/guest/claim`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::{
    self, QuestionResponse, ResultExtras, TestResultResponse, TestSessionResponse, model_pairs,
};
use super::submit::SubmitTestResponse;
use super::{ResponseItem, answered};
use crate::assessment;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ValidationIssue};
use crate::extract::{ApiJson, header_identifier};
use crate::input::Token;
use crate::state::AppState;
use crate::storage::DOMAIN_POPULATION_STATS;

/// The longest device id kept (the `guest_device_limits.device_id` column).
const MAX_DEVICE_ID_CHARS: usize = 255;

/// A started guest test.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GuestStartTestResponse {
    session: TestSessionResponse,
    questions: Vec<QuestionResponse>,
    total_questions: usize,
    /// Submit with this (single use, 45 minutes).
    guest_token: String,
    tests_remaining: u32,
}

/// Starts a 25-question guest test for the device in `X-Device-Id` (3 per device).
#[utoipa::path(
    post,
    path = "/test/guest/start",
    tag = "guest",
    operation_id = "start_guest_test_v1_test_guest_start_post",
    params(("X-Device-Id" = String, Header, description = "A stable id of the device")),
    responses(
        (status = 200, description = "The session and its questions", body = GuestStartTestResponse),
        (status = 400, description = "Blank device id"),
        (status = 422, description = "No device id, or one with a control character or beyond visible ASCII"),
        (status = 429, description = "The device used its guest tests"),
    )
)]
pub(super) async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<GuestStartTestResponse>, ApiError> {
    let device_id = header_identifier(&headers, "X-Device-Id")?.ok_or_else(|| {
        ApiError::Validation(vec![ValidationIssue::new(
            ["header", "X-Device-Id"],
            "Field required",
            "missing",
        )])
    })?;
    if device_id.chars().count() > MAX_DEVICE_ID_CHARS {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            ["header", "X-Device-Id"],
            format!("String should have at most {MAX_DEVICE_ID_CHARS} characters"),
            "string_too_long",
        )]));
    }
    let started = assessment::start_guest_test(&state, device_id).await?;
    Ok(Json(GuestStartTestResponse {
        session: started.test.session.into(),
        total_questions: started.test.questions.len(),
        questions: schema::questions(started.test.questions),
        guest_token: started.guest_token,
        tests_remaining: started.tests_remaining,
    }))
}

/// The answers of a guest test.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct GuestSubmitRequest {
    #[schema(value_type = String, min_length = 1)]
    guest_token: Token<1, 2000>,
    responses: Vec<ResponseItem>,
    #[serde(default)]
    time_limit_exceeded: bool,
}

/// A scored guest test and the token that lets an account claim it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GuestSubmitTestResponse {
    #[serde(flatten)]
    submitted: SubmitTestResponse,
    /// Lets a signed-in user adopt this result (45 minutes).
    claim_token: String,
}

/// Submits a guest test with its single-use token.
#[utoipa::path(
    post,
    path = "/test/guest/submit",
    tag = "guest",
    operation_id = "submit_guest_test_v1_test_guest_submit_post",
    request_body = GuestSubmitRequest,
    responses(
        (status = 200, description = "The result and a claim token", body = GuestSubmitTestResponse),
        (status = 400, description = "Invalid or used token, or invalid answers"),
    )
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<GuestSubmitRequest>,
) -> Result<Json<GuestSubmitTestResponse>, ApiError> {
    let token = body.guest_token.as_str().trim();
    if token.is_empty() {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            ["body", "guest_token"],
            "Value error, guest_token cannot be blank.",
            "value_error",
        )]));
    }
    let (submitted, claim_token) = assessment::submit_guest_test(
        &state,
        token,
        answered(body.responses),
        body.time_limit_exceeded,
    )
    .await?;
    Ok(Json(GuestSubmitTestResponse {
        submitted: SubmitTestResponse::new(submitted),
        claim_token,
    }))
}

/// A claim token from a guest submission.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct GuestClaimRequest {
    #[schema(value_type = String, min_length = 1)]
    claim_token: Token<1, 2000>,
}

/// A guest result now in the user's account.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GuestClaimResponse {
    session: TestSessionResponse,
    result: TestResultResponse,
    responses_count: u64,
    message: &'static str,
}

/// Moves a guest result into the signed-in user's account (it then starts their cadence).
#[utoipa::path(
    post,
    path = "/test/guest/claim",
    tag = "guest",
    operation_id = "claim_guest_result_v1_test_guest_claim_post",
    security(("HTTPBearer" = [])),
    request_body = GuestClaimRequest,
    responses(
        (status = 200, description = "Claimed", body = GuestClaimResponse),
        (status = 400, description = "Invalid or expired claim token"),
        (status = 409, description = "Already claimed"),
    )
)]
pub(super) async fn claim(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<GuestClaimRequest>,
) -> Result<Json<GuestClaimResponse>, ApiError> {
    let token = body.claim_token.as_str().trim();
    if token.is_empty() {
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            ["body", "claim_token"],
            "Value error, claim_token cannot be blank.",
            "value_error",
        )]));
    }
    let (session, result, responses_count) =
        assessment::claim_guest_result(&state, &current.user, token).await?;
    let models = model_pairs(&state.storage.session_responses(session.id).await?);
    let population = state.storage.system_config(DOMAIN_POPULATION_STATS).await?;
    let extras = ResultExtras {
        models: Some(&models),
        population: population.as_ref(),
    };
    Ok(Json(GuestClaimResponse {
        session: session.into(),
        result: TestResultResponse::new(result, &extras),
        responses_count,
        message: "Guest result claimed successfully.",
    }))
}
