//! `POST /v1/auth/register`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{TokenResponse, issue};
use crate::auth::audit;
use crate::auth::tokens::Tokens;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::{BirthYear, Email, Location, NewPassword, PersonName};
use crate::state::AppState;
use crate::storage::{Conflict, EducationLevel, NewUser, StorageError};

const EMAIL_TAKEN: &str = "Email already registered.";

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UserRegister {
    /// Normalised: whitespace removed, lowercased.
    #[schema(value_type = String)]
    email: Email,
    /// 8–128 characters with a letter and a digit, not a common password, no character four
    /// times in a row.
    #[schema(value_type = String, min_length = 8, max_length = 128)]
    password: NewPassword,
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    first_name: PersonName,
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    last_name: PersonName,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1900)]
    birth_year: Option<BirthYear>,
    #[serde(default)]
    education_level: Option<EducationLevel>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    country: Option<Location>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    region: Option<Location>,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    operation_id = "register_user_v1_auth_register_post",
    request_body = UserRegister,
    responses(
        (status = 201, description = "Registered and signed in", body = TokenResponse),
        (status = 409, description = "Email already registered."),
        (status = 422, description = "Invalid field"),
    )
)]
pub(super) async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserRegister>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    // A taken email is answered before spending a password hash on it; the insert below still
    // settles races.
    if state
        .storage
        .user_by_email(body.email.as_str())
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(EMAIL_TAKEN.into()));
    }
    let password_hash = state
        .passwords
        .hash(body.password.into_string())
        .await
        .map_err(ApiError::Internal)?;
    let new_user = NewUser {
        email: body.email.into_string(),
        password_hash,
        first_name: Some(body.first_name.into_string()),
        last_name: Some(body.last_name.into_string()),
        birth_year: body.birth_year.map(BirthYear::get),
        education_level: body.education_level,
        country: body.country.map(Location::into_string),
        region: body.region.map(Location::into_string),
        password_login_enabled: true,
        created_at: crate::time::now(),
    };
    let user = match state.storage.create_user(new_user).await {
        Ok(user) => user,
        Err(StorageError::Conflict(Conflict::UserEmail)) => {
            return Err(ApiError::Conflict(EMAIL_TAKEN.into()));
        }
        Err(other) => return Err(other.into()),
    };
    audit::account_created(user.id, &user.email, "password");
    metrics::counter!(crate::telemetry::USERS_REGISTRATIONS).increment(1);
    let tokens = issue(&state, user, &Tokens::new_session())?;
    Ok((StatusCode::CREATED, Json(tokens)))
}
