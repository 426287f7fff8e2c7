//! Revocations in a real Redis (`AIQ_TEST_REDIS_URL`, default the local server), each test under
//! its own key prefix.

mod support;

use std::sync::Arc;

use aiq_core::Config;
use aiq_core::storage::{RedisRevocations, RevocationStore, Storage};
use http::{Method, StatusCode};
use support::{authed, detail, profile, register, send};
use time::{Duration, OffsetDateTime};

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
