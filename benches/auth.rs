//! Token signing and checking, the authenticated `GET /v1/user/profile` path through the whole
//! service (token decode, revocation lookup, user lookup) on memory and on PostgreSQL, and one
//! login (an argon2id verification).
//!
//! ```text
//! cargo bench -p aiq-benches --bench auth
//! ```

use std::sync::Arc;

use aiq_core::auth::tokens::{TokenKind, Tokens};
use aiq_core::config::SecurityConfig;
use aiq_core::storage::{MemoryStore, NewUser, PgStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::TestDb;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

fn service(storage: Arc<dyn Storage>) -> AiqService {
    Aiq::builder(Config::default())
        .storage(storage)
        .build()
        .unwrap()
}

async fn call(
    service: &AiqService,
    request: http::Request<Full<bytes::Bytes>>,
) -> serde_json::Value {
    let response = service.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
}

/// Registers a user and returns an access token.
async fn access_token(service: &AiqService) -> String {
    let body = serde_json::json!({
        "email": "bench@example.com", "password": "correct horse 9",
        "first_name": "Bench", "last_name": "Mark"
    });
    let request = http::Request::post("/v1/auth/register")
        .header("content-type", "application/json")
        .body(Full::from(body.to_string()))
        .unwrap();
    call(service, request).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn profile_request(token: &str) -> http::Request<Full<bytes::Bytes>> {
    http::Request::get("/v1/user/profile")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::default())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let tokens = Tokens::new(&SecurityConfig::default()).unwrap();
    let user = NewUser::with_password("bench@example.com", "h").into_user(42);
    let now = aiq_core::time::now();
    let pair = tokens.issue(&user, "session", now).unwrap();
    let mut group = c.benchmark_group("jwt");
    group.bench_function("issue an access + refresh pair (HS256)", |b| {
        b.iter(|| tokens.issue(&user, "session", now).unwrap())
    });
    group.bench_function("decode + validate an access token", |b| {
        b.iter(|| tokens.decode(&pair.access, TokenKind::Access, now).unwrap())
    });
    group.finish();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (memory, memory_token) = runtime.block_on(async {
        let service = service(Arc::new(MemoryStore::new()));
        let token = access_token(&service).await;
        (service, token)
    });
    let (postgres, postgres_token, _db) = runtime.block_on(async {
        let db = TestDb::create().await;
        let mut config = Config::default();
        config.database.url = Some(db.url().to_owned().into());
        let store = PgStore::connect(&config.database).unwrap();
        store.migrate().await.unwrap();
        let service = service(Arc::new(store));
        let token = access_token(&service).await;
        (service, token, db)
    });

    let mut group = c.benchmark_group("service");
    group.bench_function("GET /v1/user/profile (memory)", |b| {
        b.to_async(&runtime)
            .iter(|| call(&memory, profile_request(&memory_token)))
    });
    group.bench_function("GET /v1/user/profile (postgres)", |b| {
        b.to_async(&runtime)
            .iter(|| call(&postgres, profile_request(&postgres_token)))
    });
    group.finish();

    // A login is one argon2id verification plus a token pair: this is the password hash cost.
    let mut group = c.benchmark_group("login");
    group.sample_size(20);
    group.bench_function("POST /v1/auth/login (memory, argon2id verify)", |b| {
        b.to_async(&runtime).iter(|| {
            let body =
                serde_json::json!({"email": "bench@example.com", "password": "correct horse 9"});
            let request = http::Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .body(Full::from(body.to_string()))
                .unwrap();
            call(&memory, request)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
