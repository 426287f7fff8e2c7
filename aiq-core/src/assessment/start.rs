//! Starting and abandoning a fixed-form test.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::error::waiting;
use super::{AssessmentError, Taker};
use crate::selection::compose;
use crate::state::AppState;
use crate::storage::{
    CAT_READINESS, Conflict, NewSession, Question, QuestionId, SessionId, SessionStatus,
    StorageError, TestSession, User,
};
use crate::telemetry;

/// A session that has just started, with its questions in the order served.
#[derive(Debug)]
pub(crate) struct StartedTest {
    pub(crate) session: TestSession,
    pub(crate) questions: Vec<Question>,
}

/// A random generator seeded from the operating system, for drawing test compositions.
pub(super) fn fresh_rng() -> StdRng {
    // getrandom only fails where no entropy source exists at all; a fixed seed would still
    // give a valid (if predictable) composition.
    StdRng::seed_from_u64(getrandom::u64().unwrap_or(0x5eed))
}

/// Starts a fixed-form test of up to `count` questions for `user` (§2.4 `POST /test/start`):
/// one active session, the cadence and the abandon cooldown, then composition and an atomic
/// start that records the questions as seen.
pub(crate) async fn start_test(
    state: &AppState,
    user: &User,
    count: usize,
) -> Result<StartedTest, AssessmentError> {
    let rules = &state.config.test_rules;
    let now = crate::time::now();
    let context = state
        .storage
        .start_context(user.id, i64::from(rules.abandon_answer_threshold))
        .await?;
    if let Some(active) = context.active {
        return Err(AssessmentError::ActiveSession(active.id));
    }
    if !(user.bypass_cooldown || rules.disable_cadence) {
        if let Some((last, next, days_remaining)) = context
            .last_completed_at
            .and_then(|at| waiting(at, rules.cadence_days, now))
        {
            return Err(AssessmentError::Cadence {
                cadence_days: rules.cadence_days,
                last,
                next,
                days_remaining,
            });
        }
        if let Some((last, next, days_remaining)) = context
            .last_substantive_abandon_at
            .and_then(|at| waiting(at, rules.abandon_cooldown_days, now))
        {
            return Err(AssessmentError::AbandonCooldown {
                cooldown_days: rules.abandon_cooldown_days,
                last,
                next,
                days_remaining,
            });
        }
    }
    let candidates = state.storage.selection_candidates(Some(user.id)).await?;
    let composition = compose(&candidates, count, true, &mut fresh_rng());
    if composition.question_ids.is_empty() {
        return Err(AssessmentError::PoolExhausted);
    }
    let is_adaptive = cat_ready(state).await?;
    let session = state
        .storage
        .start_session(NewSession {
            user_id: user.id,
            started_at: now,
            question_ids: composition.question_ids.clone(),
            composition_metadata: serde_json::to_value(&composition.metadata).unwrap_or_default(),
            is_adaptive,
            record_seen: true,
        })
        .await
        .map_err(|err| match err {
            StorageError::Conflict(Conflict::ActiveSession | Conflict::QuestionSeen) => {
                AssessmentError::StartRace
            }
            other => other.into(),
        })?;
    let questions = questions_in_order(state, &composition.question_ids).await?;
    record_start(Taker::User(user.id), questions.len());
    Ok(StartedTest { session, questions })
}

/// Whether `system_config.cat_readiness.enabled` marks new fixed-form sessions adaptive.
async fn cat_ready(state: &AppState) -> Result<bool, StorageError> {
    Ok(state
        .storage
        .system_config(CAT_READINESS)
        .await?
        .and_then(|value| value.get("enabled").and_then(serde_json::Value::as_bool))
        .unwrap_or(false))
}

/// The questions with these ids, in this order.
pub(crate) async fn questions_in_order(
    state: &AppState,
    ids: &[QuestionId],
) -> Result<Vec<Question>, StorageError> {
    let mut found = state.storage.questions_by_ids(ids).await?;
    found.sort_by_key(|q| ids.iter().position(|id| *id == q.id));
    Ok(found)
}

pub(super) fn record_start(taker: Taker, questions: usize) {
    metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).increment(1.0);
    metrics::counter!(telemetry::TEST_SESSIONS_STARTED, "test.kind" => taker.kind()).increment(1);
    metrics::counter!(telemetry::QUESTIONS_SERVED).increment(questions as u64);
}

/// The session, if it exists and belongs to `user` (404, then 403).
pub(crate) async fn owned_session(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<TestSession, AssessmentError> {
    let session = state
        .storage
        .session(id)
        .await?
        .ok_or(AssessmentError::SessionNotFound)?;
    if session.user_id != user.id {
        return Err(AssessmentError::NotYourSession);
    }
    Ok(session)
}

/// Abandons the user's in-progress session, keeping its responses; returns it with how many.
pub(crate) async fn abandon_test(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<(TestSession, u64), AssessmentError> {
    let session = owned_session(state, user, id).await?;
    if session.status != SessionStatus::InProgress {
        return Err(AssessmentError::NotInProgress(session.status));
    }
    match state
        .storage
        .abandon_session(id, crate::time::now())
        .await?
    {
        Some(abandoned) => {
            metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).decrement(1.0);
            metrics::counter!(telemetry::TEST_SESSIONS_ABANDONED, "test.kind" => "user")
                .increment(1);
            Ok(abandoned)
        }
        // Another request completed or abandoned it in between.
        None => {
            let status = state
                .storage
                .session(id)
                .await?
                .map_or(SessionStatus::Abandoned, |s| s.status);
            Err(AssessmentError::NotInProgress(status))
        }
    }
}
