//! The dashboard mounted beside the API (`AiqBuilder::merge`, as `aiq-server` does with
//! `ADMIN_ENABLED=true`): the API's middleware without its CORS and body limits.

mod support;

use std::sync::Arc;

use aiq_admin::Dashboard;
use aiq_core::Aiq;
use aiq_core::config::CorsOrigins;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{MemoryStore, Storage};
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn service() -> aiq_core::AiqService {
    let mut config = support::config();
    config.http.cors_origins = CorsOrigins::List(vec!["https://app.example.com".into()]);
    let store: Arc<dyn Storage> = Arc::new(MemoryStore::with_questions(&starter_bank()));
    let dashboard = Dashboard::builder(config.clone())
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    Aiq::builder(config)
        .storage(store)
        .merge(dashboard.router())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_dashboard_keeps_its_policy_and_gets_no_cors() {
    let service = service();
    let request = Request::get("/admin/login")
        .header("origin", "https://app.example.com")
        .body(Body::empty())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    // The API's middleware ran (request id, security headers)...
    assert!(headers.contains_key("x-request-id"));
    assert_eq!(headers["x-frame-options"], "DENY");
    // ...but the page keeps its own policy, and no other origin may read it.
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("base-uri 'none'")
    );
    assert!(!headers.contains_key("access-control-allow-origin"));
    assert!(!headers.contains_key("access-control-allow-credentials"));

    // The API beside it still answers cross-origin requests from the listed origin.
    let request = Request::get("/v1/ping")
        .header("origin", "https://app.example.com")
        .body(Body::empty())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}

#[tokio::test]
async fn uploads_larger_than_the_apis_body_limit_reach_the_dashboard() {
    let service = service();
    // Two MiB: over the API's 1 MiB limit, within the upload's 8 MiB. Without a session the
    // dashboard answers (a redirect to the login form) instead of the API's 413.
    let body = vec![b'x'; 2 * 1024 * 1024];
    let request = Request::post("/admin/questions/import")
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The API keeps its limit.
    let body = vec![b'x'; 2 * 1024 * 1024];
    let request = Request::post("/v1/auth/login")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("detail"));
}
