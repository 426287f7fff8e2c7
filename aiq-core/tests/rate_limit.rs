//! Rate limiting through the service (in-process limiter): the per-endpoint table, who counts as
//! the caller, exemptions, headers and the 429.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::clock::ManualClock;
use aiq_core::ratelimit::MemoryLimiter;
use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, AiqService, Config};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::json;
use support::{Reply, register, send};

const ENVOY: &str = "x-envoy-external-address";

/// The limiter's time: 2025-06-15, microseconds since the epoch.
const NOW: i64 = 1_750_000_000_000_000;

/// The service with the limiter it builds by default (the configured strategy and key cap),
/// except that the limiter's clock stands still: no bucket refills while a test runs, however
/// slowly the machine runs it, and the numbers it reports are exact.
fn service(config: Config) -> AiqService {
    let limiter = MemoryLimiter::with_clock(
        config.rate_limit.strategy,
        config.rate_limit.max_keys,
        Arc::new(ManualClock::new(NOW)),
    );
    Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .limiter(Arc::new(limiter))
        .build()
        .unwrap()
}

fn login_from(ip: Option<&str>, extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/v1/auth/login").header("content-type", "application/json");
    if let Some(ip) = ip {
        request = request.header(ENVOY, ip);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let body = json!({"email": "someone@example.com", "password": "not the password 1"});
    request.body(Body::from(body.to_string())).unwrap()
}

fn assert_limited(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    let body = reply.json();
    assert_eq!(body["error"], "rate_limit_exceeded");
    assert_eq!(
        body["message"],
        "Too many requests. Please try again later."
    );
    let retry_after = body["retry_after"].as_u64().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        reply.header("retry-after"),
        Some(retry_after.to_string().as_str())
    );
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
    assert!(
        reply
            .header("x-ratelimit-reset")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_700_000_000
    );
    assert!(reply.header("x-request-id").is_some());
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn the_sixth_rapid_login_from_one_address_is_refused() {
    let service = service(Config::default());
    for attempt in 1..=5 {
        let reply = send(&service, login_from(Some("203.0.113.7"), &[])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            reply.header("x-ratelimit-remaining"),
            Some((5 - attempt).to_string().as_str())
        );
    }
    let sixth = send(&service, login_from(Some("203.0.113.7"), &[])).await;
    assert_limited(&sixth);
    // One try comes back per minute. The five failed logins took a few seconds of real time
    // (each waits out the failed-login floor), but none on the limiter's clock.
    let retry_after = sixth.json()["retry_after"].as_u64().unwrap();
    assert_eq!(retry_after, 60, "login refills one try per minute");
    // Another address has its own bucket.
    let other = send(&service, login_from(Some("198.51.100.2"), &[])).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_logins_let_exactly_five_through() {
    let service = service(Config::default());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let service = service.clone();
        tasks.spawn(async move {
            send(&service, login_from(Some("203.0.113.9"), &[]))
                .await
                .status
        });
    }
    let mut through = 0;
    while let Some(status) = tasks.join_next().await {
        if status.unwrap() != StatusCode::TOO_MANY_REQUESTS {
            through += 1;
        }
    }
    assert_eq!(through, 5);
}

#[tokio::test]
async fn only_the_trusted_header_names_the_client() {
    let service = service(Config::default());
    // Rotating X-Forwarded-For or X-Real-IP does not buy new buckets.
    for i in 0..5 {
        let spoof = format!("10.0.0.{i}");
        let reply = send(
            &service,
            login_from(
                Some("203.0.113.20"),
                &[("x-forwarded-for", &spoof), ("x-real-ip", &spoof)],
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let spoofed = send(
        &service,
        login_from(Some("203.0.113.20"), &[("x-forwarded-for", "10.9.9.9")]),
    )
    .await;
    assert_limited(&spoofed);
    // The first entry of the trusted header is the client.
    let chained = send(
        &service,
        login_from(Some("203.0.113.21, 203.0.113.20"), &[]),
    )
    .await;
    assert_eq!(chained.status, StatusCode::UNAUTHORIZED);

    // With the header switched off, it is ignored like any other.
    let mut config = Config::default();
    config.rate_limit.trusted_ip_header = String::new();
    let service = service_with_config(config);
    for i in 0..5 {
        let reply = send(&service, login_from(Some(&format!("203.0.113.{i}")), &[])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_limited(&send(&service, login_from(Some("203.0.113.99"), &[])).await);
}

fn service_with_config(config: Config) -> AiqService {
    service(config)
}

#[tokio::test]
async fn a_signed_in_user_is_limited_as_themselves_wherever_they_call_from() {
    let mut config = Config::default();
    config.rate_limit.default_limit = 3;
    config.rate_limit.default_window = Duration::from_secs(60);
    let service = service(config);
    let registered = register(&service, "mobile@example.com").await;
    let token = registered["access_token"].as_str().unwrap();
    let profile_from = |ip: &str| {
        Request::get("/v1/user/profile")
            .header("authorization", format!("Bearer {token}"))
            .header(ENVOY, ip)
            .body(Body::empty())
            .unwrap()
    };
    for ip in ["203.0.113.1", "198.51.100.1", "192.0.2.1"] {
        let reply = send(&service, profile_from(ip)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("3"));
    }
    assert_limited(&send(&service, profile_from("203.0.113.200")).await);
    // The address itself still has its own, unused default bucket.
    let anonymous = Request::get("/v1/nope")
        .header(ENVOY, "203.0.113.200")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&service, anonymous).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn health_ping_docs_and_preflights_are_never_limited() {
    let mut config = Config::default();
    config.rate_limit.default_limit = 1;
    let service = service(config);
    for _ in 0..20 {
        for path in [
            "/v1/health",
            "/v1/ping",
            "/v1/openapi.json",
            "/v1/docs/",
            "/",
        ] {
            let reply = send(&service, support::get(path)).await;
            assert!(reply.status.is_success(), "{path}: {}", reply.status);
            assert_eq!(reply.header("x-ratelimit-limit"), None, "{path}");
        }
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/auth/login")
            .header("origin", "http://localhost:3000")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        assert!(send(&service, preflight).await.status.is_success());
    }
    // Preflights consumed nothing: the login bucket is full.
    let reply = send(&service, login_from(Some("203.0.113.50"), &[])).await;
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("4"));
}

#[tokio::test]
async fn a_429_carries_cors_headers_for_browsers() {
    let service = service(Config::default());
    let from_browser = || login_from(Some("203.0.113.60"), &[("origin", "http://localhost:3000")]);
    for _ in 0..5 {
        send(&service, from_browser()).await;
    }
    let reply = send(&service, from_browser()).await;
    assert_limited(&reply);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
}

#[tokio::test]
async fn without_connection_info_or_header_the_service_still_limits() {
    let service = service(Config::default());
    for _ in 0..5 {
        assert_eq!(
            send(&service, login_from(None, &[])).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(&send(&service, login_from(None, &[])).await);
}

#[tokio::test]
async fn switched_off_nothing_is_limited() {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    let service = service(config);
    for _ in 0..10 {
        let reply = send(&service, login_from(Some("203.0.113.70"), &[])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.header("x-ratelimit-limit"), None);
    }
}

#[tokio::test]
async fn quotas_hold_when_the_service_is_mounted_under_a_prefix() {
    let app = axum::Router::new().nest_service("/aiq", service(Config::default()));
    let call = |request: Request<Body>| {
        let app = app.clone();
        async move { tower::ServiceExt::oneshot(app, request).await.unwrap() }
    };
    let login = || {
        let body = json!({"email": "someone@example.com", "password": "not the password 1"});
        Request::post("/aiq/v1/auth/login")
            .header("content-type", "application/json")
            .header(ENVOY, "203.0.113.80")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    for _ in 0..5 {
        let response = call(login()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["x-ratelimit-limit"], "5");
    }
    assert_eq!(call(login()).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let health = call(Request::get("/aiq/v1/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        health.headers().get("x-ratelimit-limit").is_none(),
        "still exempt"
    );
}

#[tokio::test]
async fn a_token_does_not_buy_fresh_buckets_on_sign_in_endpoints() {
    let service = service(Config::default());
    let register_from = |email: &str, token: Option<&str>| {
        let mut request = Request::post("/v1/auth/register")
            .header("content-type", "application/json")
            .header(ENVOY, "203.0.113.90");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request
            .body(Body::from(support::registration(email).to_string()))
            .unwrap()
    };
    let first = send(&service, register_from("tree-0@example.com", None))
        .await
        .json();
    let token = first["access_token"].as_str().unwrap().to_owned();
    for i in 1..3 {
        let reply = send(
            &service,
            register_from(&format!("tree-{i}@example.com"), Some(&token)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    // Three registrations from this address, token or not: the fourth is refused.
    let reply = send(&service, register_from("tree-3@example.com", Some(&token))).await;
    assert_limited(&reply);
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64_network() {
    let service = service(Config::default());
    for i in 1..=5 {
        let address = format!("2001:db8:1:2::{i:x}");
        assert_eq!(
            send(&service, login_from(Some(&address), &[])).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(&send(&service, login_from(Some("2001:db8:1:2:ffff::1"), &[])).await);
    // Another /64 is another client.
    let other = send(&service, login_from(Some("2001:db8:1:3::1"), &[])).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}
