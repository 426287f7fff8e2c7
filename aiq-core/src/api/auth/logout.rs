//! `POST /v1/auth/logout` and `POST /v1/auth/logout-all`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::session::verify;
use crate::auth::tokens::TokenKind;
use crate::auth::{CurrentUser, audit};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::Token;
use crate::log_budget::{LogBudget, limited};
use crate::push::{Notification, deliver};
use crate::state::AppState;

/// Optionally, the refresh token to revoke along with the access token.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(super) struct LogoutRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000)]
    refresh_token: Option<Token<1, 2000>>,
}

/// Signs this login out: the access token, the login session it belongs to (so its refresh
/// token too) and, when given and owned by the caller, the refresh token in the body.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout_user_v1_auth_logout_post",
    security(("HTTPBearer" = [])),
    request_body(content = Option<LogoutRequest>),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn logout(
    State(state): State<AppState>,
    current: CurrentUser,
    body: Option<ApiJson<LogoutRequest>>,
) -> Result<StatusCode, ApiError> {
    let now = crate::time::now();
    let claims = &current.claims;
    state
        .revocations
        .revoke(&claims.token_key(), now, claims.expires_at())
        .await?;
    let until = now + state.tokens.refresh_ttl();
    state
        .revocations
        .revoke(&claims.session_key(), now, until)
        .await?;
    if let Some(refresh) = body.and_then(|ApiJson(body)| body.refresh_token) {
        match verify(&state, refresh.as_str(), TokenKind::Refresh, true).await {
            Ok(verified) if verified.user.id == current.user.id => {
                let refresh_claims = &verified.claims;
                state
                    .revocations
                    .revoke(
                        &refresh_claims.token_key(),
                        now,
                        refresh_claims.expires_at(),
                    )
                    .await?;
            }
            _ => {
                static IGNORED: LogBudget = LogBudget::new(5);
                limited!(
                    IGNORED,
                    info,
                    user_id = current.user.id,
                    "logout: ignored a refresh token that is invalid or not the caller's"
                );
            }
        }
    }
    audit::token_revoked(current.user.id, "session");
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out every login of the caller: every token issued before this call is revoked, and
/// none issued after it is affected. A user with notifications on and a registered device gets
/// a "Security Alert" push, sent in the background: it never delays or fails the request.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    operation_id = "logout_all_devices_v1_auth_logout_all_post",
    security(("HTTPBearer" = [])),
    responses(
        (status = 204, description = "Every session signed out"),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn logout_all(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<StatusCode, ApiError> {
    // Bumping the generation revokes the caller's token too, in one write: a failure leaves
    // nothing half done and the call can simply be retried.
    let user = state
        .storage
        .revoke_all_tokens(current.user.id, crate::time::now())
        .await?;
    audit::token_revoked(current.user.id, "all");
    if let Some(user) = user
        && user.notification_enabled
        && let Some(token) = user.apns_device_token.filter(|token| !token.is_empty())
    {
        tokio::spawn(async move {
            let notification = Notification::logout_all();
            let sent = deliver(
                state.storage.as_ref(),
                state.push.as_ref(),
                user.id,
                &token,
                &notification,
            )
            .await;
            if let Err(error) = sent {
                tracing::warn!(user_id = user.id, %error, "logout-all push: storage failed");
            }
        });
    }
    Ok(StatusCode::NO_CONTENT)
}
