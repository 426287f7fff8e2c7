//! The Redis limiter against a real Redis (`AIQ_TEST_REDIS_URL`, default the local server), each
//! test under its own key prefix, deleted at the end (and every key has a TTL, so a failed test
//! leaves nothing behind for long).
//!
//! The parity tests run the same requests at the same times through [`RedisLimiter`] and
//! [`MemoryLimiter`] (whose arithmetic `strategy.rs` pins down with its unit tests) and require
//! identical decisions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiq_core::clock::{Clock, ManualClock};
use aiq_core::ratelimit::{
    Decision, Limiter, LimiterError, MemoryLimiter, Quota, RedisLimiter, Strategy,
};

fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A whole number of minutes since the epoch (as in `strategy.rs`), so fixed windows of 60 s
/// start at T0; windows of 300 s started 180 s before it.
const T0_SECS: i64 = 1_699_999_980;
const T0: i64 = T0_SECS * 1_000_000;

/// Microseconds after T0 from seconds, rounded as `strategy.rs`'s tests do.
fn at(s: f64) -> i64 {
    (s * 1_000_000.0) as i64
}

/// A fresh key prefix; its keys are deleted by [`Scoped::cleanup`].
struct Scoped {
    prefix: String,
}

impl Scoped {
    fn new() -> Self {
        Self {
            prefix: format!("aiq-test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    fn limiter(&self, strategy: Strategy, clock: Arc<dyn Clock>) -> RedisLimiter {
        RedisLimiter::with_clock(&redis_url(), &self.prefix, strategy, clock).unwrap()
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("Redis is required for these tests (.ci/run starts it)")
    }

    async fn keys(&self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut self.connection().await)
            .await
            .unwrap()
    }

    async fn cleanup(self) {
        let keys = self.keys().await;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut self.connection().await)
                .await
                .unwrap();
        }
    }
}

/// One request sequence: times in microseconds after T0, never decreasing.
struct Case {
    name: &'static str,
    quota: Quota,
    times: Vec<i64>,
}

fn case(name: &'static str, limit: u32, window_secs: f64, times: &[f64]) -> Case {
    Case {
        name,
        quota: Quota::new(limit, Duration::from_secs_f64(window_secs)),
        times: times.iter().map(|t| at(*t)).collect(),
    }
}

/// The same with times in microseconds after T0, for sequences that need exact instants.
fn case_us(name: &'static str, limit: u32, window_secs: u64, times: &[i64]) -> Case {
    Case {
        name,
        quota: Quota::new(limit, Duration::from_secs(window_secs)),
        times: times.to_vec(),
    }
}

/// `n` requests with pseudo-random gaps (a fixed LCG, so failures reproduce): bursts at the
/// same microsecond, sub-second gaps with odd fractions, and gaps longer than the window.
fn random_case(name: &'static str, limit: u32, window_secs: u64, n: usize, seed: u64) -> Case {
    let window = i64::try_from(window_secs).unwrap() * 1_000_000;
    let mut state = seed;
    let mut now = 0;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = i64::try_from(state >> 33).unwrap();
        now += match r % 10 {
            0..=2 => 0,
            3..=6 => r % (window / limit as i64 + 1),
            7 | 8 => r % window,
            _ => window + r % window,
        };
        times.push(now);
    }
    Case {
        name,
        quota: Quota::new(limit, Duration::from_secs(window_secs)),
        times,
    }
}

/// Runs `case` through both limiters on one manual clock and requires identical decisions.
/// Returns them.
async fn parity(scoped: &Scoped, strategy: Strategy, index: usize, case: &Case) -> Vec<Decision> {
    let clock = Arc::new(ManualClock::new(T0));
    let redis = scoped.limiter(strategy, clock.clone());
    let memory = MemoryLimiter::with_clock(strategy, 0, clock.clone());
    let key = format!("ip:203.0.113.7::/v1/case/{index}");
    let mut decisions = Vec::with_capacity(case.times.len());
    for (i, t) in case.times.iter().enumerate() {
        let by = T0 + t - clock.now_micros();
        clock.advance(Duration::from_micros(u64::try_from(by).unwrap()));
        let from_redis = redis.check(&key, case.quota).await.unwrap();
        let from_memory = memory.check(&key, case.quota).await.unwrap();
        assert_eq!(
            from_redis, from_memory,
            "{strategy:?} / {}: request {i} at T0 + {t} µs",
            case.name
        );
        if !from_redis.allowed {
            assert!(from_redis.retry_after >= 1, "{}: request {i}", case.name);
        }
        decisions.push(from_redis);
    }
    decisions
}

