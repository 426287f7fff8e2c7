//! IQ formulas (spec §3.6): the classical (CTT) score, the weighted variant, the percentile and
//! the confidence interval.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::domains::DomainScores;
use super::round_dp;
use crate::questions::Domain;

/// `Φ⁻¹(0.975)`, the z value of a two-sided 95 % interval (scipy's `norm.ppf(0.975)`).
pub const CI_Z_975: f64 = 1.959963984540054;

/// The lowest Cronbach's alpha at which a confidence interval is reported.
pub const MIN_ALPHA_FOR_CI: f64 = 0.60;

/// The lowest and highest IQ an interval bound can take.
const CI_BOUNDS: (i32, i32) = (40, 160);

/// How a result was scored (`test_results.scoring_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoringMethod {
    /// Classical test theory: the fixed-form formula of [`ctt_iq`] (or [`weighted_iq`]).
    Ctt,
    /// Item response theory: the adaptive (CAT) estimate.
    Irt,
}

impl ScoringMethod {
    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::scoring::ScoringMethod;
    /// assert_eq!(ScoringMethod::Irt.as_str(), "irt");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ctt => "ctt",
            Self::Irt => "irt",
        }
    }
}

/// Maps an accuracy in `[0, 1]` to the 85–115 scale, rounding half to even like Python.
fn accuracy_to_iq(accuracy: f64) -> i32 {
    // The value lies within [85, 115] for accuracies in [0, 1], so the cast cannot saturate.
    (100.0 + (accuracy - 0.5) * 30.0).round_ties_even() as i32
}

/// The classical score: `round_half_even(100 + (correct/total − 0.5) × 30)`, range 85–115.
///
/// `total` is the number of answers submitted. With no answers (`total == 0`, which the submit
/// validation rules out) the score is the population mean, 100; `correct` above `total` counts
/// as `total`.
///
/// ```
/// use aiq_core::scoring::ctt_iq;
/// assert_eq!(ctt_iq(0, 25), 85);
/// assert_eq!(ctt_iq(25, 25), 115);
/// assert_eq!(ctt_iq(15, 20), 108); // 107.5, half to even
/// assert_eq!(ctt_iq(5, 20), 92); // 92.5, half to even
/// ```
pub fn ctt_iq(correct: usize, total: usize) -> i32 {
    if total == 0 {
        return 100;
    }
    accuracy_to_iq(correct.min(total) as f64 / total as f64)
}

/// The weighted variant (off by default): the accuracy of each answered domain, weighted by
/// `weights` (the `system_config.domain_weights` setting), on the same 85–115 scale.
///
/// Only domains with at least one answer count. Their weights (missing ones count as 0; so do
/// negative or non-finite ones, which the old backend would have used as they were) are
/// renormalised to sum to 1, or made equal when they are all 0. With no domain answered the
/// score is 100.
///
/// ```
/// use std::collections::HashMap;
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::scoring::{ScoredItem, domain_scores, weighted_iq};
///
/// let item = |domain, is_correct| ScoredItem::new(domain, Difficulty::Medium, is_correct);
/// let scores = domain_scores(&[item(Domain::Math, true), item(Domain::Verbal, false)]);
/// // Math counts three times as much as verbal: 0.75 × 1 + 0.25 × 0 → 107.5 → 108.
/// let weights = HashMap::from([(Domain::Math, 0.3), (Domain::Verbal, 0.1)]);
/// assert_eq!(weighted_iq(&scores, &weights), 108);
/// // No weights at all: equal weights, 50 % → 100.
/// assert_eq!(weighted_iq(&scores, &HashMap::new()), 100);
/// ```
pub fn weighted_iq(domain_scores: &DomainScores, weights: &HashMap<Domain, f64>) -> i32 {
    let answered: Vec<(f64, f64)> = domain_scores
        .iter()
        .filter(|(_, score)| score.total > 0)
        .map(|(domain, score)| {
            let weight = weights
                .get(&domain)
                .copied()
                .filter(|w| w.is_finite() && *w > 0.0)
                .unwrap_or(0.0);
            let accuracy = f64::from(score.correct.clamp(0, score.total)) / f64::from(score.total);
            (weight, accuracy)
        })
        .collect();
    if answered.is_empty() {
        return 100;
    }
    let weight_sum: f64 = answered.iter().map(|(w, _)| w).sum();
    let accuracy = if weight_sum > 0.0 {
        answered.iter().map(|(w, a)| w / weight_sum * a).sum()
    } else {
        let equal = 1.0 / answered.len() as f64;
        answered.iter().map(|(_, a)| equal * a).sum()
    };
    accuracy_to_iq(accuracy)
}

