//! Test sessions: starting, serving, completing, abandoning, history.

use std::sync::Arc;

use aiq_core::storage::{
    Conflict, GUEST_USER_ID, QuestionId, SessionStatus, Storage, StorageError,
};
use serde_json::json;

use super::cases;
use super::common::{
    assert_conflict, at, bank, completion, new_session, question, take_test, user,
};

cases!(
    one_session_in_progress_per_user_but_guests_are_exempt,
    a_seen_question_conflict_writes_nothing,
    served_order_is_kept,
    start_context_reports_the_cadence_dates,
    completing_writes_responses_and_result_once,
    a_question_answered_twice_writes_nothing,
    concurrent_completions_of_one_session_succeed_once,
    concurrent_starts_for_one_user_succeed_once,
    abandoning_is_a_compare_and_set,
    stale_guest_sessions_are_abandoned,
    history_is_newest_first_and_paged,
);

async fn one_session_in_progress_per_user_but_guests_are_exempt(store: Arc<dyn Storage>) {
    let ids = bank(&store, 6).await;
    let ada = user(&store, "active@example.com").await;
    let first = store
        .start_session(new_session(ada, &ids[0..2], 0))
        .await
        .unwrap();
    assert_eq!(first.user_id, ada);
    assert_eq!(first.status, SessionStatus::InProgress);
    assert_eq!(first.started_at, at(0));
    assert_eq!(first.completed_at, None);
    assert_eq!(
        first.composition_metadata,
        Some(json!({"easy": 1, "domains": {"math": 2}}))
    );
    assert!(!first.time_limit_exceeded && !first.is_adaptive);
    assert_eq!(store.session(first.id).await.unwrap(), Some(first.clone()));

    assert_conflict(
        store.start_session(new_session(ada, &ids[2..4], 5)).await,
        Conflict::ActiveSession,
    );
    // Nothing of the refused session was written.
    assert_eq!(store.seen_since(ada, at(-10)).await.unwrap(), ids[0..2]);
    assert_eq!(store.active_session_count().await.unwrap(), 1);

    let one = store
        .start_session(new_session(GUEST_USER_ID, &ids[0..3], 0))
        .await
        .unwrap();
    let two = store
        .start_session(new_session(GUEST_USER_ID, &ids[0..3], 1))
        .await
        .unwrap();
    assert_ne!(one.id, two.id);
    assert_eq!(store.active_session_count().await.unwrap(), 3);
    assert!(
        store.session_question_ids(one.id).await.unwrap().is_empty(),
        "guest sessions record nothing as seen"
    );
    assert!(store.session(two.id + 100).await.unwrap().is_none());
}

async fn a_seen_question_conflict_writes_nothing(store: Arc<dyn Storage>) {
    let ids = bank(&store, 5).await;
    let ada = user(&store, "seen@example.com").await;
    let first = store
        .start_session(new_session(ada, &ids[0..2], 0))
        .await
        .unwrap();
    store
        .abandon_session(first.id, at(10))
        .await
        .unwrap()
        .unwrap();
    assert_conflict(
        store
            .start_session(new_session(ada, &[ids[2], ids[1]], 20))
            .await,
        Conflict::QuestionSeen,
    );
    assert_conflict(
        store
            .start_session(new_session(ada, &[ids[3], ids[3]], 20))
            .await,
        Conflict::QuestionSeen,
    );
    assert_eq!(store.seen_since(ada, at(-10)).await.unwrap(), ids[0..2]);
    assert_eq!(store.active_session_count().await.unwrap(), 0);
    assert!(store.start_context(ada, 0).await.unwrap().active.is_none());
    // The user can still start with unseen questions.
    store
        .start_session(new_session(ada, &ids[2..5], 30))
        .await
        .unwrap();
}

