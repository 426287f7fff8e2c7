//! Rate limit checks: the in-process token bucket on one hot key and on 10,000 rotating keys,
//! and one check through Redis (a script round trip to the server) per strategy.
//!
//! ```text
//! cargo bench -p aiq-benches --bench ratelimit
//! ```
//! The Redis cases use `AIQ_TEST_REDIS_URL` (default: the local server), under a throw-away key
//! prefix whose keys are deleted at the end.

use std::time::Duration;

use aiq_core::ratelimit::{Limiter, MemoryLimiter, Quota, RedisLimiter, Strategy};
use criterion::{Criterion, criterion_group, criterion_main};

fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// A quota in the range of the API's per-endpoint defaults; a token bucket does the same work
/// whether it allows or denies, so the mix does not matter.
fn quota() -> Quota {
    Quota::new(100, Duration::from_secs(60))
}

fn memory(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    let limiter = MemoryLimiter::new(Strategy::TokenBucket, 100_000);
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("ip:10.0.{}.{}::/v1/auth/login", i / 256, i % 256))
        .collect();
    let (limiter, keys) = (&limiter, &keys);
    let mut group = c.benchmark_group("ratelimit/memory");
    group.bench_function("token bucket, one hot key", |b| {
        b.to_async(runtime)
            .iter(|| async { limiter.check(&keys[0], quota()).await.unwrap() })
    });
    group.bench_function("token bucket, 10,000 rotating keys", |b| {
        let mut next = 0;
        b.to_async(runtime).iter(move || {
            next = (next + 1) % keys.len();
            async move { limiter.check(&keys[next], quota()).await.unwrap() }
        })
    });
    group.finish();
}

fn redis(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    // The connection's background task needs the runtime.
    let _entered = runtime.enter();
    let prefix = format!("aiq-bench:{}:", std::process::id());
    let mut group = c.benchmark_group("ratelimit/redis");
    for (name, strategy) in [
        ("token bucket, one check", Strategy::TokenBucket),
        ("sliding window, one check", Strategy::SlidingWindow),
        ("fixed window, one check", Strategy::FixedWindow),
    ] {
        let limiter = RedisLimiter::new(&redis_url(), &prefix, strategy).unwrap();
        // Connect and load the script before measuring.
        runtime
            .block_on(limiter.check("ip:203.0.113.7::/v1/auth/login", quota()))
            .expect("Redis is required for this bench");
        let limiter = &limiter;
        group.bench_function(name, |b| {
            b.to_async(runtime).iter(|| async {
                limiter
                    .check("ip:203.0.113.7::/v1/auth/login", quota())
                    .await
                    .unwrap()
            })
        });
    }
    group.finish();

    runtime.block_on(async {
        let mut connection = redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
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
    });
}

/// The rate-limit layer's cost per request: the same request through the service with limiting
/// on (in-process limiter) and off.
fn layer(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    use http_body_util::{BodyExt, Empty};
    use tower::ServiceExt;
    let service = |enabled: bool| {
        let mut config = aiq_core::Config::default();
        config.rate_limit.enabled = enabled;
        // High enough that the bench never hits the limit.
        config.rate_limit.default_limit = u32::MAX;
        aiq_core::Aiq::builder(config).build().unwrap()
    };
    let call = |service: aiq_core::AiqService| async move {
        let request = http::Request::get("/v1/unknown")
            .header("x-envoy-external-address", "203.0.113.5")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        response.into_body().collect().await.unwrap();
    };
    let (on, off) = (service(true), service(false));
    let mut group = c.benchmark_group("rate limit layer");
    group.bench_function("GET (404) with rate limiting", |b| {
        b.to_async(runtime).iter(|| call(on.clone()))
    });
    group.bench_function("GET (404) without rate limiting", |b| {
        b.to_async(runtime).iter(|| call(off.clone()))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    memory(c, &runtime);
    layer(c, &runtime);
    redis(c, &runtime);
}

criterion_group!(benches, bench);
criterion_main!(benches);
