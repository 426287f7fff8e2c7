//! What a build without some of aiq-core's Cargo features does: the memory-store service still
//! serves the API, and a setting that asks for a part left out makes building the service fail
//! with a `ConfigError` naming the variable and the feature, instead of quietly doing without.
//! Each case runs only when its feature is off (CI runs this file with
//! `--no-default-features`); with every feature on, only the first two cases run.

mod support;

use aiq_core::{Aiq, Config};
use http::StatusCode;
use support::{get, send};

#[tokio::test]
async fn the_memory_store_service_serves_the_api_and_its_document() {
    let service = Aiq::from_config(Config::default()).await.unwrap();
    assert_eq!(
        send(&service, get("/v1/health")).await.status,
        StatusCode::OK
    );
    let openapi = send(&service, get("/v1/openapi.json")).await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.json()["paths"]["/v1/health"].is_object());
}

#[tokio::test]
async fn the_welcome_document_points_at_documentation_this_build_serves() {
    let service = Aiq::from_config(Config::default()).await.unwrap();
    let welcome = send(&service, get("/")).await;
    assert_eq!(welcome.status, StatusCode::OK);
    let docs = welcome.json()["docs"].as_str().unwrap().to_owned();
    let expected = if cfg!(feature = "swagger-ui") {
        "/v1/docs"
    } else {
        "/v1/openapi.json"
    };
    assert_eq!(docs, expected);
    let served = send(&service, get(&docs)).await.status;
    assert!(
        served.is_success() || served.is_redirection(),
        "GET {docs}: {served}"
    );
}

/// Building `config` fails, and the error names `variable` and `feature`.
#[cfg(not(all(
    feature = "postgres",
    feature = "redis",
    feature = "smtp",
    feature = "apns",
    feature = "oauth"
)))]
async fn refused(config: Config, variable: &str, feature: &str) {
    let built = Aiq::builder(config.clone()).build();
    let error = built.expect_err("the builder must refuse").to_string();
    assert!(error.contains(variable), "{error}");
    assert!(error.contains(&format!("`{feature}` feature")), "{error}");
    let error = Aiq::from_config(config)
        .await
        .expect_err("from_config must refuse")
        .to_string();
    assert!(error.contains(variable), "{error}");
    assert!(error.contains(&format!("`{feature}` feature")), "{error}");
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn database_url_without_postgres_is_refused() {
    let mut config = Config::default();
    config.database.url = Some("postgresql://aiq@127.0.0.1:5432/aiq".to_owned().into());
    refused(config, "DATABASE_URL", "postgres").await;
}

#[cfg(not(feature = "redis"))]
#[tokio::test]
async fn redis_settings_without_redis_are_refused() {
    let mut config = Config::default();
    config.rate_limit.storage = aiq_core::config::RateLimitStorage::Redis;
    refused(config, "RATE_LIMIT_STORAGE", "redis").await;

    let mut config = Config::default();
    config.security.token_blacklist_redis_url = Some("redis://127.0.0.1:6379/0".to_owned().into());
    refused(config, "TOKEN_BLACKLIST_REDIS_URL", "redis").await;

    let mut config = Config::default();
    config.guest.token_redis_url = Some("redis://127.0.0.1:6379/0".to_owned().into());
    refused(config, "GUEST_TOKEN_REDIS_URL", "redis").await;
}

#[cfg(not(feature = "smtp"))]
#[tokio::test]
async fn smtp_without_smtp_is_refused() {
    let mut config = Config::default();
    config.smtp.enabled = true;
    refused(config.clone(), "SMTP_ENABLED", "smtp").await;
    // A mailer given in code is used instead, so nothing is missing.
    let mailer = aiq_core::mail::LogMailer::new(&config.app.environment);
    Aiq::builder(config)
        .mailer(std::sync::Arc::new(mailer))
        .build()
        .unwrap();
}

#[cfg(not(feature = "apns"))]
#[tokio::test]
async fn apns_without_apns_is_refused() {
    let mut config = Config::default();
    config.apns.team_id = "TEAM123456".into();
    refused(config, "APNS_TEAM_ID", "apns").await;
}

#[cfg(not(feature = "oauth"))]
#[tokio::test]
async fn client_ids_without_oauth_are_refused_and_sign_in_is_switched_off() {
    let mut config = Config::default();
    config.oauth.google_client_ids = vec!["client.apps.googleusercontent.com".into()];
    refused(config, "GOOGLE_OAUTH_CLIENT_IDS", "oauth").await;

    // Without client ids the endpoints answer as for a provider that is not configured.
    let service = Aiq::from_config(Config::default()).await.unwrap();
    let body = serde_json::json!({"identity_token": "a.b.c"});
    let reply = send(
        &service,
        support::json(http::Method::POST, "/v1/auth/oauth/google", body, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
}

#[cfg(not(feature = "swagger-ui"))]
#[tokio::test]
async fn without_swagger_ui_the_docs_page_is_not_found() {
    let service = Aiq::from_config(Config::default()).await.unwrap();
    assert_eq!(
        send(&service, get("/v1/docs/")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&service, get("/v1/openapi.json")).await.status,
        StatusCode::OK
    );
}
