//! `CalibrationStore`, through the calibration job (`aiq_core::calibration::run`, what
//! `aiq-server calibrate` runs): skipped below the threshold, failed and unpublished when EM
//! does not converge, published and recorded when it does.

use std::sync::Arc;

use aiq_core::calibration;
use aiq_core::cat::CalibrationOptions;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{
    CalibrationStatus, Completion, NewResponse, NewResult, NewSession, NewUser, Storage,
};
use time::Duration;

use super::cases;

cases!(calibration_runs_are_recorded);

/// A small deterministic generator (no dependency on a particular `rand` API).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `people` completed fixed-form sessions answering `items` under a 2PL model (a = 1.3, b
/// spread over [−1.5, 1.5] in item order).
async fn simulate(store: &Arc<dyn Storage>, items: &[i64], people: usize) {
    let user = store
        .create_user(NewUser::with_password("sim@example.com", "h"))
        .await
        .unwrap();
    let at = aiq_core::time::now() - Duration::days(1);
    let mut rng = Lcg(7);
    for person in 0..people {
        let theta = -2.5 + 5.0 * (person as f64 + 0.5) / people as f64;
        let session = store
            .start_session(NewSession {
                user_id: user.id,
                started_at: at,
                question_ids: items.to_vec(),
                composition_metadata: serde_json::json!({}),
                is_adaptive: false,
                record_seen: false,
            })
            .await
            .unwrap();
        let responses: Vec<NewResponse> = items
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let b = -1.5 + 3.0 * index as f64 / (items.len() - 1) as f64;
                let p = 1.0 / (1.0 + (-1.3 * (theta - b)).exp());
                NewResponse {
                    question_id: *id,
                    user_answer: "x".into(),
                    is_correct: rng.uniform() < p,
                    time_spent_seconds: None,
                }
            })
            .collect();
        let correct = responses.iter().filter(|r| r.is_correct).count() as i32;
        store
            .complete_session(Completion {
                session_id: session.id,
                completed_at: at,
                time_limit_exceeded: false,
                responses,
                result: NewResult {
                    iq_score: 100,
                    percentile_rank: None,
                    total_questions: items.len() as i32,
                    correct_answers: correct,
                    completion_time_seconds: None,
                    standard_error: None,
                    ci_lower: None,
                    ci_upper: None,
                    response_time_flags: None,
                    validity_status: "valid".into(),
                    validity_flags: None,
                    domain_scores: None,
                    scoring_method: "ctt".into(),
                },
            })
            .await
            .unwrap();
    }
}

async fn calibration_runs_are_recorded(store: Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
    let first = calibration::run(store.as_ref(), &CalibrationOptions::default())
        .await
        .unwrap();
    assert_eq!(first.status, CalibrationStatus::Skipped);
    assert_eq!(first.new_responses, 0);

    let items: Vec<i64> = (1..=8).collect();
    simulate(&store, &items, 400).await;
    assert_eq!(store.new_calibration_responses().await.unwrap(), 3200);

    // One EM iteration cannot converge: recorded as failed, nothing published.
    let hurried = CalibrationOptions {
        max_iterations: 1,
        ..CalibrationOptions::default()
    };
    let failed = calibration::run(store.as_ref(), &hurried).await.unwrap();
    assert_eq!(failed.status, CalibrationStatus::Failed);
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap()
            .contains("did not converge"),
        "{failed:?}"
    );
    let questions = store.questions_by_ids(&items).await.unwrap();
    assert!(questions.iter().all(|q| q.irt_difficulty.is_none()));

    let done = calibration::run(store.as_ref(), &CalibrationOptions::default())
        .await
        .unwrap();
    assert_eq!(done.status, CalibrationStatus::Completed, "{done:?}");
    assert_eq!(done.questions_calibrated, 8);
    assert_eq!(done.new_responses, 3200);
    let mut questions = store.questions_by_ids(&items).await.unwrap();
    questions.sort_by_key(|q| q.id);
    let b: Vec<f64> = questions
        .iter()
        .map(|q| q.irt_difficulty.unwrap())
        .collect();
    assert!(b[0] < -0.8 && b[7] > 0.8, "{b:?}");
    assert!(
        questions
            .iter()
            .all(|q| q.irt_discrimination.unwrap() > 0.5)
    );
    // The adaptive pool now serves them with their estimates.
    let pool = store.adaptive_pool(-1).await.unwrap();
    let item = pool.iter().find(|i| i.id == 1).unwrap();
    assert_eq!(item.params.b, b[0]);

    // Nothing new since the completed run.
    let again = calibration::run(store.as_ref(), &CalibrationOptions::default())
        .await
        .unwrap();
    assert_eq!(again.status, CalibrationStatus::Skipped);
    assert_eq!(again.new_responses, 0);

    let runs = store.calibration_runs(10).await.unwrap();
    let statuses: Vec<_> = runs.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            CalibrationStatus::Skipped,
            CalibrationStatus::Completed,
            CalibrationStatus::Failed,
            CalibrationStatus::Skipped
        ]
    );
    assert_eq!(runs[1], done);
}
