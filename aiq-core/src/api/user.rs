//! `GET`/`PUT /v1/user/profile` and `DELETE /v1/user/delete-account`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{CurrentUser, audit};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::input::PersonName;
use crate::state::AppState;
use crate::storage::{EducationLevel, ProfileUpdate, User};

/// A user as the API shows it (no hashes, tokens or internal flags).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserResponse {
    id: i64,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_login_at: Option<OffsetDateTime>,
    notification_enabled: bool,
    is_admin: bool,
    birth_year: Option<i32>,
    education_level: Option<EducationLevel>,
    country: Option<String>,
    region: Option<String>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            created_at: user.created_at,
            last_login_at: user.last_login_at,
            notification_enabled: user.notification_enabled,
            is_admin: user.is_admin,
            birth_year: user.birth_year,
            education_level: user.education_level,
            country: user.country,
            region: user.region,
        }
    }
}

/// The signed-in user's profile.
#[utoipa::path(
    get,
    path = "/user/profile",
    tag = "user",
    operation_id = "get_user_profile_v1_user_profile_get",
    security(("HTTPBearer" = [])),
    responses(
        (status = 200, description = "The profile", body = UserResponse),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn get_profile(current: CurrentUser) -> Json<UserResponse> {
    Json(current.user.into())
}

/// Distinguishes a field that is absent (leave it) from one that is `null` (clear it).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Fields to change; absent fields stay as they are, `null` clears a name.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct UserProfileUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    first_name: Option<Option<PersonName>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    last_name: Option<Option<PersonName>>,
    #[serde(default)]
    notification_enabled: Option<bool>,
}

/// Updates the signed-in user's names and push preference; the email cannot change.
#[utoipa::path(
    put,
    path = "/user/profile",
    tag = "user",
    operation_id = "update_user_profile_v1_user_profile_put",
    security(("HTTPBearer" = [])),
    request_body = UserProfileUpdate,
    responses(
        (status = 200, description = "The updated profile", body = UserResponse),
        (status = 401, description = "Not authenticated"),
        (status = 422, description = "Invalid field"),
    )
)]
pub(super) async fn update_profile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<UserProfileUpdate>,
) -> Result<Json<UserResponse>, ApiError> {
    let update = ProfileUpdate {
        first_name: body
            .first_name
            .map(|name| name.map(PersonName::into_string)),
        last_name: body.last_name.map(|name| name.map(PersonName::into_string)),
        notification_enabled: body.notification_enabled,
    };
    let user = state
        .storage
        .update_profile(current.user.id, update)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("User not found.".into()))?;
    Ok(Json(user.into()))
}

/// Deletes the signed-in user's account and everything that belongs to it.
#[utoipa::path(
    delete,
    path = "/user/delete-account",
    tag = "user",
    operation_id = "delete_user_account_v1_user_delete_account_delete",
    security(("HTTPBearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn delete_account(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<StatusCode, ApiError> {
    if state.storage.delete_user(current.user.id).await? {
        audit::account_deleted(current.user.id, &current.user.email);
    }
    Ok(StatusCode::NO_CONTENT)
}
