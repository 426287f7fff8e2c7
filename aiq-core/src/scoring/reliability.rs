//! Test reliability (Cronbach's alpha, spec §3.6 "requirements") and item statistics
//! (spec §3.3 step 11: empirical difficulty, point-biserial discrimination, the auto-flag rule).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::round_dp;
use crate::storage::ItemAppearances;

/// Completed sessions needed before alpha is computed, and complete sessions needed to use.
pub const MIN_ALPHA_SESSIONS: usize = 100;
/// Responses an item needs before a negative discrimination flags it for review.
const FLAG_MIN_RESPONSES: usize = 50;

/// Cronbach's alpha and what it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlphaReport {
    /// Alpha, clamped to [−1, 1] and rounded to 4 decimals.
    pub alpha: f64,
    /// The number of items (columns).
    pub items: usize,
    /// The number of sessions (rows).
    pub sessions: usize,
}

/// Which requirement for computing alpha was not met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AlphaUnavailable {
    /// Fewer than 100 completed sessions.
    #[error("{found} completed sessions, {required} needed")]
    TooFewSessions {
        /// Completed sessions given.
        found: usize,
        /// Sessions needed.
        required: usize,
    },
    /// Fewer than 2 items appear in enough sessions.
    #[error("{found} items appear in at least {min_appearances} sessions, 2 needed")]
    TooFewItems {
        /// Items common enough.
        found: usize,
        /// Sessions an item had to appear in.
        min_appearances: usize,
    },
    /// Fewer than 100 sessions answered (at least 80 % of) the common items.
    #[error("{found} sessions answered enough of the common items, {required} needed")]
    TooFewCompleteSessions {
        /// Sessions usable.
        found: usize,
        /// Sessions needed.
        required: usize,
    },
    /// Every session has the same total, so alpha is undefined.
    #[error("every session has the same total score")]
    ZeroTotalVariance,
    /// The matrix rows differ in length.
    #[error("the rows of the item matrix differ in length")]
    RaggedMatrix,
}

/// Cronbach's alpha over completed sessions, each given as question id → answered correctly.
///
/// Applies the old backend's requirements, in order: at least 100 sessions; the items that
/// appear in at least `max(30, int(0.30 × sessions))` sessions (at least 2 of them); the sessions
/// that answered all those items, or if fewer than 100 did, those that answered at least
/// `int(0.8 × items)` of them, with missing items scored 0; at least 100 such sessions. Then
/// [`alpha_from_matrix`].
///
/// ```
/// use std::collections::HashMap;
/// use aiq_core::scoring::{AlphaUnavailable, cronbach_alpha};
///
/// let sessions = vec![HashMap::from([(1, true), (2, false)]); 99];
/// assert_eq!(
///     cronbach_alpha(&sessions),
///     Err(AlphaUnavailable::TooFewSessions { found: 99, required: 100 })
/// );
/// ```
pub fn cronbach_alpha(sessions: &[HashMap<i64, bool>]) -> Result<AlphaReport, AlphaUnavailable> {
    cronbach_alpha_with_minimum(sessions, MIN_ALPHA_SESSIONS)
}

/// [`cronbach_alpha`] with another session requirement than 100 (operators may look at alpha
/// over fewer sessions, as the old backend's `min_sessions` allowed): `min_sessions` replaces
/// 100 in the session and complete-session requirements, and caps the floor of 30 appearances
/// an item needs.
///
/// ```
/// use std::collections::HashMap;
/// use aiq_core::scoring::{AlphaUnavailable, cronbach_alpha, cronbach_alpha_with_minimum};
///
/// let sessions: Vec<HashMap<i64, bool>> = (0..10)
///     .map(|k| HashMap::from([(1, k % 2 == 0), (2, k % 3 == 0), (3, k < 5)]))
///     .collect();
/// let report = cronbach_alpha_with_minimum(&sessions, 10).unwrap();
/// assert_eq!((report.sessions, report.items), (10, 3));
/// assert!(matches!(cronbach_alpha(&sessions), Err(AlphaUnavailable::TooFewSessions { .. })));
/// ```
pub fn cronbach_alpha_with_minimum(
    sessions: &[HashMap<i64, bool>],
    min_sessions: usize,
) -> Result<AlphaReport, AlphaUnavailable> {
    // The item rule is the one the service applies to its stores' counts.
    let mut appearances: HashMap<i64, u64> = HashMap::new();
    for session in sessions {
        for &id in session.keys() {
            *appearances.entry(id).or_default() += 1;
        }
    }
    let appearances = ItemAppearances {
        sessions: sessions.len() as u64,
        items: appearances.into_iter().collect(),
    };
    let items = crate::reliability::common_items(&appearances, min_sessions as u64)?;
    let answered = |s: &HashMap<i64, bool>| items.iter().filter(|id| s.contains_key(id)).count();
    let mut usable: Vec<&HashMap<i64, bool>> = sessions
        .iter()
        .filter(|s| answered(s) == items.len())
        .collect();
    if usable.len() < min_sessions {
        let min_answered = crate::reliability::fallback_min_answered(items.len());
        usable = sessions
            .iter()
            .filter(|s| answered(s) >= min_answered)
            .collect();
    }
    if usable.len() < min_sessions {
        return Err(AlphaUnavailable::TooFewCompleteSessions {
            found: usable.len(),
            required: min_sessions,
        });
    }
    let rows: Vec<Vec<bool>> = usable
        .iter()
        .map(|s| {
            items
                .iter()
                .map(|id| s.get(id).copied().unwrap_or(false))
                .collect()
        })
        .collect();
    let alpha = alpha_from_matrix(&rows)?;
    Ok(AlphaReport {
        alpha,
        items: items.len(),
        sessions: rows.len(),
    })
}

