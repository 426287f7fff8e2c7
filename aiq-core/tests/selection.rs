//! Fixed-form composition (spec §3.2 with the random draws of DECISIONS.md "Selection").

use std::collections::{HashMap, HashSet};

use aiq_core::questions::{Difficulty, Domain};
use aiq_core::selection::{
    Candidate, DOMAIN_WEIGHTS, PerDifficulty, PerDomain, adjusted_targets, allocate, compose,
    difficulty_targets,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The allocation of `total` in the table's column order.
fn row(total: usize) -> [usize; 6] {
    let counts: HashMap<Domain, usize> = allocate(total, &DOMAIN_WEIGHTS).into_iter().collect();
    Domain::ALL.map(|d| counts[&d])
}

/// `per_cell` items in every (difficulty, domain) cell, ids from `first_id`.
fn pool(per_cell: usize, first_id: i64, anchors: bool) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut id = first_id;
    for (d, difficulty) in Difficulty::ALL.into_iter().enumerate() {
        for (m, domain) in Domain::ALL.into_iter().enumerate() {
            for k in 0..per_cell {
                out.push(Candidate {
                    id,
                    domain,
                    difficulty,
                    discrimination: Some(0.2),
                    // One anchor per domain, two per difficulty.
                    is_anchor: anchors && k == 0 && m % 3 == d,
                });
                id += 1;
            }
        }
    }
    out
}

fn assert_unique(ids: &[i64]) {
    let set: HashSet<_> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "duplicates in {ids:?}");
}

#[test]
fn worked_allocation_table_for_25_items() {
    let targets = difficulty_targets(25);
    assert_eq!(
        targets,
        PerDifficulty {
            easy: 5,
            medium: 13,
            hard: 7
        }
    );
    // Columns: pattern, logic, spatial, math, verbal, memory.
    assert_eq!(row(targets.easy), [1, 1, 1, 1, 1, 0]);
    assert_eq!(row(targets.medium), [3, 3, 2, 2, 2, 1]);
    assert_eq!(row(targets.hard), [2, 1, 1, 1, 1, 1]);
    assert_eq!(adjusted_targets(25, PerDifficulty::default()), targets);
}

#[test]
fn composes_the_table_without_anchors() {
    let candidates = pool(10, 1, false);
    let test = compose(&candidates, 25, false, &mut StdRng::seed_from_u64(1));
    assert_eq!(test.question_ids.len(), 25);
    assert_unique(&test.question_ids);
    let m = &test.metadata;
    assert_eq!(
        m.difficulty,
        PerDifficulty {
            easy: 5,
            medium: 13,
            hard: 7
        }
    );
    let totals = PerDomain {
        pattern: 6,
        logic: 5,
        spatial: 4,
        math: 4,
        verbal: 4,
        memory: 2,
    };
    assert_eq!(m.domain, totals);
    assert_eq!((m.total, m.anchor_count), (25, 0));
    let by_id: HashMap<i64, &Candidate> = candidates.iter().map(|c| (c.id, c)).collect();
    let hard_pattern = test
        .question_ids
        .iter()
        .filter(|id| {
            let c = by_id[id];
            c.difficulty == Difficulty::Hard && c.domain == Domain::Pattern
        })
        .count();
    assert_eq!(hard_pattern, 2);
}

#[test]
fn six_anchors_count_towards_the_25() {
    let candidates = pool(10, 1, true);
    for seed in 0..20 {
        let test = compose(&candidates, 25, true, &mut StdRng::seed_from_u64(seed));
        assert_eq!(test.question_ids.len(), 25);
        assert_unique(&test.question_ids);
        let m = &test.metadata;
        assert_eq!(m.anchor_count, 6);
        assert_eq!(
            m.anchors_per_domain,
            PerDomain {
                pattern: 1,
                logic: 1,
                spatial: 1,
                math: 1,
                verbal: 1,
                memory: 1
            }
        );
        assert_eq!(
            m.difficulty,
            PerDifficulty {
                easy: 5,
                medium: 13,
                hard: 7
            },
            "seed {seed}"
        );
        let anchors = test
            .question_ids
            .iter()
            .filter(|id| candidates.iter().any(|c| c.id == **id && c.is_anchor))
            .count();
        assert_eq!(anchors, 6);
        // No anchors for guests.
        let guest = compose(&candidates, 25, false, &mut StdRng::seed_from_u64(seed));
        assert_eq!(guest.metadata.anchor_count, 0);
    }
}

