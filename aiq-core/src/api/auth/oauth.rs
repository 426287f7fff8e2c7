//! `POST /v1/auth/oauth/apple` and `POST /v1/auth/oauth/google`.
//!
//! The app sends the provider's identity token; once it is verified
//! ([`OAuthVerifier`](crate::oauth::OAuthVerifier)) the caller is, in order: the user already
//! linked to that identity; the user with the token's email, if the provider verified that email
//! (the identity is then linked); or a new user without a password, again only for a verified
//! email. Tokens are issued as at login.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{TokenResponse, issue};
use crate::auth::audit;
use crate::auth::tokens::Tokens;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::Token;
use crate::mail::Message;
use crate::oauth::{OAuthError, Provider, VerifiedIdentity};
use crate::state::AppState;
use crate::storage::{Conflict, NewUser, StorageError, User};

/// The password hash of accounts created through a provider: not a hash, so no password can
/// match it until the user sets one with a reset.
const NO_PASSWORD: &str = "!oauth";

const EMAIL_TAKEN: &str =
    "An account already exists for this email. Sign in with your password to link this provider.";
const NO_EMAIL: &str = "OAuth provider did not return an email; cannot create an account.";
const UNVERIFIED_EMAIL: &str =
    "OAuth provider did not verify this email; cannot create an account.";

/// An Apple identity token and the raw nonce the app generated for this sign-in.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct AppleOAuthTokenExchange {
    #[schema(value_type = String, min_length = 1, max_length = 8192)]
    identity_token: Token<1, 8192>,
    #[schema(value_type = String, min_length = 1, max_length = 256)]
    nonce: Token<1, 256>,
}

/// A Google identity token.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct OAuthTokenExchange {
    #[schema(value_type = String, min_length = 1, max_length = 8192)]
    identity_token: Token<1, 8192>,
}

fn verification_error(err: OAuthError) -> ApiError {
    match err {
        OAuthError::KeysUnavailable(reason) => ApiError::Unavailable(reason.into()),
        other => {
            tracing::info!(target: "security", event = "security.token_validation_failed", reason = %other, "identity token refused");
            ApiError::Unauthorized("Invalid authentication token.".into())
        }
    }
}

/// Finds or creates the user an identity names.
async fn resolve(state: &AppState, identity: &VerifiedIdentity) -> Result<User, ApiError> {
    let provider = identity.provider.as_str();
    // Two attempts: a concurrent sign-in of the same identity may create it between our read
    // and our write, and the second read then finds it.
    for _ in 0..2 {
        if let Some(user) = state
            .storage
            .user_by_oauth_identity(provider, &identity.subject)
            .await?
        {
            return Ok(user);
        }
        let email = identity
            .email
            .as_deref()
            .ok_or_else(|| ApiError::BadRequest(NO_EMAIL.into()))?;
        if let Some(existing) = state.storage.user_by_email(email).await? {
            if !identity.email_verified {
                return Err(ApiError::Conflict(EMAIL_TAKEN.into()));
            }
            let now = crate::time::now();
            match state
                .storage
                .link_oauth_identity(existing.id, provider, &identity.subject, now)
                .await
            {
                Ok(()) => {
                    audit::oauth_identity_linked(existing.id, provider);
                    notify_linked(state, &existing, identity.provider);
                    return Ok(existing);
                }
                Err(StorageError::Conflict(Conflict::OAuthIdentity)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        // An account is only created for an address the provider vouches for: otherwise whoever
        // controls an identity naming someone else's address would own that person's account
        // as soon as they register it.
        if !identity.email_verified {
            return Err(ApiError::BadRequest(UNVERIFIED_EMAIL.into()));
        }
        let mut new_user = NewUser::with_password(email, NO_PASSWORD);
        new_user.password_login_enabled = false;
        match state
            .storage
            .create_oauth_user(new_user, provider, &identity.subject)
            .await
        {
            Ok(user) => {
                audit::account_created(user.id, &user.email, provider);
                metrics::counter!(crate::telemetry::USERS_REGISTRATIONS).increment(1);
                return Ok(user);
            }
            Err(StorageError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Conflict(EMAIL_TAKEN.into()))
}

/// Tells the account owner, in the background, that a provider was linked to their account.
fn notify_linked(state: &AppState, user: &User, provider: Provider) {
    let mailer = state.mailer.clone();
    let message = Message {
        to: user.email.clone(),
        subject: format!(
            "{provider} sign-in linked to your {} account",
            state.config.app.name
        ),
        text_body: format!(
            "You can now sign in to {} with {provider}.\n\n\
             If this was not you, reset your password and contact support.\n",
            state.config.app.name
        ),
    };
    tokio::spawn(async move {
        if let Err(error) = mailer.send(message).await {
            tracing::warn!(%error, "could not send the provider-linked notice");
        }
    });
}

async fn sign_in(state: &AppState, identity: VerifiedIdentity) -> Result<TokenResponse, ApiError> {
    let user = resolve(state, &identity).await?;
    let user = state
        .storage
        .record_login(user.id, crate::time::now(), &user.password_hash, None)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("User not found.".into()))?;
    audit::login_success(user.id, &user.email, identity.provider.as_str());
    metrics::counter!(crate::telemetry::AUTH_LOGIN, "auth.success" => "true").increment(1);
    issue(state, user, &Tokens::new_session())
}

/// Signs in with an Apple identity token.
#[utoipa::path(
    post,
    path = "/auth/oauth/apple",
    tag = "auth",
    operation_id = "oauth_apple_v1_auth_oauth_apple_post",
    request_body = AppleOAuthTokenExchange,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "The provider gave no email for a new account"),
        (status = 401, description = "Invalid authentication token."),
        (status = 409, description = "The email belongs to a password account"),
        (status = 422, description = "Invalid field"),
        (status = 503, description = "The provider's keys cannot be fetched"),
    )
)]
pub(super) async fn apple(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AppleOAuthTokenExchange>,
) -> Result<Json<TokenResponse>, ApiError> {
    let identity = state
        .oauth
        .verify_apple(body.identity_token.as_str(), body.nonce.as_str())
        .await
        .map_err(verification_error)?;
    Ok(Json(sign_in(&state, identity).await?))
}

/// Signs in with a Google identity token.
#[utoipa::path(
    post,
    path = "/auth/oauth/google",
    tag = "auth",
    operation_id = "oauth_google_v1_auth_oauth_google_post",
    request_body = OAuthTokenExchange,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "The provider gave no email for a new account"),
        (status = 401, description = "Invalid authentication token."),
        (status = 409, description = "The email belongs to a password account"),
        (status = 422, description = "Invalid field"),
        (status = 503, description = "The provider's keys cannot be fetched"),
    )
)]
pub(super) async fn google(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OAuthTokenExchange>,
) -> Result<Json<TokenResponse>, ApiError> {
    let identity = state
        .oauth
        .verify_google(body.identity_token.as_str())
        .await
        .map_err(verification_error)?;
    Ok(Json(sign_in(&state, identity).await?))
}
