//! A service's parts built from the configuration, as `aiq-server` runs them: the store
//! `DATABASE_URL` names, the limiter `RATE_LIMIT_STORAGE` asks for, revocations and guest
//! tokens in the Redis their variables name. [`Aiq::from_config`](crate::Aiq::from_config) and
//! [`AiqBuilder::connect`](crate::AiqBuilder::connect) use them for every part not given, and
//! [`AiqBuilder::build`](crate::AiqBuilder::build) for those it can make without connecting.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::Config;
use crate::config::{ConfigError, ConfigProblem, RateLimitStorage};
use crate::ratelimit::{FallbackLimiter, Limiter, MemoryLimiter, RedisLimiter};
use crate::storage::{
    CachedRevocations, GUEST_TOKENS_PREFIX, GuestTokenStore, MemoryGuestTokens, MemoryStore,
    OpenError, PgStore, QuestionStore, REDIS_REVOCATIONS_PREFIX, RedisGuestTokens,
    RedisRevocations, RevocationRecord, Storage, Unreachable, ping_redis, redis_display_url,
};

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
    #[error(transparent)]
    Database(#[from] OpenError),
    /// A configured Redis does not answer.
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

/// The store the configuration names: with `DATABASE_URL`, PostgreSQL, connected and migrated
/// (and seeded with the starter bank when `SEED_STARTER_BANK` asks); without it, an in-memory
/// store holding the starter bank. The `PgStore` is returned too, so its pool can be closed at
/// shutdown.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = aiq_core::Config::from_env()?;
/// let (storage, _pg) = aiq_core::wiring::open_storage(&config).await?;
/// println!("{}", storage.backend());
/// # Ok(()) }
/// ```
pub async fn open_storage(
    config: &Config,
) -> Result<(Arc<dyn Storage>, Option<PgStore>), OpenError> {
    if config.database.url.is_none() {
        tracing::warn!(
            "DATABASE_URL is not set: using the in-memory store, data is not persisted and is lost when the process stops"
        );
        let bank = crate::questions::starter_bank();
        tracing::info!(
            questions = bank.len(),
            "in-memory store holds the starter question bank"
        );
        return Ok((Arc::new(MemoryStore::with_questions(&bank)), None));
    }
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
    Ok((Arc::new(store.clone()), Some(store)))
}

/// Every Redis the configuration uses, with the variable that names it.
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
pub async fn ping_configured_redis(config: &Config) -> Result<(), Unreachable> {
    for (setting, url) in redis_urls(config) {
        ping_redis(setting, url).await?;
    }
    Ok(())
}

/// The rate limiter the configuration asks for: `None` when `RATE_LIMIT_ENABLED` is false;
/// with `RATE_LIMIT_STORAGE=redis`, the Redis limiter shared by every instance, falling back
/// to this process's limits while Redis is down; otherwise an in-process limiter.
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
pub fn cached_revocations(
    config: &Config,
    record: Arc<dyn RevocationRecord>,
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

/// Where guest tokens live: the Redis `GUEST_TOKEN_REDIS_URL` names, or this process's memory.
pub fn guest_tokens(config: &Config) -> Result<Arc<dyn GuestTokenStore>, ConfigError> {
    let Some(url) = &config.guest.token_redis_url else {
        return Ok(Arc::new(MemoryGuestTokens::default()));
    };
    let url = url.expose_secret();
    let tokens = RedisGuestTokens::new(url, GUEST_TOKENS_PREFIX)
        .map_err(|e| refused(config, "GUEST_TOKEN_REDIS_URL", e.to_string()))?;
    tracing::info!("guest tokens in Redis at {}", redis_display_url(url));
    Ok(Arc::new(tokens))
}
