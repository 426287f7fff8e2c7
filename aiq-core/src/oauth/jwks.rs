//! The providers' signing keys (JWKS): fetched over HTTPS, cached, refreshed without stampedes.
//!
//! Each provider has its own [`KeyCache`]. The rules:
//! - keys are fetched on first use and kept for `OAUTH_JWKS_CACHE_TTL_SECONDS`;
//! - a `kid` that is not cached forces one refetch (the provider may have rotated its keys), but
//!   at most one per [`MIN_REFETCH_INTERVAL`], so a flood of tokens with made-up kids cannot turn
//!   into a flood of requests to Apple or Google;
//! - a failed fetch keeps the keys already cached (stale keys are better than no sign-in) and
//!   is not retried for [`MIN_REFETCH_INTERVAL`] while there are keys to serve; with nothing
//!   cached the caller gets [`OAuthError::KeysUnavailable`];
//! - only one fetch per provider runs at a time: callers that need one queue behind it and use
//!   its outcome instead of fetching again; callers that hold a stale copy of their key do not
//!   wait at all.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;

use super::{OAuthError, Provider};

/// Least time between two refetches forced by unknown kids, and between retries of a failed
/// refresh.
pub(super) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Connect and whole-request timeout of a key fetch; a sign-in waits this long at most.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest key set read. The real ones are a few kilobytes; this bounds a misconfigured URL.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The HTTP client of the key fetches: TLS with the ring provider and the Mozilla roots, given
/// to reqwest ready-made so that no process-wide rustls provider is needed or installed.
pub(super) fn http_client() -> Result<reqwest::Client, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(HTTP_TIMEOUT)
        .timeout(HTTP_TIMEOUT)
        // The configured URL is the one trusted; a redirect elsewhere is treated as a failure.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {}", chain(&e)))
}

/// One provider's cached keys.
pub(super) struct KeyCache {
    provider: Provider,
    url: String,
    ttl: Duration,
    http: Result<reqwest::Client, String>,
    /// The last good key set. A std mutex: it is held only to clone an `Arc`.
    current: Mutex<Option<KeySet>>,
    /// Fetch attempts finished so far, so a caller that queued behind a fetch can tell it ran.
    attempts: AtomicU64,
    /// Held for the whole of a fetch, which makes it the only one in flight.
    refresh: tokio::sync::Mutex<RefreshState>,
}

#[derive(Clone)]
struct KeySet {
    keys: Arc<HashMap<String, DecodingKey>>,
    fetched_at: Instant,
}

#[derive(Default)]
struct RefreshState {
    last_forced: Option<Instant>,
    last_failure: Option<Instant>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Option<Vec<String>> = self
            .snapshot()
            .map(|set| set.keys.keys().cloned().collect());
        f.debug_struct("KeyCache")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

fn within(at: Option<Instant>, interval: Duration, now: Instant) -> bool {
    at.is_some_and(|at| now.saturating_duration_since(at) < interval)
}

impl KeyCache {
    pub(super) fn new(
        provider: Provider,
        url: &str,
        ttl: Duration,
        http: Result<reqwest::Client, String>,
    ) -> Self {
        Self {
            provider,
            url: url.to_owned(),
            ttl,
            http,
            current: Mutex::new(None),
            attempts: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
        }
    }

