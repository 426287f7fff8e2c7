//! Apple Push Notification service over HTTP/2, with a token-based (`.p8`) provider JWT.
//!
//! Each notification is one `POST {base}/3/device/{token}` on a pooled HTTP/2 connection.
//! The provider token is an ES256 JWT (`kid` = key id, `iss` = team id, `iat`) that Apple
//! accepts for 60 minutes but refuses to see renewed more often than every 20: it is cached
//! and renewed after [`TOKEN_LIFETIME`], or at once when Apple reports it expired or invalid.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls::ClientConfig;
use serde::{Deserialize, Serialize};

use super::{Notification, PushError, PushSender, token_prefix};
use crate::clock::{Clock, SystemClock};
use crate::config::ApnsConfig;

/// Apple's production endpoint.
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
/// Apple's development (sandbox) endpoint, for builds signed for development.
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";

/// How long a provider token is used before a new one is signed.
const TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);
/// Connect and whole-request timeout of one notification.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize)]
struct ProviderClaims<'a> {
    iss: &'a str,
    iat: i64,
}

#[derive(Deserialize)]
struct ErrorReply {
    reason: Option<String>,
}

/// Signs and caches provider tokens.
struct ProviderToken {
    key: EncodingKey,
    key_id: String,
    team_id: String,
    /// The current token and its `iat` (seconds).
    cached: Mutex<Option<(String, i64)>>,
}

impl ProviderToken {
    fn sign(&self, iat: i64) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = ProviderClaims {
            iss: &self.team_id,
            iat,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
    }

    /// The token to send at `now` (seconds): the cached one while it is young enough.
    fn bearer(&self, now: i64) -> Result<String, PushError> {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((token, iat)) = cached.as_ref()
            && now >= *iat
            && now - iat < TOKEN_LIFETIME.as_secs().cast_signed()
        {
            return Ok(token.clone());
        }
        let token = self
            .sign(now)
            .map_err(|e| PushError::Config(format!("cannot sign the APNs provider token: {e}")))?;
        *cached = Some((token.clone(), now));
        Ok(token)
    }

    /// Forgets the cached token after Apple refused `refused`, unless the cache already holds
    /// a newer one (several pushes in flight may be refused the same token: signing again for
    /// each would be refused as too frequent, `TooManyProviderTokenUpdates`).
    fn discard(&self, refused: &str) {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cached.as_ref().is_some_and(|(token, _)| token == refused) {
            *cached = None;
        }
    }
}

/// Sends notifications through APNs.
///
/// Build it with [`ApnsSender::new`] from the `APNS_*` settings. The endpoint is
/// [`PRODUCTION_URL`] or, with `APNS_USE_SANDBOX`, [`SANDBOX_URL`];
/// [`with_base_url`](Self::with_base_url) points it elsewhere (`http://` speaks HTTP/2 without
/// TLS, for a local test server).
///
/// ```no_run
/// use aiq_core::config::ApnsConfig;
/// use aiq_core::push::{ApnsSender, Notification, PushSender};
/// # async fn run() -> Result<(), aiq_core::push::PushError> {
/// let config = ApnsConfig {
///     key_id: "ABC123DEFG".into(),
///     team_id: "DEF123GHIJ".into(),
///     bundle_id: "com.example.aiq".into(),
///     key_path: "/secrets/AuthKey_ABC123DEFG.p8".into(),
///     use_sandbox: true,
/// };
/// let sender = ApnsSender::new(&config)?;
/// sender.send(&"ab".repeat(32), &Notification::logout_all()).await?;
/// # Ok(()) }
/// ```
pub struct ApnsSender {
    client: reqwest::Client,
    base_url: String,
    topic: String,
    token: Arc<ProviderToken>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ApnsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSender")
            .field("base_url", &self.base_url)
            .field("topic", &self.topic)
            .field("key_id", &self.token.key_id)
            .finish_non_exhaustive()
    }
}

/// The DER inside a PEM document (the `.p8` file is PKCS#8 in PEM).
fn pem_to_der(pem: &str) -> Result<Vec<u8>, PushError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
        .collect();
    if !pem.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(PushError::Config(
            "APNS_KEY_PATH is not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)".into(),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| PushError::Config("APNS_KEY_PATH holds invalid PEM".into()))
}

fn http_client() -> Result<reqwest::Client, PushError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| PushError::Config(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    // APNs speaks only HTTP/2; a preconfigured TLS config gets no ALPN from reqwest.
    tls.alpn_protocols = vec![b"h2".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http2_prior_knowledge()
        .connect_timeout(HTTP_TIMEOUT)
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| PushError::Config(format!("HTTP client: {e}")))
}