async fn served_order_is_kept(store: Arc<dyn Storage>) {
    let ids = bank(&store, 6).await;
    let ada = user(&store, "order@example.com").await;
    let served = vec![ids[4], ids[1], ids[5], ids[0]];
    let session = store
        .start_session(new_session(ada, &served, 100))
        .await
        .unwrap();
    assert_eq!(
        store.session_question_ids(session.id).await.unwrap(),
        served
    );
    let mut sorted = served.clone();
    sorted.sort_unstable();
    assert_eq!(store.seen_since(ada, at(100)).await.unwrap(), sorted);
    assert!(store.seen_since(ada, at(101)).await.unwrap().is_empty());
}

async fn start_context_reports_the_cadence_dates(store: Arc<dyn Storage>) {
    let ids = bank(&store, 6).await;
    let ada = user(&store, "context@example.com").await;
    assert_eq!(
        store.start_context(ada, 1).await.unwrap(),
        Default::default()
    );
    take_test(&store, ada, &[(ids[0], true)], 1, 0).await;
    take_test(&store, ada, &[(ids[1], true)], 1, 1000).await;
    let abandoned = store
        .start_session(new_session(ada, &ids[2..3], 2000))
        .await
        .unwrap();
    store
        .abandon_session(abandoned.id, at(2500))
        .await
        .unwrap()
        .unwrap();
    let context = store.start_context(ada, 1).await.unwrap();
    assert_eq!(context.active, None);
    assert_eq!(context.last_completed_at, Some(at(1060)));
    assert_eq!(
        context.last_substantive_abandon_at, None,
        "no responses: below a threshold of one"
    );
    let context = store.start_context(ada, 0).await.unwrap();
    assert_eq!(context.last_substantive_abandon_at, Some(at(2500)));

    let active = store
        .start_session(new_session(ada, &ids[3..5], 3000))
        .await
        .unwrap();
    let context = store.start_context(ada, 0).await.unwrap();
    assert_eq!(context.active, Some(active));
    assert_eq!(context.last_completed_at, Some(at(1060)));
    // Another user's sessions do not count.
    let other = user(&store, "context2@example.com").await;
    assert_eq!(
        store.start_context(other, 0).await.unwrap(),
        Default::default()
    );
}

async fn completing_writes_responses_and_result_once(store: Arc<dyn Storage>) {
    let ids = bank(&store, 4).await;
    let ada = user(&store, "complete@example.com").await;
    let session = store
        .start_session(new_session(ada, &ids[0..3], 0))
        .await
        .unwrap();
    let answers = [(ids[2], true), (ids[0], false), (ids[1], true)];
    let done = completion(session.id, &answers, 2, 2000);
    let (completed, result) = store.complete_session(done.clone()).await.unwrap();
    assert_eq!(completed.id, session.id);
    assert_eq!(completed.status, SessionStatus::Completed);
    assert_eq!(completed.completed_at, Some(at(2000)));
    assert!(completed.time_limit_exceeded);
    assert_eq!(completed.started_at, session.started_at);
    assert_eq!(store.session(session.id).await.unwrap(), Some(completed));
    assert_eq!(result.test_session_id, session.id);
    assert_eq!(result.user_id, ada);
    assert_eq!(result.completed_at, at(2000));
    assert_eq!(result.validity_checked_at, Some(at(2000)));
    assert_eq!(result.scores, done.result);
    assert_eq!(store.result(result.id).await.unwrap(), Some(result.clone()));
    assert_eq!(
        store.result_for_session(session.id).await.unwrap(),
        Some(result.clone())
    );

    let stored = store.session_responses(session.id).await.unwrap();
    assert_eq!(stored.len(), 3);
    for (stored, sent) in stored.iter().zip(&done.responses) {
        assert_eq!(stored.question_id, sent.question_id, "in the order stored");
        assert_eq!(stored.user_answer, sent.user_answer);
        assert_eq!(stored.is_correct, sent.is_correct);
        assert_eq!(stored.time_spent_seconds, sent.time_spent_seconds);
        assert_eq!(stored.answered_at, at(2000));
        let index = usize::try_from(sent.question_id - ids[0]).unwrap();
        assert_eq!(stored.source_model, question(index).source_model);
    }
    assert!(stored.iter().any(|r| r.source_model.is_some()));
    assert!(stored.iter().any(|r| r.source_model.is_none()));
    assert_eq!(store.response_count(session.id).await.unwrap(), 3);

    let again = completion(session.id, &[(ids[3], true)], 1, 2100);
    assert_conflict(
        store.complete_session(again).await,
        Conflict::SessionNotInProgress,
    );
    assert_eq!(store.response_count(session.id).await.unwrap(), 3);
    assert_eq!(
        store.result_for_session(session.id).await.unwrap(),
        Some(result)
    );
    assert_eq!(
        store.result_history(ada, 10, 0).await.unwrap().total_count,
        1
    );
    assert_conflict(
        store
            .complete_session(completion(session.id + 100, &[], 0, 10))
            .await,
        Conflict::SessionNotInProgress,
    );
}

