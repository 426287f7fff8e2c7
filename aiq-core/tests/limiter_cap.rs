//! The in-process limiter's key cap (`RATE_LIMIT_MAX_KEYS`) never helps an attacker: no sequence
//! of requests from other keys lets a limited key through before its time. A property test over
//! random sequences with a tiny cap, and the flood of 3,000 addresses through the service.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::clock::ManualClock;
use aiq_core::ratelimit::{Limiter, MemoryLimiter, Quota, Strategy as Kind};
use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, Config};
use axum::body::Body;
use http::{Request, StatusCode};
use proptest::prelude::*;
use support::send;

const START_US: u64 = 1_000_000_000_000_000;

/// One request: which key (the first few are the watched callers, the rest a flood of distinct
/// keys) and how long after the previous one it comes.
#[derive(Debug, Clone)]
struct Step {
    key: usize,
    after_ms: u64,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (0usize..40, 0u64..3_000).prop_map(|(key, after_ms)| Step { key, after_ms }),
        1..400,
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::TokenBucket),
        Just(Kind::SlidingWindow),
        Just(Kind::FixedWindow),
    ]
}

/// Replays `steps` on a limiter holding at most `cap` keys; fails if a key is allowed while the
/// limiter's own earlier answer said it was limited.
async fn replay(kind: Kind, cap: usize, steps: &[Step]) -> Result<(), String> {
    let clock = Arc::new(ManualClock::new(START_US as i64));
    let limiter = MemoryLimiter::with_clock(kind, cap, clock.clone());
    let quota = Quota::new(3, Duration::from_secs(20));
    // Per key: the time before which its next request must be refused (microseconds). Decisions
    // round `reset_at` up to a second, so a second is taken off to stay on the safe side.
    let mut refused_before: Vec<i64> = vec![i64::MIN; 40];
    let mut now = START_US as i64;
    for (i, step) in steps.iter().enumerate() {
        clock.advance(Duration::from_millis(step.after_ms));
        now += i64::try_from(step.after_ms).unwrap() * 1_000;
        let decision = limiter
            .check(&format!("key:{}", step.key), quota)
            .await
            .unwrap();
        if decision.allowed && now < refused_before[step.key] {
            return Err(format!(
                "step {i}: key {} allowed {} µs before its limit ended ({kind:?})",
                step.key,
                refused_before[step.key] - now
            ));
        }
        if decision.remaining == 0 {
            refused_before[step.key] = (decision.reset_at - 1) * 1_000_000;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // A failure prints its minimal sequence; no file is written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_limited_key_is_never_allowed_before_its_time(
        kind in kind(),
        cap in 1usize..6,
        steps in steps(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let outcome = runtime.block_on(replay(kind, cap, &steps));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

/// The property test can fail: the watched key is limited, then a flood of fresh keys comes.
/// This fixed sequence is the scenario the property guards against, checked on its own so that
/// a regression names it.
#[tokio::test]
async fn a_flood_of_other_keys_does_not_reset_a_limited_key() {
    for kind in [Kind::TokenBucket, Kind::SlidingWindow, Kind::FixedWindow] {
        let mut steps: Vec<Step> = (0..4)
            .map(|_| Step {
                key: 0,
                after_ms: 1,
            })
            .collect();
        steps.extend((1..40).map(|key| Step { key, after_ms: 1 }));
        steps.push(Step {
            key: 0,
            after_ms: 1,
        });
        replay(kind, 4, &steps).await.unwrap();
    }
}

/// 3,000 distinct addresses against `RATE_LIMIT_MAX_KEYS=1000`, through the service: a caller
/// that used its 5 logins gets no more.
#[tokio::test]
async fn three_thousand_addresses_do_not_give_a_caller_more_logins() {
    let mut config = Config::default();
    config.rate_limit.max_keys = 1_000;
    let service = Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let login = || {
        Request::post("/v1/auth/login")
            .header("content-type", "application/json")
            .header("x-envoy-external-address", "203.0.113.99")
            .body(Body::from(
                r#"{"email": "victim@example.com", "password": "guess number 1"}"#,
            ))
            .unwrap()
    };
    for attempt in 1..=5 {
        let reply = send(&service, login()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert_eq!(
        send(&service, login()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The flood: one cheap request from each of 3,000 addresses.
    for i in 0..3_000u32 {
        let address = format!("198.18.{}.{}", i / 250, i % 250 + 1);
        let request = Request::get("/v1/test/active")
            .header("x-envoy-external-address", address)
            .body(Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let after = send(&service, login()).await;
    assert_eq!(
        after.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the flood gave the caller another login: {}",
        after.text()
    );
}
