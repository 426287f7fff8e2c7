//! Validity analysis at submit (spec §3.8): person fit, time plausibility and Guttman errors,
//! combined into a status. Stored with the result, never shown to the user.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::domains::ScoredItem;
use super::round_dp;
use crate::questions::Difficulty;

/// Tests shorter than this use the stricter short-test thresholds.
const SHORT_TEST_ITEMS: usize = 5;

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValidityStatus {
    /// Severity below 2.
    Valid,
    /// Severity 2 or 3: worth a manual look.
    Suspect,
    /// Severity 4 or more.
    Invalid,
}

impl ValidityStatus {
    /// Every status, from the best.
    pub const ALL: [Self; 3] = [Self::Valid, Self::Suspect, Self::Invalid];

    /// The status a column value names.
    ///
    /// ```
    /// use aiq_core::scoring::ValidityStatus;
    /// assert_eq!(ValidityStatus::parse("invalid"), Some(ValidityStatus::Invalid));
    /// assert_eq!(ValidityStatus::parse("fine"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// The column value.
    ///
    /// ```
    /// use aiq_core::scoring::ValidityStatus;
    /// assert_eq!(ValidityStatus::Suspect.as_str(), "suspect");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspect => "suspect",
            Self::Invalid => "invalid",
        }
    }
}

/// What a flag reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityFlagType {
    /// Easy items missed or hard items right far beyond what the score predicts.
    AberrantResponsePattern,
    /// Several answers under 3 s.
    MultipleRapidResponses,
    /// At least two hard items answered correctly in under 10 s.
    SuspiciouslyFastOnHard,
    /// At least one answer over 5 minutes.
    ExtendedPauses,
    /// The whole test took under 5 minutes.
    TotalTimeTooFast,
    /// The whole test took over 2 hours.
    TotalTimeExcessive,
    /// Guttman error rate above 0.30 (0.45 for short tests).
    HighGuttmanErrors,
    /// Guttman error rate above 0.20 (0.30 for short tests).
    ElevatedGuttmanErrors,
}

/// How serious a flag is; only `high` flags (and the Guttman ones) add to the severity score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValiditySeverity {
    /// A strong concern.
    High,
    /// Noteworthy.
    Medium,
}

/// Which check raised a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityFlagSource {
    /// The person-fit heuristic.
    PersonFit,
    /// The time plausibility check.
    TimeCheck,
    /// The Guttman error count.
    GuttmanCheck,
}

/// One entry of `test_results.validity_flags`:
/// `{"type", "severity", "source", "details"}` plus `count` (time flags) or `error_rate`
/// (Guttman flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidityFlag {
    /// What the flag reports.
    #[serde(rename = "type")]
    pub kind: ValidityFlagType,
    /// How serious it is.
    pub severity: ValiditySeverity,
    /// Which check raised it.
    pub source: ValidityFlagSource,
    /// A human-readable explanation.
    pub details: String,
    /// How many items (or 1 for the whole-test flags) triggered a time flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The Guttman error rate, rounded to 3 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
}

/// The outcome of [`validity_analysis`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidityReport {
    /// `validity_status`.
    pub status: ValidityStatus,
    /// The summed severity score behind the status.
    pub severity_score: u32,
    /// Every flag raised, person fit first, then time, then Guttman.
    pub flags: Vec<ValidityFlag>,
}

impl ValidityReport {
    /// The `validity_flags` column: the flags, or `None` when there are none.
    pub fn stored_flags(&self) -> Option<&[ValidityFlag]> {
        (!self.flags.is_empty()).then_some(self.flags.as_slice())
    }
}

/// Runs the three checks over a submitted session and combines them (spec §3.8).
///
/// Times come from the items' `time_spent_seconds`, and the total time is their sum, as in the
/// old backend. iOS sends no per-item times, which left the total-time checks idle; so when no
/// item has a time, the server-measured `completion_time_seconds` (if given) is used for the
/// two total-time checks instead. Guttman errors use only the items with an
/// `empirical_difficulty`.
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::scoring::{ScoredItem, ValidityStatus, validity_analysis};
///
/// let items: Vec<_> = (0..25)
///     .map(|i| ScoredItem::new(Domain::Math, Difficulty::Medium, i % 2 == 0))
///     .collect();
/// let report = validity_analysis(&items, Some(900));
/// assert_eq!(report.status, ValidityStatus::Valid);
/// assert_eq!(report.stored_flags(), None);
/// // Finished in two minutes: one high-severity time flag.
/// assert_eq!(validity_analysis(&items, Some(120)).status, ValidityStatus::Suspect);
/// ```
pub fn validity_analysis(
    items: &[ScoredItem],
    completion_time_seconds: Option<i64>,
) -> ValidityReport {
    let mut flags: Vec<ValidityFlag> = person_fit(items).into_iter().collect();
    flags.extend(time_plausibility(items, completion_time_seconds));
    flags.extend(guttman(items));
    let severity = severity_score(&flags);
    let status = match severity {
        4.. => ValidityStatus::Invalid,
        2.. => ValidityStatus::Suspect,
        _ => ValidityStatus::Valid,
    };
    ValidityReport {
        status,
        severity_score: severity,
        flags,
    }
}

