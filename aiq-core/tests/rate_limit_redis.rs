//! Rate limits shared through Redis by two service instances, and what happens when that Redis
//! stops and comes back. Each test runs a private `redis-server` on a free port, so stopping it
//! disturbs nothing else.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::clock::ManualClock;
use aiq_core::ratelimit::{FallbackLimiter, MemoryLimiter, RedisLimiter, Strategy};
use aiq_core::{Aiq, AiqService, Config};
use aiq_testkit::PrivateRedis;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;
use support::send;

/// A service instance limiting through `url`, falling back to its own memory.
fn instance(url: &str, clock: &Arc<ManualClock>) -> (AiqService, Arc<FallbackLimiter>) {
    let strategy = Strategy::TokenBucket;
    let redis = RedisLimiter::with_clock(url, "aiq-test:rl:", strategy, clock.clone()).unwrap();
    let limiter = Arc::new(FallbackLimiter::with_clock(
        Arc::new(redis),
        MemoryLimiter::with_clock(strategy, 10_000, clock.clone()),
        clock.clone(),
    ));
    let service = Aiq::builder(Config::default())
        .limiter(limiter.clone())
        .build()
        .unwrap();
    (service, limiter)
}

fn login(ip: &str) -> Request<Body> {
    let body = json!({"email": "someone@example.com", "password": "not the password 1"});
    Request::post("/v1/auth/login")
        .header("content-type", "application/json")
        .header("x-envoy-external-address", ip)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// How many of `count` logins from `ip` on `service` were let through (not 429); a 500 fails.
async fn through(service: &AiqService, ip: &str, count: usize) -> usize {
    let mut passed = 0;
    for _ in 0..count {
        let status = send(service, login(ip)).await.status;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
        if status != StatusCode::TOO_MANY_REQUESTS {
            passed += 1;
        }
    }
    passed
}

#[tokio::test]
async fn instances_share_limits_fall_back_while_redis_is_down_and_share_again_after() {
    let port = PrivateRedis::free_port();
    let redis = PrivateRedis::start(port).await;
    let clock = Arc::new(ManualClock::new(1_800_000_000_000_000));
    let (a, limiter_a) = instance(&redis.url(), &clock);
    let (b, limiter_b) = instance(&redis.url(), &clock);

    // Shared: 3 + 3 logins from one address across both instances, 5 allowed.
    assert_eq!(
        through(&a, "203.0.113.1", 3).await + through(&b, "203.0.113.1", 3).await,
        5
    );

    // Redis stops: each instance limits on its own, nothing fails open, nothing errors.
    redis.stop();
    assert_eq!(through(&a, "203.0.113.2", 7).await, 5);
    assert_eq!(through(&b, "203.0.113.2", 7).await, 5, "per instance now");
    assert!(limiter_a.is_degraded());
    assert!(limiter_a.fallback_checks() >= 7);

    // Redis is back (empty). Each instance tries it again once its retry interval has passed;
    // its client may need a moment to reconnect, so retry (bounded) until both are back.
    let redis = PrivateRedis::start(port).await;
    for (service, limiter) in [(&a, &limiter_a), (&b, &limiter_b)] {
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        while tokio::time::Instant::now() < deadline {
            clock.advance(Duration::from_secs(6));
            send(service, support::get("/v1/unknown")).await;
            if !limiter.is_degraded() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!limiter.is_degraded(), "the instance went back to Redis");
    }
    assert_eq!(
        through(&a, "203.0.113.3", 3).await + through(&b, "203.0.113.3", 3).await,
        5
    );
    assert!(!limiter_a.is_degraded());
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_logins_through_redis_let_exactly_five_through() {
    let url = std::env::var("AIQ_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let prefix = format!("aiq-test:{}:", uuid::Uuid::new_v4().simple());
    let redis = RedisLimiter::new(&url, &prefix, Strategy::TokenBucket).unwrap();
    let service = Aiq::builder(Config::default())
        .limiter(Arc::new(redis))
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let service = service.clone();
        tasks.spawn(async move { send(&service, login("203.0.113.77")).await });
    }
    let mut passed = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.json()["error"], "rate_limit_exceeded");
            assert!(reply.header("retry-after").is_some());
        } else {
            passed += 1;
        }
    }
    assert_eq!(passed, 5);

    let mut connection = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the limit lived in Redis");
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut connection)
        .await
        .unwrap();
}
