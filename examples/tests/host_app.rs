//! The host application of `examples/host_app.rs`: one set of CORS headers (the host's, aiq's
//! switched off), the host's own routes beside the API, and aiq's answers under `/aiq`.

use aiq_core::Config;
use aiq_examples::host::{HostUsers, aiq_for_host, host_app};
use axum::body::Body;
use http::{Request, StatusCode};
use tower::ServiceExt;

const ORIGIN: &str = "https://host.example";

#[tokio::test]
async fn responses_carry_the_hosts_cors_headers_once() {
    let mut config = Config::default();
    // aiq's own CORS would allow this origin too: were it on, the headers would come twice.
    config.http.cors_origins = aiq_core::config::CorsOrigins::List(vec![ORIGIN.to_owned()]);
    let aiq = aiq_for_host(config).await.unwrap();
    let users = HostUsers::default();
    let ada = users.add("Ada");
    let app = host_app(aiq, users, ORIGIN);

    let request = Request::get("/aiq/v1/ping")
        .header("origin", ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let allowed: Vec<_> = response
        .headers()
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(allowed, [ORIGIN], "one CORS header, the host's");
    assert_eq!(origin_varies(&response), 1, "one Vary by origin");
    // The host does not allow credentials; aiq's CORS (credentials on) would have said so.
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    // aiq's other layers are still there.
    assert!(response.headers().contains_key("x-request-id"));

    let request = Request::get(format!("/users/{ada}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_aiqs_cors_on_the_headers_would_come_twice() {
    // The control: what the test above guards against.
    let mut config = Config::default();
    config.http.cors_origins = aiq_core::config::CorsOrigins::List(vec![ORIGIN.to_owned()]);
    let aiq = aiq_core::Aiq::from_config(config).await.unwrap();
    let app = host_app(aiq, HostUsers::default(), ORIGIN);
    let request = Request::get("/aiq/v1/ping")
        .header("origin", ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(origin_varies(&response), 2);
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true",
        "aiq's CORS said more than the host allows"
    );
}

/// How many `Vary` values name the origin.
fn origin_varies(response: &http::Response<axum::body::Body>) -> usize {
    response
        .headers()
        .get_all("vary")
        .iter()
        .filter(|v| {
            v.to_str()
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains("origin")
        })
        .count()
}
