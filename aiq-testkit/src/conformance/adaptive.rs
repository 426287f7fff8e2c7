//! `AdaptiveStore`: the pool, the prior, and the atomic, compare-and-set steps.

use std::sync::Arc;

use aiq_core::cat::prior_params;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{
    AdaptiveCompletion, AdaptiveStep, Conflict, NewResponse, NewResult, NewSession, NewUser,
    SessionStatus, Storage, StorageError,
};
use serde_json::json;
use time::Duration;

use super::cases;

cases!(
    pool_uses_priors_and_excludes_seen,
    steps_are_compare_and_set
);

fn step(
    session_id: i64,
    expected: u32,
    question: i64,
    next: Option<i64>,
    at: time::OffsetDateTime,
) -> AdaptiveStep {
    AdaptiveStep {
        session_id,
        expected_items: expected,
        response: NewResponse {
            question_id: question,
            user_answer: "a".into(),
            is_correct: true,
            time_spent_seconds: Some(3),
        },
        answered_at: at,
        state: json!({"items": expected + 1}),
        theta_history: vec![0.5; expected as usize + 1],
        next_question: next,
    }
}

fn completion(theta: f64) -> AdaptiveCompletion {
    AdaptiveCompletion {
        theta,
        theta_se: 0.28,
        stopping_reason: "se_threshold".into(),
        result: NewResult {
            iq_score: 110,
            percentile_rank: Some(74.8),
            total_questions: 2,
            correct_answers: 2,
            completion_time_seconds: Some(60),
            standard_error: Some(4.2),
            ci_lower: Some(102),
            ci_upper: Some(118),
            response_time_flags: None,
            validity_status: "valid".into(),
            validity_flags: None,
            domain_scores: None,
            scoring_method: "irt".into(),
        },
    }
}

async fn pool_uses_priors_and_excludes_seen(store: Arc<dyn Storage>) {
    let bank = starter_bank();
    store.import_questions(&bank).await.unwrap();
    let user = store
        .create_user(NewUser::with_password("pool@example.com", "h"))
        .await
        .unwrap();
    let pool = store.adaptive_pool(user.id).await.unwrap();
    assert_eq!(pool.len(), bank.len());
    // The starter bank is uncalibrated: every item runs on its difficulty level's prior.
    assert!(
        pool.iter()
            .all(|item| item.params == prior_params(item.difficulty))
    );
    assert_eq!(store.adaptive_prior(user.id).await.unwrap(), None);

    let now = aiq_core::time::now();
    let first = pool[0].id;
    let session = store
        .start_adaptive_session(
            NewSession {
                user_id: user.id,
                started_at: now,
                question_ids: vec![first],
                composition_metadata: json!({"adaptive": true}),
                is_adaptive: true,
                record_seen: true,
            },
            json!({"items": 0}),
        )
        .await
        .unwrap();
    assert!(session.is_adaptive);
    let state = store.adaptive_state(session.id).await.unwrap().unwrap();
    assert_eq!((state.state, state.items), (json!({"items": 0}), 0));
    let pool = store.adaptive_pool(user.id).await.unwrap();
    assert_eq!(pool.len(), bank.len() - 1);
    assert!(pool.iter().all(|item| item.id != first));
}

async fn steps_are_compare_and_set(store: Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
    let user = store
        .create_user(NewUser::with_password("cas@example.com", "h"))
        .await
        .unwrap();
    let fixed = store
        .create_user(NewUser::with_password("fixed@example.com", "h"))
        .await
        .unwrap();
    let now = aiq_core::time::now();
    let new = |user_id, questions: Vec<i64>, adaptive| NewSession {
        user_id,
        started_at: now,
        question_ids: questions,
        composition_metadata: json!({}),
        is_adaptive: adaptive,
        record_seen: true,
    };
    let plain = store
        .start_session(new(fixed.id, vec![1, 2], false))
        .await
        .unwrap();
    assert_eq!(store.adaptive_state(plain.id).await.unwrap(), None);

    let mut theta = 0.0;
    let mut latest = now;
    for round in 0..2_i64 {
        let at = now + Duration::hours(round + 1);
        let (q1, q2) = (10 + 2 * round, 11 + 2 * round);
        let session = store
            .start_adaptive_session(new(user.id, vec![q1], true), json!({"items": 0}))
            .await
            .unwrap();
        store
            .record_adaptive_step(step(session.id, 0, q1, Some(q2), at))
            .await
            .unwrap();
        // The same count again: another answer won.
        let lost = store
            .record_adaptive_step(step(session.id, 0, q1, Some(99), at))
            .await
            .unwrap_err();
        assert!(
            matches!(lost, StorageError::Conflict(Conflict::Response)),
            "{lost:?}"
        );
        assert_eq!(store.response_count(session.id).await.unwrap(), 1);
        assert_eq!(
            store.session_question_ids(session.id).await.unwrap(),
            vec![q1, q2]
        );
        let state = store.adaptive_state(session.id).await.unwrap().unwrap();
        assert_eq!((state.state, state.items), (json!({"items": 1}), 1));

        theta = 0.4 + round as f64;
        let (done, result) = store
            .finish_adaptive_session(step(session.id, 1, q2, None, at), completion(theta))
            .await
            .unwrap();
        assert_eq!(done.status, SessionStatus::Completed);
        assert_eq!(done.completed_at, Some(at));
        assert_eq!(result.scores.scoring_method, "irt");
        assert_eq!(result.scores.ci_lower, Some(102));
        assert_eq!(store.response_count(session.id).await.unwrap(), 2);
        let closed = store
            .record_adaptive_step(step(session.id, 2, 50, None, at))
            .await
            .unwrap_err();
        assert!(
            matches!(
                closed,
                StorageError::Conflict(Conflict::SessionNotInProgress)
            ),
            "{closed:?}"
        );
        latest = at;
    }
    // Two completed adaptive sessions: the latest one's θ, no failure.
    assert_eq!(store.adaptive_prior(user.id).await.unwrap(), Some(theta));
    let page = store.result_history(user.id, 10, 0).await.unwrap();
    assert_eq!(page.total_count, 2);
    assert_eq!(page.results[0].completed_at, latest);
}
