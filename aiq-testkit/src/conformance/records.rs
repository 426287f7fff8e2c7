//! Guest claims, item statistics, guest devices, system configuration,
//! and what deleting a user removes.

use std::sync::Arc;

use aiq_core::storage::{
    ClaimOutcome, GUEST_USER_ID, QualityFlag, QuestionId, Storage, TestResult, TestSession,
};
use serde_json::json;

use super::cases;
use super::common::{at, bank, new_session, take_test, user};

cases!(
    guest_sessions_are_claimed_once,
    statistics_are_refreshed_from_completed_sessions,
    statistics_read_the_latest_responses_and_count_all,
    negative_discrimination_flags_an_item_at_fifty_responses,
    guest_devices_are_counted,
    system_config_round_trips,
    deleting_a_user_removes_their_tests,
);

async fn guest_sessions_are_claimed_once(store: Arc<dyn Storage>) {
    let ids = bank(&store, 5).await;
    let ada = user(&store, "claim@example.com").await;
    let bob = user(&store, "claim2@example.com").await;
    // Ada saw ids[0] in a test of her own.
    let (own, _) = take_test(&store, ada, &[(ids[0], false)], 0, 0).await;
    let answers = [(ids[1], true), (ids[0], true), (ids[2], false)];
    let (guest, guest_result) = take_test(&store, GUEST_USER_ID, &answers, 2, 100).await;

    let ClaimOutcome::Claimed(session, result) =
        store.claim_guest_session(guest.id, ada).await.unwrap()
    else {
        panic!("the guest session should be claimable");
    };
    assert_eq!(
        session,
        TestSession {
            user_id: ada,
            ..guest.clone()
        }
    );
    assert_eq!(
        result,
        TestResult {
            user_id: ada,
            ..guest_result.clone()
        }
    );
    assert_eq!(store.session(guest.id).await.unwrap(), Some(session));
    let history = store.result_history(ada, 10, 0).await.unwrap();
    assert_eq!(history.total_count, 2);
    assert_eq!(history.results[0], result);
    // The answered questions are seen now, ids[0] still as of Ada's own test.
    assert_eq!(
        store.seen_since(ada, at(0)).await.unwrap(),
        vec![ids[0], ids[1], ids[2]]
    );
    assert_eq!(
        store.seen_since(ada, at(1)).await.unwrap(),
        vec![ids[1], ids[2]]
    );
    let mut candidates: Vec<QuestionId> = store
        .selection_candidates(Some(ada))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    candidates.sort_unstable();
    assert_eq!(candidates, ids[3..5]);
    assert_eq!(store.response_count(guest.id).await.unwrap(), 3);

    assert_eq!(
        store.claim_guest_session(guest.id, ada).await.unwrap(),
        ClaimOutcome::AlreadyClaimed
    );
    assert_eq!(
        store.claim_guest_session(guest.id, bob).await.unwrap(),
        ClaimOutcome::AlreadyClaimed
    );
    assert_eq!(
        store.claim_guest_session(own.id, bob).await.unwrap(),
        ClaimOutcome::AlreadyClaimed
    );
    assert!(store.seen_since(bob, at(0)).await.unwrap().is_empty());

    let in_progress = store
        .start_session(new_session(GUEST_USER_ID, &ids, 200))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_guest_session(in_progress.id, bob)
            .await
            .unwrap(),
        ClaimOutcome::NotClaimable
    );
    store
        .abandon_session(in_progress.id, at(300))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_guest_session(in_progress.id, bob)
            .await
            .unwrap(),
        ClaimOutcome::NotClaimable
    );
    assert_eq!(
        store.claim_guest_session(9999, bob).await.unwrap(),
        ClaimOutcome::NotClaimable
    );
    assert_eq!(
        store
            .session(in_progress.id)
            .await
            .unwrap()
            .unwrap()
            .user_id,
        GUEST_USER_ID
    );
}

