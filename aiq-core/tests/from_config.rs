//! `Aiq::from_config`: the service `aiq-server` runs, built by the library from the documented
//! variables alone — PostgreSQL when `DATABASE_URL` is set (never a silent memory store), the
//! Redis limiter shared by instances when `RATE_LIMIT_STORAGE=redis`.

mod support;

use aiq_core::config::RateLimitStorage;
use aiq_core::{Aiq, Config, StartError};
use aiq_testkit::{PrivateRedis, TestDb};
use axum::body::Body;
use http::{Request, StatusCode};
use secrecy::SecretString;
use serde_json::json;
use support::{get, send};

fn on_database(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.database.url = Some(SecretString::from(db.url().to_owned()));
    config
}

#[tokio::test]
async fn with_database_url_the_service_runs_on_postgres() {
    let db = TestDb::create().await;
    let service = Aiq::from_config(on_database(&db)).await.unwrap();

    let health = send(&service, get("/v1/health")).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["database"], "ok");

    // What the service writes lands in that database.
    let register = Request::post("/v1/auth/register")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"email": "embedded@example.com", "password": "correct horse 9",
                   "first_name": "Em", "last_name": "Bed"})
            .to_string(),
        ))
        .unwrap();
    assert_eq!(send(&service, register).await.status, StatusCode::CREATED);
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let users: i64 = client
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'embedded@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
    service.close();
}

#[tokio::test]
async fn building_without_connecting_refuses_a_database_url_instead_of_using_memory() {
    let db = TestDb::create().await;
    let error = Aiq::builder(on_database(&db)).build().unwrap_err();
    assert!(error.names("DATABASE_URL"), "{error}");
    assert!(error.to_string().contains("from_config"), "{error}");
}

#[tokio::test]
async fn an_unreachable_database_stops_the_start_with_its_cause() {
    let mut config = Config::default();
    // A port nothing listens on.
    let port = PrivateRedis::free_port();
    config.database.url = Some(SecretString::from(format!(
        "postgres://postgres@127.0.0.1:{port}/nothing"
    )));
    let error = Aiq::from_config(config).await.unwrap_err();
    assert!(matches!(error, StartError::Database(_)), "{error}");
    assert!(error.to_string().contains("DATABASE_URL"), "{error}");
}

fn login() -> Request<Body> {
    let body = json!({"email": "someone@example.com", "password": "not the password 1"});
    Request::post("/v1/auth/login")
        .header("content-type", "application/json")
        .header("x-envoy-external-address", "203.0.113.9")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn two_services_from_the_same_redis_settings_share_the_login_limit() {
    let redis = PrivateRedis::start(PrivateRedis::free_port()).await;
    let mut config = Config::default();
    config.rate_limit.storage = RateLimitStorage::Redis;
    config.rate_limit.redis_url = SecretString::from(redis.url());
    let a = Aiq::from_config(config.clone()).await.unwrap();
    let b = Aiq::from_config(config).await.unwrap();

    let mut statuses = Vec::new();
    for service in [&a, &b, &a, &b, &a, &b] {
        statuses.push(send(service, login()).await.status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn an_unreachable_redis_stops_the_start_naming_its_variable() {
    let mut config = Config::default();
    config.rate_limit.storage = RateLimitStorage::Redis;
    config.rate_limit.redis_url =
        SecretString::from(format!("redis://127.0.0.1:{}/0", PrivateRedis::free_port()));
    let error = Aiq::from_config(config).await.unwrap_err();
    assert!(matches!(error, StartError::Redis(_)), "{error}");
    assert!(
        error.to_string().contains("RATE_LIMIT_REDIS_URL"),
        "{error}"
    );
}
