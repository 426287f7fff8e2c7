//! `POST /v1/analytics/events`: batches of client analytics events.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::MaybeUser;
use crate::error::{ApiError, ValidationIssue};
use crate::extract::ApiJson;
use crate::input::Bounded;
use crate::state::AppState;
use crate::storage::NewClientEvent;

/// Events per batch.
const MAX_EVENTS: usize = 100;

/// An event name: stripped, 1-100 characters, letters and digits apart from `.` and `_`;
/// kept lowercased.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct EventName(String);

impl TryFrom<String> for EventName {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 {
            return Err("String should have at least 1 character");
        }
        if length > 100 {
            return Err("String should have at most 100 characters");
        }
        let rest: String = name.chars().filter(|c| !matches!(c, '.' | '_')).collect();
        if rest.is_empty() || !rest.chars().all(char::is_alphanumeric) {
            return Err(
                "Event name must contain only alphanumeric characters, dots, and underscores",
            );
        }
        Ok(Self(name.to_lowercase()))
    }
}

/// One event.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnalyticsEvent {
    /// `user.login`, `test.started`, ...; letters, digits, `.` and `_`.
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    event_name: EventName,
    /// When it happened, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    timestamp: OffsetDateTime,
    /// Free-form details.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A batch of events from the app.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnalyticsEventsBatch {
    /// 1 to 100 events.
    events: Vec<AnalyticsEvent>,
    /// Default `ios`.
    #[serde(default)]
    #[schema(value_type = String, default = "ios", max_length = 20)]
    client_platform: Option<Bounded<1, 20>>,
    #[schema(value_type = String, min_length = 1, max_length = 20)]
    app_version: Bounded<1, 20>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 100)]
    device_id: Option<Bounded<0, 100>>,
}

/// How many events were stored.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnalyticsEventsResponse {
    success: bool,
    events_received: usize,
    message: String,
}

/// Stores a batch of app events, with the user when a valid token comes along (signing in is
/// optional; a bad token counts as anonymous).
#[utoipa::path(
    post,
    path = "/analytics/events",
    tag = "analytics",
    operation_id = "submit_analytics_events_v1_analytics_events_post",
    security((), ("HTTPBearer" = [])),
    request_body = AnalyticsEventsBatch,
    responses(
        (status = 200, description = "Stored", body = AnalyticsEventsResponse),
        (status = 422, description = "An invalid batch (0 or more than 100 events, a bad name)"),
    )
)]
pub(super) async fn submit(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    ApiJson(batch): ApiJson<AnalyticsEventsBatch>,
) -> Result<Json<AnalyticsEventsResponse>, ApiError> {
    let count = batch.events.len();
    if count == 0 || count > MAX_EVENTS {
        let (msg, kind) = if count == 0 {
            (
                "List should have at least 1 item after validation, not 0",
                "too_short",
            )
        } else {
            (
                "List should have at most 100 items after validation",
                "too_long",
            )
        };
        return Err(ApiError::Validation(vec![ValidationIssue::new(
            ["body", "events"],
            msg,
            kind,
        )]));
    }
    let received_at = crate::time::now();
    let user_id = user.map(|user| user.id);
    let platform = batch
        .client_platform
        .map_or_else(|| "ios".to_owned(), |platform| platform.as_str().to_owned());
    let app_version = batch.app_version.as_str().to_owned();
    let device_id = batch.device_id.map(|id| id.as_str().to_owned());
    let events: Vec<NewClientEvent> = batch
        .events
        .into_iter()
        .map(|event| NewClientEvent {
            event_name: event.event_name.0,
            client_timestamp: event.timestamp,
            received_at,
            user_id,
            properties: event.properties.map(serde_json::Value::Object),
            client_platform: platform.clone(),
            app_version: app_version.clone(),
            device_id: device_id.clone(),
        })
        .collect();
    state.storage.insert_client_events(&events).await?;
    Ok(Json(AnalyticsEventsResponse {
        success: true,
        events_received: count,
        message: format!("Successfully received {count} analytics events"),
    }))
}

#[cfg(test)]
mod tests {
    use super::EventName;

    #[test]
    fn names_are_stripped_lowercased_and_checked() {
        let name = EventName::try_from("  Test.Started_Now ".to_owned()).unwrap();
        assert_eq!(name.0, "test.started_now");
        for bad in ["", "   ", "._", "user login", "drop;table", "a-b"] {
            assert!(EventName::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
        assert!(EventName::try_from("a".repeat(101)).is_err());
    }
}
