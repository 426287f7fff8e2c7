//! Adaptive (CAT) tests (§2.4 `/test/start?adaptive=true`, `/test/next`, `/test/progress`;
//! §3.4): the engine ([`crate::cat`]) decides, the store keeps its state between requests.
//!
//! The state is stored whole after every answer (not rebuilt by replaying responses as the old
//! backend did), so a session continues on any instance after any restart, and each answer is a
//! compare-and-set on the number of items answered: of two concurrent answers to the same item
//! exactly one is taken, the other gets the 409 of an answer already submitted.

use std::collections::HashSet;

use super::common::{fresh_rng, owned_session, record_start};
use super::start::check_can_start;
use super::submit::population;
use super::{AssessmentError, Taker};
use crate::cat::{CatError, CatResult, CatSession, MAX_ITEMS, Response, StepOutcome};
use crate::input::Answer;
use crate::questions::Domain;
use crate::scoring::ScoringMethod;
use crate::state::AppState;
use crate::storage::{
    AdaptiveCompletion, AdaptiveState, AdaptiveStep, Conflict, NewResponse, NewResult, NewSession,
    Question, QuestionId, SessionId, SessionStatus, StorageError, TestResult, TestSession, User,
};
use crate::telemetry;

/// A started adaptive test.
#[derive(Debug)]
pub(crate) struct StartedAdaptive {
    pub(crate) session: TestSession,
    pub(crate) question: Question,
    /// The θ the first item was chosen at.
    pub(crate) prior_theta: f64,
    /// The standard error before any answer (the prior's, 1.0).
    pub(crate) se: f64,
}

/// One `/test/next` request.
#[derive(Debug)]
pub(crate) struct AdaptiveAnswer {
    pub(crate) session_id: SessionId,
    pub(crate) question_id: QuestionId,
    pub(crate) answer: Answer,
    pub(crate) time_spent_seconds: Option<i32>,
}

/// What an answer led to.
#[derive(Debug)]
pub(crate) struct AdaptiveStepped {
    pub(crate) theta: f64,
    pub(crate) se: f64,
    pub(crate) items_administered: usize,
    /// The next question, while the test goes on.
    pub(crate) next_question: Option<Question>,
    /// The stored result and the engine's view of it, once the test is over.
    pub(crate) finished: Option<Finished>,
}

/// A finished adaptive test.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) result: TestResult,
    pub(crate) stopping_reason: &'static str,
    /// Per response, the question's `source_model` and whether it was right.
    pub(crate) models: Vec<(Option<String>, bool)>,
    pub(crate) population: Option<serde_json::Value>,
}

/// `/test/progress` of a session.
#[derive(Debug)]
pub(crate) struct AdaptiveProgress {
    pub(crate) session_id: SessionId,
    pub(crate) items_administered: usize,
    pub(crate) total_items_max: usize,
    pub(crate) estimated_items_remaining: usize,
    /// Items per domain, all six domains in display order.
    pub(crate) domain_coverage: [(Domain, usize); 6],
    pub(crate) total_domains_covered: usize,
    pub(crate) elapsed_seconds: i64,
    pub(crate) current_se: f64,
}

/// Starts an adaptive test: the same start rules as a fixed form, then the first item at the
/// prior θ (the latest completed adaptive session's final θ, else 0).
pub(crate) async fn start_adaptive_test(
    state: &AppState,
    user: &User,
) -> Result<StartedAdaptive, AssessmentError> {
    let now = crate::time::now();
    check_can_start(state, user, now).await?;
    let (prior, pool) = tokio::join!(
        state.storage.adaptive_prior(user.id),
        state.storage.adaptive_pool(user.id)
    );
    let prior = prior?.unwrap_or(0.0);
    let (session, first) = CatSession::start(prior, &pool?, &HashSet::new(), &mut fresh_rng())
        .map_err(|err| match err {
            CatError::EmptyPool => AssessmentError::PoolExhausted,
            other => AssessmentError::Engine(other),
        })?;
    let stored = state
        .storage
        .start_adaptive_session(
            NewSession {
                user_id: user.id,
                started_at: now,
                question_ids: vec![first.id],
                composition_metadata: serde_json::json!({"adaptive": true}),
                is_adaptive: true,
                record_seen: true,
            },
            to_json(&session)?,
        )
        .await
        .map_err(|err| match err {
            StorageError::Conflict(Conflict::ActiveSession | Conflict::QuestionSeen) => {
                AssessmentError::StartRace
            }
            other => other.into(),
        })?;
    record_start(Taker::User(user.id), 1);
    let question = question(state, first.id).await?;
    Ok(StartedAdaptive {
        session: stored,
        question,
        prior_theta: session.prior_theta,
        se: session.se,
    })
}