#[test]
fn metadata_serialises_in_the_stored_shape() {
    let test = compose(&pool(10, 1, true), 25, true, &mut StdRng::seed_from_u64(3));
    let text = serde_json::to_string(&test.metadata).unwrap();
    assert!(
        text.starts_with(r#"{"difficulty":{"easy":5,"medium":13,"hard":7},"domain":{"pattern":"#),
        "{text}"
    );
    assert!(text.contains(r#""total":25,"anchor_count":6,"anchors_per_domain":{"pattern":1,"logic":1,"spatial":1,"math":1,"verbal":1,"memory":1}}"#), "{text}");
}

#[test]
fn short_pool_falls_back_and_returns_what_there_is() {
    // Only medium math and easy verbal items: the cells are mostly empty, the difficulty and
    // final fallbacks fill what they can.
    let mut candidates: Vec<Candidate> = (0..8)
        .map(|i| Candidate {
            id: i,
            domain: Domain::Math,
            difficulty: Difficulty::Medium,
            discrimination: None,
            is_anchor: false,
        })
        .collect();
    candidates.extend((8..12).map(|i| Candidate {
        id: i,
        domain: Domain::Verbal,
        difficulty: Difficulty::Easy,
        discrimination: Some(0.1),
        is_anchor: false,
    }));
    // A negative discrimination is never eligible.
    candidates.push(Candidate {
        id: 99,
        domain: Domain::Logic,
        difficulty: Difficulty::Hard,
        discrimination: Some(-0.2),
        is_anchor: false,
    });
    let test = compose(&candidates, 25, true, &mut StdRng::seed_from_u64(5));
    assert_eq!(test.question_ids.len(), 12);
    assert_unique(&test.question_ids);
    assert!(!test.question_ids.contains(&99));
    assert_eq!(test.metadata.total, 12);
    assert_eq!(
        test.metadata.difficulty,
        PerDifficulty {
            easy: 4,
            medium: 8,
            hard: 0
        }
    );

    // The final fallback crosses difficulties: 6 easy wanted at n = 10 (targets 2/5/3) but
    // only easy items exist.
    let easy_only: Vec<Candidate> = (0..30)
        .map(|i| Candidate {
            id: i,
            domain: Domain::ALL[i as usize % 6],
            difficulty: Difficulty::Easy,
            discrimination: None,
            is_anchor: false,
        })
        .collect();
    let test = compose(&easy_only, 10, false, &mut StdRng::seed_from_u64(5));
    assert_eq!(test.question_ids.len(), 10);
    assert_unique(&test.question_ids);
}

#[test]
fn a_candidate_is_never_chosen_twice() {
    // The same id listed twice (say, two rows joined) still yields it once.
    let mut candidates = pool(2, 1, true);
    let copy = candidates.clone();
    candidates.extend(copy);
    for seed in 0..50 {
        let test = compose(&candidates, 30, true, &mut StdRng::seed_from_u64(seed));
        assert_unique(&test.question_ids);
        assert_eq!(test.question_ids.len(), 30);
    }
    let all = compose(&candidates, 100, true, &mut StdRng::seed_from_u64(1));
    assert_eq!(all.question_ids.len(), 36);
    assert_unique(&all.question_ids);
}

#[test]
fn draws_are_random() {
    let candidates = pool(20, 1, true);
    let a = compose(&candidates, 25, true, &mut StdRng::seed_from_u64(1));
    let b = compose(&candidates, 25, true, &mut StdRng::seed_from_u64(2));
    let set_a: HashSet<_> = a.question_ids.iter().collect();
    let set_b: HashSet<_> = b.question_ids.iter().collect();
    assert_ne!(set_a, set_b, "two seeds chose the same questions");
    // The same seed reproduces the same test.
    let again = compose(&candidates, 25, true, &mut StdRng::seed_from_u64(1));
    assert_eq!(again, a);
}

#[test]
fn better_discrimination_is_preferred() {
    // One medium math cell gets 2 items (N = 25); six items compete for it, one of them strong.
    let mut candidates = pool(10, 1000, false);
    candidates.retain(|c| !(c.difficulty == Difficulty::Medium && c.domain == Domain::Math));
    let contenders = [
        (1, Some(0.6)),
        (2, Some(0.0)),
        (3, None),
        (4, Some(0.0)),
        (5, None),
        (6, Some(0.05)),
    ];
    for (id, d) in contenders {
        candidates.push(Candidate {
            id,
            domain: Domain::Math,
            difficulty: Difficulty::Medium,
            discrimination: d,
            is_anchor: false,
        });
    }
    let mut strong = 0;
    let mut weak = 0;
    for seed in 0..400 {
        let test = compose(&candidates, 25, false, &mut StdRng::seed_from_u64(seed));
        strong += usize::from(test.question_ids.contains(&1));
        weak += usize::from(test.question_ids.contains(&2));
    }
    // Weight 3.4 against 1: the strong item is in most tests, the weak one in far fewer, but
    // the weak one is still chosen sometimes.
    assert!(strong > 2 * weak, "strong {strong}, weak {weak}");
    assert!(weak > 0);
}
