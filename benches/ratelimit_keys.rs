//! Memory of the in-process limiter under a flood of distinct addresses.
//!
//! Sends one check for each of 1,000,000 distinct client addresses (half IPv4, half IPv6)
//! through a `MemoryLimiter` capped at `RATE_LIMIT_MAX_KEYS` (100,000), then lets the entries
//! expire and sweeps. Prints the tracked keys and the process's resident memory at each stage,
//! and exits non-zero if the key set ever exceeds the cap or the sweep leaves keys behind.
//!
//! ```text
//! cargo bench -p aiq-benches --bench ratelimit_keys
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use aiq_core::clock::ManualClock;
use aiq_core::ratelimit::{Limiter, MemoryLimiter, Quota, Strategy};

const ADDRESSES: u32 = 1_000_000;
const MAX_KEYS: usize = 100_000;

/// Resident memory of this process in MiB, from /proc (Linux).
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let clock = Arc::new(ManualClock::new(1_800_000_000_000_000));
    let limiter = MemoryLimiter::with_clock(Strategy::TokenBucket, MAX_KEYS, clock.clone());
    let quota = Quota::new(100, Duration::from_secs(60));
    println!(
        "before:      {:>7} keys, RSS {:.1} MiB",
        limiter.tracked_keys(),
        rss_mib()
    );

    let mut peak = 0;
    for i in 0..ADDRESSES {
        let key = if i % 2 == 0 {
            format!("ip:{}", Ipv4Addr::from(0x0a00_0000 + i))
        } else {
            format!(
                "ip:{}",
                Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(i))
            )
        };
        limiter.check(&key, quota).await.unwrap();
        peak = peak.max(limiter.tracked_keys());
    }
    println!(
        "after flood: {:>7} keys (peak {peak}), RSS {:.1} MiB",
        limiter.tracked_keys(),
        rss_mib()
    );

    clock.advance(Duration::from_secs(120));
    let dropped = limiter.sweep();
    println!(
        "after sweep: {:>7} keys ({dropped} dropped), RSS {:.1} MiB",
        limiter.tracked_keys(),
        rss_mib()
    );
    if peak > MAX_KEYS || limiter.tracked_keys() != 0 {
        eprintln!(
            "FAIL: peak {peak} keys (cap {MAX_KEYS}), {} left after the sweep",
            limiter.tracked_keys()
        );
        std::process::exit(1);
    }
}