/// The session (owned, in progress, adaptive) and its engine state, checked in §2.4's order.
async fn adaptive_session(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<(TestSession, CatSession, u32), AssessmentError> {
    let session = owned_session(state, user, id).await?;
    if session.status != SessionStatus::InProgress {
        return Err(AssessmentError::NotInProgress(session.status));
    }
    // Fixed-form sessions marked adaptive by `cat_readiness` have no engine state: they are
    // answered with /test/submit.
    let Some(AdaptiveState { state: json, items }) = state.storage.adaptive_state(id).await? else {
        return Err(AssessmentError::NotAdaptive);
    };
    let cat: CatSession = serde_json::from_value(json).map_err(|err| {
        StorageError::Backend(format!("session {id}: unreadable adaptive state: {err}").into())
    })?;
    Ok((session, cat, items))
}

/// Answers the item an adaptive session is waiting for (§2.4 `/test/next`, §3.4).
pub(crate) async fn answer_adaptive(
    state: &AppState,
    user: &User,
    request: AdaptiveAnswer,
) -> Result<AdaptiveStepped, AssessmentError> {
    let (session, mut cat, items) = adaptive_session(state, user, request.session_id).await?;
    if request.answer.as_str().is_empty() {
        return Err(AssessmentError::EmptyAnswer);
    }
    let id = request.question_id;
    if cat.administered.iter().any(|item| item.id == id) {
        return Err(AssessmentError::AlreadyAnswered(id));
    }
    if cat.pending.is_none_or(|pending| pending.id != id) {
        return Err(AssessmentError::NotServed(id));
    }
    let answered = question(state, id).await?;
    let correct = answered.content.is_correct(request.answer.as_str());
    let pool = state.storage.adaptive_pool(user.id).await?;
    let outcome = cat
        .step(
            Response {
                item_id: id,
                correct,
            },
            &pool,
            &HashSet::new(),
            &mut fresh_rng(),
        )
        .map_err(|err| match err {
            // Checked above; only a state changed under us gets here.
            CatError::UnexpectedItem { .. } | CatError::NoPendingItem => {
                AssessmentError::NotServed(id)
            }
            CatError::SessionFinished => AssessmentError::AlreadyAnswered(id),
            // Bad item parameters or an unusable pool are not the client's doing.
            other => AssessmentError::Engine(other),
        })?;
    let now = crate::time::now();
    let step = AdaptiveStep {
        session_id: session.id,
        expected_items: items,
        response: NewResponse {
            question_id: id,
            user_answer: request.answer.into_string(),
            is_correct: correct,
            time_spent_seconds: request.time_spent_seconds,
        },
        answered_at: now,
        state: to_json(&cat)?,
        theta_history: cat.theta_history.clone(),
        next_question: match &outcome {
            StepOutcome::NextItem(item) => Some(item.id),
            StepOutcome::Finished(_) => None,
        },
    };
    let conflict = |err: StorageError| match err {
        StorageError::Conflict(_) => AssessmentError::AlreadyAnswered(id),
        other => other.into(),
    };
    let mut stepped = AdaptiveStepped {
        theta: cat.theta,
        se: cat.se,
        items_administered: cat.administered.len(),
        next_question: None,
        finished: None,
    };
    match outcome {
        StepOutcome::NextItem(item) => {
            state
                .storage
                .record_adaptive_step(step)
                .await
                .map_err(conflict)?;
            metrics::counter!(telemetry::QUESTIONS_SERVED).increment(1);
            stepped.next_question = Some(question(state, item.id).await?);
        }
        StepOutcome::Finished(result) => {
            let elapsed = (now - session.started_at).whole_seconds().max(0);
            let completion = completion(&result, i32::try_from(elapsed).ok());
            let (population, stored) = tokio::join!(
                population(state),
                state.storage.finish_adaptive_session(step, completion)
            );
            let (_, stored) = stored.map_err(conflict)?;
            metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).decrement(1.0);
            metrics::counter!(telemetry::TEST_SESSIONS_COMPLETED, "test.kind" => "user")
                .increment(1);
            metrics::histogram!(telemetry::TEST_IQ_SCORE).record(f64::from(result.iq));
            state.statistics.refresh(
                state,
                cat.administered
                    .iter()
                    .map(|item| item.id)
                    .collect::<Vec<_>>(),
            );
            let models = state
                .storage
                .session_responses(session.id)
                .await?
                .into_iter()
                .map(|r| (r.source_model, r.is_correct))
                .collect();
            stepped.finished = Some(Finished {
                result: stored,
                stopping_reason: result.stopping_reason.as_str(),
                models,
                population,
            });
        }
    }
    Ok(stepped)
}

