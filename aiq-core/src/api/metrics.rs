//! `GET /v1/metrics`: the Prometheus exposition, when the deployment switched it on.
//!
//! Kept out of the OpenAPI document and the rate limiter, as the old backend did. The library
//! only records metrics; the binary that installs a recorder hands over a function rendering it
//! ([`AiqBuilder::metrics_renderer`](crate::AiqBuilder::metrics_renderer)). Prefer serving it on a
//! private network (Railway's internal domain): it needs no authentication and carries no
//! personal data (labels are route templates, never ids). With `METRICS_PORT` set the binary
//! serves the exposition on that port, and this path answers 404 like any unknown one.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    if state.config.otel.metrics_port.is_some() {
        return ApiError::NotFound("Not Found".into()).into_response();
    }
    if !state.config.otel.prometheus_enabled {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            "# Prometheus endpoint not enabled (set PROMETHEUS_METRICS_ENABLED=true)\n",
        )
            .into_response();
    }
    match &state.metrics_renderer {
        Some(render) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            "# Metrics not available: no metrics recorder is installed\n",
        )
            .into_response(),
    }
}
