//! Revocations in a real Redis (`AIQ_TEST_REDIS_URL`, default the local server), each test under
//! its own key prefix; and with the database behind Redis ([`CachedRevocations`]), through a
//! Redis restart (a private `redis-server`), an emptied Redis checked by many readers at once,
//! and an unreachable Redis.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use aiq_core::storage::{
    CachedRevocations, MemoryStore, RedisRevocations, Revocation, RevocationRecord,
    RevocationStore, Storage, StorageError,
};
use aiq_core::{AiqService, Config};
use aiq_testkit::PrivateRedis;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use support::{authed, detail, profile, register, send};
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

/// How long a test waits for a background refill.
const REFILL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A store under a fresh prefix; its keys are deleted when the guard drops.
struct Scoped {
    store: RedisRevocations,
    prefix: String,
}

impl Scoped {
    fn new() -> Self {
        let prefix = format!("aiq-test:{}:", uuid::Uuid::new_v4().simple());
        Self {
            store: RedisRevocations::new(&redis_url(), &prefix).unwrap(),
            prefix,
        }
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("Redis is required for these tests (.ci/run starts it)")
    }

    async fn cleanup(self) {
        let mut connection = self.connection().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut connection)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    }
}

fn now() -> OffsetDateTime {
    aiq_core::time::now()
}

#[tokio::test]
async fn a_revocation_is_new_once_and_remembers_its_time() {
    let scoped = Scoped::new();
    let at = now();
    let written = std::time::Instant::now();
    assert!(
        scoped
            .store
            .revoke("jti:a", at, at + Duration::minutes(5))
            .await
            .unwrap()
    );
    assert!(
        !scoped
            .store
            .revoke(
                "jti:a",
                at + Duration::seconds(1),
                at + Duration::minutes(9)
            )
            .await
            .unwrap()
    );
    let seen = scoped
        .store
        .revoked_at(&["jti:a", "jti:b"], at)
        .await
        .unwrap();
    assert_eq!(seen, vec![Some(at), None]);

    // Redis forgets the entry when the tokens it covers expire.
    let mut connection = scoped.connection().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}jti:a", scoped.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    // The TTL has been running since the write, for as long as this machine took to get here.
    let since_ms = i64::try_from(written.elapsed().as_millis()).unwrap() + 1;
    assert!(
        (300_000 - since_ms..=300_000).contains(&ttl),
        "{ttl} ms, {since_ms} ms after the write"
    );
    scoped.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_revocations_report_one_new() {
    let scoped = Scoped::new();
    let store = Arc::new(scoped.store.clone());
    let at = now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store
                .revoke("sid:race", at, at + Duration::minutes(1))
                .await
                .unwrap()
        });
    }
    let mut new = 0;
    while let Some(result) = tasks.join_next().await {
        new += usize::from(result.unwrap());
    }
    assert_eq!(new, 1);
    scoped.cleanup().await;
}

