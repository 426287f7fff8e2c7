//! `system_config`: operator switches stored as JSON by key (weighted scoring, domain weights,
//! domain population statistics, CAT readiness).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;

/// Key: `{"enabled": bool}`, whether the weighted IQ variant is used.
pub const USE_WEIGHTED_SCORING: &str = "use_weighted_scoring";
/// Key: `{domain: weight}` for the weighted IQ variant.
pub const DOMAIN_WEIGHTS: &str = "domain_weights";
/// Key: `{domain: {mean_accuracy, sd_accuracy}}` for domain percentiles.
pub const DOMAIN_POPULATION_STATS: &str = "domain_population_stats";
/// Key: `{"enabled": bool, ...}`; when enabled, fixed-form sessions are marked adaptive.
pub const CAT_READINESS: &str = "cat_readiness";
/// Key: the latest [`Report`](crate::reliability::Report) of reliability (Cronbach's alpha,
/// split-half, what they were read from and when), as last computed by one of the instances
/// sharing the store, for the others to use.
pub const RELIABILITY_ALPHA: &str = "reliability_alpha";

/// Operator switches.
#[async_trait]
pub trait SystemConfigStore {
    /// A `system_config` value by key.
    async fn system_config(&self, key: &str) -> Result<Option<serde_json::Value>, StorageError>;

    /// Sets a `system_config` value.
    async fn set_system_config(
        &self,
        key: &str,
        value: serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StorageError>;

    /// Claims the refresh of `key`'s value: true, and the key marked as written at `now`, when
    /// it is missing (it is then created with the value `null`) or was last written or claimed
    /// before `stale_before`; false when another writer did so since. Of several instances
    /// claiming at once, one gets true.
    ///
    /// ```
    /// use aiq_core::storage::{MemoryStore, SystemConfigStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let now = time::OffsetDateTime::now_utc();
    /// let stale_before = now - time::Duration::minutes(5);
    /// assert!(store.claim_system_config("job", stale_before, now).await.unwrap());
    /// assert!(!store.claim_system_config("job", stale_before, now).await.unwrap());
    /// # });
    /// ```
    async fn claim_system_config(
        &self,
        key: &str,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError>;
}
