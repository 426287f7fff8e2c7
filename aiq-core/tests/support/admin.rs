//! Users, questions and finished tests written straight into a store, for the admin tests.

use std::sync::Arc;

use aiq_core::storage::{
    Completion, GUEST_USER_ID, NewResponse, NewResult, NewSession, NewUser, QuestionId, SessionId,
    Storage, UserId,
};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::bank::{import, question};

/// Midnight UTC of 2025-03-01, plus `hours`.
pub fn at(hours: i64) -> OffsetDateTime {
    datetime!(2025-03-01 00:00 UTC) + Duration::hours(hours)
}

/// A password user; with `first`, named `first` Lovelace.
pub async fn user(store: &Arc<dyn Storage>, email: &str, first: Option<&str>) -> UserId {
    let mut new = NewUser::with_password(email, "h");
    new.first_name = first.map(str::to_owned);
    new.last_name = first.map(|_| "Lovelace".to_owned());
    store.create_user(new).await.unwrap().id
}

/// Imports `n` questions (domain `k % 6`, difficulty `k % 3`) and returns their ids.
pub async fn bank(store: &Arc<dyn Storage>, n: usize) -> Vec<QuestionId> {
    let rows: Vec<_> = (0..n).map(|k| question(k, None, None)).collect();
    import(store, &rows).await
}

/// Starts a session over `questions` (recorded as seen, except for guests).
pub async fn start(
    store: &Arc<dyn Storage>,
    owner: UserId,
    started_at: OffsetDateTime,
    questions: &[QuestionId],
) -> SessionId {
    store
        .start_session(NewSession {
            user_id: owner,
            started_at,
            question_ids: questions.to_vec(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: owner != GUEST_USER_ID,
        })
        .await
        .unwrap()
        .id
}

/// A valid result of `total` answers, `correct` of them right.
pub fn scores(iq: i32, total: usize, correct: usize) -> NewResult {
    NewResult {
        iq_score: iq,
        percentile_rank: None,
        total_questions: i32::try_from(total).unwrap(),
        correct_answers: i32::try_from(correct).unwrap(),
        completion_time_seconds: Some(60),
        standard_error: None,
        ci_lower: None,
        ci_upper: None,
        response_time_flags: None,
        validity_status: "valid".to_owned(),
        validity_flags: Some(json!({"flags": []})),
        domain_scores: None,
        scoring_method: "ctt".to_owned(),
    }
}

/// Completes `session` at `completed_at`; `answers` says which questions were right.
pub async fn complete(
    store: &Arc<dyn Storage>,
    session: SessionId,
    completed_at: OffsetDateTime,
    answers: &[(QuestionId, bool)],
    iq: i32,
) {
    let correct = answers.iter().filter(|(_, c)| *c).count();
    complete_with(
        store,
        session,
        completed_at,
        answers,
        scores(iq, answers.len(), correct),
    )
    .await;
}

/// Completes `session` at `completed_at` with `result`.
pub async fn complete_with(
    store: &Arc<dyn Storage>,
    session: SessionId,
    completed_at: OffsetDateTime,
    answers: &[(QuestionId, bool)],
    result: NewResult,
) {
    let responses = answers
        .iter()
        .map(|(id, correct)| NewResponse {
            question_id: *id,
            user_answer: "x".to_owned(),
            is_correct: *correct,
            time_spent_seconds: Some(5),
        })
        .collect();
    store
        .complete_session(Completion {
            session_id: session,
            completed_at,
            time_limit_exceeded: false,
            responses,
            result,
        })
        .await
        .unwrap();
}

/// A whole test over `questions`, all answered right: started at `at(hours)`, completed an
/// hour later.
pub async fn finished(
    store: &Arc<dyn Storage>,
    owner: UserId,
    hours: i64,
    questions: &[QuestionId],
    iq: i32,
) -> SessionId {
    let session = start(store, owner, at(hours), questions).await;
    let answers: Vec<_> = questions.iter().map(|id| (*id, true)).collect();
    complete(store, session, at(hours + 1), &answers, iq).await;
    session
}
