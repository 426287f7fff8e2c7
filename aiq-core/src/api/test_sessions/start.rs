//! `POST /v1/test/start`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::schema::{self, QuestionResponse, TestSessionResponse};
use crate::assessment;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::{ApiQuery, query_in_range};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct StartQuery {
    /// Questions in a fixed-form test (1-100, default 25).
    question_count: Option<i64>,
    /// An adaptive test: one question at a time through `/test/next` (`question_count` is
    /// ignored).
    adaptive: Option<bool>,
}

/// A started test with its questions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StartTestResponse {
    pub(super) session: TestSessionResponse,
    pub(super) questions: Vec<QuestionResponse>,
    pub(super) total_questions: usize,
    pub(super) current_theta: Option<f64>,
    pub(super) current_se: Option<f64>,
}

/// Starts a test, fixed-form or (`adaptive=true`) adaptive: one in progress per user, 90 days
/// between completed tests, 7 days after abandoning one with 7 or more answers.
#[utoipa::path(
    post,
    path = "/test/start",
    tag = "test",
    operation_id = "start_test_v1_test_start_post",
    security(("HTTPBearer" = [])),
    params(StartQuery),
    responses(
        (status = 200, description = "The session and its questions", body = StartTestResponse),
        (status = 400, description = "A session is active, or the cadence or cooldown applies"),
        (status = 404, description = "No unseen questions are left"),
        (status = 409, description = "Another start won the race"),
    )
)]
pub(super) async fn start_test(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Json<StartTestResponse>, ApiError> {
    let default = i64::from(state.config.test_rules.total_questions);
    let count = query_in_range(
        "question_count",
        query.question_count.unwrap_or(default),
        1,
        Some(100),
    )?;
    if query.adaptive == Some(true) {
        let started = assessment::start_adaptive_test(&state, &current.user).await?;
        return Ok(Json(StartTestResponse {
            session: started.session.into(),
            questions: vec![started.question.into()],
            total_questions: 1,
            current_theta: Some(started.prior_theta),
            current_se: Some(started.se),
        }));
    }
    let started =
        assessment::start_test(&state, &current.user, usize::try_from(count).unwrap_or(25)).await?;
    Ok(Json(StartTestResponse {
        session: started.session.into(),
        total_questions: started.questions.len(),
        questions: schema::questions(started.questions),
        current_theta: None,
        current_se: None,
    }))
}
