//! `/v1/analytics/*` and `/v1/benchmark/summary`: app events in, read-only analytics out. The
//! shaping lives in [`crate::analytics`]; these handlers parse, call and answer.

mod events;
mod performance;
mod questions;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events::submit))
        .routes(routes!(performance::model_performance))
        .routes(routes!(performance::benchmark_summary))
        .routes(routes!(questions::question_statistics))
        .routes(routes!(questions::all_statistics))
        .routes(routes!(questions::problematic))
}
