//! `POST /v1/analytics/events`: batches of client analytics events.
//!
//! The app retries a refused batch forever at the front of its queue (`ios-client.md`), so one
//! bad event must never refuse the batch: each event is checked on its own, the valid ones are
//! stored (in one write) and the invalid ones dropped and reported in the answer, which the
//! app's decoder accepts as a success. Free text in `properties` is stored with NUL replaced
//! (the rule in `text`). Only a batch whose own fields are wrong (no events, more than 100, a bad
//! `app_version`) is a 422.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::MaybeUser;
use crate::error::{ApiError, LocPart, ValidationIssue};
use crate::extract::{ApiJson, parse_at};
use crate::input::Label;
use crate::state::AppState;
use crate::storage::NewClientEvent;

/// Events per batch.
const MAX_EVENTS: usize = 100;

/// The longest event name, in characters (the column's width).
const MAX_NAME_CHARS: usize = 100;

/// An event name: stripped, 1-100 characters, letters and digits apart from `.` and `_`;
/// kept lowercased (and still at most 100 characters once lowercased).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct EventName(String);

impl TryFrom<String> for EventName {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("String should have at least 1 character");
        }
        let rest: String = name.chars().filter(|c| !matches!(c, '.' | '_')).collect();
        if rest.is_empty() || !rest.chars().all(char::is_alphanumeric) {
            return Err(
                "Event name must contain only alphanumeric characters, dots, and underscores",
            );
        }
        // Lowercasing can lengthen a name ('İ' becomes two characters): measure what is stored.
        let lowered = name.to_lowercase();
        if name.chars().count() > MAX_NAME_CHARS || lowered.chars().count() > MAX_NAME_CHARS {
            return Err("String should have at most 100 characters");
        }
        Ok(Self(lowered))
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
    /// Free-form details (at most 128 levels deep; NUL is stored as U+FFFD).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A batch of events from the app.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnalyticsEventsBatch {
    /// 1 to 100 events, each checked on its own: an invalid one is dropped, not the batch.
    #[schema(value_type = Vec<AnalyticsEvent>)]
    events: Vec<Box<RawValue>>,
    /// Default `ios`.
    #[serde(default)]
    #[schema(value_type = String, default = "ios", max_length = 20)]
    client_platform: Option<Label<1, 20>>,
    #[schema(value_type = String, min_length = 1, max_length = 20)]
    app_version: Label<1, 20>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 100)]
    device_id: Option<Label<0, 100>>,
}

/// How many events were stored, and why any were dropped.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnalyticsEventsResponse {
    success: bool,
    /// Events stored.
    events_received: usize,
    message: String,
    /// Invalid events dropped from the batch (absent when none was).
    #[serde(skip_serializing_if = "is_zero")]
    events_dropped: usize,
    /// For each dropped event, where it failed (`["body", "events", index, field]`) and why, in
    /// the 422 item shape; never the submitted value. Absent when none was dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Option<Vec<Object>>)]
    dropped: Vec<ValidationIssue>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(count: &usize) -> bool {
    *count == 0
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
        (status = 200, description = "The valid events stored; invalid ones dropped and listed", body = AnalyticsEventsResponse),
        (status = 422, description = "An invalid batch (0 or more than 100 events, a bad app_version, client_platform or device_id)"),
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
    let mut events = Vec::with_capacity(count);
    let mut dropped = Vec::new();
    for (index, raw) in batch.events.iter().enumerate() {
        let loc = vec!["body".into(), "events".into(), LocPart::Index(index)];
        let event: AnalyticsEvent = match parse_at(raw.get().as_bytes(), loc) {
            Ok(event) => event,
            Err(issue) => {
                dropped.push(issue);
                continue;
            }
        };
        let properties = event.properties.map(|map| {
            let mut value = serde_json::Value::Object(map);
            crate::text::storable_json(&mut value);
            value
        });
        events.push(NewClientEvent {
            event_name: event.event_name.0,
            client_timestamp: event.timestamp,
            received_at,
            user_id,
            properties,
            client_platform: platform.clone(),
            app_version: app_version.clone(),
            device_id: device_id.clone(),
        });
    }
    if !events.is_empty() {
        state.storage.insert_client_events(&events).await?;
    }
    let stored = events.len();
    let message = if dropped.is_empty() {
        format!("Successfully received {stored} analytics events")
    } else {
        tracing::info!(
            stored,
            dropped = dropped.len(),
            "analytics: invalid events dropped"
        );
        format!(
            "Successfully received {stored} analytics events; dropped {} invalid events",
            dropped.len()
        )
    };
    Ok(Json(AnalyticsEventsResponse {
        success: true,
        events_received: stored,
        message,
        events_dropped: dropped.len(),
        dropped,
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
        // 100 characters that lowercase to 200 do not fit the column.
        assert!(EventName::try_from("İ".repeat(100)).is_err());
        assert!(EventName::try_from("İ".repeat(50)).is_ok());
    }
}