async fn statistics_are_refreshed_from_completed_sessions(store: Arc<dyn Storage>) {
    let ids = bank(&store, 5).await;
    let (a, b, single, none, gone) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    // Session totals 2, 1, 1, 0. `a` is right in the first two, `b` in the last two.
    let sessions = [
        (vec![(a, true), (b, false), (single, true)], 2),
        (vec![(a, true), (b, false)], 1),
        (vec![(a, false), (b, true)], 1),
        (vec![(a, false), (b, true)], 0),
    ];
    for (i, (answers, total)) in sessions.iter().enumerate() {
        take_test(&store, GUEST_USER_ID, answers, *total, i as i64 * 100).await;
    }
    // An unfinished session's questions do not count.
    store
        .start_session(new_session(GUEST_USER_ID, &[a, b], 900))
        .await
        .unwrap();
    let refreshed = store
        .refresh_question_statistics(&[b, a, single, none, a, gone + 100], at(1000), 2_000)
        .await
        .unwrap();
    let order: Vec<QuestionId> = refreshed.iter().map(|r| r.id).collect();
    assert_eq!(
        order,
        vec![b, a, single, none],
        "as asked, once each, known ids only"
    );
    let stats = |id| *refreshed.iter().find(|r| r.id == id).unwrap();
    // a: x = 1,1,0,0 against y = 2,1,1,0: p = 0.5, r = 1 / sqrt(2).
    let r = std::f64::consts::FRAC_1_SQRT_2;
    assert_eq!(stats(a).statistics.response_count, 4);
    assert!((stats(a).statistics.empirical_difficulty - 0.5).abs() < 1e-12);
    assert!(
        (stats(a).statistics.discrimination - r).abs() < 1e-9,
        "{:?}",
        stats(a)
    );
    // b: x = 0,0,1,1: the mirror image.
    assert!(
        (stats(b).statistics.discrimination + r).abs() < 1e-9,
        "{:?}",
        stats(b)
    );
    assert!(!stats(b).flagged, "negative, but below fifty responses");
    // One response: no discrimination to speak of.
    assert_eq!(stats(single).statistics.response_count, 1);
    assert!((stats(single).statistics.empirical_difficulty - 1.0).abs() < 1e-12);
    assert_eq!(stats(single).statistics.discrimination, 0.0);
    assert_eq!(
        (
            stats(none).statistics.response_count,
            stats(none).statistics.empirical_difficulty,
            stats(none).statistics.discrimination
        ),
        (0, 0.0, 0.0)
    );

    let stored = store.questions_by_ids(&[a, b]).await.unwrap();
    for q in stored {
        let s = stats(q.id).statistics;
        assert_eq!(q.empirical_difficulty, Some(s.empirical_difficulty));
        assert_eq!(q.discrimination, Some(s.discrimination));
        assert_eq!(q.response_count as usize, s.response_count);
        assert_eq!(q.quality_flag, QualityFlag::Normal);
    }
    assert!(
        store
            .refresh_question_statistics(&[], at(1), 2_000)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn negative_discrimination_flags_an_item_at_fifty_responses(store: Arc<dyn Storage>) {
    let ids = bank(&store, 3).await;
    let (item, x, y) = (ids[0], ids[1], ids[2]);
    // Whoever gets `item` right gets the others wrong.
    let take = |i: i64| {
        let store = Arc::clone(&store);
        async move {
            let right = i % 2 == 0;
            let answers = [(item, right), (x, !right), (y, !right)];
            take_test(
                &store,
                GUEST_USER_ID,
                &answers,
                if right { 1 } else { 2 },
                i * 10,
            )
            .await;
        }
    };
    for i in 0..49 {
        take(i).await;
    }
    let stats = store
        .refresh_question_statistics(&[item], at(1000), 2_000)
        .await
        .unwrap()[0];
    assert_eq!(stats.statistics.response_count, 49);
    assert!(
        stats.statistics.discrimination < -0.99 && !stats.flagged,
        "{stats:?}"
    );
    assert_eq!(
        store.questions_by_ids(&[item]).await.unwrap()[0].quality_flag,
        QualityFlag::Normal
    );

    take(49).await;
    let refreshed = store
        .refresh_question_statistics(&[item, x], at(2000), 2_000)
        .await
        .unwrap();
    let stats = refreshed[0];
    assert_eq!(stats.statistics.response_count, 50);
    assert!(stats.flagged, "{stats:?}");
    assert!(!refreshed[1].flagged, "positive discrimination");
    let flagged = &store.questions_by_ids(&[item]).await.unwrap()[0];
    assert_eq!(flagged.quality_flag, QualityFlag::UnderReview);
    assert_eq!(
        flagged.quality_flag_reason.as_deref(),
        Some("Negative discrimination: -1.000")
    );
    assert!(
        !store
            .selection_candidates(None)
            .await
            .unwrap()
            .iter()
            .any(|c| c.id == item)
    );
    // Flags only from normal: a second refresh reports no new flag.
    let again = store
        .refresh_question_statistics(&[item], at(3000), 2_000)
        .await
        .unwrap()[0];
    assert!(!again.flagged);
    assert_eq!(
        store.questions_by_ids(&[item]).await.unwrap()[0].quality_flag,
        QualityFlag::UnderReview
    );
}

async fn statistics_read_the_latest_responses_and_count_all(store: Arc<dyn Storage>) {
    let ids = bank(&store, 2).await;
    let (a, b) = (ids[0], ids[1]);
    // `a` is wrong in the two oldest sessions and right in the two latest.
    let sessions = [
        ([(a, false), (b, true)], 1),
        ([(a, false), (b, false)], 0),
        ([(a, true), (b, false)], 1),
        ([(a, true), (b, true)], 2),
    ];
    for (i, (answers, total)) in sessions.iter().enumerate() {
        take_test(&store, GUEST_USER_ID, answers, *total, i as i64 * 100).await;
    }
    let latest = store
        .refresh_question_statistics(&[a], at(1000), 2)
        .await
        .unwrap()[0]
        .statistics;
    assert_eq!(latest.response_count, 4, "the count covers every response");
    assert!(
        (latest.empirical_difficulty - 1.0).abs() < 1e-12,
        "{latest:?}"
    );
    let all = store
        .refresh_question_statistics(&[a], at(1001), 10)
        .await
        .unwrap()[0]
        .statistics;
    assert!((all.empirical_difficulty - 0.5).abs() < 1e-12, "{all:?}");
    assert!(all.discrimination > 0.5, "{all:?}");
}

async fn guest_devices_are_counted(store: Arc<dyn Storage>) {
    assert_eq!(store.guest_tests_taken("device-a").await.unwrap(), 0);
    assert_eq!(store.record_guest_test("device-a", at(0)).await.unwrap(), 1);
    assert_eq!(store.record_guest_test("device-a", at(5)).await.unwrap(), 2);
    assert_eq!(store.record_guest_test("device-b", at(5)).await.unwrap(), 1);
    assert_eq!(store.guest_tests_taken("device-a").await.unwrap(), 2);
    assert_eq!(store.guest_tests_taken("device-b").await.unwrap(), 1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.record_guest_test("device-c", at(9)).await.unwrap() });
    }
    let mut counts = Vec::new();
    while let Some(count) = tasks.join_next().await {
        counts.push(count.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<_>>());
}

async fn system_config_round_trips(store: Arc<dyn Storage>) {
    use aiq_core::storage::{DOMAIN_WEIGHTS, USE_WEIGHTED_SCORING};
    assert_eq!(
        store.system_config(USE_WEIGHTED_SCORING).await.unwrap(),
        None
    );
    store
        .set_system_config(USE_WEIGHTED_SCORING, json!({"enabled": true}), at(0))
        .await
        .unwrap();
    let weights = json!({"math": 1.5, "verbal": 0.75, "nested": [null, "x"]});
    store
        .set_system_config(DOMAIN_WEIGHTS, weights.clone(), at(0))
        .await
        .unwrap();
    store
        .set_system_config(USE_WEIGHTED_SCORING, json!({"enabled": false}), at(1))
        .await
        .unwrap();
    assert_eq!(
        store.system_config(USE_WEIGHTED_SCORING).await.unwrap(),
        Some(json!({"enabled": false}))
    );
    assert_eq!(
        store.system_config(DOMAIN_WEIGHTS).await.unwrap(),
        Some(weights)
    );
}

async fn deleting_a_user_removes_their_tests(store: Arc<dyn Storage>) {
    let ids = bank(&store, 4).await;
    let ada = user(&store, "delete@example.com").await;
    let bob = user(&store, "keep@example.com").await;
    let (session, result) = take_test(&store, ada, &[(ids[0], true), (ids[1], false)], 1, 0).await;
    let (kept, kept_result) = take_test(&store, bob, &[(ids[0], true)], 1, 0).await;
    let active = store
        .start_session(new_session(ada, &ids[2..4], 100))
        .await
        .unwrap();
    assert!(store.delete_user(ada).await.unwrap());
    assert!(store.session(session.id).await.unwrap().is_none());
    assert!(store.session(active.id).await.unwrap().is_none());
    assert!(store.result(result.id).await.unwrap().is_none());
    assert!(
        store
            .result_for_session(session.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session_responses(session.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .session_question_ids(active.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.seen_since(ada, at(-1)).await.unwrap().is_empty());
    assert_eq!(
        store.result_history(ada, 10, 0).await.unwrap().total_count,
        0
    );
    assert_eq!(store.active_session_count().await.unwrap(), 0);
    assert_eq!(
        store.item_appearances(10).await.unwrap(),
        aiq_core::storage::ItemAppearances {
            sessions: 1,
            items: vec![(ids[0], 1)],
        }
    );
    // Bob's test is untouched.
    assert_eq!(store.session(kept.id).await.unwrap(), Some(kept));
    assert_eq!(
        store.result(kept_result.id).await.unwrap(),
        Some(kept_result)
    );
}
