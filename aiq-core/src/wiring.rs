//! A service's parts built from the configuration, as `aiq-server` runs them: the store
//! `DATABASE_URL` names, the limiter `RATE_LIMIT_STORAGE` asks for, revocations and guest
//! tokens in the Redis their variables name. [`Aiq::from_config`](crate::Aiq::from_config) and
//! [`AiqBuilder::connect`](crate::AiqBuilder::connect) use them for every part not given, and
//! [`AiqBuilder::build`](crate::AiqBuilder::build) for those it can make without connecting.
//!
//! A part whose Cargo feature this build left out is refused, never replaced: `DATABASE_URL`
//! without `postgres`, `RATE_LIMIT_STORAGE=redis`, `TOKEN_BLACKLIST_REDIS_URL` or
//! `GUEST_TOKEN_REDIS_URL` without `redis`, `SMTP_ENABLED` without `smtp`, `APNS_*` without
//! `apns`, Apple or Google client ids without `oauth` each make building the service fail with
//! a [`ConfigError`] that names the variable and the feature.

use std::sync::Arc;

#[cfg(feature = "redis")]
use secrecy::ExposeSecret;

use crate::Config;
use crate::config::{ConfigError, ConfigProblem, RateLimitStorage};
use crate::mail::Mailer;
use crate::push::PushSender;
#[cfg(feature = "redis")]
use crate::ratelimit::{FallbackLimiter, RedisLimiter};
use crate::ratelimit::{Limiter, MemoryLimiter};
#[cfg(feature = "redis")]
use crate::storage::{
    CachedRevocations, GUEST_TOKENS_PREFIX, REDIS_REVOCATIONS_PREFIX, RedisGuestTokens,
    RedisRevocations, Unreachable, ping_redis, redis_display_url,
};
use crate::storage::{GuestTokenStore, MemoryGuestTokens, MemoryStore, RevocationStore, Storage};
#[cfg(feature = "postgres")]
use crate::storage::{OpenError, PgStore, QuestionStore};

/// Key prefix of the rate limiter's Redis keys.
pub const RATE_LIMIT_PREFIX: &str = "aiq:ratelimit:";

/// Why a service could not start.
///
/// ```
/// use aiq_core::StartError;
/// use aiq_core::config::{ConfigError, ConfigProblem};
/// let error: StartError = ConfigError { production: true, problems: vec![] }.into();
/// assert!(matches!(error, StartError::Config(_)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid or names something unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database cannot be reached or migrated.
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Database(#[from] OpenError),
    /// A configured Redis does not answer.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Redis(#[from] Unreachable),
}

/// A configuration error naming `variable`.
pub(crate) fn refused(config: &Config, variable: &'static str, message: String) -> ConfigError {
    ConfigError {
        production: config.app.environment.is_production(),
        problems: vec![ConfigProblem::new(variable, message)],
    }
}

/// `variable` asks for a part that aiq-core's Cargo feature `feature` brings, and this build
/// left the feature out: refused rather than served without the part.
#[cfg(not(all(
    feature = "postgres",
    feature = "redis",
    feature = "smtp",
    feature = "apns",
    feature = "oauth"
)))]
pub(crate) fn feature_off(config: &Config, variable: &'static str, feature: &str) -> ConfigError {
    refused(
        config,
        variable,
        format!(
            "asks for what aiq-core's `{feature}` feature brings, and this build left it out: \
             enable the feature (it is on by default), or change {variable}"
        ),
    )
}

/// What [`open_storage`] opened that must be closed at shutdown: the PostgreSQL pool, if any.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    #[cfg(feature = "postgres")]
    pg: Option<PgStore>,
}

impl Connections {
    /// Closes the database pool (idle connections are dropped, no new ones are made); nothing
    /// to do for the in-memory store.
    pub fn close(&self) {
        #[cfg(feature = "postgres")]
        if let Some(pg) = &self.pg {
            pg.close();
        }
    }
}

