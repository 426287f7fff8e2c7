//! `POST /v1/auth/refresh`: a new token pair in the same login.
//!
//! What happens to the presented refresh token depends on `REFRESH_TOKEN_ROTATION`
//! ([`RefreshRotation`]):
//! - `off` (default): nothing. It stays valid for its whole lifetime, as in the old backend,
//!   because the shipped iOS app refreshes with its keychain's older token at every launch and
//!   sometimes twice at once (`ios-client.md`). Logout, logout-all, password reset and account
//!   deletion still revoke it.
//! - `rotate`: it is revoked; presenting it again is a 401, the login goes on.
//! - `rotate_detect_reuse`: it is revoked; presenting it again means it was copied, and the whole
//!   login is revoked.
//!
//! With rotation on, a retry within `REFRESH_TOKEN_REUSE_GRACE_SECONDS` of the rotation (a client
//! that lost the response) gets a new pair instead.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use time::OffsetDateTime;

use super::{TokenRefreshResponse, issue};
use crate::auth::audit;
use crate::auth::session::{AuthError, Verified, bearer, verify};
use crate::auth::tokens::TokenKind;
use crate::config::RefreshRotation;
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
        (status = 401, description = "Invalid, expired or revoked refresh token"),
    )
)]
pub(super) async fn refresh(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<TokenRefreshResponse>, ApiError> {
    let token = bearer(&parts)?;
    let rotation = state.config.security.refresh_token_rotation;
    let rotating = rotation != RefreshRotation::Off;
    // Without rotation a revoked token (logout with it in the body) is simply refused.
    let verified = verify(&state, token, TokenKind::Refresh, rotating).await?;
    if rotating {
        rotate(&state, &verified, rotation).await?;
    }

    // The old backend's tokens have no `sid`: their session is named after the token, so a
    // logout from a refreshed pair revokes the old token too.
    let sid = verified.claims.session_id();
    let issued = issue(&state, verified.user, &sid)?;
    Ok(Json(TokenRefreshResponse {
        access_token: issued.access_token,
        refresh_token: issued.refresh_token,
        token_type: issued.token_type,
        user: issued.user,
    }))
}

/// Revokes the presented token; refuses it when it was revoked before, outside the grace period
/// (and with reuse detection, revokes its whole login then).
async fn rotate(
    state: &AppState,
    verified: &Verified,
    rotation: RefreshRotation,
) -> Result<(), ApiError> {
    let now = crate::time::now();
    let claims = &verified.claims;
    let rotated_now = match verified.token_revoked_at {
        Some(_) => false,
        None => {
            state
                .revocations
                .revoke(&claims.token_key(), now, claims.expires_at())
                .await?
        }
    };
    if rotated_now {
        return Ok(());
    }
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
    let grace = state.config.security.refresh_reuse_grace;
    let within_grace = |revoked_at: OffsetDateTime| !grace.is_zero() && now - revoked_at <= grace;
    if within_grace(revoked_at) {
        return Ok(());
    }
    if rotation == RefreshRotation::RotateDetectReuse {
        let until = now + state.tokens.refresh_ttl();
        state
            .revocations
            .revoke(&claims.session_key(), now, until)
            .await?;
        audit::refresh_reuse(verified.user.id);
    }
    Err(AuthError::Revoked.into())
}
