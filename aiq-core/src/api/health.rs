//! `GET /v1/health` (readiness, with a database ping) and `GET /v1/ping` (liveness).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::log_budget::{LogBudget, limited};
use crate::state::AppState;

/// How long the health check waits for the database before calling it down.
pub(crate) const DB_PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The health document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `healthy`, or `unhealthy` when the database does not answer.
    status: &'static str,
    /// When the check ran (RFC 3339, UTC).
    timestamp: String,
    /// `APP_NAME`.
    service: String,
    /// `APP_VERSION`.
    version: String,
    /// `ok` or `error`.
    database: &'static str,
    /// Why the database check failed; outside production only.
    #[serde(skip_serializing_if = "Option::is_none")]
    database_error: Option<String>,
}

/// Health probes come as often as anyone sends them; while the database is down each fails.
static PING_FAILED: LogBudget = LogBudget::new(5);

/// Health check: 200 when the database answers within 3 seconds, 503 otherwise, so a load
/// balancer can take the instance out of rotation.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health_check_v1_health_get",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The database is unreachable", body = Health),
    )
)]
pub(super) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let outcome = match tokio::time::timeout(DB_PING_TIMEOUT, state.storage.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            limited!(PING_FAILED, error, %error, "health check: database ping failed");
            Err(error.to_string())
        }
        Err(_) => {
            limited!(PING_FAILED, error, "health check: database ping timed out");
            Err(format!(
                "database ping timed out after {}s",
                DB_PING_TIMEOUT.as_secs_f32()
            ))
        }
    };
    let app = &state.config.app;
    let (status, database, database_error) = match outcome {
        Ok(()) => (StatusCode::OK, "ok", None),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            (!app.environment.is_production()).then_some(reason),
        ),
    };
    let body = Health {
        status: if status.is_success() {
            "healthy"
        } else {
            "unhealthy"
        },
        timestamp: crate::time::format_rfc3339(crate::time::now()),
        service: app.name.clone(),
        version: app.version.clone(),
        database,
        database_error,
    };
    (status, Json(body))
}

/// The liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Pong {
    /// Always `pong`.
    message: &'static str,
}

/// Liveness check: answers without touching the database.
#[utoipa::path(
    get,
    path = "/ping",
    tag = "health",
    operation_id = "ping_v1_ping_get",
    responses((status = 200, description = "Alive", body = Pong))
)]
pub(super) async fn ping() -> Json<Pong> {
    Json(Pong { message: "pong" })
}