/// Sample variance (n − 1 in the denominator); 0 for fewer than 2 values.
fn sample_variance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count();
    if n < 2 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
}

/// The alpha formula on a complete matrix (one row per session, one column per item):
/// `k/(k−1) × (1 − Σ var_i / var_total)` with sample variances, clamped to [−1, 1] and rounded
/// to 4 decimals. No session-count requirement is applied here.
///
/// ```
/// use aiq_core::scoring::alpha_from_matrix;
/// let rows = [
///     vec![true, true, true],
///     vec![true, true, false],
///     vec![true, false, false],
///     vec![false, false, false],
/// ];
/// // Item variances 1/4, 1/3, 1/4; totals 3, 2, 1, 0 with variance 5/3:
/// // 3/2 × (1 − (5/6)/(5/3)) = 0.75.
/// assert_eq!(alpha_from_matrix(&rows), Ok(0.75));
/// ```
pub fn alpha_from_matrix(rows: &[Vec<bool>]) -> Result<f64, AlphaUnavailable> {
    let k = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != k) {
        return Err(AlphaUnavailable::RaggedMatrix);
    }
    if k < 2 {
        return Err(AlphaUnavailable::TooFewItems {
            found: k,
            min_appearances: 0,
        });
    }
    let as_f64 = |b: bool| if b { 1.0 } else { 0.0 };
    let item_variances: f64 = (0..k)
        .map(|j| sample_variance(rows.iter().map(move |r| as_f64(r[j]))))
        .sum();
    let totals = rows.iter().map(|r| r.iter().filter(|c| **c).count() as f64);
    let total_variance = sample_variance(totals);
    if total_variance <= 0.0 {
        return Err(AlphaUnavailable::ZeroTotalVariance);
    }
    let k = k as f64;
    let alpha = k / (k - 1.0) * (1.0 - item_variances / total_variance);
    Ok(round_dp(alpha.clamp(-1.0, 1.0), 4))
}

/// Split-half reliability: the correlation of the odd- and even-position halves of each
/// session, and its Spearman-Brown projection to the full length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitHalf {
    /// Pearson's r between the halves' correct counts, rounded to 4 decimals.
    pub raw_correlation: f64,
    /// `2r / (1 + r)`, rounded to 4 decimals.
    pub spearman_brown: f64,
    /// Sessions used (those with at least two answers).
    pub sessions: usize,
}

/// Split-half reliability over sessions given as their answers' correctness in the order
/// answered: items 1, 3, 5, ... form one half and 2, 4, 6, ... the other. `None` with fewer
/// than two sessions of at least two answers, when a half has no variance, or when r is −1.
///
/// ```
/// use aiq_core::scoring::split_half;
/// let sessions = [
///     vec![true, true, true, true],
///     vec![true, true, true, false],
///     vec![true, false, false, false],
///     vec![false, false, false, false],
/// ];
/// // Halves (2, 2), (2, 1), (1, 0), (0, 0): r = 9/11, 2r/(1+r) = 0.9.
/// let split = split_half(&sessions).unwrap();
/// assert_eq!((split.raw_correlation, split.spearman_brown), (0.8182, 0.9));
/// assert_eq!(split_half(&sessions[..1]), None);
/// ```
pub fn split_half(sessions: &[Vec<bool>]) -> Option<SplitHalf> {
    let half = |answers: &[bool], parity: usize| {
        answers
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|correct| **correct)
            .count() as f64
    };
    let (odd, even): (Vec<f64>, Vec<f64>) = sessions
        .iter()
        .filter(|answers| answers.len() >= 2)
        .map(|answers| (half(answers, 0), half(answers, 1)))
        .unzip();
    if odd.len() < 2 {
        return None;
    }
    split_half_of(crate::cat::correlation(&odd, &even), odd.len())
}

