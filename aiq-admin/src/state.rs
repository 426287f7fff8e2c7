//! What every page shares: the store, the credentials, the signing key, the login limiter.

use std::net::IpAddr;
use std::sync::Arc;

use aiq_core::Config;
use aiq_core::clock::Clock;
use aiq_core::ratelimit::{Limiter, Quota};
use aiq_core::storage::Storage;
use http::HeaderName;
use http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::session::Keys;

/// Shared by all requests.
pub(crate) struct State {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) username: String,
    pub(crate) password_hash: SecretString,
    pub(crate) keys: Keys,
    /// `Secure` on the cookies (production).
    pub(crate) secure_cookies: bool,
    pub(crate) limiter: Arc<dyn Limiter>,
    pub(crate) login_quota: Quota,
    /// Password hash checks run one at a time.
    pub(crate) password_checks: tokio::sync::Semaphore,
    trusted_header: Option<HeaderName>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("storage", &self.storage.backend())
            .field("username", &self.username)
            .field("secure_cookies", &self.secure_cookies)
            .field("limiter", &self.limiter.backend())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(
        config: &Config,
        storage: Arc<dyn Storage>,
        limiter: Arc<dyn Limiter>,
        login_quota: Quota,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            storage,
            username: config.admin.username.clone(),
            password_hash: config
                .admin
                .password_hash
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            keys: Keys::new(config.security.secret_key.expose_secret().as_bytes()),
            secure_cookies: config.app.environment.is_production(),
            limiter,
            login_quota,
            password_checks: tokio::sync::Semaphore::new(1),
            trusted_header: HeaderName::try_from(config.rate_limit.trusted_ip_header.trim()).ok(),
            clock,
        }
    }

    /// The current time, whole seconds (what the stores keep).
    pub(crate) fn now(&self) -> OffsetDateTime {
        let micros = self.clock.now_micros();
        OffsetDateTime::from_unix_timestamp(micros.div_euclid(1_000_000))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The client's address, if known.
    pub(crate) fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        aiq_core::middleware::client_ip(
            &parts.headers,
            &parts.extensions,
            self.trusted_header.as_ref(),
        )
    }
}
