//! Cronbach's alpha and split-half reliability over every stored answer, computed from
//! aggregates the store returns ([`ReliabilityStore`]), never from the answers themselves.
//!
//! The rules are the old backend's (see [`cronbach_alpha_with_minimum`], which applies them to
//! an in-memory matrix and gives the same coefficients): the items common enough are chosen
//! from per-item counts, the complete-enough sessions are counted by the store, and alpha
//! follows from sums of scores, their squares and per-item correct counts. Memory is bounded by
//! the size of the item bank, and time by [`LATEST_SESSIONS`]: the coefficients describe the
//! latest 10,000 completed sessions (all of them on a smaller deployment), which keeps the
//! cost of a report flat however long the history grows.
//!
//! A [`Report`] gathers both coefficients with what they were computed from. The instances
//! sharing a store share the latest report at the default minimum ([`latest_report`]): the
//! confidence interval's alpha, the admin API's report and the dashboard read it instead of
//! each computing their own.
//!
//! [`cronbach_alpha_with_minimum`]: crate::scoring::cronbach_alpha_with_minimum

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::scoring::reliability::split_half_of;
use crate::scoring::{AlphaReport, AlphaUnavailable, MIN_ALPHA_SESSIONS, SplitHalf, round_dp};
use crate::storage::{
    ItemAppearances, RELIABILITY_ALPHA, ReliabilityStore, ScoreSums, SplitHalfSums, StorageError,
    SystemConfigStore,
};

/// An item must appear in at least this many sessions (or 30 % of them, if more) to count.
const MIN_ITEM_APPEARANCES: u64 = 30;
/// Without enough sessions answering every item, sessions answering this share are used.
const FALLBACK_COMPLETION: f64 = 0.80;

/// The reliability coefficients are computed over at most this many of the latest completed
/// sessions (more when a caller asks for a higher minimum): about 250,000 answers of 25-question
/// tests, a few hundred milliseconds of database time, and a standard error of alpha far below
/// its reported precision.
pub const LATEST_SESSIONS: u64 = 10_000;

/// How many of the latest completed sessions a computation with `min_sessions` reads:
/// [`LATEST_SESSIONS`], or `min_sessions` when that is more.
///
/// ```
/// use aiq_core::reliability::{LATEST_SESSIONS, sessions_considered};
/// assert_eq!(sessions_considered(100), LATEST_SESSIONS);
/// assert_eq!(sessions_considered(50_000), 50_000);
/// ```
pub fn sessions_considered(min_sessions: u64) -> u64 {
    LATEST_SESSIONS.max(min_sessions)
}

/// Cronbach's alpha over the latest completed sessions in `store` ([`sessions_considered`]), with `min_sessions` in place of 100
/// in the old backend's requirements. The outer error is the store's; the inner says which
/// requirement the data does not meet yet.
///
/// ```
/// use aiq_core::reliability::cronbach_alpha;
/// use aiq_core::scoring::AlphaUnavailable;
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let alpha = cronbach_alpha(&store, 100).await.unwrap();
/// assert_eq!(alpha, Err(AlphaUnavailable::TooFewSessions { found: 0, required: 100 }));
/// # });
/// ```
pub async fn cronbach_alpha<S: ReliabilityStore + ?Sized>(
    store: &S,
    min_sessions: u64,
) -> Result<Result<AlphaReport, AlphaUnavailable>, StorageError> {
    let appearances = store
        .item_appearances(sessions_considered(min_sessions))
        .await?;
    cronbach_alpha_from_appearances(store, &appearances, min_sessions).await
}

/// [`cronbach_alpha`] when the caller has read [`ItemAppearances`] already (to show them),
/// over [`sessions_considered`]`(min_sessions)` sessions.
///
/// ```
/// use aiq_core::reliability::cronbach_alpha_from_appearances;
/// use aiq_core::storage::{MemoryStore, ReliabilityStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let appearances = store.item_appearances(10_000).await.unwrap();
/// let alpha = cronbach_alpha_from_appearances(&store, &appearances, 10).await.unwrap();
/// assert!(alpha.is_err());
/// # });
/// ```
pub async fn cronbach_alpha_from_appearances<S: ReliabilityStore + ?Sized>(
    store: &S,
    appearances: &ItemAppearances,
    min_sessions: u64,
) -> Result<Result<AlphaReport, AlphaUnavailable>, StorageError> {
    let items = match common_items(appearances, min_sessions) {
        Ok(items) => items,
        Err(unavailable) => return Ok(Err(unavailable)),
    };
    let k = items.len() as u64;
    let latest = sessions_considered(min_sessions);
    let mut sums = store.score_sums(&items, k, latest).await?;
    if sums.sessions < min_sessions {
        let min_answered = fallback_min_answered(items.len()) as u64;
        sums = store.score_sums(&items, min_answered, latest).await?;
    }
    if sums.sessions < min_sessions {
        return Ok(Err(AlphaUnavailable::TooFewCompleteSessions {
            found: to_usize(sums.sessions),
            required: to_usize(min_sessions),
        }));
    }
    Ok(
        alpha_from_sums(items.len(), &sums).map(|alpha| AlphaReport {
            alpha,
            items: items.len(),
            sessions: to_usize(sums.sessions),
        }),
    )
}

