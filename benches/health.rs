//! `GET /v1/ping` and `GET /v1/health` through the whole service (middleware included),
//! in-process, on the in-memory store and on PostgreSQL.
//!
//! ```text
//! cargo bench -p aiq-benches --bench health
//! ```
//! The PostgreSQL case creates a throw-away database through `AIQ_TEST_DATABASE_URL` (default:
//! the local server).

use std::sync::Arc;

use aiq_core::storage::{MemoryStore, PgStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::TestDb;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Empty};
use tower::ServiceExt;

fn service(storage: Arc<dyn Storage>) -> AiqService {
    Aiq::builder(Config::default())
        .storage(storage)
        .build()
        .unwrap()
}

async fn call<S>(service: &S, path: &'static str)
where
    S: tower::Service<
            http::Request<Empty<bytes::Bytes>>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone,
{
    let request = http::Request::get(path)
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
    response.into_body().collect().await.unwrap();
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let memory = service(Arc::new(MemoryStore::new()));
    let (postgres, _db) = runtime.block_on(async {
        let db = TestDb::create().await;
        let mut config = Config::default();
        config.database.url = Some(db.url().to_owned().into());
        let store = PgStore::connect(&config.database).unwrap();
        store.migrate().await.unwrap();
        (service(Arc::new(store)), db)
    });

    // The floor: the same answer from a bare axum router, without our middleware.
    let bare = axum::Router::new().route(
        "/v1/ping",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"message": "pong"})) }),
    );

    let mut group = c.benchmark_group("service");
    group.bench_function("GET /v1/ping (bare axum router, no middleware)", |b| {
        b.to_async(&runtime).iter(|| call(&bare, "/v1/ping"))
    });
    group.bench_function("GET /v1/ping (memory)", |b| {
        b.to_async(&runtime).iter(|| call(&memory, "/v1/ping"))
    });
    group.bench_function("GET /v1/health (memory)", |b| {
        b.to_async(&runtime).iter(|| call(&memory, "/v1/health"))
    });
    group.bench_function("GET /v1/health (postgres)", |b| {
        b.to_async(&runtime).iter(|| call(&postgres, "/v1/health"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
