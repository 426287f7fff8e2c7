//! Where token revocations live: the store, behind a Redis cache when one is configured.

use std::sync::Arc;

use aiq_core::Config;
use aiq_core::storage::{
    CachedRevocations, REDIS_REVOCATIONS_PREFIX, RedisRevocations, RevocationRecord,
};
use secrecy::ExposeSecret;

/// The Redis-cached revocations `config` asks for (`TOKEN_BLACKLIST_REDIS_URL`, or the
/// limiter's Redis), recorded in `record`, which refills Redis if it comes back empty; `None`
/// when no Redis is configured (the store alone holds them). The error says which URL is wrong.
pub(crate) fn cached_revocations(
    config: &Config,
    record: Arc<dyn RevocationRecord>,
) -> Result<Option<CachedRevocations>, String> {
    let Some(url) = config.security.revocations_redis_url(&config.rate_limit) else {
        return Ok(None);
    };
    let redis = RedisRevocations::new(url.expose_secret(), REDIS_REVOCATIONS_PREFIX)
        .map_err(|error| format!("cannot use the Redis URL for token revocations: {error}"))?;
    Ok(Some(CachedRevocations::new(redis, record)))
}