/// The store the configuration names: with `DATABASE_URL`, PostgreSQL, connected and migrated
/// (and seeded with the starter bank when `SEED_STARTER_BANK` asks); without it, an in-memory
/// store holding the starter bank. The [`Connections`] are returned too, so the database's pool
/// can be closed at shutdown.
///
/// # Errors
/// The database cannot be reached or migrated, or `DATABASE_URL` is set in a build without the
/// `postgres` feature.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = aiq_core::Config::from_env()?;
/// let (storage, connections) = aiq_core::wiring::open_storage(&config).await?;
/// println!("{}", storage.backend());
/// connections.close();
/// # Ok(()) }
/// ```
pub async fn open_storage(config: &Config) -> Result<(Arc<dyn Storage>, Connections), StartError> {
    if config.database.url.is_none() {
        tracing::warn!(
            "DATABASE_URL is not set: using the in-memory store, data is not persisted and is lost when the process stops"
        );
        let bank = crate::questions::starter_bank();
        tracing::info!(
            questions = bank.len(),
            "in-memory store holds the starter question bank"
        );
        return Ok((
            Arc::new(MemoryStore::with_questions(&bank)),
            Connections::default(),
        ));
    }
    #[cfg(not(feature = "postgres"))]
    return Err(feature_off(config, "DATABASE_URL", "postgres").into());
    #[cfg(feature = "postgres")]
    open_postgres(config).await
}

/// Connects and migrates the database of `DATABASE_URL`, and says how many questions it holds.
#[cfg(feature = "postgres")]
async fn open_postgres(config: &Config) -> Result<(Arc<dyn Storage>, Connections), StartError> {
    let (store, report) = PgStore::open(&config.database).await?;
    tracing::info!(applied = ?report.applied, "database migrated");
    if report.seeded > 0 {
        tracing::info!(
            questions = report.seeded,
            "the empty question bank was loaded with the starter bank (SEED_STARTER_BANK)"
        );
    }
    match store.question_count().await {
        Ok(0) => tracing::warn!(
            "the question bank is empty: no test can start until it is loaded, with \
             SEED_STARTER_BANK=true at the next start or \
             `aiq-server questions import aiq-core/data/starter-bank.jsonl`"
        ),
        Ok(count) => tracing::info!(questions = count, "question bank loaded"),
        Err(error) => tracing::warn!(%error, "cannot count the questions"),
    }
    Ok((Arc::new(store.clone()), Connections { pg: Some(store) }))
}

/// Every Redis the configuration uses, with the variable that names it.
#[cfg(feature = "redis")]
fn redis_urls(config: &Config) -> Vec<(&'static str, &str)> {
    let limits = &config.rate_limit;
    let blacklist = config.security.token_blacklist_redis_url.as_ref();
    // The limiter's Redis serves the limiter, and the revocations when no Redis of their own is
    // named (`SecurityConfig::revocations_redis_url`).
    let limiter_redis =
        limits.storage == RateLimitStorage::Redis && (limits.enabled || blacklist.is_none());
    let mut urls = Vec::new();
    if limiter_redis {
        urls.push(("RATE_LIMIT_REDIS_URL", limits.redis_url.expose_secret()));
    }
    if let Some(url) = blacklist {
        urls.push(("TOKEN_BLACKLIST_REDIS_URL", url.expose_secret()));
    }
    if let Some(url) = &config.guest.token_redis_url {
        urls.push(("GUEST_TOKEN_REDIS_URL", url.expose_secret()));
    }
    urls
}

/// Checks that every Redis the configuration names answers, so a wrong URL stops a start with
/// a line that says which variable and why.
#[cfg(feature = "redis")]
pub async fn ping_configured_redis(config: &Config) -> Result<(), Unreachable> {
    for (setting, url) in redis_urls(config) {
        ping_redis(setting, url).await?;
    }
    Ok(())
}