#[tokio::test]
async fn logout_on_one_instance_holds_on_another_sharing_redis_and_postgres() {
    let (store, _db) = support::pg_store().await;
    let store: Arc<dyn Storage> = Arc::new(store);
    let scoped = Scoped::new();
    // Both instances must share the signing key, as replicas of one deployment do.
    let mut config = Config::default();
    config.security.jwt_secret_key = "shared-signing-key-for-two-replicas-0001".to_owned().into();
    let a = aiq_core::Aiq::builder(config.clone())
        .storage(store.clone())
        .revocations(Arc::new(scoped.store.clone()))
        .build()
        .unwrap();
    let b = aiq_core::Aiq::builder(config)
        .storage(store.clone())
        .revocations(Arc::new(scoped.store.clone()))
        .build()
        .unwrap();

    let registered = register(&a, "replicas@example.com").await;
    let access = registered["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&b, &access).await.status, StatusCode::OK);
    let reply = send(&a, authed(Method::POST, "/v1/auth/logout", &access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let on_b = profile(&b, &access).await;
    assert_eq!(on_b.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&on_b), "Token has been revoked.");
    scoped.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed() {
    // Nothing listens on port 1: revocations cannot be checked, so tokens are not accepted.
    let revocations = RedisRevocations::new("redis://127.0.0.1:1/0", "aiq-test:down:").unwrap();
    let service = aiq_core::Aiq::builder(Config::default())
        .revocations(Arc::new(revocations))
        .build()
        .unwrap();
    let registered = register(&service, "closed@example.com").await;
    let reply = profile(&service, registered["access_token"].as_str().unwrap()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        detail(&reply),
        "Service temporarily unavailable. Please try again later."
    );
}

/// A claim of a JWT, read without checking the signature.
fn claim(token: &str, name: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn exists(url: &str, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(&mut connection(url).await)
        .await
        .unwrap()
}

fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap()
}

/// A service on `store` whose revocations are checked in the Redis at `url` under `prefix`,
/// with `store` as their record. Not rate limited: the tests poll it.
fn cached_service(store: Arc<dyn Storage>, url: &str, prefix: &str) -> AiqService {
    let redis = RedisRevocations::new(url, prefix).unwrap();
    let revocations = CachedRevocations::new(redis, store.clone());
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    aiq_core::Aiq::builder(config)
        .storage(store)
        .revocations(Arc::new(revocations))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_logout_outlives_a_redis_restart_and_is_refilled_from_postgres() {
    let port = PrivateRedis::free_port();
    let redis = PrivateRedis::start(port).await;
    let (store, _db) = support::pg_store().await;
    let prefix = "aiq-test:restart:";
    let service = cached_service(Arc::new(store), &redis.url(), prefix);

    let registered = register(&service, "restart@example.com").await;
    let access = registered["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&service, &access).await.status, StatusCode::OK);
    let reply = send(&service, authed(Method::POST, "/v1/auth/logout", &access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        profile(&service, &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token_key = format!("{prefix}jti:{}", claim(&access, "jti"));
    let session_key = format!("{prefix}sid:{}", claim(&access, "sid"));
    assert!(
        exists(&redis.url(), &token_key).await,
        "logout wrote to Redis"
    );

    // Redis restarts without persistence and comes back empty.
    redis.stop();
    let redis = PrivateRedis::start(port).await;
    assert!(
        !exists(&redis.url(), &token_key).await,
        "Redis came back empty"
    );

    // The token stays refused (the database answers) until Redis has been refilled.
    let deadline = Instant::now() + REFILL_DEADLINE;
    loop {
        let reply = profile(&service, &access).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(detail(&reply), "Token has been revoked.");
        if exists(&redis.url(), &token_key).await && exists(&redis.url(), &session_key).await {
            break;
        }
        assert!(Instant::now() < deadline, "Redis was not refilled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(exists(&redis.url(), &format!("{prefix}refill:done")).await);
    assert_eq!(
        profile(&service, &access).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A record on the memory store that counts the refills started (listings from the first key)
/// and the checks it answers, and holds every listing until the test opens the gate.
#[derive(Debug)]
struct GatedRecord {
    inner: MemoryStore,
    refills: AtomicUsize,
    checks: AtomicUsize,
    gate: watch::Receiver<bool>,
}

#[async_trait]
impl RevocationStore for GatedRecord {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.revoke(key, revoked_at, expires_at).await
    }

    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.revoked_at(keys, now).await
    }
}

#[async_trait]
impl RevocationRecord for GatedRecord {
    async fn live_revocations(
        &self,
        after: Option<&str>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StorageError> {
        if after.is_none() {
            self.refills.fetch_add(1, Ordering::SeqCst);
        }
        self.gate.clone().wait_for(|open| *open).await.unwrap();
        self.inner.live_revocations(after, limit, now).await
    }
}

/// Polls `done` until it holds, failing after [`REFILL_DEADLINE`].
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + REFILL_DEADLINE;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_on_an_emptied_redis_are_answered_by_the_record_and_refill_it_once() {
    // A fresh prefix is an emptied Redis to these stores: no marker, no revocations.
    let scoped = Scoped::new();
    let url = redis_url();
    let (open, gate) = watch::channel(false);
    let record = Arc::new(GatedRecord {
        inner: MemoryStore::new(),
        refills: AtomicUsize::new(0),
        checks: AtomicUsize::new(0),
        gate,
    });
    let at = now();
    let until = at + Duration::minutes(5);
    // Lost with Redis: only the record has it.
    record.revoke("jti:lost", at, until).await.unwrap();
    // Revoked again through the emptied Redis, a second later: the first time is what counts.
    record.revoke("sid:twice", at, until).await.unwrap();
    let mut redis = connection(&url).await;
    let _: () = redis::cmd("SET")
        .arg(format!("{}sid:twice", scoped.prefix))
        .arg(micros(at + Duration::seconds(1)))
        .query_async(&mut redis)
        .await
        .unwrap();

    // Three instances sharing Redis and the record, checking at once.
    let stores: Vec<CachedRevocations> = (0..3)
        .map(|_| {
            let redis = RedisRevocations::new(&url, &scoped.prefix).unwrap();
            CachedRevocations::new(redis, record.clone())
        })
        .collect();
    let keys = ["jti:lost", "sid:twice", "jti:never"];
    let expected = vec![Some(at), Some(at), None];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let store = stores[i % stores.len()].clone();
        tasks.spawn(async move { store.revoked_at(&keys, at).await.unwrap() });
    }
    while let Some(seen) = tasks.join_next().await {
        assert_eq!(seen.unwrap(), expected, "answered while the refill waits");
    }
    assert_eq!(record.checks.load(Ordering::SeqCst), 30);
    eventually("a refill started", async || {
        record.refills.load(Ordering::SeqCst) > 0
    })
    .await;

    open.send(true).unwrap();
    let marker = format!("{}refill:done", scoped.prefix);
    eventually("the refill finished", async || exists(&url, &marker).await).await;
    assert_eq!(record.refills.load(Ordering::SeqCst), 1, "refilled once");
    let values: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(format!("{}jti:lost", scoped.prefix))
        .arg(format!("{}sid:twice", scoped.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(values, vec![Some(micros(at)), Some(micros(at))]);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}jti:lost", scoped.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((1..=300_000).contains(&ttl), "{ttl}");

    // Filled: Redis alone answers, and a new revocation goes to both.
    for store in &stores {
        assert_eq!(store.revoked_at(&keys, at).await.unwrap(), expected);
    }
    assert_eq!(record.checks.load(Ordering::SeqCst), 30, "no more reads");
    assert!(stores[0].revoke("jti:new", at, until).await.unwrap());
    assert!(!stores[1].revoke("jti:new", at, until).await.unwrap());
    assert!(exists(&url, &format!("{}jti:new", scoped.prefix)).await);
    assert_eq!(
        record.inner.revoked_at(&["jti:new"], at).await.unwrap(),
        vec![Some(at)]
    );
    assert_eq!(record.refills.load(Ordering::SeqCst), 1);
    scoped.cleanup().await;
}

#[tokio::test]
async fn with_redis_unreachable_checks_read_the_record_and_logouts_fail() {
    let store = Arc::new(MemoryStore::new());
    // Nothing listens on port 1.
    let service = cached_service(store.clone(), "redis://127.0.0.1:1/0", "aiq-test:down:");
    let registered = register(&service, "record@example.com").await;
    let access = registered["access_token"].as_str().unwrap().to_owned();
    assert_eq!(profile(&service, &access).await.status, StatusCode::OK);

    // A revocation needs Redis: one in the record only would be missing from Redis once it
    // answers again.
    let reply = send(&service, authed(Method::POST, "/v1/auth/logout", &access)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    // What the record holds is enforced.
    let at = now();
    let key = format!("jti:{}", claim(&access, "jti"));
    store
        .revoke(&key, at, at + Duration::minutes(5))
        .await
        .unwrap();
    let reply = profile(&service, &access).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(detail(&reply), "Token has been revoked.");
}
