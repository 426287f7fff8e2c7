//! Guest token stores: in memory and in a real Redis (under a key prefix of this run's own).

use std::sync::Arc;
use std::time::Duration;

use aiq_core::storage::{
    GuestToken, GuestTokenKind, GuestTokenStore, MemoryGuestTokens, RedisGuestTokens,
};

fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

fn payload() -> GuestToken {
    GuestToken {
        token_type: GuestTokenKind::Submit,
        session_id: 7,
        device_id: "device".into(),
        question_ids: vec![1, 2, 3],
    }
}

async fn single_use_under_concurrency(tokens: Arc<dyn GuestTokenStore>) {
    tokens
        .put("t1", &payload(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        tokens.get("t1").await.unwrap(),
        Some(payload()),
        "get leaves it"
    );
    let takers: Vec<_> = (0..10)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.take("t1").await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for taker in takers {
        if let Some(found) = taker.await.unwrap() {
            assert_eq!(found, payload());
            taken += 1;
        }
    }
    assert_eq!(
        taken, 1,
        "exactly one of ten concurrent takes gets the token"
    );
    assert_eq!(tokens.get("t1").await.unwrap(), None);
    assert_eq!(tokens.take("unknown").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_tokens_are_single_use() {
    single_use_under_concurrency(Arc::new(MemoryGuestTokens::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tokens_are_single_use_and_expire() {
    let prefix = format!("aiq-test:{}:guest:", uuid::Uuid::new_v4());
    let tokens = Arc::new(RedisGuestTokens::new(&redis_url(), &prefix).unwrap());
    single_use_under_concurrency(tokens.clone()).await;

    let written = std::time::Instant::now();
    tokens
        .put("t2", &payload(), Duration::from_secs(45 * 60))
        .await
        .unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}t2"))
        .query_async(&mut connection)
        .await
        .unwrap();
    // The TTL has been running since the write, for as long as this machine took to get here.
    let since_ms = i64::try_from(written.elapsed().as_millis()).unwrap() + 1;
    assert!(
        (45 * 60 * 1000 - since_ms..=45 * 60 * 1000).contains(&ttl),
        "the key expires with the token: {ttl} ms, {since_ms} ms after the write"
    );
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}t2"))
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test]
async fn memory_tokens_expire() {
    let tokens = MemoryGuestTokens::default();
    tokens
        .put("t", &payload(), Duration::from_millis(1))
        .await
        .unwrap();
    // The token's lifetime is what is being tested, so the test lets it pass.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(tokens.get("t").await.unwrap(), None);
    assert_eq!(tokens.take("t").await.unwrap(), None);
}