/// The severity score of a set of flags (spec §3.8): an aberrant person fit adds 2, each
/// high-severity time flag 2, high Guttman errors 2 and elevated ones 1. Below 2 a result is
/// valid, below 4 suspect, else invalid.
///
/// ```
/// use aiq_core::scoring::{ValidityFlag, ValidityFlagSource, ValidityFlagType, ValiditySeverity, severity_score};
/// let flag = |kind, severity, source| ValidityFlag {
///     kind, severity, source, details: String::new(), count: None, error_rate: None,
/// };
/// let flags = [
///     flag(ValidityFlagType::TotalTimeTooFast, ValiditySeverity::High, ValidityFlagSource::TimeCheck),
///     flag(ValidityFlagType::ExtendedPauses, ValiditySeverity::Medium, ValidityFlagSource::TimeCheck),
///     flag(ValidityFlagType::ElevatedGuttmanErrors, ValiditySeverity::Medium, ValidityFlagSource::GuttmanCheck),
/// ];
/// assert_eq!(severity_score(&flags), 3);
/// ```
pub fn severity_score(flags: &[ValidityFlag]) -> u32 {
    flags
        .iter()
        .map(|flag| match (flag.source, flag.kind, flag.severity) {
            (ValidityFlagSource::PersonFit, _, _)
            | (ValidityFlagSource::TimeCheck, _, ValiditySeverity::High)
            | (ValidityFlagSource::GuttmanCheck, ValidityFlagType::HighGuttmanErrors, _) => 2,
            (ValidityFlagSource::GuttmanCheck, _, _) => 1,
            (ValidityFlagSource::TimeCheck, _, _) => 0,
        })
        .sum()
}

/// The expected proportion correct at a difficulty for a score band (high, medium, low).
fn expected_rate(difficulty: Difficulty, band: usize) -> f64 {
    let rates = match difficulty {
        Difficulty::Easy => [0.95, 0.80, 0.60],
        Difficulty::Medium => [0.80, 0.55, 0.30],
        Difficulty::Hard => [0.55, 0.30, 0.15],
    };
    rates[band]
}

/// The person-fit heuristic: an `aberrant_response_pattern` flag, or `None`.
fn person_fit(items: &[ScoredItem]) -> Option<ValidityFlag> {
    if items.is_empty() {
        return None;
    }
    let n = items.len();
    let score_pct = items.iter().filter(|i| i.is_correct).count() as f64 / n as f64 * 100.0;
    // 0 = high (> 70 %), 1 = medium (≥ 40 %), 2 = low.
    let band = if score_pct > 70.0 {
        0
    } else if score_pct >= 40.0 {
        1
    } else {
        2
    };
    let rate = |difficulty| {
        let of: Vec<bool> = items
            .iter()
            .filter(|i| i.difficulty == difficulty)
            .map(|i| i.is_correct)
            .collect();
        let correct = of.iter().filter(|c| **c).count();
        (!of.is_empty()).then(|| (correct as f64 / of.len() as f64, of.len() as f64))
    };
    let mut unexpected_correct = 0u32;
    let mut unexpected_incorrect = 0u32;
    if band != 0
        && let Some((actual, total)) = rate(Difficulty::Hard)
    {
        let expected = expected_rate(Difficulty::Hard, band);
        if actual > expected + 0.30 {
            // Truncated toward zero, as Python's int().
            unexpected_correct += ((actual - expected) * total) as u32;
        }
    }
    if band != 2
        && let Some((actual, total)) = rate(Difficulty::Easy)
    {
        let expected = expected_rate(Difficulty::Easy, band);
        if actual < expected - 0.30 {
            unexpected_incorrect += ((expected - actual) * total) as u32;
        }
    }
    let unexpected = unexpected_correct + unexpected_incorrect;
    let fit_ratio = f64::from(unexpected) / n as f64;
    let short = n < SHORT_TEST_ITEMS;
    let threshold = if short { 0.40 } else { 0.25 };
    if fit_ratio < threshold {
        return None;
    }
    let note = if short {
        " (short test - adjusted threshold)"
    } else {
        ""
    };
    Some(ValidityFlag {
        kind: ValidityFlagType::AberrantResponsePattern,
        severity: ValiditySeverity::High,
        source: ValidityFlagSource::PersonFit,
        details: format!(
            "Response pattern shows {unexpected} unexpected answers ({unexpected_correct} \
             unexpected correct on hard, {unexpected_incorrect} unexpected incorrect on easy). \
             Fit ratio {fit_ratio:.2} exceeds threshold {threshold}{note}."
        ),
        count: None,
        error_rate: None,
    })
}

