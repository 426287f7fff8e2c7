//! `POST /v1/auth/refresh`: rotation with reuse detection.
//!
//! The presented refresh token is revoked and a new pair issued in the same login session.
//! Presenting a revoked refresh token again means it was copied: the whole session is revoked.
//! A retry within `REFRESH_TOKEN_REUSE_GRACE_SECONDS` of the rotation (a client that lost the
//! response) gets a new pair instead.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;

use super::{TokenRefreshResponse, issue};
use crate::auth::audit;
use crate::auth::session::{AuthError, bearer, verify};
use crate::auth::tokens::TokenKind;
use crate::error::ApiError;
use crate::state::AppState;

/// Exchanges the refresh token in `Authorization: Bearer` for a new pair.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    operation_id = "refresh_access_token_v1_auth_refresh_post",
    security(("HTTPBearer" = [])),
    responses(
        (status = 200, description = "A new token pair", body = TokenRefreshResponse),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token"),
    )
)]
pub(super) async fn refresh(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<TokenRefreshResponse>, ApiError> {
    let token = bearer(&parts)?;
    let verified = verify(&state, token, TokenKind::Refresh, true).await?;
    let now = crate::time::now();
    let claims = &verified.claims;
    let within_grace = |revoked_at: time::OffsetDateTime| {
        let grace = state.config.security.refresh_reuse_grace;
        !grace.is_zero() && now - revoked_at <= grace
    };

    let rotated_now = match verified.token_revoked_at {
        Some(_) => false,
        None => {
            state
                .revocations
                .revoke(&claims.token_key(), now, claims.expires_at())
                .await?
        }
    };
    if !rotated_now {
        // Revoked before (or by a concurrent refresh a moment ago).
        let revoked_at = match verified.token_revoked_at {
            Some(at) => at,
            None => state
                .revocations
                .revoked_at(&[&claims.token_key()], now)
                .await?
                .first()
                .copied()
                .flatten()
                .unwrap_or(now),
        };
        if !within_grace(revoked_at) {
            if let Some(session) = claims.session_key() {
                let until = now + state.tokens.refresh_ttl();
                state.revocations.revoke(&session, now, until).await?;
            }
            audit::refresh_reuse(verified.user.id);
            return Err(AuthError::Revoked.into());
        }
    }

    let sid = claims
        .sid
        .clone()
        .unwrap_or_else(crate::auth::tokens::Tokens::new_session);
    let issued = issue(&state, verified.user, &sid)?;
    Ok(Json(TokenRefreshResponse {
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
        token_type: issued.token_type,
        user: issued.user,
    }))
}
