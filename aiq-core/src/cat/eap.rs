//! Expected a posteriori (EAP) ability estimation on a fixed quadrature grid (spec §3.4).

use serde::{Deserialize, Serialize};

use super::CatError;
use super::irt::ItemParams;

/// Quadrature points of the EAP grid.
pub const QUADRATURE_POINTS: usize = 61;
/// The grid's lowest θ.
pub const THETA_MIN: f64 = -4.0;
/// The grid's highest θ.
pub const THETA_MAX: f64 = 4.0;

/// A normal prior `N(mean, sd²)` on θ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// The prior mean.
    pub mean: f64,
    /// The prior standard deviation, positive.
    pub sd: f64,
}

impl Default for Prior {
    /// The standard normal prior the old backend always uses (`PRIOR_THETA = 0`,
    /// `PRIOR_SE = 1`).
    fn default() -> Self {
        Self { mean: 0.0, sd: 1.0 }
    }
}

impl Prior {
    /// A checked prior: a finite mean and a finite, positive standard deviation.
    ///
    /// ```
    /// use aiq_core::cat::Prior;
    /// assert!(Prior::new(0.5, 1.0).is_ok());
    /// assert!(Prior::new(0.0, 0.0).is_err());
    /// ```
    pub fn new(mean: f64, sd: f64) -> Result<Self, CatError> {
        if mean.is_finite() && sd.is_finite() && sd > 0.0 {
            Ok(Self { mean, sd })
        } else {
            Err(CatError::InvalidPrior { mean, sd })
        }
    }
}

/// An ability estimate: the posterior mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// θ̂, the posterior mean.
    pub theta: f64,
    /// The posterior standard deviation, used as θ̂'s standard error.
    pub se: f64,
}

/// The i-th of the [`QUADRATURE_POINTS`] equally spaced points on [[`THETA_MIN`], [`THETA_MAX`]].
pub fn quadrature_point(i: usize) -> f64 {
    THETA_MIN + (THETA_MAX - THETA_MIN) * i as f64 / (QUADRATURE_POINTS - 1) as f64
}

/// The EAP estimate of θ from answered items under a normal prior.
///
/// The posterior is evaluated on 61 equally spaced points on [−4, 4] (log-likelihoods summed
/// with a stable log-sigmoid, then shifted by their maximum before exponentiating). θ̂ is the
/// posterior mean and the SE its standard deviation. With no responses the prior itself is
/// returned, `(mean, sd)`. Items whose parameters are not valid ([`ItemParams::is_valid`]) carry
/// no information and are skipped rather than poisoning the estimate with NaN.
///
/// ```
/// use aiq_core::cat::{ItemParams, Prior, eap};
/// let none = eap(&[], Prior::default());
/// assert_eq!((none.theta, none.se), (0.0, 1.0));
///
/// let item = ItemParams { a: 1.0, b: 0.0 };
/// let right = eap(&[(item, true)], Prior::default());
/// let wrong = eap(&[(item, false)], Prior::default());
/// assert!(right.theta > 0.0 && right.se < 1.0);
/// assert!((right.theta + wrong.theta).abs() < 1e-12); // symmetric around b = 0
/// ```
pub fn eap(responses: &[(ItemParams, bool)], prior: Prior) -> Estimate {
    let valid: Vec<(ItemParams, bool)> = responses
        .iter()
        .filter(|(p, _)| p.is_valid())
        .copied()
        .collect();
    if valid.is_empty() {
        return Estimate {
            theta: prior.mean,
            se: prior.sd,
        };
    }
    let mut log_post = [0.0_f64; QUADRATURE_POINTS];
    for (i, lp) in log_post.iter_mut().enumerate() {
        let theta = quadrature_point(i);
        let z = (theta - prior.mean) / prior.sd;
        let mut sum = -0.5 * z * z;
        for (params, correct) in &valid {
            sum += params.log_likelihood(theta, *correct);
        }
        *lp = sum;
    }
    posterior_moments(&log_post).unwrap_or(Estimate {
        theta: prior.mean,
        se: prior.sd,
    })
}

/// Mean and SD of the grid distribution with the given unnormalised log weights; `None` if the
/// weights are not usable (all `-inf` or NaN).
fn posterior_moments(log_post: &[f64; QUADRATURE_POINTS]) -> Option<Estimate> {
    let max = log_post.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return None;
    }
    let (mut total, mut first, mut second) = (0.0, 0.0, 0.0);
    for (i, lp) in log_post.iter().enumerate() {
        let w = (lp - max).exp();
        let theta = quadrature_point(i);
        total += w;
        first += w * theta;
        second += w * theta * theta;
    }
    let mean = first / total;
    let var = (second / total - mean * mean).max(0.0);
    Some(Estimate {
        theta: mean,
        se: var.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_61_points_from_minus_4_to_4() {
        assert_eq!(quadrature_point(0), -4.0);
        assert_eq!(quadrature_point(30), 0.0);
        assert_eq!(quadrature_point(60), 4.0);
    }

    #[test]
    fn invalid_items_are_ignored() {
        let good = ItemParams { a: 1.0, b: 0.0 };
        let bad = ItemParams {
            a: f64::NAN,
            b: 0.0,
        };
        let with = eap(&[(good, true), (bad, false)], Prior::default());
        let without = eap(&[(good, true)], Prior::default());
        assert_eq!(with, without);
        assert_eq!(eap(&[(bad, true)], Prior::default()).theta, 0.0);
    }

    #[test]
    fn a_shifted_prior_moves_the_estimate() {
        let item = ItemParams { a: 1.0, b: 0.0 };
        let low = eap(
            &[(item, true)],
            Prior {
                mean: -1.0,
                sd: 1.0,
            },
        );
        let high = eap(&[(item, true)], Prior { mean: 1.0, sd: 1.0 });
        assert!(low.theta < high.theta);
    }
}
