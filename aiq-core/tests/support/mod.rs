//! Helpers shared by the integration tests of aiq-core.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use aiq_core::storage::{MemoryStore, PgStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::TestDb;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

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
pub async fn pg_store() -> (PgStore, TestDb) {
    let db = TestDb::create().await;
    let mut config = Config::default();
    config.database.url = Some(db.url().to_owned().into());
    let store = PgStore::connect(&config.database).unwrap();
    store.migrate().await.unwrap();
    (store, db)
}
