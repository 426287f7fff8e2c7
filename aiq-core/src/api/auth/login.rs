//! `POST /v1/auth/login`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{TokenResponse, issue};
use crate::auth::audit;
use crate::auth::password::Verified;
use crate::auth::tokens::Tokens;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::{LoginPassword, LookupEmail};
use crate::state::AppState;

const INVALID: &str = "Invalid email or password.";

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UserLogin {
    /// Normalised exactly as at registration.
    #[schema(value_type = String)]
    email: LookupEmail,
    #[schema(value_type = String)]
    password: LoginPassword,
}

/// Signs in with email and password.
///
/// An unknown email, a wrong password and an account without password login all answer the
/// same 401, no sooner than the failed-login floor after the request arrived (400 ms, more
/// under load: `auth::login_floor`), so accounts (and which of them still have a legacy bcrypt
/// hash) cannot be discovered by timing.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login_user_v1_auth_login_post",
    request_body = UserLogin,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Invalid email or password."),
        (status = 422, description = "Invalid field"),
    )
)]
pub(super) async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserLogin>,
) -> Result<Json<TokenResponse>, ApiError> {
    let started = tokio::time::Instant::now();
    let password = body.password.as_str().to_owned();
    let user = state.storage.user_by_email(body.email.as_str()).await?;
    let verified = match &user {
        Some(user) if user.password_login_enabled => state
            .passwords
            .verify(password, user.password_hash.clone())
            .await
            .map_err(ApiError::Internal)?,
        _ => state
            .passwords
            .verify_nothing(password)
            .await
            .map_err(ApiError::Internal)?,
    };
    state.login_floor.record(started.elapsed());
    let (Some(user), Verified::Valid { upgrade }) = (user, verified) else {
        audit::login_failed(body.email.as_str(), "invalid credentials");
        metrics::counter!(crate::telemetry::AUTH_LOGIN, "auth.success" => "false").increment(1);
        tokio::time::sleep_until(started + state.login_floor.current()).await;
        return Err(ApiError::Unauthorized(INVALID.into()));
    };
    let user = state
        .storage
        .record_login(user.id, crate::time::now(), &user.password_hash, upgrade)
        .await?
        .ok_or_else(|| ApiError::Unauthorized(INVALID.into()))?;
    audit::login_success(user.id, &user.email, "password");
    metrics::counter!(crate::telemetry::AUTH_LOGIN, "auth.success" => "true").increment(1);
    Ok(Json(issue(&state, user, &Tokens::new_session())?))
}
