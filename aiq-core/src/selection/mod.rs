//! Fixed-form test composition (spec §3.2): which questions a new test gets.
//!
//! The storage layer hands over every eligible question (active, quality `normal`,
//! discrimination ≥ 0 or unknown, never shown to the user) as [`Candidate`]s; [`compose`] picks
//! the test from them.
//!
//! The structure is the old backend's: up to one anchor item per domain, difficulty targets of
//! 20 / 50 / 30 % ([`difficulty_targets`], [`adjusted_targets`]), each difficulty split across
//! domains by the weights of [`DOMAIN_WEIGHTS`] ([`allocate`]), then fallbacks. One deliberate
//! difference (DECISIONS.md, "Selection"): the old backend took the items with the highest
//! discrimination, so every guest got the same questions; here every draw is random, weighted
//! towards better-discriminating items (see [`selection_weight`]).

mod allocation;

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

pub use self::allocation::{
    DIFFICULTY_DISTRIBUTION, DOMAIN_WEIGHTS, PerDifficulty, PerDomain, adjusted_targets, allocate,
    difficulty_targets,
};
use crate::questions::{Difficulty, Domain};

/// An eligible question, as far as composition cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The question id.
    pub id: i64,
    /// Its domain.
    pub domain: Domain,
    /// Its intended difficulty.
    pub difficulty: Difficulty,
    /// Its point-biserial discrimination, unknown until it has responses.
    pub discrimination: Option<f64>,
    /// Whether it is an anchor item (answered by many users, for calibration).
    pub is_anchor: bool,
}

/// The chosen questions and the `composition_metadata` stored with the session.
#[derive(Debug, Clone, PartialEq)]
pub struct Composition {
    /// The question ids in presentation order (shuffled).
    pub question_ids: Vec<i64>,
    /// What was chosen.
    pub metadata: CompositionMetadata,
}

/// `test_sessions.composition_metadata`: `{"difficulty": {easy, medium, hard}, "domain":
/// {pattern, …, memory}, "total": n, "anchor_count": k, "anchors_per_domain": {domain: 0|1}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompositionMetadata {
    /// Chosen items per difficulty.
    pub difficulty: PerDifficulty<usize>,
    /// Chosen items per domain.
    pub domain: PerDomain<usize>,
    /// Chosen items in all.
    pub total: usize,
    /// Anchor items among them.
    pub anchor_count: usize,
    /// Anchors per domain, 0 or 1.
    pub anchors_per_domain: PerDomain<usize>,
}

/// How strongly a draw prefers an item: `1 + 4·min(d, 1)` for a discrimination `d ≥ 0`, 1 for an
/// unknown (or negative, or not-a-number) one. An item with `d = 0.5` is three times as likely
/// to be drawn first as a new item.
///
/// ```
/// use aiq_core::selection::selection_weight;
/// assert_eq!(selection_weight(Some(0.5)), 3.0);
/// assert_eq!(selection_weight(None), 1.0);
/// ```
pub fn selection_weight(discrimination: Option<f64>) -> f64 {
    match discrimination {
        Some(d) if d > 0.0 => 1.0 + 4.0 * d.min(1.0),
        _ => 1.0,
    }
}

/// The state of one composition: the pool, what is taken, and the random source.
struct Draws<'a, R: ?Sized> {
    pool: &'a [Candidate],
    taken: Vec<bool>,
    taken_ids: HashSet<i64>,
    chosen: Vec<usize>,
    rng: &'a mut R,
}

impl<R: Rng + ?Sized> Draws<'_, R> {
    /// Draws up to `k` untaken items matching `wanted`, weighted sampling without replacement
    /// (Efraimidis–Spirakis: key `u^(1/w)`, the `k` largest keys win; compared as `ln(u)/w`).
    fn draw(&mut self, k: usize, wanted: impl Fn(&Candidate) -> bool) -> usize {
        if k == 0 {
            return 0;
        }
        let mut keyed: Vec<(f64, usize)> = Vec::new();
        for (i, c) in self.pool.iter().enumerate() {
            if self.taken[i] || self.taken_ids.contains(&c.id) || !wanted(c) {
                continue;
            }
            // u in (0, 1]: ln(u) is finite and ≤ 0.
            let u = 1.0 - self.rng.random::<f64>();
            keyed.push((u.ln() / selection_weight(c.discrimination), i));
        }
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut picked = 0;
        for (_, i) in keyed {
            if picked == k {
                break;
            }
            // `insert` is false for a second copy of an id already picked in this draw.
            self.taken[i] = true;
            if self.taken_ids.insert(self.pool[i].id) {
                self.chosen.push(i);
                picked += 1;
            }
        }
        picked
    }
}