async fn a_question_answered_twice_writes_nothing(store: Arc<dyn Storage>) {
    let ids = bank(&store, 3).await;
    let ada = user(&store, "twice@example.com").await;
    let session = store
        .start_session(new_session(ada, &ids, 0))
        .await
        .unwrap();
    let answers = [(ids[0], true), (ids[1], true), (ids[0], false)];
    assert_conflict(
        store
            .complete_session(completion(session.id, &answers, 2, 100))
            .await,
        Conflict::Response,
    );
    assert_eq!(
        store.session(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(store.response_count(session.id).await.unwrap(), 0);
    assert!(
        store
            .result_for_session(session.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.active_session_count().await.unwrap(), 1);
    store
        .complete_session(completion(session.id, &answers[0..2], 2, 100))
        .await
        .unwrap();
}

async fn concurrent_completions_of_one_session_succeed_once(store: Arc<dyn Storage>) {
    let ids = bank(&store, 25).await;
    let ada = user(&store, "race-complete@example.com").await;
    let session = store
        .start_session(new_session(ada, &ids, 0))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = Arc::clone(&store);
        let answers: Vec<(QuestionId, bool)> = ids.iter().map(|id| (*id, i % 2 == 0)).collect();
        tasks.spawn(async move {
            store
                .complete_session(completion(session.id, &answers, i, 100 + i64::from(i)))
                .await
        });
    }
    let (mut won, mut lost) = (Vec::new(), 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(done) => won.push(done),
            Err(StorageError::Conflict(Conflict::SessionNotInProgress)) => lost += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((won.len(), lost), (1, 9));
    let (completed, result) = &won[0];
    assert_eq!(store.response_count(session.id).await.unwrap(), 25);
    assert_eq!(
        store.result_for_session(session.id).await.unwrap().as_ref(),
        Some(result)
    );
    assert_eq!(
        store.session(session.id).await.unwrap().as_ref(),
        Some(completed)
    );
    let correct = store
        .session_responses(session.id)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.is_correct)
        .count();
    assert_eq!(
        correct,
        if result.scores.correct_answers % 2 == 0 {
            25
        } else {
            0
        },
        "the responses are the winner's"
    );
}

async fn concurrent_starts_for_one_user_succeed_once(store: Arc<dyn Storage>) {
    let ids = bank(&store, 30).await;
    let ada = user(&store, "race-start@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in ids.chunks(3) {
        let store = Arc::clone(&store);
        let new = new_session(ada, chunk, 0);
        tasks.spawn(async move { store.start_session(new).await });
    }
    let (mut won, mut lost) = (Vec::new(), 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(session) => won.push(session),
            Err(StorageError::Conflict(Conflict::ActiveSession)) => lost += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((won.len(), lost), (1, 9));
    assert_eq!(store.active_session_count().await.unwrap(), 1);
    let served = store.session_question_ids(won[0].id).await.unwrap();
    assert_eq!(served.len(), 3);
    assert_eq!(
        store.seen_since(ada, at(-1)).await.unwrap(),
        served,
        "only the winner's questions are seen"
    );
}

async fn abandoning_is_a_compare_and_set(store: Arc<dyn Storage>) {
    let ids = bank(&store, 4).await;
    let ada = user(&store, "abandon@example.com").await;
    let session = store
        .start_session(new_session(ada, &ids[0..2], 0))
        .await
        .unwrap();
    let (abandoned, kept) = store
        .abandon_session(session.id, at(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, 0);
    assert_eq!(abandoned.status, SessionStatus::Abandoned);
    assert_eq!(abandoned.completed_at, Some(at(50)));
    assert_eq!(store.session(session.id).await.unwrap(), Some(abandoned));
    assert!(
        store
            .abandon_session(session.id, at(60))
            .await
            .unwrap()
            .is_none()
    );
    assert_conflict(
        store
            .complete_session(completion(session.id, &[(ids[0], true)], 1, 70))
            .await,
        Conflict::SessionNotInProgress,
    );
    assert_eq!(
        store
            .session(session.id)
            .await
            .unwrap()
            .unwrap()
            .completed_at,
        Some(at(50))
    );
    let (completed, _) = take_test(&store, ada, &[(ids[2], true)], 1, 100).await;
    assert!(
        store
            .abandon_session(completed.id, at(200))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.session(completed.id).await.unwrap().unwrap().status,
        SessionStatus::Completed
    );
    assert!(
        store
            .abandon_session(9999, at(200))
            .await
            .unwrap()
            .is_none()
    );
}

async fn stale_guest_sessions_are_abandoned(store: Arc<dyn Storage>) {
    let ids = bank(&store, 2).await;
    let ada = user(&store, "stale@example.com").await;
    let old = store
        .start_session(new_session(GUEST_USER_ID, &ids, 0))
        .await
        .unwrap();
    let recent = store
        .start_session(new_session(GUEST_USER_ID, &ids, 100))
        .await
        .unwrap();
    let users = store
        .start_session(new_session(ada, &ids, 0))
        .await
        .unwrap();
    assert_eq!(store.abandon_stale_guest_sessions(at(50)).await.unwrap(), 1);
    let old = store.session(old.id).await.unwrap().unwrap();
    assert_eq!(old.status, SessionStatus::Abandoned);
    assert_eq!(old.completed_at, None);
    assert_eq!(
        store.session(recent.id).await.unwrap().unwrap().status,
        SessionStatus::InProgress
    );
    assert_eq!(
        store.session(users.id).await.unwrap().unwrap().status,
        SessionStatus::InProgress
    );
    assert_eq!(store.abandon_stale_guest_sessions(at(50)).await.unwrap(), 0);
    assert_eq!(store.active_session_count().await.unwrap(), 2);
}

async fn history_is_newest_first_and_paged(store: Arc<dyn Storage>) {
    let ids = bank(&store, 5).await;
    let ada = user(&store, "history@example.com").await;
    let other = user(&store, "history2@example.com").await;
    let mut results = Vec::new();
    // Completed at 60, 1060 and 1060 again (take_test completes 60 s after the start).
    for (i, started) in [0, 1000, 1000].into_iter().enumerate() {
        results.push(
            take_test(&store, ada, &[(ids[i], true)], 1, started)
                .await
                .1,
        );
    }
    take_test(&store, other, &[(ids[0], true)], 1, 5000).await;
    let page = store.result_history(ada, 2, 0).await.unwrap();
    assert_eq!(page.total_count, 3);
    assert_eq!(
        page.results,
        vec![results[2].clone(), results[1].clone()],
        "newest first; the later id first on a tie"
    );
    let page = store.result_history(ada, 2, 2).await.unwrap();
    assert_eq!(
        (page.total_count, page.results),
        (3, vec![results[0].clone()])
    );
    let page = store.result_history(ada, 2, 5).await.unwrap();
    assert_eq!((page.total_count, page.results.len()), (3, 0));
    let page = store.result_history(ada + 100, 2, 0).await.unwrap();
    assert_eq!((page.total_count, page.results.len()), (0, 0));
}
