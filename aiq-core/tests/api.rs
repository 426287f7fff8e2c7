//! The service's own endpoints and its middleware, driven in-process through `oneshot`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::Config;
use aiq_core::config::{CorsOrigins, Environment};
use aiq_core::storage::{MemoryStore, PgStore, Storage};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use support::faulty::{Fault, FaultyStore};
use support::{Reply, get, memory_service, send, service_with};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The headers every response must carry, whatever produced it.
fn assert_standard_headers(reply: &Reply) {
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("x-xss-protection", "1; mode=block"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        (
            "permissions-policy",
            "geolocation=(), microphone=(), camera=(), payment=(), usb=()",
        ),
        ("x-permitted-cross-domain-policies", "none"),
    ] {
        assert_eq!(
            reply.header(name),
            Some(value),
            "{name} on {}",
            reply.status
        );
    }
    let csp = reply.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let id = reply.header("x-request-id").expect("x-request-id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated ids are uuids: {id}"
    );
    assert!(reply.header("x-process-time").is_some());
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "JSON on {}",
        reply.status
    );
}

fn production_config() -> Config {
    let mut config = Config::default();
    config.app.environment = Environment::new("production");
    config.database.url = Some("postgres://aiq@127.0.0.1:5432/aiq".to_owned().into());
    config.security.secret_key = "0123456789abcdef0123456789abcdef-session".to_owned().into();
    config.security.jwt_secret_key = "0123456789abcdef0123456789abcdef-jwt".to_owned().into();
    config.security.secrets_generated = false;
    config.http.cors_origins = CorsOrigins::List(vec!["https://a-iq-test.com".into()]);
    config
}

