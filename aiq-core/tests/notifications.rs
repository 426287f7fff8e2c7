//! The notification endpoints (§2.6) and the logout-all push (§2.1), on both stores.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiq_core::push::{Notification, PushError, PushSender};
use aiq_core::storage::{Storage, UserId};
use aiq_core::{Aiq, AiqService, Config};
use http::{Method, StatusCode};
use serde_json::json;

use support::{authed, detail, register, send};

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    support::service_with(Config::default(), store)
}

both_stores!(
    a_device_token_is_trimmed_lowercased_and_stored,
    device_token_length_is_checked_before_trimming,
    a_non_hex_device_token_is_refused,
    a_missing_or_mistyped_token_is_422,
    unregistering_clears_the_token_even_when_none_was_set,
    preferences_read_and_write_the_flag,
    preferences_and_device_token_are_independent,
    every_route_needs_a_token,
    logout_all_sends_a_security_alert_in_the_background,
    logout_all_sends_nothing_without_a_token_or_with_notifications_off,
    a_failing_push_does_not_fail_logout_all,
);

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A second device, for a user of its own (a token belongs to one account at a time).
const OTHER_TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

async fn user(service: &AiqService, email: &str) -> (UserId, String) {
    let tokens = register(service, email).await;
    (
        tokens["user"]["id"].as_i64().unwrap(),
        tokens["access_token"].as_str().unwrap().to_owned(),
    )
}

async fn register_device(
    service: &AiqService,
    access: &str,
    body: serde_json::Value,
) -> support::Reply {
    send(
        service,
        support::json(
            Method::POST,
            "/v1/notifications/register-device",
            body,
            Some(access),
        ),
    )
    .await
}

async fn stored_token(store: &Arc<dyn Storage>, id: UserId) -> Option<String> {
    store
        .user_by_id(id)
        .await
        .unwrap()
        .unwrap()
        .apns_device_token
}

fn validation_message(reply: &support::Reply) -> (String, serde_json::Value) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    let issue = &reply.json()["detail"][0];
    (
        issue["msg"].as_str().unwrap().to_owned(),
        issue["loc"].clone(),
    )
}

async fn a_device_token_is_trimmed_lowercased_and_stored(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (id, access) = user(&service, "dev@example.com").await;
    let sent = format!("  {}\t", TOKEN.to_uppercase());
    let reply = register_device(&service, &access, json!({"device_token": sent})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"success": true, "message": "Device token registered successfully"})
    );
    assert_eq!(stored_token(&store, id).await.as_deref(), Some(TOKEN));

    // A second registration replaces the first; 200 characters is the longest accepted.
    let long = "ab".repeat(100);
    let reply = register_device(&service, &access, json!({"device_token": long})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(stored_token(&store, id).await, Some(long));
}

async fn device_token_length_is_checked_before_trimming(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (id, access) = user(&service, "len@example.com").await;
    // 63 hex characters padded to 64 with a space: the length passes, then it is trimmed to 63
    // characters of hex, which is stored (the old backend's order).
    let padded = format!("{} ", &TOKEN[..63]);
    let reply = register_device(&service, &access, json!({"device_token": padded})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        stored_token(&store, id).await.as_deref(),
        Some(&TOKEN[..63])
    );

    let short = &TOKEN[..63];
    let reply = register_device(&service, &access, json!({"device_token": short})).await;
    let (msg, loc) = validation_message(&reply);
    assert_eq!(msg, "String should have at least 64 characters");
    assert_eq!(loc, json!(["body", "device_token"]));

    let long = "a".repeat(201);
    let reply = register_device(&service, &access, json!({"device_token": long})).await;
    let (msg, _) = validation_message(&reply);
    assert_eq!(msg, "String should have at most 200 characters");

    // 199 hex characters plus two spaces: too long before trimming, whatever it is after.
    let spaced = format!(" {} ", "a".repeat(199));
    let reply = register_device(&service, &access, json!({"device_token": spaced})).await;
    let (msg, _) = validation_message(&reply);
    assert_eq!(msg, "String should have at most 200 characters");
    assert_eq!(
        stored_token(&store, id).await.as_deref(),
        Some(&TOKEN[..63])
    );
}