/// Split-half reliability over the latest [`LATEST_SESSIONS`] completed sessions in `store`
/// with at least two answers; `None` as [`split_half_from_sums`] says.
///
/// ```
/// use aiq_core::reliability::split_half;
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(split_half(&MemoryStore::new()).await.unwrap(), None);
/// # });
/// ```
pub async fn split_half<S: ReliabilityStore + ?Sized>(
    store: &S,
) -> Result<Option<SplitHalf>, StorageError> {
    Ok(split_half_from_sums(
        &store.split_half_sums(LATEST_SESSIONS).await?,
    ))
}

/// How long a shared [`Report`] serves the reports asked for at the default minimum, and how
/// long the confidence interval uses it before one instance recomputes it.
pub const SHARED_TTL: time::Duration = time::Duration::minutes(5);

/// Both coefficients over the latest completed sessions, with what they were computed from
/// and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The completed sessions the report read (the latest, at most
    /// [`sessions_considered`]`(min_sessions)`).
    pub sessions: u64,
    /// Distinct items answered in those sessions.
    pub items_answered: u64,
    /// Answers in those sessions.
    pub responses: u64,
    /// The minimum of completed sessions it was computed with.
    pub min_sessions: u64,
    /// Cronbach's alpha, or which requirement the data does not meet.
    pub alpha: Result<AlphaReport, AlphaUnavailable>,
    /// Split-half reliability; `None` before `min_sessions` sessions are completed, or as
    /// [`split_half_from_sums`] says.
    pub split_half: Option<SplitHalf>,
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub computed_at: OffsetDateTime,
}

impl Report {
    /// Whether the report read a full window of [`LATEST_SESSIONS`] sessions. One more
    /// completed session then moves the coefficients by about one part in 10,000, so a report
    /// a few minutes old still says what a new one would; a smaller deployment's report is
    /// computed on each request.
    pub fn window_is_full(&self) -> bool {
        self.sessions >= sessions_considered(self.min_sessions)
    }

    /// Alpha, or `None` when the data does not allow one yet.
    pub fn alpha(&self) -> Option<f64> {
        self.alpha.as_ref().ok().map(|report| report.alpha)
    }

    /// Whether the requirement of `min_sessions` completed sessions is met.
    pub fn enough_sessions(&self) -> bool {
        !matches!(self.alpha, Err(AlphaUnavailable::TooFewSessions { .. }))
    }
}

/// Computes a [`Report`] over the latest completed sessions in `store`, at `now`.
///
/// ```
/// use aiq_core::reliability::report;
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let now = time::OffsetDateTime::now_utc();
/// let report = report(&MemoryStore::new(), 100, now).await.unwrap();
/// assert_eq!((report.sessions, report.split_half), (0, None));
/// assert!(!report.enough_sessions());
/// # });
/// ```
pub async fn report<S: ReliabilityStore + ?Sized>(
    store: &S,
    min_sessions: u64,
    now: OffsetDateTime,
) -> Result<Report, StorageError> {
    let started = std::time::Instant::now();
    let appearances = store
        .item_appearances(sessions_considered(min_sessions))
        .await?;
    let alpha = cronbach_alpha_from_appearances(store, &appearances, min_sessions).await?;
    let mut report = Report {
        sessions: appearances.sessions,
        items_answered: appearances.items.len() as u64,
        responses: appearances.items.iter().map(|(_, count)| count).sum(),
        min_sessions,
        alpha,
        split_half: None,
        computed_at: now,
    };
    if report.enough_sessions() {
        report.split_half = split_half(store).await?;
    }
    tracing::info!(
        min_sessions,
        sessions = report.sessions,
        responses = report.responses,
        alpha = report.alpha(),
        items = report.alpha.as_ref().map_or(0, |r| r.items),
        unavailable = report.alpha.as_ref().err().map(tracing::field::display),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "reliability: report recomputed"
    );
    Ok(report)
}

