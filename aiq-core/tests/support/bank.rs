//! Small item banks and finished tests written straight into a store, for the analytics tests.

use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain, NewQuestion};
use aiq_core::storage::{
    Completion, NewResponse, NewResult, NewSession, QuestionId, SessionId, Storage, UserId,
};
use serde_json::json;

/// A valid question, distinct per `n`, from `vendor`'s `model`.
pub fn question(n: usize, vendor: Option<&str>, model: Option<&str>) -> NewQuestion {
    let domain = Domain::ALL[n % Domain::ALL.len()];
    NewQuestion {
        question_text: format!("Analytics question {n}: what is {n} + 1?"),
        question_type: domain,
        difficulty_level: Difficulty::ALL[n % 3],
        correct_answer: format!("{}", n + 1),
        answer_options: (0..4).map(|k| format!("{}", n + k)).collect(),
        explanation: None,
        stimulus: (domain == Domain::Memory).then(|| format!("Remember {n}")),
        sub_type: None,
        source_llm: vendor.map(str::to_owned),
        source_model: model.map(str::to_owned),
        is_anchor: false,
        metadata: json!({}),
    }
}

/// Imports `rows` and returns their ids, in the rows' order.
pub async fn import(store: &Arc<dyn Storage>, rows: &[NewQuestion]) -> Vec<QuestionId> {
    assert!(
        store
            .import_questions(rows)
            .await
            .unwrap()
            .iter()
            .all(|a| *a)
    );
    let mut ids: Vec<QuestionId> = store
        .selection_candidates(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids.split_off(ids.len() - rows.len())
}

/// Starts a session for `owner` over the questions of `answers`; completes it when `complete`.
pub async fn take_test(
    store: &Arc<dyn Storage>,
    owner: UserId,
    answers: &[(QuestionId, bool)],
    complete: bool,
) -> SessionId {
    let now = aiq_core::time::now();
    let session = store
        .start_session(NewSession {
            user_id: owner,
            started_at: now,
            question_ids: answers.iter().map(|(id, _)| *id).collect(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: true,
        })
        .await
        .unwrap();
    let responses: Vec<NewResponse> = answers
        .iter()
        .map(|(question_id, is_correct)| NewResponse {
            question_id: *question_id,
            user_answer: "x".to_owned(),
            is_correct: *is_correct,
            time_spent_seconds: Some(10),
        })
        .collect();
    let correct = i32::try_from(answers.iter().filter(|(_, c)| *c).count()).unwrap();
    if complete {
        store
            .complete_session(Completion {
                session_id: session.id,
                completed_at: now,
                time_limit_exceeded: false,
                responses,
                result: NewResult {
                    iq_score: 100,
                    percentile_rank: Some(50.0),
                    total_questions: i32::try_from(answers.len()).unwrap(),
                    correct_answers: correct,
                    completion_time_seconds: Some(60),
                    standard_error: None,
                    ci_lower: None,
                    ci_upper: None,
                    response_time_flags: None,
                    validity_status: "valid".to_owned(),
                    validity_flags: None,
                    domain_scores: None,
                    scoring_method: "ctt".to_owned(),
                },
            })
            .await
            .unwrap();
    }
    session.id
}