/// The rate limiter the configuration asks for: `None` when `RATE_LIMIT_ENABLED` is false;
/// with `RATE_LIMIT_STORAGE=redis`, the Redis limiter shared by every instance, falling back
/// to this process's limits while Redis is down; otherwise an in-process limiter.
///
/// # Errors
/// The Redis URL is malformed, or `RATE_LIMIT_STORAGE=redis` in a build without the `redis`
/// feature.
pub fn limiter(config: &Config) -> Result<Option<Arc<dyn Limiter>>, ConfigError> {
    let limits = &config.rate_limit;
    if !limits.enabled {
        tracing::warn!("RATE_LIMIT_ENABLED is false: requests are not rate limited");
        return Ok(None);
    }
    let memory = MemoryLimiter::new(limits.strategy, limits.max_keys);
    if limits.storage != RateLimitStorage::Redis {
        tracing::info!(
            strategy = ?limits.strategy,
            max_keys = limits.max_keys,
            "Rate limiting using in-memory storage"
        );
        return Ok(Some(Arc::new(memory)));
    }
    #[cfg(not(feature = "redis"))]
    return Err(feature_off(config, "RATE_LIMIT_STORAGE", "redis"));
    #[cfg(feature = "redis")]
    redis_limiter(config, memory)
}

/// The Redis limiter, falling back to `memory` while Redis is down.
#[cfg(feature = "redis")]
fn redis_limiter(
    config: &Config,
    memory: MemoryLimiter,
) -> Result<Option<Arc<dyn Limiter>>, ConfigError> {
    let limits = &config.rate_limit;
    let url = limits.redis_url.expose_secret();
    let redis = RedisLimiter::new(url, RATE_LIMIT_PREFIX, limits.strategy)
        .map_err(|e| refused(config, "RATE_LIMIT_REDIS_URL", e.to_string()))?;
    tracing::info!(
        strategy = ?limits.strategy,
        "Rate limiting using Redis storage at {}",
        redis_display_url(url)
    );
    Ok(Some(Arc::new(FallbackLimiter::new(
        Arc::new(redis),
        memory,
    ))))
}

/// The Redis-cached revocations the configuration asks for (`TOKEN_BLACKLIST_REDIS_URL`, or
/// the limiter's Redis), recorded in `record`, which refills Redis if it comes back empty;
/// `None` when no Redis is configured (the store alone holds them).
#[cfg(feature = "redis")]
pub fn cached_revocations(
    config: &Config,
    record: Arc<dyn crate::storage::RevocationRecord>,
) -> Result<Option<CachedRevocations>, ConfigError> {
    let Some(url) = config.security.revocations_redis_url(&config.rate_limit) else {
        return Ok(None);
    };
    let variable = if config.security.token_blacklist_redis_url.is_some() {
        "TOKEN_BLACKLIST_REDIS_URL"
    } else {
        "RATE_LIMIT_REDIS_URL"
    };
    let url = url.expose_secret();
    let redis = RedisRevocations::new(url, REDIS_REVOCATIONS_PREFIX)
        .map_err(|e| refused(config, variable, e.to_string()))?;
    tracing::info!(
        "token revocations in Redis at {}, recorded in the store, which refills Redis if it comes back empty",
        redis_display_url(url)
    );
    Ok(Some(CachedRevocations::new(redis, record)))
}

/// Where revoked tokens are remembered: `storage`, behind the Redis the configuration names
/// (`cached_revocations`, feature `redis`) when there is one.
///
/// # Errors
/// The Redis URL is malformed, or a Redis is named in a build without the `redis` feature.
pub fn revocations(
    config: &Config,
    storage: &Arc<dyn Storage>,
) -> Result<Arc<dyn RevocationStore>, ConfigError> {
    if config
        .security
        .revocations_redis_url(&config.rate_limit)
        .is_none()
    {
        return Ok(Arc::clone(storage) as Arc<dyn RevocationStore>);
    }
    #[cfg(not(feature = "redis"))]
    return Err(feature_off(
        config,
        if config.security.token_blacklist_redis_url.is_some() {
            "TOKEN_BLACKLIST_REDIS_URL"
        } else {
            "RATE_LIMIT_STORAGE"
        },
        "redis",
    ));
    #[cfg(feature = "redis")]
    Ok(
        match cached_revocations(config, Arc::clone(storage) as _)? {
            Some(cached) => Arc::new(cached),
            None => Arc::clone(storage) as Arc<dyn RevocationStore>,
        },
    )
}

