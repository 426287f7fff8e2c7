//! Choosing the next item (spec §3.4 "Next item"): content constraints, then maximum Fisher
//! information with a randomesque pick among the best few.

use std::collections::HashSet;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::irt::ItemParams;
use super::session::AdministeredItem;
use super::stopping::MAX_ITEMS;
use crate::questions::{Difficulty, Domain};
use crate::selection::DOMAIN_WEIGHTS;

/// The randomesque pick: the next item is drawn uniformly from this many most informative
/// candidates.
pub const RANDOMESQUE_TOP: usize = 5;
/// The hard content constraint's per-domain minimum (`min_items_per_domain = 2`).
pub const MIN_ITEMS_PER_DOMAIN: usize = 2;
/// The soft constraint's tolerance: a domain is preferred when its share of the administered
/// items is below its target share minus this.
pub const SOFT_TOLERANCE: f64 = 0.10;

/// A calibrated item the adaptive test may serve: active, quality `normal`, with IRT parameters
/// and `a > 0`. The caller leaves out what the user has already seen, or passes those ids to
/// [`select_next_item`] as `seen`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoolItem {
    /// The question id.
    pub id: i64,
    /// Its domain.
    pub domain: Domain,
    /// Its intended difficulty (kept for the result's domain scores).
    pub difficulty: Difficulty,
    /// Its 2PL parameters.
    pub params: ItemParams,
}

/// The target share of each domain: the fixed form's domain weights
/// ([`DOMAIN_WEIGHTS`]: pattern .22, logic .20, verbal .19, spatial .16, math .13, memory .10).
pub fn target_share(domain: Domain) -> f64 {
    DOMAIN_WEIGHTS
        .iter()
        .find(|(d, _)| *d == domain)
        .map_or(0.0, |(_, w)| *w)
}

/// The administered count per domain, in [`Domain::ALL`] order.
pub(crate) fn domain_counts(administered: &[AdministeredItem]) -> [usize; 6] {
    let mut counts = [0; 6];
    for item in administered {
        if let Some(i) = Domain::ALL.iter().position(|d| *d == item.domain) {
            counts[i] += 1;
        }
    }
    counts
}

/// Picks the next item at ability `theta`, or `None` when no eligible item remains (the session
/// then ends with `item_pool_exhausted`).
///
/// 1. Items already administered, ids in `seen`, and items with invalid parameters are out.
/// 2. Hard content constraint: the domains with fewer than [`MIN_ITEMS_PER_DOMAIN`] items form
///    a deficit set; if the total deficit still fits in the items left (`≤ 15 − administered`),
///    only items of deficit domains are considered, as long as there is one.
/// 3. Otherwise the soft constraint: when some candidate's domain has a share of the
///    administered items below its [`target_share`] − [`SOFT_TOLERANCE`], only such items are
///    considered.
/// 4. The candidates are ranked by Fisher information at `theta` (ties by id), and one of the
///    best [`RANDOMESQUE_TOP`] is drawn uniformly with `rng`. A non-finite `theta` is read as 0.
///
/// ```
/// use std::collections::HashSet;
/// use rand::SeedableRng;
/// use aiq_core::cat::{ItemParams, PoolItem, select_next_item};
/// use aiq_core::questions::{Difficulty, Domain};
///
/// let pool: Vec<PoolItem> = (0..60)
///     .map(|i| PoolItem {
///         id: i,
///         domain: Domain::ALL[i as usize % 6],
///         difficulty: Difficulty::Medium,
///         params: ItemParams { a: 1.0, b: (i as f64 - 30.0) / 10.0 },
///     })
///     .collect();
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let item = select_next_item(&pool, 0.0, &[], &HashSet::new(), &mut rng).unwrap();
/// // One of the five items closest to b = 0.
/// assert!((item.params.b).abs() <= 0.2);
/// assert!(select_next_item(&[], 0.0, &[], &HashSet::new(), &mut rng).is_none());
/// ```
pub fn select_next_item<'p, R: Rng + ?Sized>(
    pool: &'p [PoolItem],
    theta: f64,
    administered: &[AdministeredItem],
    seen: &HashSet<i64>,
    rng: &mut R,
) -> Option<&'p PoolItem> {
    let theta = if theta.is_finite() { theta } else { 0.0 };
    // At most 15 administered items: a linear scan beats hashing them.
    let given = |id: i64| administered.iter().any(|a| a.id == id);
    let mut candidates: Vec<&PoolItem> = pool
        .iter()
        .filter(|i| i.params.is_valid() && !given(i.id) && !seen.contains(&i.id))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let counts = domain_counts(administered);
    let count_of = |d: Domain| {
        Domain::ALL
            .iter()
            .position(|x| *x == d)
            .map_or(0, |i| counts[i])
    };

    let deficit: usize = counts
        .iter()
        .map(|c| MIN_ITEMS_PER_DOMAIN.saturating_sub(*c))
        .sum();
    let in_deficit = |d: Domain| count_of(d) < MIN_ITEMS_PER_DOMAIN;
    let remaining = MAX_ITEMS.saturating_sub(administered.len());
    if deficit > 0 && deficit <= remaining && candidates.iter().any(|i| in_deficit(i.domain)) {
        candidates.retain(|i| in_deficit(i.domain));
    } else if !administered.is_empty() {
        let n = administered.len() as f64;
        let under = |d: Domain| (count_of(d) as f64 / n) < target_share(d) - SOFT_TOLERANCE;
        if candidates.iter().any(|i| under(i.domain)) {
            candidates.retain(|i| under(i.domain));
        }
    }

    let mut ranked: Vec<(f64, &PoolItem)> = candidates
        .into_iter()
        .map(|i| (i.params.information(theta), i))
        .collect();
    let order =
        |x: &(f64, &PoolItem), y: &(f64, &PoolItem)| y.0.total_cmp(&x.0).then(x.1.id.cmp(&y.1.id));
    let top = ranked.len().min(RANDOMESQUE_TOP);
    // Only the best few need ordering: partition around the top-th, then sort those.
    if ranked.len() > top {
        ranked.select_nth_unstable_by(top - 1, order);
    }
    ranked[..top].sort_by(order);
    let pick = rng.random_range(0..top);
    Some(ranked[pick].1)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn item(id: i64, a: f64, b: f64) -> PoolItem {
        PoolItem {
            id,
            domain: Domain::Logic,
            difficulty: Difficulty::Medium,
            params: ItemParams { a, b },
        }
    }

    #[test]
    fn bad_input_never_panics() {
        let mut rng = StdRng::seed_from_u64(1);
        let none = HashSet::new();
        assert!(select_next_item(&[], 0.0, &[], &none, &mut rng).is_none());
        // Items with unusable parameters are never served.
        let broken = [
            item(1, f64::NAN, 0.0),
            item(2, -1.0, 0.0),
            item(3, 1.0, f64::INFINITY),
        ];
        assert!(select_next_item(&broken, 0.0, &[], &none, &mut rng).is_none());
        // A NaN θ is read as 0: the item at b = 0 is among the picks, nothing panics.
        let pool = [item(4, 1.0, 0.0), item(5, 1.0, 3.9)];
        let picked = select_next_item(&pool, f64::NAN, &[], &none, &mut rng).unwrap();
        assert!([4, 5].contains(&picked.id));
        assert_eq!(target_share(Domain::Pattern), 0.22);
    }
}