fn time_flag(
    kind: ValidityFlagType,
    severity: ValiditySeverity,
    count: u32,
    details: String,
) -> ValidityFlag {
    ValidityFlag {
        kind,
        severity,
        source: ValidityFlagSource::TimeCheck,
        details,
        count: Some(count),
        error_rate: None,
    }
}

/// The time plausibility checks, in the old order.
fn time_plausibility(items: &[ScoredItem], completion: Option<i64>) -> Vec<ValidityFlag> {
    use ValidityFlagType as T;
    use ValiditySeverity::{High, Medium};
    let timed: Vec<(f64, &ScoredItem)> = items
        .iter()
        .filter_map(|i| i.time_spent_seconds.map(|t| (f64::from(t), i)))
        .collect();
    let mut flags = Vec::new();
    let total = if timed.is_empty() {
        match completion {
            Some(seconds) => seconds as f64,
            None => return flags,
        }
    } else {
        let rapid = timed.iter().filter(|(t, _)| *t < 3.0).count() as u32;
        let fast_hard = timed
            .iter()
            .filter(|(t, i)| i.is_correct && i.difficulty == Difficulty::Hard && *t < 10.0)
            .count() as u32;
        let pauses = timed.iter().filter(|(t, _)| *t > 300.0).count() as u32;
        let rapid_threshold = if timed.len() < SHORT_TEST_ITEMS { 2 } else { 3 };
        if rapid >= rapid_threshold {
            let details = format!(
                "{rapid} responses completed in under 3 seconds each, suggesting random \
                 clicking or pre-known answers."
            );
            flags.push(time_flag(T::MultipleRapidResponses, High, rapid, details));
        }
        if fast_hard >= 2 {
            let details = format!(
                "{fast_hard} hard questions answered correctly in under 10 seconds each, \
                 suggesting prior knowledge of answers."
            );
            flags.push(time_flag(
                T::SuspiciouslyFastOnHard,
                High,
                fast_hard,
                details,
            ));
        }
        if pauses > 0 {
            let details = format!(
                "{pauses} response(s) took over 5 minutes, possibly indicating answer lookup \
                 or distraction."
            );
            flags.push(time_flag(T::ExtendedPauses, Medium, pauses, details));
        }
        timed.iter().map(|(t, _)| t).sum()
    };
    let minutes = total / 60.0;
    if total < 300.0 {
        let details = format!(
            "Total test time of {total:.0} seconds ({minutes:.1} minutes) is below the minimum \
             expected time of 5 minutes."
        );
        flags.push(time_flag(T::TotalTimeTooFast, High, 1, details));
    }
    if total > 7200.0 {
        let details = format!(
            "Total test time of {total:.0} seconds ({minutes:.1} minutes) exceeds the maximum \
             expected time of 120 minutes."
        );
        flags.push(time_flag(T::TotalTimeExcessive, Medium, 1, details));
    }
    flags
}

