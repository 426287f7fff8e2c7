//! `import-legacy --from-redis`: the old backend's logged-out tokens.
//!
//! A plain logout in the old backend is remembered only in its Redis, as one
//! `token_blacklist:<jti>` key per revoked token that expires with the token (original-schema.md
//! §9); the database does not know it. Each one becomes a revocation in aiq, written through
//! the same revocation store the server uses (PostgreSQL, and its Redis cache when one is
//! configured), kept until the token would have expired.

use std::process::ExitCode;
use std::sync::Arc;

use aiq_core::Config;
use aiq_core::auth::tokens::{LEEWAY_SECS, legacy_session_id, session_key, token_key};
use aiq_core::storage::{PgStore, RevocationStore, redis_display_url};
use aiq_core::wiring::cached_revocations;
use time::OffsetDateTime;

/// The old backend's key prefix.
const PREFIX: &str = "token_blacklist:";

/// Keys asked for per SCAN step.
const SCAN_COUNT: usize = 1000;

/// The longest a token of the old backend lives (a refresh token: 7 days); a key without a TTL
/// is kept this long.
const LONGEST_TOKEN: time::Duration = time::Duration::days(7);

/// aiq accepts a token until `exp` plus this leeway: a copied revocation outlives it by as much.
const LEEWAY: time::Duration = time::Duration::seconds(LEEWAY_SECS as i64);

/// What the copy found and did.
#[derive(Debug, Default, serde::Serialize)]
struct Report {
    event: &'static str,
    dry_run: bool,
    /// `token_blacklist:` keys found.
    keys: u64,
    /// Tokens newly revoked in aiq.
    revoked: u64,
    /// Tokens aiq already had as revoked (an earlier pass).
    already_revoked: u64,
    /// Keys that expired while the copy ran.
    expired: u64,
}

pub(super) async fn run(config: &Config, store: &PgStore, url: &str, dry_run: bool) -> ExitCode {
    let revocations: Arc<dyn RevocationStore> =
        match cached_revocations(config, Arc::new(store.clone())) {
            Ok(Some(cached)) => Arc::new(cached),
            Ok(None) => Arc::new(store.clone()),
            Err(error) => {
                eprintln!("aiq-server: import-legacy: {error}");
                return ExitCode::from(2);
            }
        };
    match copy(url, revocations.as_ref(), dry_run).await {
        Ok(report) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "aiq-server: import-legacy --from-redis {}: {error}",
                redis_display_url(url)
            );
            ExitCode::FAILURE
        }
    }
}

async fn copy(
    url: &str,
    revocations: &dyn RevocationStore,
    dry_run: bool,
) -> Result<Report, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let mut report = Report {
        event: "import-legacy-redis",
        dry_run,
        ..Report::default()
    };
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{PREFIX}*"))
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for key in &keys {
                pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
            }
            let answers: Vec<(Option<String>, i64)> = pipe
                .query_async(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
            for (key, (value, ttl_ms)) in keys.iter().zip(answers) {
                report.keys += 1;
                let (Some(jti), Some(value)) = (key.strip_prefix(PREFIX), value) else {
                    report.expired += 1;
                    continue;
                };
                // PTTL: -2 gone, -1 no expiry.
                if ttl_ms == -2 {
                    report.expired += 1;
                    continue;
                }
                if dry_run {
                    continue;
                }
                let now = OffsetDateTime::now_utc();
                let lives = if ttl_ms < 0 {
                    LONGEST_TOKEN
                } else {
                    time::Duration::milliseconds(ttl_ms)
                };
                let expires_at = now + lives + LEEWAY;
                let revoked_at = revoked_at(&value).unwrap_or(now);
                // The token itself, and the login named after it: what aiq checks for an old
                // token that carries no session (a refresh token refreshed into new pairs).
                let mut newly = false;
                for key in [token_key(jti), session_key(&legacy_session_id(jti))] {
                    newly |= revocations
                        .revoke(&key, revoked_at, expires_at)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                if newly {
                    report.revoked += 1;
                } else {
                    report.already_revoked += 1;
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    Ok(report)
}

/// The `revoked_at` of the key's value (`{"revoked_at": "<RFC 3339>"}`).
fn revoked_at(value: &str) -> Option<OffsetDateTime> {
    let value: serde_json::Value = serde_json::from_str(value).ok()?;
    let text = value.get("revoked_at")?.as_str()?;
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}
