//! A flood of requests, failing for the client's reasons or succeeding, writes a bounded number
//! of log lines at the default level, and says how many it held back. In a test binary of its
//! own: the budgets of client-error lines are per process.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, Config};
use http::{Method, StatusCode};
use support::logs::Captured;
use support::{authed, get, send};

/// The `suppressed=<n>` counts in `logs`.
fn suppressed_counts(logs: &str) -> Vec<u64> {
    logs.lines()
        .filter_map(|line| line.split("suppressed=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Captures this thread's log lines at the default level (INFO) until the guard is dropped.
fn capture_info() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn ten_thousand_unauthenticated_requests_write_fewer_than_a_hundred_lines() {
    let (captured, _guard) = capture_info();
    let service = Aiq::builder(Config::default())
        .storage(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();

    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for i in 0..10_000 {
        // No token, then a token that is not one: 401s until the rate limiter answers 429.
        let request = if i % 2 == 0 {
            get("/v1/user/profile")
        } else {
            authed(Method::GET, "/v1/user/profile", "not-a-token")
        };
        let reply = send(&service, request).await;
        *statuses.entry(reply.status.as_u16()).or_default() += 1;
    }
    assert_eq!(statuses.values().sum::<u32>(), 10_000);
    assert!(
        statuses.keys().all(|status| [401, 429].contains(status)),
        "{statuses:?}"
    );
    assert!(statuses[&401] > 0 && statuses[&429] > 0, "{statuses:?}");

    // The lines held back are counted on the next line of their kind that passes, the next
    // second at the latest: keep failing one request at a time until they are reported.
    let deadline = Instant::now() + Duration::from_secs(5);
    while suppressed_counts(&captured.text()).iter().sum::<u64>() < 9_000 {
        assert!(
            Instant::now() < deadline,
            "the held-back lines were not reported:\n{}",
            captured.text()
        );
        let reply = send(&service, get("/v1/user/profile")).await;
        assert_ne!(reply.status, StatusCode::OK);
        tokio::task::yield_now().await;
    }

    let logs = captured.text();
    let lines = logs.lines().count();
    assert!(lines < 100, "{lines} lines:\n{logs}");
    // Failed requests complete at INFO: the only warnings are the limiter's denial lines.
    let warnings: Vec<_> = logs
        .lines()
        .filter(|line| line.contains(" WARN "))
        .collect();
    assert!(
        warnings
            .iter()
            .all(|line| line.contains("security.rate_limit_exceeded")),
        "{warnings:#?}"
    );
    assert!(logs.contains("request completed") && logs.contains("status=401"));
}

#[tokio::test]
async fn successful_requests_are_logged_within_their_budget_with_a_count_of_the_rest() {
    let (captured, _guard) = capture_info();
    let mut config = Config::default();
    config.http.request_log_per_second = 20;
    let service = Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();

    let started = Instant::now();
    for _ in 0..5_000 {
        assert_eq!(send(&service, get("/v1/ping")).await.status, StatusCode::OK);
    }
    // Seconds the flood touched: each let at most 20 lines through.
    let seconds = started.elapsed().as_secs() + 2;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let logs = captured.text();
        let written = logs
            .lines()
            .filter(|line| line.contains("request completed"))
            .count() as u64;
        let held_back: u64 = suppressed_counts(&logs).iter().sum();
        assert!(written <= 20 * (seconds + 5), "{written} lines");
        // Every request is accounted for once a later line has carried the last count.
        if written + held_back > 5_000 {
            assert!(held_back >= 5_000 - 20 * seconds, "{held_back} held back");
            break;
        }
        assert!(Instant::now() < deadline, "held-back lines never reported");
        send(&service, get("/v1/ping")).await;
        tokio::task::yield_now().await;
    }
}