/// The report at the default minimum ([`MIN_ALPHA_SESSIONS`]) as of `now`: the one the
/// instances share when it is younger than [`SHARED_TTL`] and read a full window
/// ([`Report::window_is_full`]); otherwise computed here and shared.
///
/// ```
/// use aiq_core::reliability::latest_report;
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let now = time::OffsetDateTime::now_utc();
/// let report = latest_report(&MemoryStore::new(), now).await.unwrap();
/// assert_eq!((report.min_sessions, report.computed_at), (100, now));
/// # });
/// ```
pub async fn latest_report<S: ReliabilityStore + SystemConfigStore + ?Sized>(
    store: &S,
    now: OffsetDateTime,
) -> Result<Report, StorageError> {
    if let Some(shared) = shared_report(store).await?
        && shared.computed_at > now - SHARED_TTL
        && shared.window_is_full()
    {
        return Ok(shared);
    }
    let report = report(store, MIN_ALPHA_SESSIONS as u64, now).await?;
    share_report(store, &report).await?;
    Ok(report)
}

/// The report the instances share ([`RELIABILITY_ALPHA`]), if one was written at the default
/// minimum. A value this version cannot read (an older layout) counts as none.
pub(crate) async fn shared_report<S: SystemConfigStore + ?Sized>(
    store: &S,
) -> Result<Option<Report>, StorageError> {
    Ok(store
        .system_config(RELIABILITY_ALPHA)
        .await?
        .and_then(|value| serde_json::from_value::<Report>(value).ok())
        .filter(|report| report.min_sessions == MIN_ALPHA_SESSIONS as u64))
}

/// Writes `report` for the other instances.
pub(crate) async fn share_report<S: SystemConfigStore + ?Sized>(
    store: &S,
    report: &Report,
) -> Result<(), StorageError> {
    let value = serde_json::to_value(report).map_err(|e| StorageError::Backend(Box::new(e)))?;
    store
        .set_system_config(RELIABILITY_ALPHA, value, report.computed_at)
        .await
}

/// The items alpha is computed over: those answered in at least
/// `max(min(30, min_sessions), int(0.30 × sessions))` completed sessions, in id order; an error
/// with fewer than `min_sessions` sessions or fewer than 2 such items.
///
/// ```
/// use aiq_core::reliability::common_items;
/// use aiq_core::storage::ItemAppearances;
/// let appearances = ItemAppearances { sessions: 100, items: vec![(7, 40), (3, 30), (5, 29)] };
/// assert_eq!(common_items(&appearances, 100), Ok(vec![3, 7]));
/// ```
pub fn common_items(
    appearances: &ItemAppearances,
    min_sessions: u64,
) -> Result<Vec<i64>, AlphaUnavailable> {
    let n = appearances.sessions;
    if n < min_sessions {
        return Err(AlphaUnavailable::TooFewSessions {
            found: to_usize(n),
            required: to_usize(min_sessions),
        });
    }
    let min_appearances = MIN_ITEM_APPEARANCES
        .min(min_sessions)
        .max((n as f64 * 0.30) as u64);
    let mut items: Vec<i64> = appearances
        .items
        .iter()
        .filter(|&&(_, count)| count >= min_appearances)
        .map(|&(id, _)| id)
        .collect();
    items.sort_unstable();
    items.dedup();
    if items.len() < 2 {
        return Err(AlphaUnavailable::TooFewItems {
            found: items.len(),
            min_appearances: to_usize(min_appearances),
        });
    }
    Ok(items)
}

/// Answers among the `items` common items a session needs when too few answered all of them:
/// `int(0.8 × items)`, at least 1.
pub(crate) fn fallback_min_answered(items: usize) -> usize {
    ((items as f64 * FALLBACK_COMPLETION) as usize).max(1)
}