#[tokio::test]
async fn root_welcomes_with_version_and_docs() {
    let reply = send(&memory_service(), get("/")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        serde_json::json!({"message": "Welcome to AIQ API", "version": "0.1.0", "docs": "/v1/docs"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn health_is_ok_on_memory() {
    let reply = send(&memory_service(), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["service"], "AIQ API");
    assert_eq!(body["version"], "0.1.0");
    assert!(body.get("database_error").is_none());
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    OffsetDateTime::parse(timestamp, &Rfc3339).unwrap();
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn health_is_ok_on_postgres() {
    let (store, _db) = support::pg_store().await;
    let service = service_with(Config::default(), Arc::new(store));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["database"], "ok");
}

fn unreachable_pg(config: &mut Config) -> Arc<dyn Storage> {
    // Port 1 on loopback refuses connections at once.
    config.database.url = Some("postgres://aiq@127.0.0.1:1/aiq".to_owned().into());
    config.database.connect_timeout = Duration::from_secs(1);
    Arc::new(PgStore::connect(&config.database).unwrap())
}

#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    let mut config = Config::default();
    let store = unreachable_pg(&mut config);
    let reply = send(&service_with(config, store), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"], "error");
    assert!(
        body["database_error"].as_str().is_some(),
        "reason shown outside production"
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn production_health_hides_the_database_error() {
    let mut config = production_config();
    let store = unreachable_pg(&mut config);
    let reply = send(&service_with(config, store), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.json().get("database_error").is_none());
}

#[tokio::test(start_paused = true)]
async fn health_gives_up_on_a_hanging_database() {
    let service = service_with(Config::default(), FaultyStore::shared(Fault::Hang));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = reply.json()["database_error"].as_str().unwrap().to_owned();
    assert!(reason.contains("timed out"), "{reason}");
}

#[tokio::test]
async fn ping_pongs() {
    let reply = send(&memory_service(), get("/v1/ping")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({"message": "pong"}));
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let reply = send(&memory_service(), get("/v1/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "AIQ API");
    for (path, operation_id) in [
        ("/", "root__get"),
        (
            "/.well-known/apple-app-site-association",
            "apple_app_site_association__well_known_apple_app_site_association_get",
        ),
        ("/v1/health", "health_check_v1_health_get"),
        ("/v1/ping", "ping_v1_ping_get"),
    ] {
        assert_eq!(
            doc["paths"][path]["get"]["operationId"], operation_id,
            "{path}"
        );
    }
}

#[tokio::test]
async fn docs_render_from_the_binary_alone() {
    let service = memory_service();
    let redirect = send(&service, get("/v1/docs")).await;
    assert!(redirect.status.is_redirection());
    assert_eq!(redirect.header("location"), Some("/v1/docs/"));

    let page = send(&service, get("/v1/docs/")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets: {html}"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let reply = send(&service, get(&format!("/v1/docs/{asset}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(!reply.body.is_empty(), "{asset}");
    }
    let init = send(&service, get("/v1/docs/swagger-initializer.js"))
        .await
        .text();
    assert!(init.contains("../openapi.json"), "{init}");
}

#[tokio::test]
async fn apple_app_site_association_lists_the_app_links() {
    let reply = send(
        &memory_service(),
        get("/.well-known/apple-app-site-association"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let details = &body["applinks"]["details"][0];
    assert_eq!(details["appIDs"][0], "4HDNC3V5Q6.com.aiq.app");
    let components = details["components"].as_array().unwrap();
    assert_eq!(components.len(), 3);
    assert_eq!(components[0]["/"], "/groups/join");
    assert_eq!(components[0]["?"]["code"], "?*");
}

#[tokio::test]
async fn unknown_route_is_a_json_404_with_headers() {
    let reply = send(&memory_service(), get("/v1/nope")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json(), serde_json::json!({"detail": "Not Found"}));
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn wrong_method_is_a_json_405_with_headers() {
    let request = Request::post("/v1/health").body(Body::empty()).unwrap();
    let reply = send(&memory_service(), request).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Method Not Allowed"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn oversized_body_is_a_json_413_with_headers() {
    let request = Request::post("/v1/ping")
        .header("content-length", (2 * 1024 * 1024).to_string())
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 2 * 1024 * 1024]))
        .unwrap();
    let reply = send(&memory_service(), request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Request body too large"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn a_panic_is_a_json_500_with_an_error_id_and_headers() {
    let service = service_with(Config::default(), FaultyStore::shared(Fault::Panic));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = reply.json();
    assert_eq!(body["detail"], "Internal server error");
    assert!(uuid::Uuid::parse_str(body["error_id"].as_str().unwrap()).is_ok());
    assert!(
        !reply.text().contains("exploded"),
        "the panic message stays in the logs"
    );
    assert_standard_headers(&reply);
}

#[tokio::test(start_paused = true)]
async fn a_request_over_the_timeout_is_a_json_408() {
    let mut config = Config::default();
    config.http.request_timeout = Duration::from_secs(1);
    let service = service_with(config, FaultyStore::shared(Fault::Hang));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Request timed out"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_odd_one_replaced() {
    let service = memory_service();
    let request = Request::get("/v1/ping")
        .header("x-request-id", "client-trace.42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&service, request).await.header("x-request-id"),
        Some("client-trace.42")
    );

    for odd in ["<script>alert(1)</script>", &"x".repeat(200)] {
        let request = Request::get("/v1/ping")
            .header("x-request-id", odd)
            .body(Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        let id = reply.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "replaced: {id}");
    }
}

#[tokio::test]
async fn hsts_only_in_production() {
    let reply = send(&memory_service(), get("/v1/ping")).await;
    assert_eq!(reply.header("strict-transport-security"), None);

    let service = service_with(production_config(), Arc::new(MemoryStore::new()));
    let reply = send(&service, get("/v1/ping")).await;
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let service = memory_service();
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/health")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&service, preflight("http://localhost:3000")).await;
    assert!(allowed.status.is_success(), "{}", allowed.status);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("600"));
    assert!(allowed.header("x-request-id").is_some());
    // Caches keep answers for different origins and preflights apart.
    let vary = "origin, access-control-request-method, access-control-request-headers";
    assert_eq!(allowed.header("vary"), Some(vary));

    let denied = send(&service, preflight("https://evil.example")).await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    // Error responses carry CORS headers too, so a browser can read them.
    let request = Request::get("/v1/nope")
        .header("origin", "http://localhost:3000")
        .body(Body::empty())
        .unwrap();
    let reply = send(&service, request).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(reply.header("vary"), Some(vary));
}

#[tokio::test]
async fn the_api_prefix_is_configurable() {
    let mut config = Config::default();
    config.app.api_prefix = "/api/v1".into();
    let service = service_with(config, Arc::new(MemoryStore::new()));
    assert_eq!(
        send(&service, get("/api/v1/health")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&service, get("/v1/health")).await.status,
        StatusCode::NOT_FOUND
    );
    let doc = send(&service, get("/api/v1/openapi.json")).await.json();
    assert!(doc["paths"]["/api/v1/ping"].is_object());
    assert_eq!(
        send(&service, get("/")).await.json()["docs"],
        "/api/v1/docs"
    );
}

#[tokio::test]
async fn the_service_mounts_under_another_router() {
    let service = memory_service();
    let app = axum::Router::new()
        .route("/own", axum::routing::get(|| async { "own route" }))
        .nest_service("/aiq", service);
    let reply = tower::ServiceExt::oneshot(app, get("/aiq/v1/ping"))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_invalid_config_is_refused_at_build() {
    let mut config = Config::default();
    config.app.api_prefix = "v1/".into();
    let err = aiq_core::Aiq::builder(config).build().unwrap_err();
    assert!(err.names("API_V1_PREFIX"), "{err}");
}

/// `ApiJson` rejections, through a router that uses it the way handlers do.
#[tokio::test]
async fn json_bodies_are_checked_with_json_errors() {
    use aiq_core::extract::ApiJson;
    // The schema says which absent fields a 422 lists as required.
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    struct Login {
        #[allow(dead_code)]
        email: String,
    }
    let app = axum::Router::new().route(
        "/login",
        axum::routing::post(|ApiJson(_): ApiJson<Login>| async { "ok" }),
    );
    let post = |content_type: Option<&str>, body: &'static str| {
        let mut request = Request::post("/login");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(Body::from(body)).unwrap()
    };
    let call = |request: Request<Body>| async {
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (
            status,
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        )
    };

    let (status, body) = call(post(Some("application/json"), r#"{"email": "a@b.c"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");

    let (status, body) = call(post(None, "")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], serde_json::json!(["body"]));
    assert_eq!(body["detail"][0]["type"], "missing");

    let (status, body) = call(post(Some("text/plain"), r#"{"email": "a@b.c"}"#)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["detail"], "Content-Type must be application/json");

    // A body declared as UTF-16 is not read as UTF-8.
    let utf16 = "application/json; charset=utf-16";
    let (status, body) = call(post(Some(utf16), r#"{"email": "a@b.c"}"#)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body["detail"].as_str().unwrap().contains("UTF-8"), "{body}");

    let (status, body) = call(post(Some("application/json"), r#"{"email": 42}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["body", "email"])
    );
    assert!(!body.to_string().contains("42"), "{body}");
}

/// A body without a length is cut off at the limit while it is read: 413, not a 500.
#[tokio::test]
async fn a_streamed_body_over_the_limit_is_a_413() {
    use aiq_core::extract::ApiJson;
    let mut config = Config::default();
    config.http.max_body_bytes = 1024;
    // The limit applies inside the service's own routes; a nested router is built the same way.
    let app = axum::Router::new()
        .route(
            "/echo",
            axum::routing::post(
                |ApiJson(v): ApiJson<serde_json::Value>| async move { v.to_string() },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            config.http.max_body_bytes,
        ));
    let request = Request::post("/echo")
        .header("content-type", "application/json")
        .body(Body::new(Chunks { left: 4 }))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A body of `left` chunks of 1 KiB with no declared length, as a chunked upload arrives.
struct Chunks {
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        let chunk = bytes::Bytes::from_static(&[b' '; 1024]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}
