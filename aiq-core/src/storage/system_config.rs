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
}
