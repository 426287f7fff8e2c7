//! Any text the iOS app may send to analytics and feedback (NUL, an unpaired surrogate escaped in
//! JSON, control characters, 100 KB strings, deeply nested properties) is stored, with NUL as
//! U+FFFD, or refused with a 4xx that names the field: never a 500, never half stored. The app
//! retries a failed analytics batch forever, so a batch with bad events stores the good ones.
//! On the in-memory store and on PostgreSQL (which cannot hold NUL).

#[macro_use]
mod support;

use std::sync::Arc;

use aiq_core::storage::Storage;
use aiq_core::{AiqService, Config};
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use support::{Reply, send};

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    // Hundreds of feedback submissions from one address; the limit has its own tests.
    config.rate_limit.enabled = false;
    support::service_with(config, store)
}

both_stores!(
    every_analytics_string_field_takes_hostile_text,
    every_feedback_string_field_takes_hostile_text,
    a_batch_with_bad_events_stores_the_good_ones,
    deeply_nested_properties_drop_one_event_not_the_batch,
);

/// Stands for the hostile value in a template body.
const SLOT: &str = "\"<<slot>>\"";

/// The hostile values: a name, and the JSON text of the string.
fn hostile_values() -> Vec<(&'static str, String)> {
    let json = |text: &str| serde_json::to_string(text).unwrap();
    vec![
        ("NUL", json("before\0after, long enough")),
        // No Rust string holds an unpaired surrogate: the JSON text is written by hand.
        (
            "unpaired surrogate",
            r#""before\ud800after, long enough""#.to_owned(),
        ),
        (
            "low surrogate first",
            r#""\udc00\ud800 long enough text""#.to_owned(),
        ),
        (
            "control characters",
            json("bell\u{7} escape\u{1b}[31m del\u{7f} unit\u{1f}"),
        ),
        ("100 KB", json(&"x".repeat(100 * 1024))),
        ("100 KB of NUL", json(&"\0".repeat(100 * 1024))),
    ]
}

fn post(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

/// The template with `SLOT` replaced by `value`.
fn fill(template: &Value, value: &str) -> String {
    let text = template.to_string();
    assert!(text.contains(SLOT), "the template has a slot: {text}");
    text.replace(SLOT, value)
}

/// A 4xx that names `field` in a 422 item (or a 413 for a body over the limit).
fn assert_names_the_field(reply: &Reply, field: &str, context: &str) {
    assert!(
        reply.status.is_client_error(),
        "{context}: {} {}",
        reply.status,
        reply.text()
    );
    if reply.status == StatusCode::PAYLOAD_TOO_LARGE {
        return;
    }
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{context}: {}",
        reply.text()
    );
    let issues = reply.json()["detail"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        issues.iter().any(|issue| issue["loc"]
            .as_array()
            .is_some_and(|loc| loc.iter().any(|part| part == field))),
        "{context}: a 422 naming {field}: {}",
        reply.text()
    );
}

/// No stored text holds NUL (PostgreSQL could not have stored it; the memory store must not
/// differ).
fn assert_storable(value: &Value, context: &str) {
    let text = value.to_string();
    assert!(
        !text.contains("\\u0000"),
        "{context}: NUL stored in {text:.200}"
    );
}

fn analytics_template(slot: &str) -> Value {
    let mut event = json!({"event_name": "test.started", "timestamp": "2025-01-02T03:04:05Z",
                           "properties": {"screen": "home", "nested": {"list": [1, "two"]}}});
    let mut batch = json!({"events": [{"event_name": "app.opened",
                                        "timestamp": "2025-01-02T03:04:00Z"}],
                           "client_platform": "ios", "app_version": "1.4.0",
                           "device_id": "device-1"});
    match slot {
        "event_name" | "timestamp" => event[slot] = json!("<<slot>>"),
        "property value" => event["properties"]["nested"]["list"][1] = json!("<<slot>>"),
        "property key" => {
            // A key cannot be a template slot: the key is written as a value, then moved.
            event["properties"]["<<key>>"] = json!(1);
        }
        batch_field => batch[batch_field] = json!("<<slot>>"),
    }
    batch["events"].as_array_mut().unwrap().push(event);
    batch
}

async fn every_analytics_string_field_takes_hostile_text(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let mut stored_so_far = 0;
    for field in [
        "event_name",
        "timestamp",
        "property value",
        "property key",
        "client_platform",
        "app_version",
        "device_id",
    ] {
        for (name, value) in hostile_values() {
            let context = format!("{field} <- {name}");
            let template = analytics_template(field);
            let body = if field == "property key" {
                template.to_string().replace("\"<<key>>\"", &value)
            } else {
                fill(&template, &value)
            };
            let reply = send(&service, post("/v1/analytics/events", body)).await;
            assert!(
                !reply.status.is_server_error(),
                "{context}: {}",
                reply.text()
            );
            let stored = store.recent_client_events(10_000).await.unwrap();
            if reply.status == StatusCode::OK {
                let answer = reply.json();
                let received = answer["events_received"].as_u64().unwrap() as usize;
                let dropped = answer["events_dropped"].as_u64().unwrap_or(0) as usize;
                assert_eq!(received + dropped, 2, "{context}: {answer}");
                assert_eq!(stored.len(), stored_so_far + received, "{context}");
                stored_so_far = stored.len();
                if dropped > 0 {
                    // The event with the bad field was dropped and named; the other was kept.
                    let loc = answer["dropped"][0]["loc"].as_array().unwrap();
                    assert_eq!(
                        loc[..3],
                        [json!("body"), json!("events"), json!(1)],
                        "{context}"
                    );
                    assert_eq!(loc[3], field, "{context}: {answer}");
                    assert!(!answer.to_string().contains("before"), "no echo: {context}");
                }
                for event in &stored {
                    assert!(!event.event.event_name.contains('\0'), "{context}");
                    if let Some(properties) = &event.event.properties {
                        assert_storable(properties, &context);
                    }
                }
            } else {
                assert_names_the_field(&reply, field, &context);
                assert_eq!(stored.len(), stored_so_far, "{context}: nothing stored");
            }
        }
    }
    // Free text kept what it could: NUL and the surrogate became U+FFFD.
    let texts: Vec<String> = store
        .recent_client_events(10_000)
        .await
        .unwrap()
        .iter()
        .filter_map(|event| event.event.properties.as_ref())
        .map(Value::to_string)
        .collect();
    assert!(
        texts
            .iter()
            .any(|text| text.contains("before\u{fffd}after")),
        "{texts:.300?}"
    );
}

