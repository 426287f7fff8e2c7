//! A database that goes silent (TCP open, no bytes: a partition, a stuck primary), between aiq
//! and a real PostgreSQL through the fault proxy's black hole: every request answers 503 within
//! `DB_POOL_TIMEOUT` + 1 s, never 408, health says so, and service comes back by itself within a
//! second of the database answering again. The bounds asserted are the ones the service promises
//! (configured here small, so the test is short), not performance targets.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiq_core::storage::{PgStore, Storage};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::{TcpProxy, TestDb};
use http::StatusCode;
use support::{profile, register, send};

/// `DB_POOL_TIMEOUT` of these tests: the bound of every answer while the database is silent is
/// this plus a second.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

struct Silent {
    service: AiqService,
    proxy: TcpProxy,
    token: String,
    _db: TestDb,
}

/// A service on a migrated test database reached through a proxy, with a registered user.
async fn through_proxy() -> Silent {
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(db.server_addr()).await;
    let proxied = db.url_at(proxy.addr());
    assert_ne!(proxied, db.url(), "the URL goes through the proxy");

    let mut config = Config::default();
    config.database.url = Some(proxied.into());
    config.database.pool_wait_timeout = POOL_TIMEOUT;
    config.database.connect_timeout = POOL_TIMEOUT;
    config.database.statement_timeout = Some(Duration::from_secs(1));
    config.rate_limit.enabled = false;
    let store = PgStore::connect(&config.database).unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Storage> = Arc::new(store);
    let service = Aiq::builder(config).storage(store).build().unwrap();
    let registered = register(&service, "silence@example.com").await;
    let token = registered["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&service, &token).await.status, StatusCode::OK);
    Silent {
        service,
        proxy,
        token,
        _db: db,
    }
}

/// Sends a profile read and returns its status and how long it took.
async fn timed_profile(world: &Silent) -> (StatusCode, Duration) {
    let started = Instant::now();
    let reply = profile(&world.service, &world.token).await;
    (reply.status, started.elapsed())
}

/// After the database answers again, requests are served within a second.
async fn comes_back(world: &Silent) {
    world.proxy.restore();
    let restored = Instant::now();
    loop {
        let (status, _) = timed_profile(world).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            restored.elapsed() < Duration::from_secs(1),
            "still {status} a second after the database answers again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..5 {
        assert_eq!(timed_profile(world).await.0, StatusCode::OK);
    }
    let health = send(&world.service, support::get("/v1/health")).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_gets_fast_503s_and_service_comes_back_by_itself() {
    let world = through_proxy().await;
    world.proxy.black_hole();
    let bound = POOL_TIMEOUT + Duration::from_secs(1);
    let started = Instant::now();
    // 50 requests spread over 20 seconds of silence, four at a time.
    let mut answered = 0;
    while answered < 50 {
        let batch: Vec<_> = (0..4).map(|_| timed_profile(&world)).collect();
        for (status, took) in futures_util::future::join_all(batch).await {
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "never 408, never 200"
            );
            assert!(took <= bound, "{took:?} > {bound:?}");
            answered += 1;
        }
        let next = started + Duration::from_millis(1_600) * u32::try_from(answered / 4).unwrap();
        tokio::time::sleep_until(next.into()).await;
    }
    assert!(
        started.elapsed() >= Duration::from_secs(19),
        "the silence lasted"
    );
    let health = send(&world.service, support::get("/v1/health")).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["database"], "error");
    comes_back(&world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_mid_query_gets_a_503_not_a_hang() {
    let world = through_proxy().await;
    // The server's replies are held, so the database goes silent with one on its way.
    world.proxy.hold();
    let seen = world.proxy.upstream_chunks();
    let service = world.service.clone();
    let token = world.token.clone();
    let in_flight = tokio::spawn(async move {
        let started = Instant::now();
        let reply = profile(&service, &token).await;
        (reply.status, started.elapsed())
    });
    world.proxy.wait_for_upstream_beyond(seen).await;
    world.proxy.black_hole();
    world.proxy.release();
    let (status, took) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took <= POOL_TIMEOUT + Duration::from_secs(1), "{took:?}");
    // The next ones fail fast.
    let (status, took) = timed_profile(&world).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took < Duration::from_secs(1), "{took:?}");
    comes_back(&world).await;
}
