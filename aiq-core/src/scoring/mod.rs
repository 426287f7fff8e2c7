//! Scoring a finished test: the IQ formulas, per-domain scores, the response-time and validity
//! analyses stored with a result, and the item and test reliability statistics.
//!
//! Everything here is pure: the callers (the submit handlers, the statistics jobs) load what is
//! needed from storage and hand it over as plain values ([`ScoredItem`] for one answered item).
//!
//! - [`ctt_iq`], [`weighted_iq`], [`percentile`], [`confidence_interval`]: the classical score,
//!   the weighted variant, percentiles and the confidence interval (spec §3.6);
//! - [`domain_scores`], [`strongest_weakest`], [`model_scores`]: the per-domain and per-model
//!   breakdowns (§3.5);
//! - [`response_time_flags`]: the `response_time_flags` column (§3.7);
//! - [`validity_analysis`]: the stored validity status and flags (§3.8);
//! - [`cronbach_alpha`], [`split_half`], [`point_biserial`], [`ItemStatistics`]: reliability and
//!   item statistics (§3.6 "requirements", §3.3 step 11).
//!
//! # Rounding
//!
//! The old backend rounds with Python's `round`, which rounds half to even: to integers on the
//! exact value, and to `n` decimals on the exact binary value of the float (so `round(0.15, 1)`
//! is `0.1`, because `0.15` is stored as `0.1499999…`). [`round_dp`] reproduces that exactly by
//! formatting with `n` decimals (Rust's formatter also rounds the exact binary value half to
//! even) and parsing back; integer rounding uses [`f64::round_ties_even`].

mod domains;
mod iq;
pub(crate) mod reliability;
mod timing;
mod validity;

pub use self::domains::{
    DomainScore, DomainScores, DomainScoresError, ModelScore, PopulationStats, ScoredItem,
    domain_scores, model_scores, strongest_weakest,
};
pub use self::iq::{
    CI_Z_975, ConfidenceInterval, MIN_ALPHA_FOR_CI, ScoringMethod, confidence_interval,
    confidence_interval_from_se, ctt_iq, normal_cdf, percentile, weighted_iq,
};
pub use self::reliability::{
    AlphaReport, AlphaUnavailable, ItemStatistics, MIN_ALPHA_SESSIONS, SplitHalf,
    alpha_from_matrix, cronbach_alpha, cronbach_alpha_with_minimum, point_biserial, should_flag,
    split_half,
};
pub use self::timing::{ResponseTimeFlags, response_time_flags};
pub use self::validity::{
    ValidityFlag, ValidityFlagSource, ValidityFlagType, ValidityReport, ValiditySeverity,
    ValidityStatus, severity_score, validity_analysis,
};

/// Rounds `x` to `decimals` decimal places as Python's `round(x, decimals)` does: half to even
/// on the exact binary value. Non-finite values are returned unchanged.
///
/// ```
/// use aiq_core::scoring::round_dp;
/// assert_eq!(round_dp(84.13447460685429, 1), 84.1);
/// assert_eq!(round_dp(0.25, 1), 0.2); // a true tie: to even
/// assert_eq!(round_dp(0.15, 1), 0.1); // 0.15 is 0.1499999… in binary
/// assert_eq!(round_dp(0.375, 2), 0.38);
/// ```
pub fn round_dp(x: f64, decimals: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // The formatter prints the exact binary value rounded half to even; the shortest decimal
    // string always parses back to the nearest double, exactly as Python's `round` returns it.
    format!("{x:.decimals$}").parse().unwrap_or(x)
}