/// Composes an `n`-item fixed-form test from `candidates` (spec §3.2, with random draws).
///
/// 1. With `anchors` (not for guests), one anchor item per domain in domain order, while fewer
///    than `n` are chosen.
/// 2. The difficulty targets ([`difficulty_targets`]) less the anchors ([`adjusted_targets`]).
/// 3. Per difficulty, the target is split across domains ([`allocate`] with
///    [`DOMAIN_WEIGHTS`]); each (difficulty, domain) cell is drawn from its items; if the
///    difficulty is still short, the rest is drawn from any domain at that difficulty.
/// 4. If the test is still short, the rest is drawn from any remaining candidate.
/// 5. The order is shuffled.
///
/// Every draw is weighted random ([`selection_weight`]). Candidates with a negative
/// discrimination are skipped; a candidate (or id) is never chosen twice. With too few
/// candidates the test is shorter than `n`.
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain};
/// use aiq_core::selection::{Candidate, compose};
/// use rand::SeedableRng;
///
/// let pool: Vec<Candidate> = (0..300)
///     .map(|i| Candidate {
///         id: i,
///         domain: Domain::ALL[i as usize % 6],
///         difficulty: Difficulty::ALL[i as usize / 6 % 3],
///         discrimination: Some(0.3),
///         is_anchor: i < 6,
///     })
///     .collect();
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// let test = compose(&pool, 25, true, &mut rng);
/// assert_eq!(test.question_ids.len(), 25);
/// assert_eq!(test.metadata.anchor_count, 6);
/// // The six anchors (ids 0–5) are all easy: the easy target (5) drops to 0, and the one item
/// // over 25 comes off the largest target, medium (13).
/// let d = test.metadata.difficulty;
/// assert_eq!((d.easy, d.medium, d.hard), (6, 12, 7));
/// ```
pub fn compose<R: Rng + ?Sized>(
    candidates: &[Candidate],
    n: usize,
    anchors: bool,
    rng: &mut R,
) -> Composition {
    let eligible = |c: &Candidate| c.discrimination.is_none_or(|d| d.is_nan() || d >= 0.0);
    let mut draws = Draws {
        pool: candidates,
        taken: vec![false; candidates.len()],
        taken_ids: HashSet::new(),
        chosen: Vec::with_capacity(n),
        rng,
    };

    let mut anchors_per_difficulty = PerDifficulty::<usize>::default();
    if anchors {
        for domain in Domain::ALL {
            if draws.chosen.len() >= n {
                break;
            }
            draws.draw(1, |c| eligible(c) && c.is_anchor && c.domain == domain);
        }
        for &i in &draws.chosen {
            *anchors_per_difficulty.get_mut(candidates[i].difficulty) += 1;
        }
    }
    let anchor_count = draws.chosen.len();

    let targets = adjusted_targets(n, anchors_per_difficulty);
    for difficulty in Difficulty::ALL {
        let target = *targets.get(difficulty);
        if target == 0 {
            continue;
        }
        let mut got = 0;
        for (domain, count) in allocate(target, &DOMAIN_WEIGHTS) {
            got += draws.draw(count, |c| {
                eligible(c) && c.difficulty == difficulty && c.domain == domain
            });
        }
        if got < target {
            draws.draw(target - got, |c| eligible(c) && c.difficulty == difficulty);
        }
    }
    let short = n.saturating_sub(draws.chosen.len());
    draws.draw(short, eligible);

    let mut metadata = CompositionMetadata {
        total: draws.chosen.len(),
        anchor_count,
        ..CompositionMetadata::default()
    };
    for (position, &i) in draws.chosen.iter().enumerate() {
        let c = &candidates[i];
        *metadata.difficulty.get_mut(c.difficulty) += 1;
        *metadata.domain.get_mut(c.domain) += 1;
        if position < anchor_count {
            *metadata.anchors_per_domain.get_mut(c.domain) = 1;
        }
    }
    let mut question_ids: Vec<i64> = draws.chosen.iter().map(|&i| candidates[i].id).collect();
    question_ids.shuffle(draws.rng);
    Composition {
        question_ids,
        metadata,
    }
}
