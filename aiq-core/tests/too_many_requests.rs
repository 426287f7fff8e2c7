//! Every 429 of the API as the iOS app reads it: a string `detail` it can show (the app reads no
//! other member), `Retry-After` of at least one second, and the old backend's members kept.

mod support;

use std::sync::Arc;

use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, AiqService, Config};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Reply, send};

const ENVOY: &str = "x-envoy-external-address";
const MESSAGE: &str = "Too many requests. Please try again later.";

fn service(config: Config) -> AiqService {
    Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .build()
        .unwrap()
}

fn from(ip: &str, method: Method, uri: &str, body: Option<&Value>) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(ENVOY, ip)
        .header("content-type", "application/json");
    request
        .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
        .unwrap()
}

/// Sends `request()` until the answer is a 429 (at most `limit + 1` times) and returns it.
async fn first_refusal(
    service: &AiqService,
    limit: usize,
    request: impl Fn() -> Request<Body>,
) -> Reply {
    for _ in 0..limit {
        let reply = send(service, request()).await;
        assert_ne!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "refused too early: {}",
            reply.text()
        );
    }
    send(service, request()).await
}

/// What every 429 must carry, whoever sends it.
fn assert_showable(reply: &Reply, what: &str) -> Value {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        reply.text()
    );
    let body = reply.json();
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{what}: a string detail in {body}");
    let retry_after: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: Retry-After"))
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{what}: Retry-After {retry_after}");
    body
}

/// The rate limiter's own members, as the old backend sent them.
fn assert_old_members(reply: &Reply, body: &Value, what: &str) {
    assert_eq!(body["error"], "rate_limit_exceeded", "{what}");
    assert_eq!(body["message"], MESSAGE, "{what}");
    assert_eq!(body["detail"], MESSAGE, "{what}");
    let retry_after = body["retry_after"].as_u64().unwrap();
    assert!(retry_after >= 1, "{what}");
    assert_eq!(
        reply.header("retry-after"),
        Some(retry_after.to_string().as_str()),
        "{what}"
    );
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"), "{what}");
}

#[tokio::test]
async fn the_login_limit() {
    let service = service(Config::default());
    let body = json!({"email": "someone@example.com", "password": "not the password 1"});
    let reply = first_refusal(&service, 5, || {
        from("203.0.113.1", Method::POST, "/v1/auth/login", Some(&body))
    })
    .await;
    let json = assert_showable(&reply, "login");
    assert_old_members(&reply, &json, "login");
}

#[tokio::test]
async fn the_default_limit() {
    let mut config = Config::default();
    config.rate_limit.default_limit = 3;
    let service = service(config);
    let reply = first_refusal(&service, 3, || {
        from("203.0.113.2", Method::GET, "/v1/test/active", None)
    })
    .await;
    let json = assert_showable(&reply, "default");
    assert_old_members(&reply, &json, "default");
}

#[tokio::test]
async fn the_feedback_limit() {
    let service = service(Config::default());
    let body = json!({"name": "Ada", "email": "ada@example.com", "category": "other",
                      "description": "A perfectly ordinary piece of feedback."});
    let reply = first_refusal(&service, 5, || {
        from(
            "203.0.113.3",
            Method::POST,
            "/v1/feedback/submit",
            Some(&body),
        )
    })
    .await;
    let json = assert_showable(&reply, "feedback");
    assert_old_members(&reply, &json, "feedback");
}

#[tokio::test]
async fn the_guest_limit() {
    let mut config = Config::default();
    config.guest.test_limit = 0;
    let service = service(config);
    let request = Request::post("/v1/test/guest/start")
        .header("x-device-id", "device-at-its-limit")
        .body(Body::empty())
        .unwrap();
    let reply = send(&service, request).await;
    let json = assert_showable(&reply, "guest");
    // The guest limit keeps its own body.
    assert_eq!(
        json,
        json!({"detail": "Guest test limit reached (0 tests). Please create an account to continue."})
    );
    assert_eq!(reply.header("x-tests-remaining"), Some("0"));
}
