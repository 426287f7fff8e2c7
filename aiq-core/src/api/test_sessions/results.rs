//! `GET /v1/test/results/{id}` and `GET /v1/test/history`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::{ResultExtras, TestResultResponse, model_pairs};
use crate::assessment::AssessmentError;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, query_in_range};
use crate::state::AppState;
use crate::storage::DOMAIN_POPULATION_STATS;

/// One of the user's results.
#[utoipa::path(
    get,
    path = "/test/results/{result_id}",
    tag = "test",
    operation_id = "get_test_result_v1_test_results__result_id__get",
    security(("HTTPBearer" = [])),
    params(("result_id" = i64, Path, description = "The result")),
    responses(
        (status = 200, description = "The result", body = TestResultResponse),
        (status = 403, description = "Someone else's result"),
        (status = 404, description = "No such result"),
    )
)]
pub(super) async fn get_result(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(result_id): ApiPath<i64>,
) -> Result<Json<TestResultResponse>, ApiError> {
    let result = state
        .storage
        .result(result_id)
        .await?
        .ok_or(AssessmentError::ResultNotFound)?;
    if result.user_id != current.user.id {
        return Err(AssessmentError::NotYourResult.into());
    }
    let models = model_pairs(
        &state
            .storage
            .session_responses(result.test_session_id)
            .await?,
    );
    let population = state.storage.system_config(DOMAIN_POPULATION_STATS).await?;
    Ok(Json(TestResultResponse::new(
        result,
        &ResultExtras {
            models: Some(&models),
            population: population.as_ref(),
        },
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HistoryQuery {
    /// Page size (1-100, default 50).
    limit: Option<i64>,
    /// Results to skip (default 0).
    offset: Option<i64>,
}

/// A page of results, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaginatedTestHistoryResponse {
    results: Vec<TestResultResponse>,
    total_count: u64,
    limit: i64,
    offset: i64,
    has_more: bool,
}

/// The user's results, newest first (claimed guest results included).
#[utoipa::path(
    get,
    path = "/test/history",
    tag = "test",
    operation_id = "get_test_history_v1_test_history_get",
    security(("HTTPBearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "A page of results", body = PaginatedTestHistoryResponse),
    )
)]
pub(super) async fn history(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<PaginatedTestHistoryResponse>, ApiError> {
    let limit = query_in_range("limit", query.limit.unwrap_or(50), 1, Some(100))?;
    let offset = query_in_range("offset", query.offset.unwrap_or(0), 0, None)?;
    let page = state
        .storage
        .result_history(current.user.id, limit.unsigned_abs(), offset.unsigned_abs())
        .await?;
    let population = state.storage.system_config(DOMAIN_POPULATION_STATS).await?;
    let extras = ResultExtras {
        models: None,
        population: population.as_ref(),
    };
    let shown = page.results.len() as u64;
    Ok(Json(PaginatedTestHistoryResponse {
        has_more: offset.unsigned_abs() + shown < page.total_count,
        results: page
            .results
            .into_iter()
            .map(|result| TestResultResponse::new(result, &extras))
            .collect(),
        total_count: page.total_count,
        limit,
        offset,
    }))
}
