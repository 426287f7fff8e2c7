//! Starting and abandoning a fixed-form test.

use super::common::{fresh_rng, questions_in_order, record_start};
use super::error::waiting;
use super::{AssessmentError, Taker};
use crate::selection::compose;
use crate::state::AppState;
use crate::storage::{
    CAT_READINESS, Conflict, NewSession, Question, StorageError, TestSession, User,
};

/// A session that has just started, with its questions in the order served.
#[derive(Debug)]
pub(crate) struct StartedTest {
    pub(crate) session: TestSession,
    pub(crate) questions: Vec<Question>,
}

/// Starts a fixed-form test of up to `count` questions for `user` (§2.4 `POST /test/start`):
/// one active session, the cadence and the abandon cooldown, then composition and an atomic
/// start that records the questions as seen.
pub(crate) async fn start_test(
    state: &AppState,
    user: &User,
    count: usize,
) -> Result<StartedTest, AssessmentError> {
    let now = crate::time::now();
    // Three independent reads, made at once: one round trip's wait instead of three. The
    // rules still decide first; the candidates of a user who may not start are dropped.
    let (allowed, candidates, is_adaptive) = tokio::join!(
        check_can_start(state, user, now),
        state.storage.selection_candidates(Some(user.id)),
        cat_ready(state),
    );
    allowed?;
    let composition = compose(&candidates?, count, true, &mut fresh_rng());
    if composition.question_ids.is_empty() {
        return Err(AssessmentError::PoolExhausted);
    }
    let new = NewSession {
        user_id: user.id,
        started_at: now,
        question_ids: composition.question_ids.clone(),
        composition_metadata: serde_json::to_value(&composition.metadata).unwrap_or_default(),
        is_adaptive: is_adaptive?,
        record_seen: true,
    };
    // The questions' content does not depend on the start: read beside it, and dropped if the
    // start loses a race.
    let (session, questions) = tokio::join!(
        state.storage.start_session(new),
        questions_in_order(state, &composition.question_ids),
    );
    let session = session.map_err(|err| match err {
        StorageError::Conflict(Conflict::ActiveSession | Conflict::QuestionSeen) => {
            AssessmentError::StartRace
        }
        other => other.into(),
    })?;
    record_start(Taker::User(user.id), composition.question_ids.len());
    let questions = questions?;
    Ok(StartedTest { session, questions })
}

/// The rules every start obeys (§2.4 steps 1-2): one session in progress, then, unless the
/// user bypasses them, the cadence and the abandon cooldown.
pub(super) async fn check_can_start(
    state: &AppState,
    user: &User,
    now: time::OffsetDateTime,
) -> Result<(), AssessmentError> {
    let rules = &state.config.test_rules;
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
    Ok(())
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
