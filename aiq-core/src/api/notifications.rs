//! `POST`/`DELETE /v1/notifications/register-device` and `GET`/`PUT
//! /v1/notifications/preferences`.
//!
//! The device token and the preference are independent: a user may keep a token with
//! notifications disabled, or enable them before any device registered.

use std::fmt;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::storage::ProfileUpdate;

/// An APNs device token, checked in the old backend's order: 64–200 characters as sent,
/// then trimmed, then hexadecimal only; kept lowercased.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
struct DeviceToken(String);

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(***)")
    }
}

impl TryFrom<String> for DeviceToken {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let length = raw.chars().count();
        if length < 64 {
            return Err("String should have at least 64 characters".into());
        }
        if length > 200 {
            return Err("String should have at most 200 characters".into());
        }
        let token = raw.trim();
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("Invalid device token format. Must be hexadecimal.".into());
        }
        Ok(Self(token.to_ascii_lowercase()))
    }
}

/// An APNs device token to register.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct DeviceTokenRegister {
    /// APNs device token (64-200 characters).
    #[schema(value_type = String, min_length = 64, max_length = 200)]
    device_token: DeviceToken,
}

/// The outcome of registering or unregistering a device.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeviceTokenResponse {
    /// Whether registration was successful.
    success: bool,
    /// Response message.
    message: &'static str,
}

/// The push preference to set.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct NotificationPreferences {
    /// Enable or disable push notifications.
    notification_enabled: bool,
}

/// The push preference.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct NotificationPreferencesResponse {
    /// Current notification preference.
    notification_enabled: bool,
    /// Response message.
    message: &'static str,
}

fn user_gone() -> ApiError {
    ApiError::Unauthorized("User not found.".into())
}

/// Registers the device that should receive the signed-in user's push notifications.
#[utoipa::path(
    post,
    path = "/notifications/register-device",
    tag = "notifications",
    operation_id = "register_device_token_v1_notifications_register_device_post",
    security(("HTTPBearer" = [])),
    request_body = DeviceTokenRegister,
    responses(
        (status = 200, description = "Registered", body = DeviceTokenResponse),
        (status = 401, description = "Not authenticated"),
        (status = 422, description = "Invalid device token"),
    )
)]
pub(super) async fn register_device(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<DeviceTokenRegister>,
) -> Result<Json<DeviceTokenResponse>, ApiError> {
    let token = body.device_token.0;
    if !state
        .storage
        .set_device_token(current.user.id, Some(&token))
        .await?
    {
        return Err(user_gone());
    }
    tracing::info!(user_id = current.user.id, "device token registered");
    Ok(Json(DeviceTokenResponse {
        success: true,
        message: "Device token registered successfully",
    }))
}

/// Forgets the signed-in user's device (also when none was registered).
#[utoipa::path(
    delete,
    path = "/notifications/register-device",
    tag = "notifications",
    operation_id = "unregister_device_token_v1_notifications_register_device_delete",
    security(("HTTPBearer" = [])),
    responses(
        (status = 200, description = "Unregistered", body = DeviceTokenResponse),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn unregister_device(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<DeviceTokenResponse>, ApiError> {
    if !state
        .storage
        .set_device_token(current.user.id, None)
        .await?
    {
        return Err(user_gone());
    }
    Ok(Json(DeviceTokenResponse {
        success: true,
        message: "Device token unregistered successfully",
    }))
}

/// Whether the signed-in user wants push notifications.
#[utoipa::path(
    get,
    path = "/notifications/preferences",
    tag = "notifications",
    operation_id = "get_notification_preferences_v1_notifications_preferences_get",
    security(("HTTPBearer" = [])),
    responses(
        (status = 200, description = "The preference", body = NotificationPreferencesResponse),
        (status = 401, description = "Not authenticated"),
    )
)]
pub(super) async fn get_preferences(current: CurrentUser) -> Json<NotificationPreferencesResponse> {
    Json(NotificationPreferencesResponse {
        notification_enabled: current.user.notification_enabled,
        message: "Notification preferences retrieved successfully",
    })
}

/// Turns the signed-in user's push notifications on or off.
#[utoipa::path(
    put,
    path = "/notifications/preferences",
    tag = "notifications",
    operation_id = "update_notification_preferences_v1_notifications_preferences_put",
    security(("HTTPBearer" = [])),
    request_body = NotificationPreferences,
    responses(
        (status = 200, description = "The new preference", body = NotificationPreferencesResponse),
        (status = 401, description = "Not authenticated"),
        (status = 422, description = "Invalid body"),
    )
)]
pub(super) async fn update_preferences(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<NotificationPreferences>,
) -> Result<Json<NotificationPreferencesResponse>, ApiError> {
    let update = ProfileUpdate {
        notification_enabled: Some(body.notification_enabled),
        ..ProfileUpdate::default()
    };
    let user = state
        .storage
        .update_profile(current.user.id, update)
        .await?
        .ok_or_else(user_gone)?;
    Ok(Json(NotificationPreferencesResponse {
        notification_enabled: user.notification_enabled,
        message: "Notification preferences updated successfully",
    }))
}
