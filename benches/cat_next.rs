//! One adaptive step (`CatSession::step`: EAP re-estimate, stopping rules, content-constrained
//! maximum-information selection) over a 1,000-item pool, as `/v1/test/next` takes it; and the
//! same step with the JSON load and store of the session state around it.
//!
//! ```text
//! cargo bench -p aiq-benches --bench cat_next
//! ```

use std::collections::HashSet;

use aiq_core::cat::{CatSession, ItemParams, PoolItem, Response, StepOutcome};
use aiq_core::questions::{Difficulty, Domain};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// 1,000 items over the six domains, `a` in [0.6, 2.0], `b` in [−2.5, 2.5].
fn pool() -> Vec<PoolItem> {
    (0..1000_i64)
        .map(|i| PoolItem {
            id: i + 1,
            domain: Domain::ALL[(i % 6) as usize],
            difficulty: Difficulty::ALL[(i % 3) as usize],
            params: ItemParams {
                a: 0.6 + 1.4 * ((i * 37) % 100) as f64 / 100.0,
                b: -2.5 + 5.0 * ((i * 61) % 1000) as f64 / 1000.0,
            },
        })
        .collect()
}

/// A session five answers in (below the minimum length, so the step always selects), and the
/// item it waits for.
fn mid_session(pool: &[PoolItem], rng: &mut StdRng) -> (CatSession, PoolItem) {
    let seen = HashSet::new();
    let (mut session, mut item) = CatSession::start(0.0, pool, &seen, rng).unwrap();
    for n in 0..5 {
        let response = Response {
            item_id: item.id,
            correct: n % 2 == 0,
        };
        match session.step(response, pool, &seen, rng).unwrap() {
            StepOutcome::NextItem(next) => item = next,
            StepOutcome::Finished(_) => unreachable!("five items never finish a session"),
        }
    }
    (session, item)
}

fn bench(c: &mut Criterion) {
    let pool = pool();
    let seen = HashSet::new();
    let mut rng = StdRng::seed_from_u64(11);
    let (session, item) = mid_session(&pool, &mut rng);
    let response = Response {
        item_id: item.id,
        correct: true,
    };
    c.bench_function("cat_step_1000_items", |b| {
        b.iter_batched(
            || session.clone(),
            |mut session| session.step(response, &pool, &seen, &mut rng).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let stored = serde_json::to_value(&session).unwrap();
    c.bench_function("cat_step_1000_items_with_state_json", |b| {
        b.iter_batched(
            || stored.clone(),
            |stored| {
                let mut session: CatSession = serde_json::from_value(stored).unwrap();
                let outcome = session.step(response, &pool, &seen, &mut rng).unwrap();
                (serde_json::to_value(&session).unwrap(), outcome)
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