async fn a_non_hex_device_token_is_refused(service: AiqService, store: Arc<dyn Storage>) {
    let (id, access) = user(&service, "hex@example.com").await;
    for bad in [
        format!("{}g", &TOKEN[..63]),
        format!("{} {}", &TOKEN[..32], &TOKEN[..32]),
        " ".repeat(64),
    ] {
        let reply = register_device(&service, &access, json!({"device_token": bad})).await;
        let (msg, loc) = validation_message(&reply);
        assert_eq!(
            msg,
            "Value error, Invalid device token format. Must be hexadecimal."
        );
        assert_eq!(loc, json!(["body", "device_token"]));
        assert_eq!(reply.json()["detail"][0]["type"], "value_error");
    }
    assert_eq!(stored_token(&store, id).await, None);
}

async fn a_missing_or_mistyped_token_is_422(service: AiqService, _store: Arc<dyn Storage>) {
    let (_, access) = user(&service, "missing@example.com").await;
    let reply = register_device(&service, &access, json!({})).await;
    let (msg, loc) = validation_message(&reply);
    assert_eq!(msg, "Field required");
    assert_eq!(loc, json!(["body", "device_token"]));
    let reply = register_device(&service, &access, json!({"device_token": 12})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = send(
        &service,
        support::json(
            Method::PUT,
            "/v1/notifications/preferences",
            json!({"notification_enabled": "maybe"}),
            Some(&access),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = send(
        &service,
        support::json(
            Method::PUT,
            "/v1/notifications/preferences",
            json!({}),
            Some(&access),
        ),
    )
    .await;
    let (msg, loc) = validation_message(&reply);
    assert_eq!(msg, "Field required");
    assert_eq!(loc, json!(["body", "notification_enabled"]));
}

async fn unregistering_clears_the_token_even_when_none_was_set(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (id, access) = user(&service, "unreg@example.com").await;
    let unregister = || authed(Method::DELETE, "/v1/notifications/register-device", &access);
    let reply = send(&service, unregister()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let expected = json!({"success": true, "message": "Device token unregistered successfully"});
    assert_eq!(reply.json(), expected);

    register_device(&service, &access, json!({"device_token": TOKEN})).await;
    assert!(stored_token(&store, id).await.is_some());
    let reply = send(&service, unregister()).await;
    assert_eq!(reply.json(), expected);
    assert_eq!(stored_token(&store, id).await, None);
}

async fn preferences_read_and_write_the_flag(service: AiqService, store: Arc<dyn Storage>) {
    let (id, access) = user(&service, "prefs@example.com").await;
    let read = || authed(Method::GET, "/v1/notifications/preferences", &access);
    let reply = send(&service, read()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"notification_enabled": true, "message": "Notification preferences retrieved successfully"})
    );
    for enabled in [false, true, false] {
        let reply = send(
            &service,
            support::json(
                Method::PUT,
                "/v1/notifications/preferences",
                json!({"notification_enabled": enabled}),
                Some(&access),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json(),
            json!({"notification_enabled": enabled, "message": "Notification preferences updated successfully"})
        );
        let user = store.user_by_id(id).await.unwrap().unwrap();
        assert_eq!(user.notification_enabled, enabled);
    }
    assert_eq!(
        send(&service, read()).await.json()["notification_enabled"],
        false
    );
}

async fn preferences_and_device_token_are_independent(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (id, access) = user(&service, "indep@example.com").await;
    register_device(&service, &access, json!({"device_token": TOKEN})).await;
    send(
        &service,
        support::json(
            Method::PUT,
            "/v1/notifications/preferences",
            json!({"notification_enabled": false}),
            Some(&access),
        ),
    )
    .await;
    assert_eq!(stored_token(&store, id).await.as_deref(), Some(TOKEN));
    send(
        &service,
        authed(Method::DELETE, "/v1/notifications/register-device", &access),
    )
    .await;
    let user = store.user_by_id(id).await.unwrap().unwrap();
    assert!(!user.notification_enabled);
}

async fn every_route_needs_a_token(service: AiqService, _store: Arc<dyn Storage>) {
    for (method, uri) in [
        (Method::POST, "/v1/notifications/register-device"),
        (Method::DELETE, "/v1/notifications/register-device"),
        (Method::GET, "/v1/notifications/preferences"),
        (Method::PUT, "/v1/notifications/preferences"),
    ] {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(detail(&reply), "Not authenticated");
    }
}

/// A push sender that records what it is asked to send, and can be told to fail.
#[derive(Debug, Default)]
struct RecordingPush {
    sent: Mutex<Vec<(String, Notification)>>,
    fail: bool,
}

#[async_trait::async_trait]
impl PushSender for RecordingPush {
    async fn send(&self, token: &str, notification: &Notification) -> Result<(), PushError> {
        self.sent
            .lock()
            .unwrap()
            .push((token.to_owned(), notification.clone()));
        if self.fail {
            Err(PushError::Rejected {
                status: 500,
                reason: "InternalServerError".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl RecordingPush {
    /// Waits until `count` notifications were sent (the push runs in the background), then
    /// returns every one sent so far; gives up after [`support::PATIENCE`].
    async fn wait_for(&self, count: usize) -> Vec<(String, Notification)> {
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        loop {
            let sent = self.sent.lock().unwrap().clone();
            if sent.len() >= count {
                return sent;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} notifications sent after {:?}",
                sent.len(),
                support::PATIENCE
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn service_with_push(store: Arc<dyn Storage>, push: Arc<RecordingPush>) -> AiqService {
    Aiq::builder(Config::default())
        .storage(store)
        .push(push)
        .build()
        .unwrap()
}

async fn logout_all(service: &AiqService, access: &str) {
    let reply = send(service, authed(Method::POST, "/v1/auth/logout-all", access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
}

async fn logout_all_sends_a_security_alert_in_the_background(
    _service: AiqService,
    store: Arc<dyn Storage>,
) {
    let push = Arc::new(RecordingPush::default());
    let service = service_with_push(store, push.clone());
    let (_, access) = user(&service, "alert@example.com").await;
    register_device(&service, &access, json!({"device_token": TOKEN})).await;
    logout_all(&service, &access).await;

    let sent = push.wait_for(1).await;
    assert_eq!(sent.len(), 1);
    let (token, notification) = &sent[0];
    assert_eq!(token, TOKEN);
    assert_eq!(notification.title, "Security Alert");
    assert_eq!(
        notification.body,
        "All sessions have been logged out. If this wasn't you, please change your password immediately."
    );
    assert_eq!(
        serde_json::Value::Object(notification.data.clone()),
        json!({"type": "logout_all", "deep_link": "aiq://login"})
    );
}

async fn logout_all_sends_nothing_without_a_token_or_with_notifications_off(
    _service: AiqService,
    store: Arc<dyn Storage>,
) {
    let push = Arc::new(RecordingPush::default());
    let service = service_with_push(store, push.clone());
    let (_, no_device) = user(&service, "nodevice@example.com").await;
    logout_all(&service, &no_device).await;

    let (_, muted) = user(&service, "muted@example.com").await;
    register_device(&service, &muted, json!({"device_token": TOKEN})).await;
    send(
        &service,
        support::json(
            Method::PUT,
            "/v1/notifications/preferences",
            json!({"notification_enabled": false}),
            Some(&muted),
        ),
    )
    .await;
    logout_all(&service, &muted).await;

    // A push is sent in the background, after the response, so that none has arrived yet
    // proves nothing. A third user, who does get the alert, signs out last: a send for either
    // user above would have been started before the third user even registered, so by the
    // time the third user's alert is in, it would be in too.
    let (_, alerted) = user(&service, "alerted@example.com").await;
    register_device(&service, &alerted, json!({"device_token": OTHER_TOKEN})).await;
    logout_all(&service, &alerted).await;
    let sent = push.wait_for(1).await;
    let tokens: Vec<&str> = sent.iter().map(|(token, _)| token.as_str()).collect();
    assert_eq!(tokens, [OTHER_TOKEN], "only the alerted user's push");
}

async fn a_failing_push_does_not_fail_logout_all(_service: AiqService, store: Arc<dyn Storage>) {
    let push = Arc::new(RecordingPush {
        fail: true,
        ..RecordingPush::default()
    });
    let service = service_with_push(store.clone(), push.clone());
    let (id, access) = user(&service, "fails@example.com").await;
    register_device(&service, &access, json!({"device_token": TOKEN})).await;
    logout_all(&service, &access).await;
    assert_eq!(push.wait_for(1).await.len(), 1);
    // Not an invalid-token answer: the token is kept.
    assert_eq!(stored_token(&store, id).await.as_deref(), Some(TOKEN));
}
