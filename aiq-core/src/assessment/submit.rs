//! Submitting a fixed-form test: validation in the old backend's order, scoring, and one atomic
//! write of responses, completion and result. Item statistics are refreshed afterwards, off the
//! request's path.

use std::collections::{HashMap, HashSet};

use super::{AssessmentError, Taker};
use crate::input::Answer;
use crate::questions::Domain;
use crate::scoring::{
    ScoredItem, ScoringMethod, ctt_iq, domain_scores, percentile, response_time_flags,
    validity_analysis, weighted_iq,
};
use crate::state::AppState;
use crate::storage::{
    Completion, Conflict, DOMAIN_POPULATION_STATS, DOMAIN_WEIGHTS, NewResponse, NewResult,
    QuestionId, SessionStatus, StorageError, TestResult, TestSession, USE_WEIGHTED_SCORING,
};
use crate::telemetry;

/// One answer of a submission.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    pub(crate) question_id: QuestionId,
    pub(crate) answer: Answer,
    pub(crate) time_spent_seconds: Option<i32>,
}

/// A scored, stored submission.
#[derive(Debug)]
pub(crate) struct Submitted {
    pub(crate) session: TestSession,
    pub(crate) result: TestResult,
    pub(crate) responses_count: usize,
    /// Per response, the question's `source_model` and whether it was right.
    pub(crate) models: Vec<(Option<String>, bool)>,
    /// `system_config.domain_population_stats` as read before the submission was stored.
    pub(crate) population: Option<serde_json::Value>,
}

/// Scores and stores `answers` for `session`, whose owner the caller has checked.
/// `allowed` are the questions that belong to it (§2.4: for users, those shown since it started;
/// for guests, those in the token).
pub(crate) async fn submit_test(
    state: &AppState,
    taker: Taker,
    session: TestSession,
    answers: Vec<Answered>,
    time_limit_exceeded: bool,
    allowed: &[QuestionId],
) -> Result<Submitted, AssessmentError> {
    if session.status != SessionStatus::InProgress {
        return Err(AssessmentError::NotInProgress(session.status));
    }
    if answers.is_empty() {
        return Err(AssessmentError::EmptyResponses);
    }
    let allowed: HashSet<QuestionId> = allowed.iter().copied().collect();
    let mut foreign: Vec<QuestionId> = answers
        .iter()
        .map(|a| a.question_id)
        .filter(|id| !allowed.contains(id))
        .collect();
    if !foreign.is_empty() {
        foreign.sort_unstable();
        foreign.dedup();
        return Err(AssessmentError::ForeignQuestions(foreign));
    }
    if let Some(blank) = answers.iter().find(|a| a.answer.as_str().is_empty()) {
        return Err(AssessmentError::BlankAnswer(blank.question_id));
    }
    let ids: Vec<QuestionId> = answers.iter().map(|a| a.question_id).collect();
    let questions: HashMap<QuestionId, _> = state
        .storage
        .questions_by_ids(&ids)
        .await?
        .into_iter()
        .map(|q| (q.id, q))
        .collect();
    if let Some(missing) = ids.iter().find(|id| !questions.contains_key(id)) {
        return Err(AssessmentError::QuestionNotFound(*missing));
    }
    if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
        return Err(AssessmentError::DuplicateResponse);
    }

    let now = crate::time::now();
    let elapsed = (now - session.started_at).whole_seconds().max(0);
    let time_limit = i64::from(state.config.test_rules.time_limit_minutes) * 60;
    let mut responses = Vec::with_capacity(answers.len());
    let mut items = Vec::with_capacity(answers.len());
    for answered in answers {
        let question = &questions[&answered.question_id];
        let is_correct = question.content.is_correct(answered.answer.as_str());
        items.push(ScoredItem {
            domain: question.domain(),
            difficulty: question.difficulty(),
            is_correct,
            time_spent_seconds: answered.time_spent_seconds,
            source_model: question.content.source_model.clone(),
            empirical_difficulty: question.empirical_difficulty,
        });
        responses.push(NewResponse {
            question_id: answered.question_id,
            user_answer: answered.answer.into_string(),
            is_correct,
            time_spent_seconds: answered.time_spent_seconds,
        });
    }
    // The switches scoring and the answer read, in parallel and before anything is written.
    let (weights, population) = tokio::join!(weights(state), population(state));
    let result = score(state, &items, weights?, i32::try_from(elapsed).ok());
    let iq = result.iq_score;
    let completion = Completion {
        session_id: session.id,
        completed_at: now,
        time_limit_exceeded: time_limit_exceeded || elapsed > time_limit,
        responses,
        result,
    };
    let (session, result) = state
        .storage
        .complete_session(completion)
        .await
        .map_err(|err| match err {
            StorageError::Conflict(Conflict::Response | Conflict::SessionNotInProgress) => {
                AssessmentError::DuplicateResponse
            }
            other => other.into(),
        })?;

    metrics::gauge!(telemetry::TEST_SESSIONS_ACTIVE).decrement(1.0);
    metrics::counter!(telemetry::TEST_SESSIONS_COMPLETED, "test.kind" => taker.kind()).increment(1);
    metrics::histogram!(telemetry::TEST_IQ_SCORE).record(f64::from(iq));
    state.statistics.refresh(state, ids);
    Ok(Submitted {
        session,
        responses_count: items.len(),
        models: items
            .into_iter()
            .map(|item| (item.source_model, item.is_correct))
            .collect(),
        population,
        result,
    })
}