/// Alpha over `items` items from the sums of the sessions used:
/// `k/(k−1) × (1 − Σ var_i / var_total)` with sample variances, which for 0/1 scores is
/// `k/(k−1) × (1 − Σ c_i (m − c_i) / (m Σt² − (Σt)²))` (m sessions, c_i correct on item i, t a
/// session's score), computed in integers and divided once; clamped to [−1, 1] and rounded to 4
/// decimals.
///
/// ```
/// use aiq_core::reliability::alpha_from_sums;
/// use aiq_core::storage::ScoreSums;
/// // The matrix of `alpha_from_matrix`'s example: scores 3, 2, 1, 0; items right 3, 2, 1 times.
/// let sums = ScoreSums { sessions: 4, score_sum: 6, score_squares: 14, correct: vec![(1, 3), (2, 2), (3, 1)] };
/// assert_eq!(alpha_from_sums(3, &sums), Ok(0.75));
/// ```
pub fn alpha_from_sums(items: usize, sums: &ScoreSums) -> Result<f64, AlphaUnavailable> {
    if items < 2 {
        return Err(AlphaUnavailable::TooFewItems {
            found: items,
            min_appearances: 0,
        });
    }
    let m = i128::from(sums.sessions);
    let total = m * i128::from(sums.score_squares) - i128::from(sums.score_sum).pow(2);
    if m < 2 || total <= 0 {
        return Err(AlphaUnavailable::ZeroTotalVariance);
    }
    let item_sum: i128 = sums
        .correct
        .iter()
        .map(|&(_, c)| i128::from(c) * (m - i128::from(c)))
        .sum();
    let k = items as f64;
    let alpha = k / (k - 1.0) * (1.0 - item_sum as f64 / total as f64);
    Ok(round_dp(alpha.clamp(-1.0, 1.0), 4))
}

