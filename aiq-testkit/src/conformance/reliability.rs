//! The reliability aggregates (alpha and split-half are computed from them, never from the
//! responses themselves), and the claim that lets one of several instances refresh a shared
//! value.

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::reliability::{cronbach_alpha, split_half};
use aiq_core::scoring::{cronbach_alpha_with_minimum, split_half as matrix_split_half};
use aiq_core::storage::{
    GUEST_USER_ID, ItemAppearances, QuestionId, ScoreSums, SplitHalfSums, Storage,
};

use super::cases;
use super::common::{at, bank, new_session, take_test};

cases!(
    aggregates_count_completed_sessions_only,
    aggregates_read_only_the_latest_sessions,
    alpha_and_split_half_equal_the_matrix_computation,
    one_of_several_claimants_refreshes_a_stale_value,
);

async fn aggregates_count_completed_sessions_only(store: Arc<dyn Storage>) {
    let ids = bank(&store, 3).await;
    let first = [(ids[1], true), (ids[0], false)];
    take_test(&store, GUEST_USER_ID, &first, 1, 0).await;
    take_test(&store, GUEST_USER_ID, &[], 0, 100).await;
    store
        .start_session(new_session(GUEST_USER_ID, &ids, 200))
        .await
        .unwrap();

    let mut appearances = store.item_appearances(10).await.unwrap();
    appearances.items.sort_unstable();
    assert_eq!(
        appearances,
        ItemAppearances {
            sessions: 2,
            items: vec![(ids[0], 1), (ids[1], 1)],
        }
    );
    assert_eq!(
        store.score_sums(&ids[..2], 1, 10).await.unwrap(),
        ScoreSums {
            sessions: 1,
            score_sum: 1,
            score_squares: 1,
            correct: vec![(ids[1], 1)],
        }
    );
    assert_eq!(
        store.score_sums(&ids[..2], 3, 10).await.unwrap(),
        ScoreSums::default()
    );
    assert_eq!(
        store.score_sums(&ids[2..], 1, 10).await.unwrap(),
        ScoreSums::default(),
        "no completed session answered the third item"
    );
    // In the order answered: ids[1] (right) is first, ids[0] (wrong) second.
    assert_eq!(
        store.split_half_sums(10).await.unwrap(),
        SplitHalfSums {
            sessions: 1,
            odd: 1,
            even: 0,
            odd_squares: 1,
            even_squares: 0,
            products: 0,
        }
    );
}

async fn aggregates_read_only_the_latest_sessions(store: Arc<dyn Storage>) {
    let ids = bank(&store, 2).await;
    // Oldest first: wrong, wrong, then right, right (each answering both items).
    for (k, correct) in [false, false, true, true].into_iter().enumerate() {
        let answers = [(ids[0], correct), (ids[1], correct)];
        let total = if correct { 2 } else { 0 };
        take_test(&store, GUEST_USER_ID, &answers, total, k as i64 * 100).await;
    }
    let latest = store.item_appearances(2).await.unwrap();
    assert_eq!(latest.sessions, 2);
    assert!(latest.items.iter().all(|(_, n)| *n == 2), "{latest:?}");
    let sums = store.score_sums(&ids, 1, 2).await.unwrap();
    assert_eq!(
        (sums.sessions, sums.score_sum, sums.score_squares),
        (2, 4, 8)
    );
    let all = store.score_sums(&ids, 1, 10).await.unwrap();
    assert_eq!((all.sessions, all.score_sum), (4, 4));
    let split = store.split_half_sums(3).await.unwrap();
    assert_eq!((split.sessions, split.odd, split.even), (3, 2, 2));
}

/// Whether session `s` answers item `i` correctly: able sessions get more right, hard items
/// fewer, with a pseudo-random part so the matrix has no degenerate structure.
fn answers_correctly(s: usize, i: usize) -> bool {
    let noise = (s * 7919 + i * 104_729) % 13;
    (s % 9) + noise > i * 2 + 6
}

async fn alpha_and_split_half_equal_the_matrix_computation(store: Arc<dyn Storage>) {
    let ids = bank(&store, 6).await;
    let mut matrix: Vec<Vec<(QuestionId, bool)>> = Vec::new();
    for s in 0..130 {
        // Rotated order, and every fifth session skips an item (the 80 % rule keeps those).
        let mut answers: Vec<(QuestionId, bool)> = (0..ids.len())
            .map(|k| (s + k) % ids.len())
            .map(|i| (ids[i], answers_correctly(s, i)))
            .collect();
        if s % 5 == 0 {
            answers.pop();
        }
        let correct = answers.iter().filter(|(_, c)| *c).count();
        take_test(
            &store,
            GUEST_USER_ID,
            &answers,
            correct as i32,
            s as i64 * 100,
        )
        .await;
        matrix.push(answers);
    }
    let sessions: Vec<HashMap<QuestionId, bool>> =
        matrix.iter().map(|a| a.iter().copied().collect()).collect();
    for min_sessions in [100, 120, 131] {
        assert_eq!(
            cronbach_alpha(store.as_ref(), min_sessions).await.unwrap(),
            cronbach_alpha_with_minimum(&sessions, min_sessions as usize),
            "min_sessions {min_sessions}"
        );
    }
    let report = cronbach_alpha(store.as_ref(), 100).await.unwrap().unwrap();
    assert!(report.alpha > 0.3, "{report:?}");
    let rows: Vec<Vec<bool>> = matrix
        .iter()
        .map(|a| a.iter().map(|(_, c)| *c).collect())
        .collect();
    let split = split_half(store.as_ref()).await.unwrap();
    assert!(split.is_some());
    assert_eq!(split, matrix_split_half(&rows));
}

async fn one_of_several_claimants_refreshes_a_stale_value(store: Arc<dyn Storage>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            store
                .claim_system_config("shared_value", at(-5), at(0))
                .await
                .unwrap()
        });
    }
    let mut claimed = 0;
    while let Some(won) = tasks.join_next().await {
        claimed += usize::from(won.unwrap());
    }
    assert_eq!(claimed, 1, "one claimant wins a missing key");
    // Written at 10: fresh for a claim whose horizon is before it, stale after.
    store
        .set_system_config("shared_value", serde_json::json!({"n": 1}), at(10))
        .await
        .unwrap();
    assert!(
        !store
            .claim_system_config("shared_value", at(5), at(12))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_system_config("shared_value", at(11), at(16))
            .await
            .unwrap()
    );
    assert_eq!(
        store.system_config("shared_value").await.unwrap(),
        Some(serde_json::json!({"n": 1})),
        "a claim keeps the value"
    );
    assert!(
        !store
            .claim_system_config("shared_value", at(15), at(17))
            .await
            .unwrap(),
        "the claim itself counts as a write"
    );
}