/// Scores a submission (§3.5-§3.8): CTT or, when switched on in `system_config`, the weighted
/// variant; percentile; domain scores; response-time flags; validity; and the confidence interval
/// once the cached reliability allows one.
fn score(
    state: &AppState,
    items: &[ScoredItem],
    weights: Option<HashMap<Domain, f64>>,
    completion_time_seconds: Option<i32>,
) -> NewResult {
    let total = items.len();
    let correct = items.iter().filter(|item| item.is_correct).count();
    let domain_scores = domain_scores(items);
    let iq = match weights {
        Some(weights) => weighted_iq(&domain_scores, &weights),
        None => ctt_iq(correct, total),
    };
    let interval = state.reliability.confidence_interval(state, iq);
    let validity = validity_analysis(items, completion_time_seconds.map(i64::from));
    let flags = validity
        .stored_flags()
        .and_then(|flags| serde_json::to_value(flags).ok());

    NewResult {
        iq_score: iq,
        percentile_rank: Some(percentile(iq)),
        total_questions: i32::try_from(total).unwrap_or(i32::MAX),
        correct_answers: i32::try_from(correct).unwrap_or(i32::MAX),
        completion_time_seconds,
        standard_error: interval.as_ref().map(|ci| ci.standard_error),
        ci_lower: interval.as_ref().map(|ci| ci.lower),
        ci_upper: interval.as_ref().map(|ci| ci.upper),
        response_time_flags: serde_json::to_value(response_time_flags(items)).ok(),
        validity_status: validity.status.as_str().to_owned(),
        validity_flags: flags,
        domain_scores: serde_json::to_value(&domain_scores).ok(),
        scoring_method: ScoringMethod::Ctt.as_str().to_owned(),
    }
}

/// `system_config.domain_population_stats`, for domain percentiles in the answer; a failed read
/// costs the percentiles, never the submission.
pub(super) async fn population(state: &AppState) -> Option<serde_json::Value> {
    state
        .storage
        .system_config(DOMAIN_POPULATION_STATS)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "domain population statistics unavailable");
            None
        })
}

/// The domain weights, when weighted scoring is switched on and weights are set.
async fn weights(state: &AppState) -> Result<Option<HashMap<Domain, f64>>, StorageError> {
    let enabled = state
        .storage
        .system_config(USE_WEIGHTED_SCORING)
        .await?
        .and_then(|value| value.get("enabled").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    if !enabled {
        return Ok(None);
    }
    let Some(value) = state.storage.system_config(DOMAIN_WEIGHTS).await? else {
        return Ok(None);
    };
    // Keys that name no domain are ignored (and said), so one stray key does not switch the
    // weighted score off.
    match serde_json::from_value::<HashMap<String, f64>>(value) {
        Ok(weights) => Ok(Some(
            weights
                .into_iter()
                .filter_map(|(key, weight)| match Domain::parse(&key) {
                    Some(domain) => Some((domain, weight)),
                    None => {
                        tracing::warn!(key, "system_config.domain_weights: not a domain, ignored");
                        None
                    }
                })
                .collect(),
        )),
        Err(error) => {
            tracing::warn!(%error, "system_config.domain_weights is not an object of numbers");
            Ok(None)
        }
    }
}
