//! `POST /v1/test/next` and `GET /v1/test/progress`: answering an adaptive test item by item
//! (`POST /v1/test/start?adaptive=true` starts one, in `start.rs`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::{QuestionResponse, ResultExtras, TestResultResponse};
use crate::assessment::{self, AdaptiveAnswer};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ValidationIssue};
use crate::extract::{ApiJson, ApiQuery};
use crate::input::{Answer, PositiveId, Seconds};
use crate::state::AppState;

/// One answer in an adaptive test.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdaptiveResponseRequest {
    /// The adaptive session (> 0).
    #[schema(value_type = i64, minimum = 1)]
    session_id: PositiveId,
    /// The question answered: the one served last (> 0).
    #[schema(value_type = i64, minimum = 1)]
    question_id: PositiveId,
    /// The option text chosen.
    #[schema(value_type = String)]
    user_answer: Answer,
    /// Seconds spent on the question (>= 0).
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 0)]
    time_spent_seconds: Option<Seconds>,
}

/// What follows an answer: the next question, or the result.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdaptiveNextResponse {
    /// The next question; null once the test is complete.
    next_question: Option<QuestionResponse>,
    /// The current ability estimate (θ).
    current_theta: f64,
    /// Its standard error.
    current_se: f64,
    /// Items answered so far.
    items_administered: usize,
    test_complete: bool,
    /// The result (the `TestResultResponse` shape), once the test is complete.
    result: Option<TestResultResponse>,
    /// `se_threshold`, `theta_stable`, `max_items` or `item_pool_exhausted`, once complete.
    stopping_reason: Option<&'static str>,
}

/// Answers the question an adaptive test served last; returns the next one or the result.
#[utoipa::path(
    post,
    path = "/test/next",
    tag = "test",
    operation_id = "submit_adaptive_response_v1_test_next_post",
    security(("HTTPBearer" = [])),
    request_body = AdaptiveResponseRequest,
    responses(
        (status = 200, description = "The next question or the result", body = AdaptiveNextResponse),
        (status = 400, description = "Not in progress, not adaptive, a blank answer, or a question not served"),
        (status = 403, description = "Someone else's session"),
        (status = 404, description = "No such session or question"),
        (status = 409, description = "The question was answered already"),
    )
)]
pub(super) async fn next(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<AdaptiveResponseRequest>,
) -> Result<Json<AdaptiveNextResponse>, ApiError> {
    let stepped = assessment::answer_adaptive(
        &state,
        &current.user,
        AdaptiveAnswer {
            session_id: body.session_id.get(),
            question_id: body.question_id.get(),
            answer: body.user_answer,
            time_spent_seconds: body.time_spent_seconds.map(Seconds::get),
        },
    )
    .await?;
    let (result, stopping_reason) = match stepped.finished {
        Some(finished) => (
            Some(TestResultResponse::new(
                finished.result,
                &ResultExtras {
                    models: Some(&finished.models),
                    population: finished.population.as_ref(),
                },
            )),
            Some(finished.stopping_reason),
        ),
        None => (None, None),
    };
    Ok(Json(AdaptiveNextResponse {
        next_question: stepped.next_question.map(QuestionResponse::from),
        current_theta: stepped.theta,
        current_se: stepped.se,
        items_administered: stepped.items_administered,
        test_complete: result.is_some(),
        result,
        stopping_reason,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ProgressQuery {
    /// The adaptive session.
    #[param(required = true)]
    session_id: Option<i64>,
}

/// How far an adaptive test has come (θ itself is not exposed).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestProgressResponse {
    session_id: i64,
    items_administered: usize,
    /// The most items a test gives (15).
    total_items_max: usize,
    /// `total_items_max - items_administered`.
    estimated_items_remaining: usize,
    /// Items per domain, all six domains.
    domain_coverage: BTreeMap<&'static str, usize>,
    total_domains_covered: usize,
    elapsed_seconds: i64,
    /// The standard error of the ability estimate (1.0 before any answer).
    current_se: f64,
}

/// The progress of the user's adaptive session.
#[utoipa::path(
    get,
    path = "/test/progress",
    tag = "test",
    operation_id = "get_test_progress_v1_test_progress_get",
    security(("HTTPBearer" = [])),
    params(ProgressQuery),
    responses(
        (status = 200, description = "The progress", body = TestProgressResponse),
        (status = 400, description = "Not in progress or not adaptive"),
        (status = 403, description = "Someone else's session"),
        (status = 404, description = "No such session"),
        (status = 422, description = "session_id is missing"),
    )
)]
pub(super) async fn progress(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<ProgressQuery>,
) -> Result<Json<TestProgressResponse>, ApiError> {
    let session_id = query.session_id.ok_or_else(|| {
        ApiError::Validation(vec![ValidationIssue::new(
            ["query", "session_id"],
            "Field required",
            "missing",
        )])
    })?;
    let progress = assessment::adaptive_progress(&state, &current.user, session_id).await?;
    Ok(Json(TestProgressResponse {
        session_id: progress.session_id,
        items_administered: progress.items_administered,
        total_items_max: progress.total_items_max,
        estimated_items_remaining: progress.estimated_items_remaining,
        domain_coverage: progress
            .domain_coverage
            .iter()
            .map(|(domain, n)| (domain.as_str(), *n))
            .collect(),
        total_domains_covered: progress.total_domains_covered,
        elapsed_seconds: progress.elapsed_seconds,
        current_se: progress.current_se,
    }))
}
