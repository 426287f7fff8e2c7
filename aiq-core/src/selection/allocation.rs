//! How many items of each difficulty and domain a fixed-form test gets (spec §3.2 steps 3–5).

use serde::{Deserialize, Serialize};

use crate::questions::{Difficulty, Domain};

/// `TEST_DIFFICULTY_DISTRIBUTION`: the share of each difficulty.
pub const DIFFICULTY_DISTRIBUTION: [(Difficulty, f64); 3] = [
    (Difficulty::Easy, 0.20),
    (Difficulty::Medium, 0.50),
    (Difficulty::Hard, 0.30),
];

/// `TEST_DOMAIN_WEIGHTS`: the share of each domain within a difficulty, in the old config order.
pub const DOMAIN_WEIGHTS: [(Domain, f64); 6] = [
    (Domain::Pattern, 0.22),
    (Domain::Logic, 0.20),
    (Domain::Verbal, 0.19),
    (Domain::Spatial, 0.16),
    (Domain::Math, 0.13),
    (Domain::Memory, 0.10),
];

/// One value per difficulty; serialises as `{"easy", "medium", "hard"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PerDifficulty<T> {
    /// Easy.
    pub easy: T,
    /// Medium.
    pub medium: T,
    /// Hard.
    pub hard: T,
}

impl<T> PerDifficulty<T> {
    /// The value of one difficulty.
    pub fn get(&self, difficulty: Difficulty) -> &T {
        match difficulty {
            Difficulty::Easy => &self.easy,
            Difficulty::Medium => &self.medium,
            Difficulty::Hard => &self.hard,
        }
    }

    /// The value of one difficulty, to change.
    pub fn get_mut(&mut self, difficulty: Difficulty) -> &mut T {
        match difficulty {
            Difficulty::Easy => &mut self.easy,
            Difficulty::Medium => &mut self.medium,
            Difficulty::Hard => &mut self.hard,
        }
    }
}

/// One value per domain; serialises as an object with the keys in domain order
/// (`pattern, logic, spatial, math, verbal, memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PerDomain<T> {
    /// Pattern.
    pub pattern: T,
    /// Logic.
    pub logic: T,
    /// Spatial.
    pub spatial: T,
    /// Math.
    pub math: T,
    /// Verbal.
    pub verbal: T,
    /// Memory.
    pub memory: T,
}

impl<T> PerDomain<T> {
    /// The value of one domain.
    pub fn get(&self, domain: Domain) -> &T {
        match domain {
            Domain::Pattern => &self.pattern,
            Domain::Logic => &self.logic,
            Domain::Spatial => &self.spatial,
            Domain::Math => &self.math,
            Domain::Verbal => &self.verbal,
            Domain::Memory => &self.memory,
        }
    }

    /// The value of one domain, to change.
    pub fn get_mut(&mut self, domain: Domain) -> &mut T {
        match domain {
            Domain::Pattern => &mut self.pattern,
            Domain::Logic => &mut self.logic,
            Domain::Spatial => &mut self.spatial,
            Domain::Math => &mut self.math,
            Domain::Verbal => &mut self.verbal,
            Domain::Memory => &mut self.memory,
        }
    }
}

/// The difficulty targets of an `n`-item test: `int(n × share)` each, the shortfall added to
/// medium.
///
/// ```
/// use aiq_core::selection::{PerDifficulty, difficulty_targets};
/// assert_eq!(difficulty_targets(25), PerDifficulty { easy: 5, medium: 13, hard: 7 });
/// ```
pub fn difficulty_targets(n: usize) -> PerDifficulty<usize> {
    let mut targets = PerDifficulty::default();
    for (difficulty, share) in DIFFICULTY_DISTRIBUTION {
        // Truncation, as Python's int(); the same binary products as the old backend.
        *targets.get_mut(difficulty) = (n as f64 * share) as usize;
    }
    targets.medium += n.saturating_sub(targets.easy + targets.medium + targets.hard);
    targets
}