fn allowed(decisions: &[Decision]) -> Vec<bool> {
    decisions.iter().map(|d| d.allowed).collect()
}

#[tokio::test]
async fn token_bucket_matches_the_memory_limiter() {
    let scoped = Scoped::new();
    let cases = [
        case("six rapid on 5/300 s", 5, 300.0, &[0.0; 6]),
        case(
            "refill: no whole token at 59 s, one at 60 s",
            5,
            300.0,
            &[0.0, 0.0, 0.0, 0.0, 0.0, 59.0, 60.0, 60.0],
        ),
        case("100/60 s, the 101st request", 100, 60.0, &[0.0; 101]),
        case(
            "partial refills with odd fractions",
            3,
            10.0,
            &[
                0.0, 0.3, 0.7, 1.1, 3.4, 3.5, 7.77, 7.78, 20.0, 20.0, 20.0, 20.0,
            ],
        ),
        case(
            "back to full exactly when the state expires",
            10,
            60.0,
            &[0.0, 6.0, 6.0, 6.000_001, 11.999_999, 12.0, 100.0],
        ),
        case("1/10 s", 1, 10.0, &[0.0, 0.0, 9.999_999, 10.0, 10.0, 25.0]),
        // At the last request the state has just expired, but refilling it would leave the
        // bucket a rounding error short of full (and, for 1/10 s, short of one token): a
        // state past its expiry must count as a fresh key's, as in the memory limiter.
        case_us(
            "expired state, refill rounded short (1/10 s)",
            1,
            10,
            &[0, 1_994_431, 10_260_037, 11_439_152, 20_260_037],
        ),
        case_us(
            "expired state, refill rounded short (2/7 s)",
            2,
            7,
            &[0, 0, 0, 237_924, 1_155_907, 7_000_000],
        ),
        random_case("random 7/13 s", 7, 13, 400, 1),
        random_case("random 3/1 s", 3, 1, 400, 2),
        random_case("random 100/60 s", 100, 60, 600, 3),
    ];
    let mut results = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        results.push(parity(&scoped, Strategy::TokenBucket, index, case).await);
    }

    // The numbers `strategy.rs` pins down, seen through Redis.
    let d = &results[0];
    assert_eq!(allowed(d), [true, true, true, true, true, false]);
    assert_eq!(
        d.iter().map(|d| d.remaining).collect::<Vec<_>>(),
        [4, 3, 2, 1, 0, 0]
    );
    assert_eq!((d[5].retry_after, d[5].reset_at), (60, T0_SECS + 60));
    assert_eq!(
        allowed(&results[1])[5..],
        [false, true, false],
        "refill at 60 s"
    );
    assert_eq!(results[1][5].retry_after, 1);
    assert!(!results[2][100].allowed);
    assert_eq!(results[2][100].retry_after, 1, "never Retry-After: 0");
    scoped.cleanup().await;
}

