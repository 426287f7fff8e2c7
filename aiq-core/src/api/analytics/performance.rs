//! `GET /v1/analytics/model-performance` and `GET /v1/benchmark/summary`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::analytics::{
    AnalyticsError, CACHE_TTL_SECONDS, ModelSummary, VendorAccuracyRow, vendor_rows,
};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ApiQuery, query_in_range};
use crate::state::AppState;
use crate::storage::AccuracyScope;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ModelPerformanceQuery {
    /// One of the caller's sessions; without it, all their completed sessions.
    test_session_id: Option<i64>,
    /// Vendors per page (1-100, default 50).
    limit: Option<i64>,
    /// Vendors to skip (default 0).
    offset: Option<i64>,
}

/// The caller's accuracy per question vendor and model.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModelPerformanceResponse {
    results: Vec<VendorAccuracyRow>,
    total_count: usize,
    limit: i64,
    offset: i64,
    has_more: bool,
}

/// How the caller did on questions written by each vendor's models: over all their completed
/// tests (paged by vendor), or in one of their sessions (every vendor at once).
#[utoipa::path(
    get,
    path = "/analytics/model-performance",
    tag = "analytics",
    operation_id = "get_model_performance_v1_analytics_model_performance_get",
    security(("HTTPBearer" = [])),
    params(ModelPerformanceQuery),
    responses(
        (status = 200, description = "Accuracy per vendor", body = ModelPerformanceResponse),
        (status = 404, description = "No such session of the caller's"),
    )
)]
pub(super) async fn model_performance(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<ModelPerformanceQuery>,
) -> Result<Json<ModelPerformanceResponse>, ApiError> {
    let limit = query_in_range("limit", query.limit.unwrap_or(50), 1, Some(100))?;
    let offset = query_in_range("offset", query.offset.unwrap_or(0), 0, None)?;
    if let Some(session_id) = query.test_session_id {
        let owned = state
            .storage
            .session(session_id)
            .await?
            .is_some_and(|session| session.user_id == current.user.id);
        if !owned {
            return Err(AnalyticsError::SessionNotFound.into());
        }
        let results = vendor_rows(
            state
                .storage
                .model_accuracy(AccuracyScope::Session(session_id))
                .await?,
        );
        return Ok(Json(ModelPerformanceResponse {
            total_count: results.len(),
            results,
            limit,
            offset,
            has_more: false,
        }));
    }
    let all = vendor_rows(
        state
            .storage
            .model_accuracy(AccuracyScope::User(current.user.id))
            .await?,
    );
    let total_count = all.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let page: Vec<VendorAccuracyRow> = all
        .into_iter()
        .skip(start)
        .take(limit.unsigned_abs() as usize)
        .collect();
    Ok(Json(ModelPerformanceResponse {
        has_more: start.saturating_add(page.len()) < total_count,
        results: page,
        total_count,
        limit,
        offset,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BenchmarkQuery {
    /// Models with fewer runs are left out (>= 1, default 3).
    min_runs: Option<i64>,
}

/// The models' benchmark results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BenchmarkSummaryResponse {
    /// Highest mean IQ first.
    models: Vec<ModelSummary>,
    min_runs: i64,
    /// Seconds the summary may be cached.
    cache_ttl: u64,
}

/// How language models score on the test, per model (cached for ten minutes).
#[utoipa::path(
    get,
    path = "/benchmark/summary",
    tag = "benchmark",
    operation_id = "get_benchmark_summary_v1_benchmark_summary_get",
    security(("HTTPBearer" = [])),
    params(BenchmarkQuery),
    responses(
        (status = 200, description = "Per-model summaries", body = BenchmarkSummaryResponse),
    )
)]
pub(super) async fn benchmark_summary(
    State(state): State<AppState>,
    _current: CurrentUser,
    ApiQuery(query): ApiQuery<BenchmarkQuery>,
) -> Result<Json<BenchmarkSummaryResponse>, ApiError> {
    let min_runs = query_in_range("min_runs", query.min_runs.unwrap_or(3), 1, None)?;
    let models = state
        .benchmarks
        .summary(state.storage.as_ref(), min_runs.unsigned_abs())
        .await?;
    Ok(Json(BenchmarkSummaryResponse {
        models: models.as_ref().clone(),
        min_runs,
        cache_ttl: CACHE_TTL_SECONDS,
    }))
}
