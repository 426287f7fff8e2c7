//! `/v1/auth/*`: register, login, refresh, logout, password reset, Sign in with Apple/Google.

mod login;
mod logout;
mod oauth;
mod password_reset;
mod refresh;
mod register;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::user::UserResponse;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::User;

/// Tokens for a new login, with the user they belong to.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub(crate) struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    user: UserResponse,
}

/// Tokens from a refresh: the same shape as [`TokenResponse`], named as the iOS client knows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TokenRefresh)]
pub(crate) struct TokenRefreshResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    user: UserResponse,
}

/// Issues a token pair for `user` in login session `sid`.
fn issue(state: &AppState, user: User, sid: &str) -> Result<TokenResponse, ApiError> {
    let pair = state
        .tokens
        .issue(&user, sid, crate::time::now())
        .map_err(ApiError::Internal)?;
    Ok(TokenResponse {
        access_token: pair.access,
        refresh_token: pair.refresh,
        token_type: "bearer",
        user: user.into(),
    })
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout::logout))
        .routes(routes!(logout::logout_all))
        .routes(routes!(password_reset::request_password_reset))
        .routes(routes!(password_reset::reset_password))
        .routes(routes!(oauth::apple))
        .routes(routes!(oauth::google))
}
