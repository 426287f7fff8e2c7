//! The two-parameter logistic (2PL) model: response probability and Fisher information.

use serde::{Deserialize, Serialize};

use super::CatError;

/// An item's 2PL parameters: discrimination `a` (slope) and difficulty `b` (location, on the θ
/// scale), so that `P(correct | θ) = 1 / (1 + exp(−a(θ − b)))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemParams {
    /// Discrimination; positive for a usable item.
    pub a: f64,
    /// Difficulty: the ability with a 50 % chance of a correct answer.
    pub b: f64,
}

impl ItemParams {
    /// Checked parameters: both finite and `a > 0` (the adaptive pool requires
    /// `irt_discrimination > 0`).
    ///
    /// ```
    /// use aiq_core::cat::ItemParams;
    /// assert!(ItemParams::new(1.2, -0.5).is_ok());
    /// assert!(ItemParams::new(0.0, 0.0).is_err());
    /// assert!(ItemParams::new(1.0, f64::NAN).is_err());
    /// ```
    pub fn new(a: f64, b: f64) -> Result<Self, CatError> {
        let params = Self { a, b };
        if params.is_valid() {
            Ok(params)
        } else {
            Err(CatError::InvalidParams { a, b })
        }
    }

    /// Whether both parameters are finite and `a > 0`.
    pub fn is_valid(&self) -> bool {
        self.a.is_finite() && self.b.is_finite() && self.a > 0.0
    }

    /// `P(correct | θ)`.
    ///
    /// ```
    /// use aiq_core::cat::ItemParams;
    /// let item = ItemParams { a: 1.0, b: 0.0 };
    /// assert_eq!(item.probability(0.0), 0.5);
    /// assert!((item.probability(1.0) - 0.7310585786300049).abs() < 1e-15);
    /// ```
    pub fn probability(&self, theta: f64) -> f64 {
        sigmoid(self.a * (theta - self.b))
    }

    /// `ln P(answer | θ)` for a correct (`true`) or wrong answer, computed with a stable
    /// log-sigmoid so that it stays finite far from `b`.
    ///
    /// ```
    /// use aiq_core::cat::ItemParams;
    /// let item = ItemParams { a: 4.0, b: -4.0 };
    /// // P(wrong) at θ = 100 is about e^-416: its log is still finite.
    /// assert!((item.log_likelihood(100.0, false) + 416.0).abs() < 1e-9);
    /// ```
    pub fn log_likelihood(&self, theta: f64, correct: bool) -> f64 {
        let z = self.a * (theta - self.b);
        if correct {
            log_sigmoid(z)
        } else {
            log_sigmoid(-z)
        }
    }

    /// Fisher information at θ: `a² · P · (1 − P)`, largest at `θ = b` where it is `a²/4`.
    ///
    /// ```
    /// use aiq_core::cat::ItemParams;
    /// assert_eq!(ItemParams { a: 2.0, b: 1.0 }.information(1.0), 1.0);
    /// ```
    pub fn information(&self, theta: f64) -> f64 {
        let p = self.probability(theta);
        self.a * self.a * p * (1.0 - p)
    }
}

/// The logistic function `1 / (1 + e^−x)`, without overflow for large `|x|`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln σ(x) = −ln(1 + e^−x)`, accurate for large `|x|` (no `ln(0)`).
///
/// ```
/// use aiq_core::cat::log_sigmoid;
/// assert!((log_sigmoid(0.0) + std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(log_sigmoid(-800.0), -800.0);
/// ```
pub fn log_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_are_complementary_and_bounded() {
        let item = ItemParams { a: 1.7, b: 0.3 };
        for i in -100..=100 {
            let t = f64::from(i) / 10.0;
            let p = item.probability(t);
            assert!((0.0..=1.0).contains(&p));
            let sum = item.log_likelihood(t, true).exp() + item.log_likelihood(t, false).exp();
            assert!((sum - 1.0).abs() < 1e-12);
        }
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) <= 1.0);
        assert!(log_sigmoid(1000.0).is_finite() && log_sigmoid(-1000.0).is_finite());
    }

    #[test]
    fn information_peaks_at_b() {
        let item = ItemParams { a: 1.3, b: -0.7 };
        let peak = item.information(-0.7);
        assert!((peak - 1.3 * 1.3 / 4.0).abs() < 1e-12);
        assert!(item.information(0.0) < peak && item.information(-1.4) < peak);
    }
}