#[tokio::test]
async fn sliding_window_matches_the_memory_limiter() {
    let scoped = Scoped::new();
    let cases = [
        case(
            "the trailing window",
            3,
            10.0,
            &[0.0, 4.0, 8.0, 9.0, 10.0, 10.5, 14.0],
        ),
        case(
            "denied requests do not extend the window",
            1,
            10.0,
            &[0.0, 5.0, 9.9, 10.0],
        ),
        case(
            "bursts at one instant, then expiry",
            5,
            300.0,
            &[
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                299.999_999,
                300.0,
                300.0,
                600.0,
            ],
        ),
        case("100/60 s, the 101st request", 100, 60.0, &[0.0; 101]),
        random_case("random 7/13 s", 7, 13, 400, 4),
        random_case("random 3/1 s", 3, 1, 400, 5),
    ];
    let mut results = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        results.push(parity(&scoped, Strategy::SlidingWindow, index, case).await);
    }

    let d = &results[0];
    assert_eq!(allowed(d), [true, true, true, false, true, false, true]);
    assert_eq!((d[3].retry_after, d[3].remaining), (1, 0));
    assert_eq!(d[5].retry_after, 4);
    assert_eq!((d[0].remaining, d[0].reset_at), (2, T0_SECS + 10));
    assert_eq!(allowed(&results[1]), [true, false, false, true]);
    assert_eq!(
        allowed(&results[2]),
        [true, true, true, true, true, false, false, true, true, true]
    );
    scoped.cleanup().await;
}

#[tokio::test]
async fn fixed_window_matches_the_memory_limiter() {
    let scoped = Scoped::new();
    let cases = [
        case(
            "resets on the boundary",
            2,
            60.0,
            &[0.0, 30.0, 59.5, 60.0, 60.1, 61.0],
        ),
        case(
            "a 300 s window that started before T0",
            5,
            300.0,
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 119.999_999, 120.0, 120.0],
        ),
        case(
            "one-second windows",
            3,
            1.0,
            &[
                0.0, 0.2, 0.4, 0.6, 0.999_999, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0, 9.0,
            ],
        ),
        random_case("random 7/13 s", 7, 13, 400, 6),
        random_case("random 3/1 s", 3, 1, 400, 7),
    ];
    let mut results = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        results.push(parity(&scoped, Strategy::FixedWindow, index, case).await);
    }

    let d = &results[0];
    assert_eq!(allowed(d), [true, true, false, true, true, false]);
    assert_eq!((d[2].retry_after, d[2].reset_at), (1, T0_SECS + 60));
    assert_eq!((d[5].retry_after, d[5].remaining), (59, 0));
    let d = &results[1];
    assert_eq!(d[5].retry_after, 120, "the window ends 120 s after T0");
    assert_eq!(allowed(&d[6..]), [false, true, true]);
    scoped.cleanup().await;
}

#[tokio::test]
async fn the_sixth_rapid_login_waits_for_one_token() {
    let scoped = Scoped::new();
    // A stopped clock: the bucket refills nothing between the checks, however long the round
    // trips take, so the wait is exactly one token's.
    let limiter = scoped.limiter(Strategy::TokenBucket, Arc::new(ManualClock::new(T0)));
    let login = Quota::new(5, Duration::from_secs(300));
    let mut decisions = Vec::new();
    for _ in 0..6 {
        decisions.push(
            limiter
                .check("ip:203.0.113.7::/v1/auth/login", login)
                .await
                .unwrap(),
        );
    }
    assert_eq!(allowed(&decisions), [true, true, true, true, true, false]);
    assert_eq!(decisions[5].remaining, 0);
    assert_eq!(decisions[5].retry_after, 60);
    assert_eq!(limiter.backend(), "redis");
    scoped.cleanup().await;
}

/// Counts the allowed ones among `checks` run at once.
async fn allowed_among(checks: Vec<(RedisLimiter, Quota)>) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for (limiter, quota) in checks {
        tasks.spawn(async move {
            limiter
                .check("ip:198.51.100.1::/v1/auth/login", quota)
                .await
        });
    }
    let mut allowed = 0;
    while let Some(result) = tasks.join_next().await {
        allowed += usize::from(result.unwrap().unwrap().allowed);
    }
    allowed
}

