//! `GET /v1/questions/unseen`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::{self, QuestionResponse};
use crate::assessment::AssessmentError;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ApiQuery, query_in_range};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UnseenQuery {
    /// How many questions (1-100, default 25).
    count: Option<i64>,
}

/// Questions the user has not seen.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnseenQuestionsResponse {
    questions: Vec<QuestionResponse>,
    total_count: usize,
    requested_count: i64,
}

/// Active questions the signed-in user has never been shown (they are not marked as seen).
#[utoipa::path(
    get,
    path = "/questions/unseen",
    tag = "questions",
    operation_id = "get_unseen_questions_v1_questions_unseen_get",
    security(("HTTPBearer" = [])),
    params(UnseenQuery),
    responses(
        (status = 200, description = "Unseen questions", body = UnseenQuestionsResponse),
        (status = 404, description = "The pool is exhausted"),
    )
)]
pub(super) async fn unseen_questions(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<UnseenQuery>,
) -> Result<Json<UnseenQuestionsResponse>, ApiError> {
    let count = query_in_range("count", query.count.unwrap_or(25), 1, Some(100))?;
    let found = state
        .storage
        .unseen_questions(current.user.id, usize::try_from(count).unwrap_or(25))
        .await?;
    if found.is_empty() {
        return Err(AssessmentError::PoolExhausted.into());
    }
    Ok(Json(UnseenQuestionsResponse {
        total_count: found.len(),
        questions: schema::questions(found),
        requested_count: count,
    }))
}