/// The standard normal cumulative distribution function `Φ(x)`.
///
/// ```
/// use aiq_core::scoring::normal_cdf;
/// assert_eq!(normal_cdf(0.0), 0.5);
/// assert!((normal_cdf(1.959963984540054) - 0.975).abs() < 1e-12);
/// ```
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The percentile rank of an IQ: `round(Φ((iq − 100)/15) × 100, 1)`.
///
/// ```
/// use aiq_core::scoring::percentile;
/// assert_eq!(percentile(115), 84.1);
/// assert_eq!(percentile(85), 15.9);
/// assert_eq!(percentile(100), 50.0);
/// ```
pub fn percentile(iq: i32) -> f64 {
    round_dp(normal_cdf(f64::from(iq - 100) / 15.0) * 100.0, 1)
}

/// A 95 % confidence interval around a score, as the API returns it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ConfidenceIntervalSchema)]
pub struct ConfidenceInterval {
    /// The lower bound, at least 40.
    pub lower: i32,
    /// The upper bound, at most 160.
    pub upper: i32,
    /// Always 0.95.
    pub confidence_level: f64,
    /// The standard error of measurement on the IQ scale, rounded to 2 decimals.
    pub standard_error: f64,
}

impl ConfidenceInterval {
    fn around(iq: i32, se_for_bounds: f64, standard_error: f64) -> Self {
        let bound = |x: f64| {
            // Clamped in f64 first, so the cast cannot saturate (NaN would become 0, then 40).
            (x.round_ties_even()
                .clamp(f64::from(CI_BOUNDS.0), f64::from(CI_BOUNDS.1)) as i32)
                .clamp(CI_BOUNDS.0, CI_BOUNDS.1)
        };
        let margin = CI_Z_975 * se_for_bounds;
        Self {
            lower: bound(f64::from(iq) - margin),
            upper: bound(f64::from(iq) + margin),
            confidence_level: 0.95,
            standard_error,
        }
    }
}

/// The fixed-form interval: `SEM = round(15·√(1 − α), 2)` and bounds
/// `round(iq ∓ 1.96·SEM)` clamped to [40, 160]; `None` when Cronbach's `alpha` is below 0.60
/// (or not a number), as the old backend reports no interval then.
///
/// ```
/// use aiq_core::scoring::confidence_interval;
/// assert_eq!(confidence_interval(100, 0.59), None);
/// let ci = confidence_interval(100, 0.84).unwrap(); // SEM = 15 × 0.4 = 6.0
/// assert_eq!((ci.lower, ci.upper, ci.standard_error), (88, 112, 6.0));
/// ```
pub fn confidence_interval(iq: i32, alpha: f64) -> Option<ConfidenceInterval> {
    if alpha.is_nan() || alpha < MIN_ALPHA_FOR_CI {
        return None;
    }
    let sem = round_dp(15.0 * (1.0 - alpha.min(1.0)).sqrt(), 2);
    Some(ConfidenceInterval::around(iq, sem, sem))
}

/// The adaptive (CAT) interval: the bounds come from the unrounded standard error `se_iq`
/// (θ's SE × 15); only the reported `standard_error` is rounded to 2 decimals.
///
/// ```
/// use aiq_core::scoring::confidence_interval_from_se;
/// let ci = confidence_interval_from_se(150, 6.004);
/// assert_eq!((ci.lower, ci.upper, ci.standard_error), (138, 160, 6.0));
/// ```
pub fn confidence_interval_from_se(iq: i32, se_iq: f64) -> ConfidenceInterval {
    ConfidenceInterval::around(iq, se_iq, round_dp(se_iq, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctt_matches_the_25_item_shortcut() {
        for c in 0..=25 {
            let shortcut = (85.0 + 1.2 * c as f64).round_ties_even() as i32;
            assert_eq!(ctt_iq(c, 25), shortcut, "{c}/25");
        }
        assert_eq!(ctt_iq(0, 0), 100);
        assert_eq!(ctt_iq(30, 25), 115);
    }

    #[test]
    fn interval_is_clamped() {
        let ci = confidence_interval(158, 0.60).unwrap(); // SEM = round(15·√0.4, 2) = 9.49
        assert_eq!(ci.standard_error, 9.49);
        assert_eq!((ci.lower, ci.upper), (139, 160));
        let low = confidence_interval(42, 0.60).unwrap();
        assert_eq!(low.lower, 40);
        assert_eq!(confidence_interval(100, f64::NAN), None);
        let json = serde_json::to_value(ci).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"lower": 139, "upper": 160, "confidence_level": 0.95, "standard_error": 9.49})
        );
    }
}
