//! `/v1/admin/user-flags/*`: a user's cooldown bypass and admin flag.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Operator, email_parameter};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::storage::{GUEST_USER_ID, User, UserId};

const USER_NOT_FOUND: &str = "User not found.";

/// Whether a user skips the test cadence and cooldown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CooldownBypassStatus {
    user_id: i64,
    bypass_cooldown: bool,
}

/// The cooldown bypass to set.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CooldownBypassUpdate {
    bypass_cooldown: bool,
}

/// Whether a user has the admin flag (it unlocks client-side features only).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdminStatus {
    user_id: i64,
    is_admin: bool,
}

/// The admin flag to set.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdminStatusUpdate {
    is_admin: bool,
}

/// The user, unless it is missing or the guest sentinel (which operators cannot change).
async fn existing_user(state: &AppState, id: UserId) -> Result<User, ApiError> {
    state
        .storage
        .user_by_id(id)
        .await?
        .filter(|user| user.id != GUEST_USER_ID)
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))
}

/// Sets the bypass flag and logs it; 404 when there is no such user.
async fn apply_bypass(
    state: &AppState,
    operator: &Operator,
    id: UserId,
    value: bool,
) -> Result<Json<CooldownBypassStatus>, ApiError> {
    if !state.storage.set_bypass_cooldown(id, value).await? {
        return Err(ApiError::NotFound(USER_NOT_FOUND.into()));
    }
    let action = if value {
        "user.bypass_cooldown.set"
    } else {
        "user.bypass_cooldown.clear"
    };
    operator
        .audit(state, action, format!("user:{id}"), None)
        .await?;
    Ok(Json(CooldownBypassStatus {
        user_id: id,
        bypass_cooldown: value,
    }))
}

/// A user's cooldown bypass flag.
#[utoipa::path(
    get,
    path = "/admin/user-flags/{user_id}/cooldown-bypass",
    tag = "admin",
    operation_id = "get_cooldown_bypass_v1_admin_user_flags__user_id__cooldown_bypass_get",
    security(("AdminToken" = [])),
    params(("user_id" = i64, Path, description = "The user")),
    responses(
        (status = 200, description = "The flag", body = CooldownBypassStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such user"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn get_cooldown_bypass(
    State(state): State<AppState>,
    _operator: Operator,
    ApiPath(user_id): ApiPath<i64>,
) -> Result<Json<CooldownBypassStatus>, ApiError> {
    let user = existing_user(&state, user_id).await?;
    Ok(Json(CooldownBypassStatus {
        user_id: user.id,
        bypass_cooldown: user.bypass_cooldown,
    }))
}

/// Sets or clears a user's cooldown bypass: with it, the user may start a test whatever the
/// cadence says.
#[utoipa::path(
    patch,
    path = "/admin/user-flags/{user_id}/cooldown-bypass",
    tag = "admin",
    operation_id = "set_cooldown_bypass_v1_admin_user_flags__user_id__cooldown_bypass_patch",
    security(("AdminToken" = [])),
    params(("user_id" = i64, Path, description = "The user")),
    request_body = CooldownBypassUpdate,
    responses(
        (status = 200, description = "The flag as set", body = CooldownBypassStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such user"),
        (status = 422, description = "Invalid body"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_cooldown_bypass(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CooldownBypassUpdate>,
) -> Result<Json<CooldownBypassStatus>, ApiError> {
    apply_bypass(&state, &operator, user_id, body.bypass_cooldown).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EmailQuery {
    /// The user's email (matched as the app normalises it: trimmed, lowercased).
    email: String,
}

/// Sets or clears the cooldown bypass of the user with this email.
#[utoipa::path(
    patch,
    path = "/admin/user-flags/by-email/cooldown-bypass",
    tag = "admin",
    operation_id = "set_cooldown_bypass_by_email_v1_admin_user_flags_by_email_cooldown_bypass_patch",
    security(("AdminToken" = [])),
    params(EmailQuery),
    request_body = CooldownBypassUpdate,
    responses(
        (status = 200, description = "The flag as set", body = CooldownBypassStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No user has this email"),
        (status = 422, description = "Invalid email or body"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_cooldown_bypass_by_email(
    State(state): State<AppState>,
    operator: Operator,
    ApiQuery(query): ApiQuery<EmailQuery>,
    ApiJson(body): ApiJson<CooldownBypassUpdate>,
) -> Result<Json<CooldownBypassStatus>, ApiError> {
    let email = email_parameter(query.email, "query")?;
    let user = state
        .storage
        .user_by_email(email.as_str())
        .await?
        .filter(|user| user.id != GUEST_USER_ID)
        .ok_or_else(|| ApiError::NotFound(USER_NOT_FOUND.into()))?;
    apply_bypass(&state, &operator, user.id, body.bypass_cooldown).await
}

/// A user's admin flag.
#[utoipa::path(
    get,
    path = "/admin/user-flags/{user_id}/admin-status",
    tag = "admin",
    operation_id = "get_admin_status_v1_admin_user_flags__user_id__admin_status_get",
    security(("AdminToken" = [])),
    params(("user_id" = i64, Path, description = "The user")),
    responses(
        (status = 200, description = "The flag", body = AdminStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such user"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn get_admin_status(
    State(state): State<AppState>,
    _operator: Operator,
    ApiPath(user_id): ApiPath<i64>,
) -> Result<Json<AdminStatus>, ApiError> {
    let user = existing_user(&state, user_id).await?;
    Ok(Json(AdminStatus {
        user_id: user.id,
        is_admin: user.is_admin,
    }))
}

/// Sets or clears a user's admin flag.
#[utoipa::path(
    patch,
    path = "/admin/user-flags/{user_id}/admin-status",
    tag = "admin",
    operation_id = "set_admin_status_v1_admin_user_flags__user_id__admin_status_patch",
    security(("AdminToken" = [])),
    params(("user_id" = i64, Path, description = "The user")),
    request_body = AdminStatusUpdate,
    responses(
        (status = 200, description = "The flag as set", body = AdminStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such user"),
        (status = 422, description = "Invalid body"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_admin_status(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(user_id): ApiPath<i64>,
    ApiJson(body): ApiJson<AdminStatusUpdate>,
) -> Result<Json<AdminStatus>, ApiError> {
    if !state.storage.set_admin(user_id, body.is_admin).await? {
        return Err(ApiError::NotFound(USER_NOT_FOUND.into()));
    }
    let action = if body.is_admin {
        "user.admin.set"
    } else {
        "user.admin.clear"
    };
    operator
        .audit(&state, action, format!("user:{user_id}"), None)
        .await?;
    Ok(Json(AdminStatus {
        user_id,
        is_admin: body.is_admin,
    }))
}