const STRATEGIES: [Strategy; 3] = [
    Strategy::TokenBucket,
    Strategy::SlidingWindow,
    Strategy::FixedWindow,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_checks_allow_exactly_the_limit() {
    let scoped = Scoped::new();
    let quota = Quota::new(5, Duration::from_secs(300));
    for strategy in STRATEGIES {
        // A stopped clock: every check lands at the same microsecond (the hardest case for the
        // sliding window's unique members), and a fixed window cannot end mid-test.
        let clock = Arc::new(ManualClock::new(T0));
        let limiter = scoped.limiter(strategy, clock);
        let checks = (0..50).map(|_| (limiter.clone(), quota)).collect();
        assert_eq!(allowed_among(checks).await, 5, "{strategy:?}");
    }
    scoped.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_the_prefix_share_the_limit() {
    let scoped = Scoped::new();
    let quota = Quota::new(5, Duration::from_secs(300));
    for strategy in STRATEGIES {
        // Two limiters, each with its own connection, as two replicas would have.
        let a = scoped.limiter(strategy, Arc::new(ManualClock::new(T0)));
        let b = scoped.limiter(strategy, Arc::new(ManualClock::new(T0)));
        let checks = [&a, &b, &a, &b, &a, &b]
            .into_iter()
            .map(|limiter| (limiter.clone(), quota))
            .collect();
        assert_eq!(allowed_among(checks).await, 5, "{strategy:?}");
    }
    scoped.cleanup().await;
}

#[tokio::test]
async fn every_written_key_expires() {
    let quota = Quota::new(5, Duration::from_secs(300));
    // How long each strategy's state lives after one request at T0: one token back (60 s); the
    // request leaving the window (300 s); the end of the window that started 180 s before T0.
    let lifetimes = [
        (Strategy::TokenBucket, 60_000),
        (Strategy::SlidingWindow, 300_000),
        (Strategy::FixedWindow, 120_000),
    ];
    for (strategy, lifetime_ms) in lifetimes {
        let scoped = Scoped::new();
        let limiter = scoped.limiter(strategy, Arc::new(ManualClock::new(T0)));
        let written = Instant::now();
        assert!(limiter.check("ip:192.0.2.9", quota).await.unwrap().allowed);
        let keys = scoped.keys().await;
        assert_eq!(keys.len(), 1, "{strategy:?}: {keys:?}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&keys[0])
            .query_async(&mut scoped.connection().await)
            .await
            .unwrap();
        // The key's TTL has been running on Redis's clock since the write, however slowly
        // this machine got here: it may be short of the lifetime by that much (rounded up).
        let since_ms = i64::try_from(written.elapsed().as_millis()).unwrap() + 1;
        assert!(
            ttl >= lifetime_ms - since_ms && ttl <= lifetime_ms,
            "{strategy:?}: PTTL {ttl} ms, expected up to {lifetime_ms}, {since_ms} ms after the write"
        );
        scoped.cleanup().await;
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_promptly() {
    // Nothing listens on port 1. The password must not leak into the error.
    let url = "redis://:hunter2@127.0.0.1:1/0";
    for strategy in STRATEGIES {
        let limiter = RedisLimiter::new(url, "aiq-test:down:", strategy).unwrap();
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            limiter.check("ip:192.0.2.1", Quota::new(5, Duration::from_secs(60))),
        )
        .await
        .expect("bounded by the connection timeout");
        let err = match result {
            Err(err @ LimiterError::Unavailable(_)) => err,
            other => panic!("{strategy:?}: {other:?}"),
        };
        let mut messages = vec![err.to_string(), format!("{err:?}")];
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            messages.push(inner.to_string());
            source = inner.source();
        }
        assert!(
            messages.iter().all(|m| !m.contains("hunter2")),
            "{messages:?}"
        );
    }
}

#[tokio::test]
async fn a_request_timed_a_little_earlier_than_the_one_before_still_gets_its_token() {
    // Two instances whose checks reach Redis out of the order of their clocks (concurrent
    // requests read the clock before their script runs): the burst of five still holds.
    let scoped = Scoped::new();
    let late = scoped.limiter(Strategy::TokenBucket, Arc::new(ManualClock::new(T0 + 10)));
    let early = scoped.limiter(Strategy::TokenBucket, Arc::new(ManualClock::new(T0)));
    let login = Quota::new(5, Duration::from_secs(300));
    let key = "ip:203.0.113.8::/v1/auth/login";
    let mut decisions = vec![late.check(key, login).await.unwrap()];
    for _ in 0..5 {
        decisions.push(early.check(key, login).await.unwrap());
    }
    assert_eq!(allowed(&decisions), [true, true, true, true, true, false]);
    scoped.cleanup().await;
}
