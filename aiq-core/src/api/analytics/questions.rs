//! `/v1/analytics/questions/*`: item statistics, for operators only (`X-Admin-Token`), since
//! they tell which items are easy, hard or weak.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::analytics::{
    AnalyticsError, POOR_DISCRIMINATION, SUFFICIENT_RESPONSES, TOO_EASY, TOO_HARD,
};
use crate::auth::AdminToken;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, query_in_range};
use crate::questions::{Difficulty, Domain};
use crate::state::AppState;
use crate::storage::QuestionStatistics;

/// One question's classical statistics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct QuestionStatisticsResponse {
    question_id: i64,
    /// Share of correct responses.
    empirical_difficulty: Option<f64>,
    /// Point-biserial discrimination.
    discrimination: Option<f64>,
    response_count: Option<i32>,
    /// At least 30 responses.
    has_sufficient_data: bool,
}

impl QuestionStatisticsResponse {
    fn new(question_id: i64, p: Option<f64>, d: Option<f64>, count: i32) -> Self {
        Self {
            question_id,
            empirical_difficulty: p,
            discrimination: d,
            response_count: Some(count),
            has_sufficient_data: count >= SUFFICIENT_RESPONSES,
        }
    }
}

/// A question's statistics with what it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct QuestionStatisticsItem {
    #[serde(flatten)]
    statistics: QuestionStatisticsResponse,
    question_type: Domain,
    difficulty_level: Difficulty,
    is_active: bool,
}

impl From<QuestionStatistics> for QuestionStatisticsItem {
    fn from(stats: QuestionStatistics) -> Self {
        Self {
            statistics: QuestionStatisticsResponse::new(
                stats.question_id,
                stats.empirical_difficulty,
                stats.discrimination,
                stats.response_count,
            ),
            question_type: stats.question_type,
            difficulty_level: stats.difficulty_level,
            is_active: stats.is_active,
        }
    }
}

/// One question's statistics.
#[utoipa::path(
    get,
    path = "/analytics/questions/{question_id}/statistics",
    tag = "analytics",
    operation_id = "get_question_stats_v1_analytics_questions__question_id__statistics_get",
    security(("AdminToken" = [])),
    params(("question_id" = i64, Path, description = "The question")),
    responses(
        (status = 200, description = "Its statistics", body = QuestionStatisticsResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such question"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn question_statistics(
    State(state): State<AppState>,
    _admin: AdminToken,
    ApiPath(question_id): ApiPath<i64>,
) -> Result<Json<QuestionStatisticsResponse>, ApiError> {
    let question = state
        .storage
        .questions_by_ids(&[question_id])
        .await?
        .pop()
        .ok_or(AnalyticsError::QuestionNotFound(question_id))?;
    Ok(Json(QuestionStatisticsResponse::new(
        question.id,
        question.empirical_difficulty,
        question.discrimination,
        question.response_count,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MinResponsesQuery {
    /// Leave out questions with fewer responses.
    min_responses: Option<i64>,
}

/// Every question's statistics, most answered first.
#[utoipa::path(
    get,
    path = "/analytics/questions/statistics",
    tag = "analytics",
    operation_id = "get_all_questions_stats_v1_analytics_questions_statistics_get",
    security(("AdminToken" = [])),
    params(MinResponsesQuery),
    responses(
        (status = 200, description = "Statistics", body = Vec<QuestionStatisticsItem>),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn all_statistics(
    State(state): State<AppState>,
    _admin: AdminToken,
    ApiQuery(query): ApiQuery<MinResponsesQuery>,
) -> Result<Json<Vec<QuestionStatisticsItem>>, ApiError> {
    let min = query_in_range(
        "min_responses",
        query.min_responses.unwrap_or(0),
        0,
        Some(1000),
    )?;
    let list = state.storage.question_statistics(min as i32).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Items whose statistics say they need a look.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProblematicQuestionsResponse {
    /// More than 95% correct.
    too_easy: Vec<QuestionStatisticsItem>,
    /// Fewer than 5% correct.
    too_hard: Vec<QuestionStatisticsItem>,
    /// Discrimination below 0.2.
    poor_discrimination: Vec<QuestionStatisticsItem>,
    /// Discrimination below 0: strong test takers get it wrong more often.
    negative_discrimination: Vec<QuestionStatisticsItem>,
}

/// Questions that are too easy, too hard or discriminate poorly.
#[utoipa::path(
    get,
    path = "/analytics/questions/problematic",
    tag = "analytics",
    operation_id = "get_problematic_questions_v1_analytics_questions_problematic_get",
    security(("AdminToken" = [])),
    params(MinResponsesQuery),
    responses(
        (status = 200, description = "Problematic items", body = ProblematicQuestionsResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn problematic(
    State(state): State<AppState>,
    _admin: AdminToken,
    ApiQuery(query): ApiQuery<MinResponsesQuery>,
) -> Result<Json<ProblematicQuestionsResponse>, ApiError> {
    let min = query_in_range(
        "min_responses",
        query.min_responses.unwrap_or(30),
        2,
        Some(1000),
    )?;
    let list = state.storage.question_statistics(min as i32).await?;
    let pick = |keep: &dyn Fn(&QuestionStatistics) -> bool| -> Vec<QuestionStatisticsItem> {
        list.iter()
            .filter(|stats| keep(stats))
            .cloned()
            .map(Into::into)
            .collect()
    };
    Ok(Json(ProblematicQuestionsResponse {
        too_easy: pick(&|s| s.empirical_difficulty.is_some_and(|p| p > TOO_EASY)),
        too_hard: pick(&|s| s.empirical_difficulty.is_some_and(|p| p < TOO_HARD)),
        poor_discrimination: pick(&|s| s.discrimination.is_some_and(|d| d < POOR_DISCRIMINATION)),
        negative_discrimination: pick(&|s| s.discrimination.is_some_and(|d| d < 0.0)),
    }))
}