/// Where guest tokens live: the Redis `GUEST_TOKEN_REDIS_URL` names, or this process's memory.
///
/// # Errors
/// The URL is malformed, or it is set in a build without the `redis` feature.
pub fn guest_tokens(config: &Config) -> Result<Arc<dyn GuestTokenStore>, ConfigError> {
    let Some(url) = &config.guest.token_redis_url else {
        return Ok(Arc::new(MemoryGuestTokens::default()));
    };
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        Err(feature_off(config, "GUEST_TOKEN_REDIS_URL", "redis"))
    }
    #[cfg(feature = "redis")]
    redis_guest_tokens(config, url)
}

/// Guest tokens in the Redis at `url`.
#[cfg(feature = "redis")]
fn redis_guest_tokens(
    config: &Config,
    url: &secrecy::SecretString,
) -> Result<Arc<dyn GuestTokenStore>, ConfigError> {
    let url = url.expose_secret();
    let tokens = RedisGuestTokens::new(url, GUEST_TOKENS_PREFIX)
        .map_err(|e| refused(config, "GUEST_TOKEN_REDIS_URL", e.to_string()))?;
    tracing::info!("guest tokens in Redis at {}", redis_display_url(url));
    Ok(Arc::new(tokens))
}

/// The mailer the configuration asks for ([`mail::from_config`](crate::mail::from_config)).
///
/// # Errors
/// SMTP is enabled with settings that cannot work, or in a build without the `smtp` feature.
pub fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, ConfigError> {
    #[cfg(not(feature = "smtp"))]
    if config.smtp.enabled {
        return Err(feature_off(config, "SMTP_ENABLED", "smtp"));
    }
    crate::mail::from_config(config).map_err(|e| refused(config, "SMTP_HOST", e.to_string()))
}

/// The push sender the configuration asks for ([`push::from_config`](crate::push::from_config)).
///
/// # Errors
/// APNs is partly configured or its key is unusable, or `APNS_*` is set in a build without the
/// `apns` feature.
pub fn push(config: &Config) -> Result<Arc<dyn PushSender>, ConfigError> {
    #[cfg(not(feature = "apns"))]
    if let Some(variable) = crate::push::first_apns_setting(config) {
        return Err(feature_off(config, variable, "apns"));
    }
    let push = crate::push::from_config(config)
        .map_err(|e| refused(config, "APNS_KEY_PATH", e.to_string()))?;
    tracing::info!(sender = ?push, "push notifications");
    Ok(push)
}

/// Refuses Apple or Google client ids in a build without the `oauth` feature: their sign-in
/// would answer as switched off while the configuration asks for it.
///
/// # Errors
/// `APPLE_OAUTH_CLIENT_IDS` or `GOOGLE_OAUTH_CLIENT_IDS` is set without the `oauth` feature.
pub(crate) fn check_oauth(config: &Config) -> Result<(), ConfigError> {
    #[cfg(not(feature = "oauth"))]
    {
        if !config.oauth.apple_client_ids.is_empty() {
            return Err(feature_off(config, "APPLE_OAUTH_CLIENT_IDS", "oauth"));
        }
        if !config.oauth.google_client_ids.is_empty() {
            return Err(feature_off(config, "GOOGLE_OAUTH_CLIENT_IDS", "oauth"));
        }
    }
    let _ = config;
    Ok(())
}
