//! Helpers shared by the cases of `users`, `credentials`, `bank`, `sessions` and `records`:
//! users, a small item bank, and tests started and completed straight through the store.

use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain, NewQuestion};
use aiq_core::storage::{
    Completion, Conflict, EducationLevel, GUEST_USER_ID, NewResponse, NewResult, NewSession,
    NewUser, QuestionId, SessionId, Storage, StorageError, TestResult, TestSession, UserId,
};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A password user with every optional field set.
pub(super) fn full_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        first_name: Some("Ada".to_owned()),
        last_name: Some("Lovelace 2nd".to_owned()),
        birth_year: Some(1990),
        education_level: Some(EducationLevel::Masters),
        country: Some("GB".to_owned()),
        region: Some("London".to_owned()),
        password_login_enabled: true,
        created_at: datetime!(2024-01-02 03:04:05.123456 UTC),
    }
}

/// 2025-06-01 12:00 UTC, plus `seconds`.
pub(super) fn at(seconds: i64) -> OffsetDateTime {
    datetime!(2025-06-01 12:00:00 UTC) + Duration::seconds(seconds)
}

/// A valid question, distinct per `n`, in domain `n % 6`.
pub(super) fn question(n: usize) -> NewQuestion {
    let domain = Domain::ALL[n % Domain::ALL.len()];
    NewQuestion {
        question_text: format!("Question {n}: what is {n} + 1?"),
        question_type: domain,
        difficulty_level: Difficulty::ALL[n % 3],
        correct_answer: format!("{}", n + 1),
        answer_options: (0..4).map(|k| format!("{}", n + k)).collect(),
        explanation: n.is_multiple_of(2).then(|| "Add one.".to_owned()),
        stimulus: (domain == Domain::Memory).then(|| format!("Remember {n}")),
        sub_type: Some("addition".to_owned()),
        source_llm: n.is_multiple_of(3).then(|| format!("vendor-{}", n % 2)),
        source_model: n.is_multiple_of(2).then(|| format!("model-{}", n % 4)),
        is_anchor: n.is_multiple_of(5),
        metadata: json!({"n": n, "nested": {"list": [1, 2]}}),
    }
}

/// Imports `n` questions and returns their ids, ascending.
pub(super) async fn bank(store: &Arc<dyn Storage>, n: usize) -> Vec<QuestionId> {
    let rows: Vec<NewQuestion> = (0..n).map(question).collect();
    assert!(
        store
            .import_questions(&rows)
            .await
            .unwrap()
            .iter()
            .all(|added| *added)
    );
    let mut ids: Vec<QuestionId> = store
        .selection_candidates(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), n);
    ids
}

pub(super) async fn user(store: &Arc<dyn Storage>, email: &str) -> UserId {
    store
        .create_user(NewUser::with_password(email, "h"))
        .await
        .unwrap()
        .id
}

pub(super) fn new_session(
    user_id: UserId,
    question_ids: &[QuestionId],
    started: i64,
) -> NewSession {
    NewSession {
        user_id,
        started_at: at(started),
        question_ids: question_ids.to_vec(),
        composition_metadata: json!({"easy": 1, "domains": {"math": 2}}),
        is_adaptive: false,
        record_seen: user_id != GUEST_USER_ID,
    }
}

pub(super) fn scores(total: usize, correct: i32) -> NewResult {
    NewResult {
        iq_score: 100 + correct,
        percentile_rank: Some(50.5),
        total_questions: i32::try_from(total).unwrap(),
        correct_answers: correct,
        completion_time_seconds: Some(600),
        standard_error: Some(4.5),
        ci_lower: Some(91),
        ci_upper: Some(109),
        response_time_flags: Some(json!({"rapid": 0})),
        validity_status: "valid".to_owned(),
        validity_flags: None,
        domain_scores: Some(json!({"math": {"correct": correct}})),
        scoring_method: "ctt".to_owned(),
    }
}

/// Completes `session` with these answers; the result's correct count is `total`.
pub(super) fn completion(
    session: SessionId,
    answers: &[(QuestionId, bool)],
    total: i32,
    completed: i64,
) -> Completion {
    Completion {
        session_id: session,
        completed_at: at(completed),
        time_limit_exceeded: completed > 1800,
        responses: answers
            .iter()
            .enumerate()
            .map(|(i, (question_id, is_correct))| NewResponse {
                question_id: *question_id,
                user_answer: format!("answer {i}"),
                is_correct: *is_correct,
                time_spent_seconds: (i % 2 == 0).then_some(i32::try_from(i).unwrap() + 10),
            })
            .collect(),
        result: scores(answers.len(), total),
    }
}

/// Starts and completes one session for `owner` over `answers`.
pub(super) async fn take_test(
    store: &Arc<dyn Storage>,
    owner: UserId,
    answers: &[(QuestionId, bool)],
    total: i32,
    started: i64,
) -> (TestSession, TestResult) {
    let ids: Vec<QuestionId> = answers.iter().map(|(id, _)| *id).collect();
    let session = store
        .start_session(new_session(owner, &ids, started))
        .await
        .unwrap();
    store
        .complete_session(completion(session.id, answers, total, started + 60))
        .await
        .unwrap()
}

pub(super) fn assert_conflict<T: std::fmt::Debug>(
    result: Result<T, StorageError>,
    expected: Conflict,
) {
    match result {
        Err(StorageError::Conflict(conflict)) => assert_eq!(conflict, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}
