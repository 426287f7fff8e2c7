//! `/v1/test/*` and `/v1/questions/unseen`: starting, inspecting, abandoning and submitting
//! fixed-form and adaptive tests, results and history, and guest tests. The rules live in
//! [`crate::assessment`]; these handlers parse, call and shape.

mod adaptive;
mod guest;
mod results;
mod schema;
mod session;
mod start;
mod submit;
mod unseen;

use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::assessment::Answered;
use crate::input::{Answer, PositiveId, Seconds};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(unseen::unseen_questions))
        .routes(routes!(start::start_test))
        .routes(routes!(session::get_session))
        .routes(routes!(session::active_session))
        .routes(routes!(session::abandon))
        .routes(routes!(submit::submit))
        .routes(routes!(adaptive::next))
        .routes(routes!(adaptive::progress))
        .routes(routes!(results::get_result))
        .routes(routes!(results::history))
        .routes(routes!(guest::start))
        .routes(routes!(guest::submit))
        .routes(routes!(guest::claim))
}

/// One answer in a submission.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ResponseItem {
    /// The question (> 0).
    #[schema(value_type = i64, minimum = 1)]
    question_id: PositiveId,
    /// The option text chosen; compared trimmed and case-insensitively.
    #[schema(value_type = String)]
    user_answer: Answer,
    /// Seconds spent on the question (>= 0).
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 0)]
    time_spent_seconds: Option<Seconds>,
}

fn answered(items: Vec<ResponseItem>) -> Vec<Answered> {
    items
        .into_iter()
        .map(|item| Answered {
            question_id: item.question_id.get(),
            answer: item.user_answer,
            time_spent_seconds: item.time_spent_seconds.map(Seconds::get),
        })
        .collect()
}
