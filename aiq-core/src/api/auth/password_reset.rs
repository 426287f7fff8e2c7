//! `POST /v1/auth/request-password-reset` and `POST /v1/auth/reset-password`.
//!
//! A reset token is 32 random bytes (43 URL-safe characters), mailed as a link and stored only
//! as its SHA-256, valid for 30 minutes and once. The request endpoint answers the same way,
//! at once, whether or not the account exists: the lookup and the mail happen after the
//! response, so neither the answer nor its timing reveals an account.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::audit;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::{LookupEmail, NewPassword, Token};
use crate::mail::Message;
use crate::state::AppState;
use crate::storage::{GUEST_USER_ID, NewPasswordReset, PasswordChange};

/// How long a reset link works.
pub(crate) const RESET_TOKEN_TTL: time::Duration = time::Duration::minutes(30);
/// Unused, unexpired reset tokens one user may have.
pub(crate) const MAX_ACTIVE_RESET_TOKENS: usize = 10;

const REQUESTED: &str =
    "If an account exists with that email, you will receive password reset instructions.";
const INVALID_TOKEN: &str = "Invalid or expired password reset token. Please request a new one.";

/// Which account to reset.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct PasswordResetRequest {
    #[schema(value_type = String)]
    email: LookupEmail,
}

/// A confirmation message.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PasswordResetResponse)]
pub(super) struct MessageResponse {
    message: &'static str,
}

/// The token from the link and the new password.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct PasswordResetConfirm {
    #[schema(value_type = String, min_length = 1, max_length = 500)]
    token: Token<1, 500>,
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    new_password: NewPassword,
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(e.to_string().into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a token for `email` if it has an account and mails the link.
async fn issue_and_mail(state: AppState, email: LookupEmail) -> Result<(), crate::BoxError> {
    let Some(user) = state.storage.user_by_email(email.as_str()).await? else {
        audit::password_reset_initiated(email.as_str(), false);
        return Ok(());
    };
    if user.id == GUEST_USER_ID {
        return Ok(());
    }
    let token = new_token().map_err(|e| e.to_string())?;
    let now = crate::time::now();
    let created = state
        .storage
        .create_password_reset(
            NewPasswordReset {
                user_id: user.id,
                token_hash: token_hash(&token),
                created_at: now,
                expires_at: now + RESET_TOKEN_TTL,
            },
            MAX_ACTIVE_RESET_TOKENS,
        )
        .await?;
    audit::password_reset_initiated(&user.email, created);
    if !created {
        return Ok(());
    }
    let link = format!("{}{token}", state.config.security.password_reset_url_base);
    let message = Message {
        to: user.email.clone(),
        subject: format!("Reset your {} password", state.config.app.name),
        text_body: format!(
            "Someone asked to reset the password of your {} account.\n\n\
             Open this link within 30 minutes to choose a new password:\n{link}\n\n\
             If it was not you, ignore this mail: your password stays as it is.\n",
            state.config.app.name
        ),
    };
    state.mailer.send(message).await?;
    Ok(())
}

/// Mails a password reset link if the account exists; the answer is the same either way.
#[utoipa::path(
    post,
    path = "/auth/request-password-reset",
    tag = "auth",
    operation_id = "request_password_reset_v1_auth_request_password_reset_post",
    request_body = PasswordResetRequest,
    responses(
        (status = 200, description = "Always the same message", body = MessageResponse),
        (status = 422, description = "Not an email address"),
    )
)]
pub(super) async fn request_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Json<MessageResponse> {
    tokio::spawn(async move {
        if let Err(error) = issue_and_mail(state, body.email).await {
            tracing::error!(%error, "password reset request failed");
        }
    });
    Json(MessageResponse { message: REQUESTED })
}

/// Sets a new password with a token from a reset link, and signs out every session.
#[utoipa::path(
    post,
    path = "/auth/reset-password",
    tag = "auth",
    operation_id = "reset_password_v1_auth_reset_password_post",
    request_body = PasswordResetConfirm,
    responses(
        (status = 200, description = "Password changed", body = MessageResponse),
        (status = 400, description = "Invalid or expired token"),
        (status = 422, description = "Invalid field"),
    )
)]
pub(super) async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirm>,
) -> Result<Json<MessageResponse>, ApiError> {
    let password_hash = state
        .passwords
        .hash(body.new_password.into_string())
        .await
        .map_err(ApiError::Internal)?;
    let change = PasswordChange {
        password_hash,
        at: crate::time::now(),
    };
    match state
        .storage
        .redeem_password_reset(&token_hash(body.token.as_str()), change)
        .await?
    {
        Some(user) => {
            audit::password_reset_completed(user.id);
            Ok(Json(MessageResponse {
                message: "Password has been reset successfully.",
            }))
        }
        None => {
            audit::password_reset_failed("invalid, used or expired token");
            Err(ApiError::BadRequest(INVALID_TOKEN.into()))
        }
    }
}
