//! Helpers shared by the integration tests of aiq-core.

#![allow(dead_code, unreachable_pub)]

pub mod faulty;
pub mod groups;
pub mod jwks;
pub mod logs;

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "postgres")]
use aiq_core::storage::PgStore;
use aiq_core::storage::{MemoryStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
#[cfg(feature = "postgres")]
use aiq_testkit::TestDb;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Upper bound on how long a test waits for something to happen before it gives up (not a
/// performance target): long enough for a loaded machine, short enough to end a hung test.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one request through the service in-process.
pub async fn send(service: &AiqService, request: Request<Body>) -> Reply {
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A service on the in-memory store with default configuration.
pub fn memory_service() -> AiqService {
    service_with(Config::default(), Arc::new(MemoryStore::new()))
}

pub fn service_with(config: Config, storage: Arc<dyn Storage>) -> AiqService {
    Aiq::builder(config).storage(storage).build().unwrap()
}

/// A migrated PostgreSQL store on its own database (dropped with the returned guard).
#[cfg(feature = "postgres")]
pub async fn pg_store() -> (PgStore, TestDb) {
    let db = TestDb::create().await;
    let mut config = Config::default();
    config.database.url = Some(db.url().to_owned().into());
    let store = PgStore::connect(&config.database).unwrap();
    store.migrate().await.unwrap();
    (store, db)
}

/// A request with a JSON body and, optionally, a bearer token.
pub fn json(
    method: http::Method,
    uri: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

/// A request without a body, with a bearer token.
pub fn authed(method: http::Method, uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// A valid registration body for `email`.
pub fn registration(email: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": "correct horse 9",
        "first_name": "Ada",
        "last_name": "Lovelace",
    })
}

/// Registers `email` and returns the token response.
pub async fn register(service: &AiqService, email: &str) -> serde_json::Value {
    let reply = send(
        service,
        json(
            http::Method::POST,
            "/v1/auth/register",
            registration(email),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

/// Logs in and returns the token response.
pub async fn login(service: &AiqService, email: &str, password: &str) -> Reply {
    send(
        service,
        json(
            http::Method::POST,
            "/v1/auth/login",
            serde_json::json!({"email": email, "password": password}),
            None,
        ),
    )
    .await
}

/// `GET /v1/user/profile` with `token`.
pub async fn profile(service: &AiqService, token: &str) -> Reply {
    send(
        service,
        authed(http::Method::GET, "/v1/user/profile", token),
    )
    .await
}

/// The `detail` message of an error reply.
pub fn detail(reply: &Reply) -> String {
    reply.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A mailer that hands every message to the test.
#[derive(Debug)]
pub struct RecordingMailer {
    sent: tokio::sync::mpsc::UnboundedSender<aiq_core::mail::Message>,
}

impl RecordingMailer {
    pub fn new() -> (
        Arc<Self>,
        tokio::sync::mpsc::UnboundedReceiver<aiq_core::mail::Message>,
    ) {
        let (sent, received) = tokio::sync::mpsc::unbounded_channel();
        (Arc::new(Self { sent }), received)
    }
}

#[async_trait::async_trait]
impl aiq_core::mail::Mailer for RecordingMailer {
    async fn send(
        &self,
        message: aiq_core::mail::Message,
    ) -> Result<(), aiq_core::mail::MailError> {
        let _ = self.sent.send(message);
        Ok(())
    }
}

/// Declares each listed `async fn(AiqService, Arc<dyn Storage>)` as a test on the in-memory
/// store and, with the `postgres` feature, on PostgreSQL; the test file provides
/// `fn service_for(Arc<dyn Storage>) -> AiqService`.
///
/// For tests through the service. What a store alone must do is the conformance suite's
/// (`aiq_testkit::conformance`, run by `storage_conformance.rs`).
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store: std::sync::Arc<dyn aiq_core::storage::Storage> =
                        std::sync::Arc::new(aiq_core::storage::MemoryStore::new());
                    super::$name(super::service_for(store.clone()), store).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _db) = $crate::support::pg_store().await;
                    let store: std::sync::Arc<dyn aiq_core::storage::Storage> = std::sync::Arc::new(store);
                    super::$name(super::service_for(store.clone()), store).await;
                }
            )*
        }
    };
}