fn feedback_template(slot: &str) -> Value {
    let mut body = json!({"name": "Ada Lovelace", "email": "ada@example.com",
                          "category": "bug_report",
                          "description": "The results screen froze after the last question."});
    body[slot] = json!("<<slot>>");
    body
}

async fn every_feedback_string_field_takes_hostile_text(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let mut stored = 0;
    for field in ["name", "email", "category", "description"] {
        for (name, value) in hostile_values() {
            let context = format!("{field} <- {name}");
            let body = fill(&feedback_template(field), &value);
            let reply = send(&service, post("/v1/feedback/submit", body)).await;
            assert!(
                !reply.status.is_server_error(),
                "{context}: {}",
                reply.text()
            );
            if reply.status == StatusCode::CREATED {
                stored += 1;
                let id = reply.json()["submission_id"].as_i64().unwrap();
                assert_eq!(id, stored, "{context}: one row per accepted submission");
                let saved = store.feedback(id).await.unwrap().expect("stored");
                let text = format!("{:?}", saved.feedback);
                assert!(!text.contains("\\0"), "{context}: NUL stored");
                if name.starts_with("NUL") || name.contains("surrogate") {
                    assert!(
                        text.contains('\u{fffd}'),
                        "{context}: replaced, not removed"
                    );
                }
            } else {
                assert_names_the_field(&reply, field, &context);
            }
        }
    }
    // Nothing was half stored: the next submission takes the next id.
    let reply = send(
        &service,
        post(
            "/v1/feedback/submit",
            feedback_template("x").to_string().replace(SLOT, "1"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["submission_id"], stored + 1);
    assert!(stored > 0, "free text was accepted");
}

async fn a_batch_with_bad_events_stores_the_good_ones(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let body = json!({"app_version": "1.4.0", "events": [
        {"event_name": "good.one", "timestamp": "2025-01-02T03:04:05Z"},
        {"event_name": "drop table users;--", "timestamp": "2025-01-02T03:04:05Z"},
        {"event_name": "good.two", "timestamp": "2025-01-02T03:04:05Z", "properties": {"k": "v"}},
        {"event_name": "no.time"},
        {"event_name": "bad.time", "timestamp": "yesterday-ish"},
        null,
        {"event_name": "bad.props", "timestamp": "2025-01-02T03:04:05Z", "properties": [1, 2]},
    ]});
    let reply = send(&service, post("/v1/analytics/events", body.to_string())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["success"], true);
    assert_eq!(answer["events_received"], 2);
    assert_eq!(answer["events_dropped"], 5);
    assert_eq!(
        answer["message"],
        "Successfully received 2 analytics events; dropped 5 invalid events"
    );
    let locs: Vec<&Value> = answer["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| &issue["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["body", "events", 1, "event_name"]),
            &json!(["body", "events", 3, "timestamp"]),
            &json!(["body", "events", 4, "timestamp"]),
            &json!(["body", "events", 5]),
            &json!(["body", "events", 6, "properties"]),
        ]
    );
    let text = answer.to_string();
    assert!(
        !text.contains("drop table") && !text.contains("yesterday"),
        "{text}"
    );
    let stored = store.recent_client_events(100).await.unwrap();
    let mut names: Vec<&str> = stored.iter().map(|e| e.event.event_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["good.one", "good.two"]);

    // A batch of nothing but bad events still answers 200, so the app's queue moves on.
    let body = json!({"app_version": "1.4.0", "events": [{"event_name": "", "timestamp": 1}]});
    let reply = send(&service, post("/v1/analytics/events", body.to_string())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["events_received"], 0);
    assert_eq!(reply.json()["events_dropped"], 1);
    assert_eq!(store.recent_client_events(100).await.unwrap().len(), 2);
}

async fn deeply_nested_properties_drop_one_event_not_the_batch(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let deep = format!("{}1{}", "[".repeat(2000), "]".repeat(2000));
    let fine = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let body = format!(
        r#"{{"app_version": "1.4.0", "events": [
            {{"event_name": "too.deep", "timestamp": "2025-01-02T03:04:05Z", "properties": {{"x": {deep}}}}},
            {{"event_name": "deep.enough", "timestamp": "2025-01-02T03:04:05Z", "properties": {{"x": {fine}}}}}
        ]}}"#
    );
    let reply = send(&service, post("/v1/analytics/events", body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["events_received"], 1, "{answer}");
    assert_eq!(answer["events_dropped"], 1);
    assert_eq!(answer["dropped"][0]["loc"][2], 0);
    assert_eq!(
        answer["dropped"][0]["msg"],
        "JSON nested too deeply (at most 128 levels)"
    );
    let stored = store.recent_client_events(10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event.event_name, "deep.enough");
}