impl ApnsSender {
    /// A sender with these credentials: reads the `.p8` key at `key_path` and checks that it
    /// can sign.
    ///
    /// # Errors
    /// The key cannot be read, is not PKCS#8 PEM or is not a P-256 key.
    pub fn new(config: &ApnsConfig) -> Result<Self, PushError> {
        let pem = std::fs::read_to_string(&config.key_path).map_err(|e| {
            PushError::Config(format!(
                "cannot read APNS_KEY_PATH {}: {e}",
                config.key_path
            ))
        })?;
        let token = ProviderToken {
            key: EncodingKey::from_ec_der(&pem_to_der(&pem)?),
            key_id: config.key_id.trim().to_owned(),
            team_id: config.team_id.trim().to_owned(),
            cached: Mutex::new(None),
        };
        // Fail at start-up, not at the first notification.
        token
            .sign(0)
            .map_err(|e| PushError::Config(format!("APNS_KEY_PATH is not a P-256 key: {e}")))?;
        let base_url = if config.use_sandbox {
            SANDBOX_URL
        } else {
            PRODUCTION_URL
        };
        Ok(Self {
            client: http_client()?,
            base_url: base_url.to_owned(),
            topic: config.bundle_id.trim().to_owned(),
            token: Arc::new(token),
            clock: Arc::new(SystemClock),
        })
    }

    /// Sends to `base_url` (`https://host[:port]` or, for tests, `http://` without TLS)
    /// instead of Apple.
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Takes the time (for the provider token's `iat` and age) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The endpoint notifications go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

#[async_trait]
impl PushSender for ApnsSender {
    async fn send(&self, device_token: &str, notification: &Notification) -> Result<(), PushError> {
        // It goes into the URL path: anything but hex cannot be a token Apple issued.
        if device_token.is_empty() || !device_token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(PushError::InvalidToken {
                reason: "BadDeviceToken".into(),
            });
        }
        let now = self.clock.now_micros().div_euclid(1_000_000);
        let bearer = self.token.bearer(now)?;
        let url = format!("{}/3/device/{device_token}", self.base_url);
        let response = self
            .client
            .post(url)
            .header("authorization", format!("bearer {bearer}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .json(&notification.apns_payload())
            .send()
            .await
            // The URL holds the whole device token, which is never logged.
            .map_err(|e| PushError::Unavailable(Box::new(e.without_url())))?;
        let status = response.status().as_u16();
        if status == 200 {
            tracing::debug!(device = %token_prefix(device_token), kind = notification.kind(), "push sent");
            return Ok(());
        }
        let reason = response
            .json::<ErrorReply>()
            .await
            .ok()
            .and_then(|reply| reply.reason)
            .unwrap_or_else(|| "unknown".into());
        match (status, reason.as_str()) {
            (400 | 410, "BadDeviceToken" | "Unregistered") => {
                Err(PushError::InvalidToken { reason })
            }
            (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
                self.token.discard(&bearer);
                Err(PushError::Rejected { status, reason })
            }
            _ => Err(PushError::Rejected { status, reason }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway P-256 key, generated for these tests only.
    const TEST_KEY: &str = include_str!("../../tests/fixtures/apns-test-key.p8");

    fn provider() -> ProviderToken {
        ProviderToken {
            key: EncodingKey::from_ec_der(&pem_to_der(TEST_KEY).unwrap()),
            key_id: "KEY1234567".into(),
            team_id: "TEAM123456".into(),
            cached: Mutex::new(None),
        }
    }

    #[test]
    fn the_token_is_reused_for_fifty_minutes_then_renewed() {
        let provider = provider();
        let first = provider.bearer(1_000).unwrap();
        assert_eq!(provider.bearer(1_000 + 49 * 60).unwrap(), first);
        let renewed = provider.bearer(1_000 + 50 * 60).unwrap();
        assert_ne!(renewed, first);
        assert_eq!(provider.bearer(1_000 + 51 * 60).unwrap(), renewed);
        // A refusal of an older token keeps the current one; a refusal of it renews it.
        provider.discard(&first);
        assert_eq!(provider.bearer(1_000 + 52 * 60).unwrap(), renewed);
        provider.discard(&renewed);
        assert_ne!(provider.bearer(1_000 + 52 * 60).unwrap(), renewed);
    }

    #[test]
    fn only_pkcs8_pem_is_accepted() {
        assert!(
            pem_to_der("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .is_err()
        );
        assert!(pem_to_der(TEST_KEY).is_ok());
    }
}