/// The targets left for the non-anchor items: each difficulty's anchors are subtracted from its
/// target (not below 0), and if the targets plus the anchors still exceed `n`, the surplus is
/// taken from the largest targets first (each down to 0 before the next; equal targets in the
/// order easy, medium, hard).
///
/// ```
/// use aiq_core::selection::{PerDifficulty, adjusted_targets};
/// let anchors = PerDifficulty { easy: 1, medium: 4, hard: 1 };
/// assert_eq!(adjusted_targets(25, anchors), PerDifficulty { easy: 4, medium: 9, hard: 6 });
/// ```
pub fn adjusted_targets(n: usize, anchors: PerDifficulty<usize>) -> PerDifficulty<usize> {
    let mut targets = difficulty_targets(n);
    for difficulty in Difficulty::ALL {
        let target = targets.get_mut(difficulty);
        *target = target.saturating_sub(*anchors.get(difficulty));
    }
    let anchor_count = anchors.easy + anchors.medium + anchors.hard;
    let mut surplus =
        (targets.easy + targets.medium + targets.hard + anchor_count).saturating_sub(n);
    let mut order = Difficulty::ALL;
    order.sort_by_key(|d| std::cmp::Reverse(*targets.get(*d)));
    for difficulty in order {
        let target = targets.get_mut(difficulty);
        let cut = surplus.min(*target);
        *target -= cut;
        surplus -= cut;
    }
    targets
}

/// Splits `total` slots across domains by largest remainder: `floor(total × w)` each, then one
/// more slot per domain by descending fractional part (ties by domain name, ascending) until
/// `total` is reached. The result follows the order of `weights`.
///
/// ```
/// use aiq_core::questions::Domain;
/// use aiq_core::selection::{DOMAIN_WEIGHTS, allocate};
/// let easy = allocate(5, &DOMAIN_WEIGHTS);
/// assert_eq!(easy.iter().find(|(d, _)| *d == Domain::Memory), Some(&(Domain::Memory, 0)));
/// assert_eq!(easy.iter().map(|(_, n)| n).sum::<usize>(), 5);
/// ```
pub fn allocate(total: usize, weights: &[(Domain, f64)]) -> Vec<(Domain, usize)> {
    let mut counts: Vec<(Domain, usize)> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(usize, f64)> = Vec::with_capacity(weights.len());
    for (i, &(domain, weight)) in weights.iter().enumerate() {
        let exact = total as f64 * weight;
        let floor = exact.floor();
        counts.push((domain, floor as usize));
        remainders.push((i, exact - floor));
    }
    remainders.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| weights[a.0].0.as_str().cmp(weights[b.0].0.as_str()))
    });
    let allocated: usize = counts.iter().map(|(_, n)| n).sum();
    let left = total.saturating_sub(allocated);
    // The weights sum to 1, so at most one extra slot per domain; cycling only matters for
    // weights summing to less.
    for &(i, _) in remainders.iter().cycle().take(left) {
        counts[i].1 += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_always_sums_to_the_total() {
        for total in 0..=100 {
            let sum: usize = allocate(total, &DOMAIN_WEIGHTS)
                .iter()
                .map(|(_, n)| n)
                .sum();
            assert_eq!(sum, total);
        }
    }

    #[test]
    fn targets_sum_to_n_and_surplus_comes_off_the_largest() {
        for n in 1..=100 {
            let t = difficulty_targets(n);
            assert_eq!(t.easy + t.medium + t.hard, n, "n = {n}");
        }
        // n = 3: targets 0 / 3 / 0. Two easy anchors and one hard: easy and hard stay 0, the
        // surplus of 3 comes off medium.
        let anchors = PerDifficulty {
            easy: 2,
            medium: 0,
            hard: 1,
        };
        assert_eq!(
            adjusted_targets(3, anchors),
            PerDifficulty {
                easy: 0,
                medium: 0,
                hard: 0
            }
        );
    }
}
