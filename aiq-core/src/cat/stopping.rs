//! When an adaptive test ends (spec §3.4 "Stopping rules", `stopping_rules.py`).

use serde::{Deserialize, Serialize};

use crate::questions::Domain;

/// No test stops before this many items (`MIN_ITEMS`).
pub const MIN_ITEMS: usize = 8;
/// Every test stops at this many items (`MAX_ITEMS`).
pub const MAX_ITEMS: usize = 15;
/// Stop once the standard error of θ is below this.
pub const SE_THRESHOLD: f64 = 0.30;
/// Stop once θ moved less than this in the last step…
pub const THETA_STABILITY: f64 = 0.03;
/// …while the standard error is below this.
pub const STABLE_SE_THRESHOLD: f64 = 0.35;
/// The content requirement's fallback: at least this many items…
pub const CONTENT_FALLBACK_ITEMS: usize = 10;
/// …covering at least this many domains.
pub const CONTENT_FALLBACK_DOMAINS: usize = 4;

/// Why an adaptive test ended; the wire value is `test_sessions.stopping_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The standard error fell below [`SE_THRESHOLD`].
    SeThreshold,
    /// θ stopped moving ([`THETA_STABILITY`]) with a small enough SE.
    ThetaStable,
    /// [`MAX_ITEMS`] items were given.
    MaxItems,
    /// No eligible item was left to give.
    ItemPoolExhausted,
}

impl StopReason {
    /// The wire value.
    ///
    /// ```
    /// use aiq_core::cat::StopReason;
    /// assert_eq!(StopReason::ItemPoolExhausted.as_str(), "item_pool_exhausted");
    /// assert_eq!(serde_json::to_string(&StopReason::SeThreshold).unwrap(), r#""se_threshold""#);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeThreshold => "se_threshold",
            Self::ThetaStable => "theta_stable",
            Self::MaxItems => "max_items",
            Self::ItemPoolExhausted => "item_pool_exhausted",
        }
    }
}

/// The stopping rules' verdict after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopDecision {
    /// Give another item.
    Continue,
    /// End the test.
    Stop(StopReason),
}

/// Whether the administered domains meet the content requirement: every domain has an item, or
/// at least [`CONTENT_FALLBACK_ITEMS`] items cover at least [`CONTENT_FALLBACK_DOMAINS`] domains.
pub fn content_requirement_met(domains: &[Domain]) -> bool {
    let covered = Domain::ALL.iter().filter(|d| domains.contains(d)).count();
    covered == Domain::ALL.len()
        || (domains.len() >= CONTENT_FALLBACK_ITEMS && covered >= CONTENT_FALLBACK_DOMAINS)
}

/// Applies the stopping rules in priority order to the items given so far (their `domains`, one
/// entry per item), the θ estimates after each response (`theta_history`, oldest first) and the
/// current standard error:
///
/// 1. fewer than [`MIN_ITEMS`] items → continue;
/// 2. at least [`MAX_ITEMS`] → stop, `max_items`;
/// 3. content requirement unmet ([`content_requirement_met`]) → continue;
/// 4. `se < 0.30` → stop, `se_threshold`;
/// 5. `|θ_t − θ_{t−1}| < 0.03` and `se < 0.35` → stop, `theta_stable`;
/// 6. otherwise continue.
///
/// A NaN `se` or θ satisfies no threshold, so such a test runs to [`MAX_ITEMS`].
///
/// ```
/// use aiq_core::cat::{StopDecision, StopReason, check_stopping};
/// use aiq_core::questions::Domain;
///
/// let domains: Vec<Domain> = Domain::ALL.iter().cycle().take(8).copied().collect();
/// assert_eq!(
///     check_stopping(&domains, &[0.5, 0.4], 0.29),
///     StopDecision::Stop(StopReason::SeThreshold)
/// );
/// assert_eq!(check_stopping(&domains[..7], &[0.5, 0.4], 0.1), StopDecision::Continue);
/// ```
pub fn check_stopping(domains: &[Domain], theta_history: &[f64], se: f64) -> StopDecision {
    let items = domains.len();
    if items < MIN_ITEMS {
        return StopDecision::Continue;
    }
    if items >= MAX_ITEMS {
        return StopDecision::Stop(StopReason::MaxItems);
    }
    if !content_requirement_met(domains) {
        return StopDecision::Continue;
    }
    if se < SE_THRESHOLD {
        return StopDecision::Stop(StopReason::SeThreshold);
    }
    if let [.., before, last] = theta_history
        && (last - before).abs() < THETA_STABILITY
        && se < STABLE_SE_THRESHOLD
    {
        return StopDecision::Stop(StopReason::ThetaStable);
    }
    StopDecision::Continue
}