/// The report for the halves' correlation `r` over `sessions` sessions: `None` when r is not a
/// number or is −1 (Spearman-Brown is undefined there).
pub(crate) fn split_half_of(r: f64, sessions: usize) -> Option<SplitHalf> {
    if !r.is_finite() || r <= -1.0 {
        return None;
    }
    let r = r.clamp(-1.0, 1.0);
    Some(SplitHalf {
        raw_correlation: round_dp(r, 4),
        spearman_brown: round_dp(2.0 * r / (1.0 + r), 4),
        sessions,
    })
}

/// The point-biserial correlation between an item's correctness and each session's total
/// correct (the Pearson correlation of the 0/1 scores with the totals), in [−1, 1].
///
/// 0.0 with fewer than 2 pairs or when either side has no variance, as the old backend.
///
/// ```
/// use aiq_core::scoring::point_biserial;
/// // Right in sessions totalling 20 and 16, wrong in those totalling 12 and 8:
/// // p = ½, M₁ − M₀ = 8, σ = √20 → 8/√20 × ½ ≈ 0.894.
/// let r = point_biserial(&[(true, 20.0), (true, 16.0), (false, 12.0), (false, 8.0)]);
/// assert!((r - 0.894_427_191).abs() < 1e-9);
/// assert_eq!(point_biserial(&[(true, 20.0)]), 0.0);
/// ```
pub fn point_biserial(pairs: &[(bool, f64)]) -> f64 {
    let n = pairs.len();
    if n < 2 {
        return 0.0;
    }
    let nf = n as f64;
    let mean_x = pairs.iter().filter(|(c, _)| *c).count() as f64 / nf;
    let mean_y = pairs.iter().map(|(_, y)| y).sum::<f64>() / nf;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(correct, y) in pairs {
        let dx = if correct { 1.0 } else { 0.0 } - mean_x;
        let dy = y - mean_y;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return 0.0;
    }
    (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
}

/// The statistics recomputed for a question after each submit, over all its responses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemStatistics {
    /// The proportion of responses that were correct (`p`; higher is easier).
    pub empirical_difficulty: f64,
    /// [`point_biserial`] of correctness against the session totals.
    pub discrimination: f64,
    /// The number of responses.
    pub response_count: usize,
}

impl ItemStatistics {
    /// Computes the statistics from (answered correctly, the session's total correct) pairs, one
    /// per response; `None` without responses.
    ///
    /// ```
    /// use aiq_core::scoring::ItemStatistics;
    /// let stats = ItemStatistics::from_responses(&[(true, 20.0), (false, 10.0)]).unwrap();
    /// assert_eq!(stats.empirical_difficulty, 0.5);
    /// assert_eq!(stats.discrimination, 1.0);
    /// assert!(!stats.should_flag());
    /// ```
    pub fn from_responses(pairs: &[(bool, f64)]) -> Option<Self> {
        if pairs.is_empty() {
            return None;
        }
        let correct = pairs.iter().filter(|(c, _)| *c).count();
        Some(Self {
            empirical_difficulty: correct as f64 / pairs.len() as f64,
            discrimination: point_biserial(pairs),
            response_count: pairs.len(),
        })
    }

    /// Whether the question should go to review ([`should_flag`]).
    pub fn should_flag(&self) -> bool {
        should_flag(self.response_count, self.discrimination)
    }

    /// The `quality_flag_reason` written when the question is flagged.
    ///
    /// ```
    /// use aiq_core::scoring::ItemStatistics;
    /// let stats = ItemStatistics { empirical_difficulty: 0.5, discrimination: -0.12345, response_count: 60 };
    /// assert_eq!(stats.flag_reason(), "Negative discrimination: -0.123");
    /// ```
    pub fn flag_reason(&self) -> String {
        format!("Negative discrimination: {:.3}", self.discrimination)
    }
}

/// The auto-flag rule: a question with at least 50 responses and a negative discrimination goes
/// to review (the caller only changes a flag that is still `normal`).
///
/// ```
/// use aiq_core::scoring::should_flag;
/// assert!(should_flag(50, -0.01));
/// assert!(!should_flag(49, -0.5));
/// assert!(!should_flag(500, 0.0));
/// ```
pub fn should_flag(response_count: usize, discrimination: f64) -> bool {
    response_count >= FLAG_MIN_RESPONSES && discrimination < 0.0
}
