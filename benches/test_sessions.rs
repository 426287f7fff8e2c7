//! `POST /v1/test/start` and `POST /v1/test/submit` (25 answers) through the whole service, on
//! memory and on PostgreSQL. Each measured request gets a fresh user (created directly in the
//! store, outside the timing), so every start composes from the full starter bank and every
//! submit completes a fresh session.
//!
//! ```text
//! cargo bench -p aiq-benches --bench test_sessions
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiq_core::auth::tokens::Tokens;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{MemoryStore, NewUser, PgStore, QuestionStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::TestDb;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

struct Bench {
    service: AiqService,
    store: Arc<dyn Storage>,
    tokens: Tokens,
}

impl Bench {
    fn new(config: Config, store: Arc<dyn Storage>) -> Self {
        let tokens = Tokens::new(&config.security).unwrap();
        let service = Aiq::builder(config).storage(store.clone()).build().unwrap();
        Self {
            service,
            store,
            tokens,
        }
    }

    /// A new user and an access token for them.
    async fn user(&self) -> String {
        let email = format!("bench-{}@example.com", uuid_like());
        let user = self
            .store
            .create_user(NewUser::with_password(&email, "not-a-hash"))
            .await
            .unwrap();
        self.tokens
            .issue(&user, "bench", aiq_core::time::now())
            .unwrap()
            .access
    }

    async fn call(&self, request: http::Request<Full<bytes::Bytes>>) -> serde_json::Value {
        let response = self.service.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    async fn start(&self, token: &str) -> serde_json::Value {
        let request = http::Request::post("/v1/test/start")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::default())
            .unwrap();
        self.call(request).await
    }

    /// The submit request answering every question of `started` (the first option).
    fn submission(token: &str, started: &serde_json::Value) -> http::Request<Full<bytes::Bytes>> {
        let responses: Vec<serde_json::Value> = started["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| serde_json::json!({"question_id": q["id"], "user_answer": q["answer_options"][0]}))
            .collect();
        let body =
            serde_json::json!({"session_id": started["session"]["id"], "responses": responses});
        http::Request::post("/v1/test/submit")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::from(body.to_string()))
            .unwrap()
    }
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn config() -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let memory = Bench::new(
        config(),
        Arc::new(MemoryStore::with_questions(&starter_bank())),
    );
    let (postgres, _db) = runtime.block_on(async {
        let db = TestDb::create().await;
        let mut config = config();
        config.database.url = Some(db.url().to_owned().into());
        let store = PgStore::connect(&config.database).unwrap();
        store.migrate().await.unwrap();
        store.import_questions(&starter_bank()).await.unwrap();
        (Bench::new(config, Arc::new(store)), db)
    });

    let mut group = c.benchmark_group("test");
    for (name, bench) in [("memory", &memory), ("postgres", &postgres)] {
        group.bench_function(format!("POST /v1/test/start ({name})"), |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let token = bench.user().await;
                    let started = Instant::now();
                    bench.start(&token).await;
                    total += started.elapsed();
                }
                total
            })
        });
        group.bench_function(format!("POST /v1/test/submit, 25 answers ({name})"), |b| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let token = bench.user().await;
                    let test = bench.start(&token).await;
                    let request = Bench::submission(&token, &test);
                    let started = Instant::now();
                    bench.call(request).await;
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();
    runtime.block_on(memory.service.settle());
    runtime.block_on(postgres.service.settle());
}

criterion_group!(benches, bench);
criterion_main!(benches);