/// Where an adaptive session stands (§2.4 `/test/progress`); θ itself is not exposed.
pub(crate) async fn adaptive_progress(
    state: &AppState,
    user: &User,
    id: SessionId,
) -> Result<AdaptiveProgress, AssessmentError> {
    let (session, cat, _) = adaptive_session(state, user, id).await?;
    let items = cat.administered.len();
    let domain_coverage = Domain::ALL.map(|domain| {
        let n = cat
            .administered
            .iter()
            .filter(|item| item.domain == domain)
            .count();
        (domain, n)
    });
    Ok(AdaptiveProgress {
        session_id: session.id,
        items_administered: items,
        total_items_max: MAX_ITEMS,
        estimated_items_remaining: MAX_ITEMS.saturating_sub(items),
        total_domains_covered: domain_coverage.iter().filter(|(_, n)| *n > 0).count(),
        domain_coverage,
        elapsed_seconds: (crate::time::now() - session.started_at)
            .whole_seconds()
            .max(0),
        current_se: cat.se,
    })
}

/// The stored form of a finished test (§3.4 "Finalize"): IRT scoring, the interval always
/// present, no time or validity analysis.
fn completion(result: &CatResult, completion_time_seconds: Option<i32>) -> AdaptiveCompletion {
    let ci = &result.confidence_interval;
    AdaptiveCompletion {
        theta: result.theta,
        theta_se: result.theta_se,
        stopping_reason: result.stopping_reason.as_str().to_owned(),
        result: NewResult {
            iq_score: result.iq,
            percentile_rank: Some(result.percentile),
            total_questions: i32::try_from(result.total_questions).unwrap_or(i32::MAX),
            correct_answers: i32::try_from(result.correct_answers).unwrap_or(i32::MAX),
            completion_time_seconds,
            standard_error: Some(ci.standard_error),
            ci_lower: Some(ci.lower),
            ci_upper: Some(ci.upper),
            response_time_flags: None,
            validity_status: "valid".to_owned(),
            validity_flags: None,
            domain_scores: serde_json::to_value(&result.domain_scores).ok(),
            scoring_method: ScoringMethod::Irt.as_str().to_owned(),
        },
    }
}

async fn question(state: &AppState, id: QuestionId) -> Result<Question, AssessmentError> {
    state
        .storage
        .questions_by_ids(&[id])
        .await?
        .into_iter()
        .next()
        .ok_or(AssessmentError::QuestionNotFound(id))
}

fn to_json(session: &CatSession) -> Result<serde_json::Value, StorageError> {
    serde_json::to_value(session).map_err(|err| StorageError::Backend(Box::new(err)))
}
