//! Guest tests (§2.5, §3.9): anonymous sessions owned by the guest sentinel, limited per device,
//! submitted with a single-use token and adopted by an account with a claim token.

use super::common::{fresh_rng, questions_in_order, record_start};
use super::submit::{Answered, Submitted, submit_test};
use super::{AssessmentError, StartedTest, Taker};
use crate::selection::compose;
use crate::state::AppState;
use crate::storage::{
    ClaimOutcome, GUEST_USER_ID, GuestToken, GuestTokenKind, NewSession, TestResult, TestSession,
    User,
};
use crate::telemetry;

/// Questions in every guest test.
const GUEST_TEST_QUESTIONS: usize = 25;

/// A started guest test.
#[derive(Debug)]
pub(crate) struct GuestStart {
    pub(crate) test: StartedTest,
    pub(crate) guest_token: String,
    pub(crate) tests_remaining: u32,
}

/// Starts a guest test for `device_id` (already trimmed).
pub(crate) async fn start_guest_test(
    state: &AppState,
    device_id: &str,
) -> Result<GuestStart, AssessmentError> {
    if device_id.is_empty() {
        return Err(AssessmentError::BlankDeviceId);
    }
    let limit = state.config.guest.test_limit;
    let taken = u32::try_from(state.storage.guest_tests_taken(device_id).await?).unwrap_or(0);
    if taken >= limit {
        return Err(AssessmentError::GuestLimit(limit));
    }
    let now = crate::time::now();
    let ttl = state.config.guest.token_ttl;
    let stale = state
        .storage
        .abandon_stale_guest_sessions(now - ttl)
        .await?;
    if stale > 0 {
        metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).decrement(stale as f64);
        metrics::counter!(telemetry::TEST_SESSIONS_ABANDONED, "test.kind" => "guest")
            .increment(stale);
    }
    let candidates = state.storage.selection_candidates(None).await?;
    let composition = compose(&candidates, GUEST_TEST_QUESTIONS, false, &mut fresh_rng());
    if composition.question_ids.is_empty() {
        return Err(AssessmentError::PoolExhausted);
    }
    let session = state
        .storage
        .start_session(NewSession {
            user_id: GUEST_USER_ID,
            started_at: now,
            question_ids: composition.question_ids.clone(),
            composition_metadata: serde_json::to_value(&composition.metadata).unwrap_or_default(),
            is_adaptive: false,
            record_seen: false,
        })
        .await?;
    record_start(Taker::Guest, composition.question_ids.len());
    let guest_token = uuid::Uuid::new_v4().to_string();
    state
        .guest_tokens
        .put(
            &guest_token,
            &GuestToken {
                token_type: GuestTokenKind::Submit,
                session_id: session.id,
                device_id: device_id.to_owned(),
                question_ids: composition.question_ids.clone(),
            },
            ttl,
        )
        .await?;
    let questions = questions_in_order(state, &composition.question_ids).await?;
    Ok(GuestStart {
        test: StartedTest { session, questions },
        guest_token,
        tests_remaining: limit.saturating_sub(taken + 1),
    })
}

/// Submits a guest test. A submit token is taken first, so even a submission that fails
/// validation uses it up (as the old backend did); a claim token sent here is left alone.
/// Returns the submission and a claim token. Once the result is stored, nothing turns the
/// answer into an error: the claim token is stored before, the device count after, best effort.
pub(crate) async fn submit_guest_test(
    state: &AppState,
    token: &str,
    answers: Vec<Answered>,
    time_limit_exceeded: bool,
) -> Result<(Submitted, String), AssessmentError> {
    let is_submit_token = state
        .guest_tokens
        .get(token)
        .await?
        .is_some_and(|payload| payload.token_type == GuestTokenKind::Submit);
    let payload = match is_submit_token {
        true => state.guest_tokens.take(token).await?,
        false => None,
    }
    .ok_or(AssessmentError::InvalidGuestToken)?;
    let session = state
        .storage
        .session(payload.session_id)
        .await?
        .ok_or(AssessmentError::SessionNotFound)?;
    // §2.5's order: not in progress before not a guest session (submit_test checks the status
    // again, for the user path).
    if session.status != crate::storage::SessionStatus::InProgress {
        return Err(AssessmentError::NotInProgress(session.status));
    }
    if session.user_id != GUEST_USER_ID {
        return Err(AssessmentError::InvalidGuestToken);
    }
    // Harmless if the submit fails: a claim only succeeds for a completed session.
    let claim_token = uuid::Uuid::new_v4().to_string();
    let claim = GuestToken {
        token_type: GuestTokenKind::Claim,
        ..payload.clone()
    };
    state
        .guest_tokens
        .put(&claim_token, &claim, state.config.guest.token_ttl)
        .await?;
    let submitted = submit_test(
        state,
        Taker::Guest,
        session,
        answers,
        time_limit_exceeded,
        &payload.question_ids,
    )
    .await?;
    if let Err(error) = state
        .storage
        .record_guest_test(&payload.device_id, crate::time::now())
        .await
    {
        tracing::error!(%error, "guest test stored but not counted against its device");
    }
    Ok((submitted, claim_token))
}

/// Moves a submitted guest result to `user`'s account.
pub(crate) async fn claim_guest_result(
    state: &AppState,
    user: &User,
    claim_token: &str,
) -> Result<(TestSession, TestResult, u64), AssessmentError> {
    let payload = state
        .guest_tokens
        .get(claim_token)
        .await?
        .filter(|payload| payload.token_type == GuestTokenKind::Claim)
        .ok_or(AssessmentError::InvalidClaimToken)?;
    match state
        .storage
        .claim_guest_session(payload.session_id, user.id)
        .await?
    {
        ClaimOutcome::Claimed(session, result) => {
            let responses = state.storage.response_count(session.id).await?;
            Ok((session, result, responses))
        }
        ClaimOutcome::AlreadyClaimed => Err(AssessmentError::AlreadyClaimed),
        ClaimOutcome::NotClaimable => Err(AssessmentError::InvalidClaimToken),
    }
}