    fn snapshot(&self) -> Option<KeySet> {
        // The data is a single assignment, so a panic elsewhere cannot leave it half-written.
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn is_fresh(&self, set: &KeySet, now: Instant) -> bool {
        now.saturating_duration_since(set.fetched_at) < self.ttl
    }

    /// The key named `kid`, fetching the key set when the rules above allow.
    pub(super) async fn key(&self, kid: &str) -> Result<DecodingKey, OAuthError> {
        // Read the counter before the snapshot: a fetch finishing in between then shows up as a
        // changed counter below instead of as a second fetch.
        let attempts_seen = self.attempts.load(Ordering::Acquire);
        let snapshot = self.snapshot();
        let cached = snapshot.as_ref().and_then(|set| set.keys.get(kid));
        if let (Some(set), Some(key)) = (&snapshot, cached)
            && self.is_fresh(set, Instant::now())
        {
            return Ok(key.clone());
        }
        let mut state = match (self.refresh.try_lock(), cached) {
            (Ok(state), _) => state,
            // A refresh is running; a stale copy of the key is good enough meanwhile.
            (Err(_), Some(stale)) => return Ok(stale.clone()),
            (Err(_), None) => self.refresh.lock().await,
        };

        let snapshot = self.snapshot();
        let now = Instant::now();
        let cached = snapshot.as_ref().and_then(|set| set.keys.get(kid));
        let fetch = if self.attempts.load(Ordering::Acquire) != attempts_seen {
            // A fetch ran while this caller waited for the lock: its outcome is the answer.
            false
        } else {
            match &snapshot {
                None => true,
                Some(set) if !self.is_fresh(set, now) => {
                    !within(state.last_failure, MIN_REFETCH_INTERVAL, now)
                }
                Some(_) if cached.is_some() => false,
                Some(_) if within(state.last_forced, MIN_REFETCH_INTERVAL, now) => false,
                Some(_) => {
                    state.last_forced = Some(now);
                    true
                }
            }
        };
        if !fetch {
            return match &snapshot {
                Some(_) => cached.cloned().ok_or_else(unknown_kid),
                None => Err(OAuthError::KeysUnavailable(
                    "the last fetch of the provider's keys failed".into(),
                )),
            };
        }

        let fetched = self.fetch().await;
        let result = match fetched {
            Ok(keys) => {
                state.last_failure = None;
                let set = KeySet {
                    keys: Arc::new(keys),
                    fetched_at: Instant::now(),
                };
                let key = set.keys.get(kid).cloned().ok_or_else(unknown_kid);
                *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(set);
                key
            }
            Err(reason) => {
                state.last_failure = Some(Instant::now());
                tracing::warn!(
                    provider = self.provider.as_str(),
                    url = %self.url,
                    %reason,
                    stale_keys = snapshot.is_some(),
                    "fetching the provider's keys failed"
                );
                match cached {
                    Some(key) => Ok(key.clone()),
                    None if snapshot.is_some() => Err(unknown_kid()),
                    None => Err(OAuthError::KeysUnavailable(reason)),
                }
            }
        };
        // After the store above, so a caller that sees the new count also sees the new keys.
        self.attempts.fetch_add(1, Ordering::Release);
        result
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let http = self.http.as_ref().map_err(Clone::clone)?;
        let mut response = http.get(&self.url).send().await.map_err(|e| chain(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the key URL answered {status}"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| chain(&e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("key set larger than {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body)
    }
}

fn unknown_kid() -> OAuthError {
    OAuthError::InvalidToken("kid is not one of the provider's keys".into())
}

/// An error with its sources, which is where reqwest puts the useful part.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The members of a JWK this module reads; the rest (`x5c`, EC members, ...) is ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// The RS256 signing keys of a JWKS document, by kid. Keys for other uses or algorithms are
/// skipped; a document without a single usable key counts as a failed fetch, so it never
/// replaces a good cache.
fn parse(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| format!("key set is not a JWKS: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in set.keys {
        let usable = jwk.kty == "RSA"
            && jwk.usage.as_deref().is_none_or(|usage| usage == "sig")
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256");
        let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if !usable {
            continue;
        }
        match DecodingKey::from_rsa_components(&n, &e) {
            Ok(key) => {
                keys.insert(kid, key);
            }
            Err(err) => tracing::warn!(%kid, error = %err, "skipping a malformed provider key"),
        }
    }
    if keys.is_empty() {
        return Err("key set has no RS256 signing key".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_only_rs256_signing_keys() {
        let body = br#"{"keys":[
            {"kty":"RSA","kid":"sig","n":"AQAB","e":"AQAB","alg":"RS256","use":"sig"},
            {"kty":"RSA","kid":"bare","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","n":"AQAB","e":"AQAB","use":"enc"},
            {"kty":"RSA","kid":"ps","n":"AQAB","e":"AQAB","alg":"PS256"},
            {"kty":"EC","kid":"ec","crv":"P-256","x":"AQAB","y":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"}
        ]}"#;
        let mut kids: Vec<String> = parse(body)
            .map(|k| k.into_keys().collect())
            .unwrap_or_default();
        kids.sort();
        assert_eq!(kids, ["bare", "sig"]);
    }

    #[test]
    fn parse_refuses_a_set_without_usable_keys() {
        assert!(parse(br#"{"keys":[]}"#).is_err());
        assert!(parse(b"<html>").is_err());
    }
}