/// Guttman errors over the items with an empirical difficulty: a flag when the rate is
/// elevated or high, else `None`.
fn guttman(items: &[ScoredItem]) -> Option<ValidityFlag> {
    let mut scored: Vec<(bool, f64)> = items
        .iter()
        .filter_map(|i| i.empirical_difficulty.map(|p| (i.is_correct, p)))
        .collect();
    if scored.len() < 2 {
        return None;
    }
    // Easiest (highest p) first; the sort is stable like Python's.
    scored.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal));
    let correct = scored.iter().filter(|(c, _)| *c).count();
    let incorrect = scored.len() - correct;
    if correct == 0 || incorrect == 0 {
        return None;
    }
    let mut errors = 0usize;
    for (i, &(easier_correct, easier_p)) in scored.iter().enumerate() {
        for &(harder_correct, harder_p) in &scored[i + 1..] {
            if easier_p != harder_p && !easier_correct && harder_correct {
                errors += 1;
            }
        }
    }
    let possible = correct * incorrect;
    let rate = errors as f64 / possible as f64;
    let short = scored.len() < SHORT_TEST_ITEMS;
    let (aberrant, elevated) = if short { (0.45, 0.30) } else { (0.30, 0.20) };
    let note = if short {
        " (short test - adjusted threshold)"
    } else {
        ""
    };
    let percent = rate * 100.0;
    let (kind, severity, details) = if rate > aberrant {
        (
            ValidityFlagType::HighGuttmanErrors,
            ValiditySeverity::High,
            format!(
                "High Guttman error rate detected: {errors} errors out of {possible} possible \
                 pairs ({percent:.1}%). This pattern strongly suggests aberrant responding - \
                 harder items answered correctly while easier items missed{note}."
            ),
        )
    } else if rate > elevated {
        (
            ValidityFlagType::ElevatedGuttmanErrors,
            ValiditySeverity::Medium,
            format!(
                "Elevated Guttman error rate: {errors} errors out of {possible} possible pairs \
                 ({percent:.1}%). Pattern shows some unexpected reversals in \
                 difficulty-correctness relationship{note}."
            ),
        )
    } else {
        return None;
    };
    Some(ValidityFlag {
        kind,
        severity,
        source: ValidityFlagSource::GuttmanCheck,
        details,
        count: None,
        error_rate: Some(round_dp(rate, 3)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questions::Domain;

    fn item(difficulty: Difficulty, is_correct: bool, p: Option<f64>) -> ScoredItem {
        let mut item = ScoredItem::new(Domain::Logic, difficulty, is_correct);
        item.empirical_difficulty = p;
        item
    }

    #[test]
    fn guttman_counts_reversed_pairs() {
        // p: .9 wrong, .8 wrong, .3 right, .2 right → 4 errors of 4 possible pairs.
        let items = [
            item(Difficulty::Easy, false, Some(0.9)),
            item(Difficulty::Easy, false, Some(0.8)),
            item(Difficulty::Hard, true, Some(0.3)),
            item(Difficulty::Hard, true, Some(0.2)),
        ];
        let flag = guttman(&items).unwrap();
        assert_eq!(flag.kind, ValidityFlagType::HighGuttmanErrors);
        assert_eq!(flag.error_rate, Some(1.0));
        // The perfect pattern has none.
        let perfect = [
            item(Difficulty::Easy, true, Some(0.9)),
            item(Difficulty::Hard, false, Some(0.2)),
        ];
        assert_eq!(guttman(&perfect), None);
        // Items without an empirical difficulty are ignored.
        assert_eq!(guttman(&[item(Difficulty::Easy, false, None)]), None);
    }

    #[test]
    fn person_fit_flags_missed_easy_items_of_a_high_scorer() {
        // 20 of 25 right (80 %, high band), but 4 of 5 easy items missed: expected .95,
        // actual .2 → int(.75 × 5) = 3 unexpected; 3/25 = .12 < .25, normal.
        let mut items: Vec<_> = (0..5)
            .map(|i| item(Difficulty::Easy, i == 0, None))
            .collect();
        items.extend((0..20).map(|i| item(Difficulty::Hard, i < 19, None)));
        assert_eq!(person_fit(&items), None);
        // A short test, 3 of 4 right (high band): the hard items are not checked for high
        // scorers, and the missed easy item gives int((.95 − .5) × 2) = 0 unexpected.
        let short = [
            item(Difficulty::Hard, true, None),
            item(Difficulty::Hard, true, None),
            item(Difficulty::Easy, true, None),
            item(Difficulty::Easy, false, None),
        ];
        assert_eq!(person_fit(&short), None);
        // 10 items, 5 right (medium): all 5 hard right, all 5 easy wrong.
        // Hard: int(.7 × 5) = 3; easy: expected .8, actual 0 → int(.8 × 5) = 4; 7/10 ≥ .25.
        let mut aberrant: Vec<_> = (0..5).map(|_| item(Difficulty::Hard, true, None)).collect();
        aberrant.extend((0..5).map(|_| item(Difficulty::Easy, false, None)));
        let flag = person_fit(&aberrant).unwrap();
        assert!(
            flag.details
                .starts_with("Response pattern shows 7 unexpected answers")
        );
    }
}