/// Split-half reliability from [`SplitHalfSums`]: Pearson's r of the halves and
/// `2r / (1 + r)`, rounded to 4 decimals. `None` with fewer than two sessions, when a half has
/// no variance, or when r is −1.
///
/// ```
/// use aiq_core::reliability::split_half_from_sums;
/// use aiq_core::storage::SplitHalfSums;
/// // Halves (2, 2), (2, 1), (1, 0), (0, 0), as in `split_half`'s example.
/// let sums = SplitHalfSums { sessions: 4, odd: 5, even: 3, odd_squares: 9, even_squares: 5, products: 6 };
/// let split = split_half_from_sums(&sums).unwrap();
/// assert_eq!((split.raw_correlation, split.spearman_brown), (0.8182, 0.9));
/// ```
pub fn split_half_from_sums(sums: &SplitHalfSums) -> Option<SplitHalf> {
    if sums.sessions < 2 {
        return None;
    }
    let n = i128::from(sums.sessions);
    let (odd, even) = (i128::from(sums.odd), i128::from(sums.even));
    let covariance = n * i128::from(sums.products) - odd * even;
    let odd_variance = n * i128::from(sums.odd_squares) - odd * odd;
    let even_variance = n * i128::from(sums.even_squares) - even * even;
    if odd_variance <= 0 || even_variance <= 0 {
        return None;
    }
    let r = covariance as f64 / ((odd_variance as f64) * (even_variance as f64)).sqrt();
    split_half_of(r, to_usize(sums.sessions))
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::scoring::{cronbach_alpha_with_minimum, split_half as matrix_split_half};
    use crate::storage::QuestionId;

    /// Sessions answering random subsets of a small bank, correctness from a 1PL model.
    fn sessions(
        seed: u64,
        count: usize,
        bank: i64,
        per_session: usize,
    ) -> Vec<Vec<(QuestionId, bool)>> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let theta = rng.random::<f64>() * 4.0 - 2.0;
                let mut items: Vec<i64> = (1..=bank).collect();
                for i in 0..items.len() {
                    let j = rng.random_range(i..items.len());
                    items.swap(i, j);
                }
                items
                    .into_iter()
                    .take(per_session)
                    .map(|id| {
                        let b = (id as f64 / bank as f64) * 3.0 - 1.5;
                        let p = 1.0 / (1.0 + (b - theta).exp());
                        (id, rng.random::<f64>() < p)
                    })
                    .collect()
            })
            .collect()
    }

    /// What a store answers for `sessions`, computed directly.
    fn appearances(sessions: &[Vec<(QuestionId, bool)>]) -> ItemAppearances {
        let mut counts: HashMap<QuestionId, u64> = HashMap::new();
        for session in sessions {
            for (id, _) in session {
                *counts.entry(*id).or_default() += 1;
            }
        }
        ItemAppearances {
            sessions: sessions.len() as u64,
            items: counts.into_iter().collect(),
        }
    }

    fn score_sums(
        sessions: &[Vec<(QuestionId, bool)>],
        items: &[QuestionId],
        min: u64,
    ) -> ScoreSums {
        let mut sums = ScoreSums::default();
        let mut correct: HashMap<QuestionId, u64> = HashMap::new();
        for session in sessions {
            let chosen: Vec<_> = session
                .iter()
                .filter(|(id, _)| items.contains(id))
                .collect();
            if (chosen.len() as u64) < min {
                continue;
            }
            let score = chosen.iter().filter(|(_, c)| *c).count() as u64;
            sums.sessions += 1;
            sums.score_sum += score;
            sums.score_squares += score * score;
            for (id, c) in chosen {
                if *c {
                    *correct.entry(*id).or_default() += 1;
                }
            }
        }
        sums.correct = correct.into_iter().collect();
        sums
    }

    /// The matrix computation and the sums computation give the same report (the same alpha to
    /// its 4 decimals, the same counts, the same reason when there is none), whichever rule
    /// (every item answered, or the 80 % fallback) picks the sessions.
    #[test]
    fn alpha_from_sums_equals_the_matrix_computation() {
        for (seed, bank, per_session) in [(1, 8, 8), (2, 12, 10), (3, 40, 25), (4, 6, 6)] {
            let data = sessions(seed, 400, bank, per_session);
            let matrix: Vec<HashMap<QuestionId, bool>> =
                data.iter().map(|s| s.iter().copied().collect()).collect();
            let expected = cronbach_alpha_with_minimum(&matrix, 100);
            let found = common_items(&appearances(&data), 100).and_then(|items| {
                let k = items.len() as u64;
                let mut sums = score_sums(&data, &items, k);
                if sums.sessions < 100 {
                    sums = score_sums(&data, &items, (k as f64 * 0.8) as u64);
                }
                if sums.sessions < 100 {
                    return Err(AlphaUnavailable::TooFewCompleteSessions {
                        found: sums.sessions as usize,
                        required: 100,
                    });
                }
                alpha_from_sums(items.len(), &sums).map(|alpha| AlphaReport {
                    alpha,
                    items: items.len(),
                    sessions: sums.sessions as usize,
                })
            });
            assert_eq!(found, expected, "seed {seed}");
        }
    }

    #[test]
    fn split_half_from_sums_equals_the_matrix_computation() {
        for seed in 1..6 {
            let data = sessions(seed, 300, 30, 20);
            let rows: Vec<Vec<bool>> = data
                .iter()
                .map(|s| s.iter().map(|(_, c)| *c).collect())
                .collect();
            let mut sums = SplitHalfSums::default();
            for row in &rows {
                sums.add(row.iter().copied());
            }
            assert_eq!(
                split_half_from_sums(&sums),
                matrix_split_half(&rows),
                "seed {seed}"
            );
        }
    }

    /// A shared report stands in for a computation while it is fresh and read a full window;
    /// otherwise the store is read again (here an empty store: 0 sessions).
    #[tokio::test]
    async fn a_fresh_full_window_is_served_from_the_shared_report() {
        use crate::storage::MemoryStore;
        let t0 = time::macros::datetime!(2026-12-08 12:00 UTC);
        let shared = |sessions: u64, computed_at| Report {
            sessions,
            items_answered: 900,
            responses: sessions * 25,
            min_sessions: 100,
            alpha: Ok(AlphaReport {
                alpha: 0.81,
                items: 25,
                sessions: 9_000,
            }),
            split_half: None,
            computed_at,
        };
        let store = MemoryStore::new();
        let full = shared(LATEST_SESSIONS, t0);
        share_report(&store, &full).await.unwrap();
        let soon = t0 + time::Duration::minutes(4);
        assert_eq!(latest_report(&store, soon).await.unwrap(), full);

        let later = t0 + time::Duration::minutes(6);
        let recomputed = latest_report(&store, later).await.unwrap();
        assert_eq!((recomputed.sessions, recomputed.computed_at), (0, later));
        assert_eq!(shared_report(&store).await.unwrap(), Some(recomputed));

        share_report(&store, &shared(LATEST_SESSIONS - 1, t0))
            .await
            .unwrap();
        let partial = latest_report(&store, soon).await.unwrap();
        assert_eq!((partial.sessions, partial.computed_at), (0, soon));
    }

    #[test]
    fn too_few_items_and_no_variance_are_reported() {
        let appearances = ItemAppearances {
            sessions: 200,
            items: vec![(1, 200), (2, 59)],
        };
        assert_eq!(
            common_items(&appearances, 100),
            Err(AlphaUnavailable::TooFewItems {
                found: 1,
                min_appearances: 60
            })
        );
        let flat = ScoreSums {
            sessions: 100,
            score_sum: 200,
            score_squares: 400,
            correct: vec![(1, 100), (2, 100)],
        };
        assert_eq!(
            alpha_from_sums(2, &flat),
            Err(AlphaUnavailable::ZeroTotalVariance)
        );
    }
}
