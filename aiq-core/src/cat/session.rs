//! An adaptive session as a storable value, and the step the `/test/next` endpoint takes.

use std::collections::HashSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::CatError;
use super::eap::{Prior, eap};
use super::irt::ItemParams;
use super::select::{PoolItem, select_next_item};
use super::stopping::{StopDecision, StopReason, check_stopping};
use crate::questions::{Difficulty, Domain};
use crate::scoring::{
    ConfidenceInterval, DomainScores, ScoredItem, confidence_interval_from_se, domain_scores,
    percentile, strongest_weakest,
};

/// An item given and answered in an adaptive session.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdministeredItem {
    /// The question id.
    pub id: i64,
    /// Its domain.
    pub domain: Domain,
    /// Its intended difficulty.
    pub difficulty: Difficulty,
    /// The parameters it was scored with.
    pub params: ItemParams,
    /// Whether the answer was correct.
    pub correct: bool,
}

/// The answer to the item the session is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The question answered.
    pub item_id: i64,
    /// Whether the answer was correct.
    pub correct: bool,
}

/// The whole state of an adaptive session, serialisable as JSON: whoever loads it (after a
/// restart, on another instance) continues with [`CatSession::step`] exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatSession {
    /// The starting θ (the last completed adaptive session's `final_theta`, else 0); it only
    /// picks the first item. Estimates always use the N(0, 1) prior.
    pub prior_theta: f64,
    /// The answered items, in order.
    pub administered: Vec<AdministeredItem>,
    /// The item served and not yet answered.
    pub pending: Option<PoolItem>,
    /// The current θ estimate.
    pub theta: f64,
    /// Its standard error.
    pub se: f64,
    /// θ after each response, oldest first (`test_sessions.theta_history`).
    pub theta_history: Vec<f64>,
    /// Set once the session has ended.
    pub stopping_reason: Option<StopReason>,
}

/// What a step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Serve this item next (it is now the session's pending item).
    NextItem(PoolItem),
    /// The test is over.
    Finished(Box<CatResult>),
}

/// A finished adaptive test's result (spec §3.4 "Finalize"), with domain scores in the fixed
/// form's shape (DECISIONS.md, "Adaptive tests").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatResult {
    /// `clamp(round_half_even(100 + 15θ), 40, 160)`.
    pub iq: i32,
    /// `round(Φ((iq − 100)/15) × 100, 1)`.
    pub percentile: f64,
    /// The final θ (`theta_estimate`, `final_theta`).
    pub theta: f64,
    /// Its standard error (`theta_se`, `final_se`).
    pub theta_se: f64,
    /// The 95 % interval from the unrounded `15 · θ_SE`; always present for adaptive tests.
    pub confidence_interval: ConfidenceInterval,
    /// Per-domain `{correct, total, pct}` for all six domains.
    pub domain_scores: DomainScores,
    /// The domain with the highest `pct`.
    pub strongest_domain: Option<Domain>,
    /// The domain with the lowest `pct`.
    pub weakest_domain: Option<Domain>,
    /// Items administered (`total_questions`).
    pub total_questions: usize,
    /// Correct answers.
    pub correct_answers: usize,
    /// Why the test ended.
    pub stopping_reason: StopReason,
}

/// The IQ of an ability: `clamp(round_half_even(100 + 15θ), 40, 160)`; a non-finite θ reads as
/// 0 (IQ 100).
///
/// ```
/// use aiq_core::cat::iq_from_theta;
/// assert_eq!(iq_from_theta(1.0), 115);
/// assert_eq!(iq_from_theta(0.5 / 15.0), 100); // 100.5 rounds to even
/// assert_eq!(iq_from_theta(9.0), 160);
/// assert_eq!(iq_from_theta(f64::NAN), 100);
/// ```
pub fn iq_from_theta(theta: f64) -> i32 {
    let theta = if theta.is_finite() { theta } else { 0.0 };
    (100.0 + 15.0 * theta).round_ties_even().clamp(40.0, 160.0) as i32
}

impl CatSession {
    /// Starts a session: picks the first item at `prior_theta` (non-finite reads as 0).
    /// The state's θ and SE start at the N(0, 1) prior.
    ///
    /// Fails with [`CatError::EmptyPool`] when no item is eligible.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use rand::SeedableRng;
    /// use aiq_core::cat::{CatSession, ItemParams, PoolItem, Response, StepOutcome};
    /// use aiq_core::questions::{Difficulty, Domain};
    ///
    /// let pool: Vec<PoolItem> = (0..120)
    ///     .map(|i| PoolItem {
    ///         id: i,
    ///         domain: Domain::ALL[i as usize % 6],
    ///         difficulty: Difficulty::Medium,
    ///         params: ItemParams { a: 1.2, b: (i as f64 - 60.0) / 20.0 },
    ///     })
    ///     .collect();
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    /// let seen = HashSet::new();
    /// let (mut session, mut item) = CatSession::start(0.0, &pool, &seen, &mut rng).unwrap();
    /// let result = loop {
    ///     // Store the state as JSON and load it again, as the endpoint does between calls.
    ///     let json = serde_json::to_string(&session).unwrap();
    ///     session = serde_json::from_str(&json).unwrap();
    ///     let response = Response { item_id: item.id, correct: item.params.b < 0.5 };
    ///     match session.step(response, &pool, &seen, &mut rng).unwrap() {
    ///         StepOutcome::NextItem(next) => item = next,
    ///         StepOutcome::Finished(result) => break result,
    ///     }
    /// };
    /// assert!((8..=15).contains(&result.total_questions));
    /// assert!(result.iq > 100);
    /// ```
    pub fn start<R: Rng + ?Sized>(
        prior_theta: f64,
        pool: &[PoolItem],
        seen: &HashSet<i64>,
        rng: &mut R,
    ) -> Result<(Self, PoolItem), CatError> {
        let prior_theta = if prior_theta.is_finite() {
            prior_theta
        } else {
            0.0
        };
        let first =
            *select_next_item(pool, prior_theta, &[], seen, rng).ok_or(CatError::EmptyPool)?;
        let prior = Prior::default();
        let session = Self {
            prior_theta,
            administered: Vec::new(),
            pending: Some(first),
            theta: prior.mean,
            se: prior.sd,
            theta_history: Vec::new(),
            stopping_reason: None,
        };
        Ok((session, first))
    }

    /// Records the answer to the pending item, re-estimates θ (EAP, N(0, 1) prior), applies the
    /// stopping rules and either picks the next item from `pool` (never one administered or in
    /// `seen`) or finalises the result.
    ///
    /// Fails, leaving the state unchanged, when the session has already ended, nothing is
    /// pending, or the response is for another item.
    pub fn step<R: Rng + ?Sized>(
        &mut self,
        response: Response,
        pool: &[PoolItem],
        seen: &HashSet<i64>,
        rng: &mut R,
    ) -> Result<StepOutcome, CatError> {
        if self.stopping_reason.is_some() {
            return Err(CatError::SessionFinished);
        }
        let pending = self.pending.ok_or(CatError::NoPendingItem)?;
        if pending.id != response.item_id {
            return Err(CatError::UnexpectedItem {
                expected: pending.id,
                got: response.item_id,
            });
        }
        self.pending = None;
        self.administered.push(AdministeredItem {
            id: pending.id,
            domain: pending.domain,
            difficulty: pending.difficulty,
            params: pending.params,
            correct: response.correct,
        });
        let answers: Vec<(ItemParams, bool)> = self
            .administered
            .iter()
            .map(|i| (i.params, i.correct))
            .collect();
        let estimate = eap(&answers, Prior::default());
        self.theta = estimate.theta;
        self.se = estimate.se;
        self.theta_history.push(estimate.theta);

        let domains: Vec<Domain> = self.administered.iter().map(|i| i.domain).collect();
        if let StopDecision::Stop(reason) = check_stopping(&domains, &self.theta_history, self.se) {
            return Ok(StepOutcome::Finished(Box::new(self.finish(reason))));
        }
        match select_next_item(pool, self.theta, &self.administered, seen, rng) {
            Some(next) => {
                self.pending = Some(*next);
                Ok(StepOutcome::NextItem(*next))
            }
            None => Ok(StepOutcome::Finished(Box::new(
                self.finish(StopReason::ItemPoolExhausted),
            ))),
        }
    }

    /// Ends the session with `reason` and returns the result (also usable to end a session
    /// early, for example when an abandoned test is scored).
    pub fn finish(&mut self, reason: StopReason) -> CatResult {
        self.stopping_reason = Some(reason);
        self.pending = None;
        self.result(reason)
    }

    /// The result for the current state with `reason`, without changing the state.
    pub fn result(&self, reason: StopReason) -> CatResult {
        let iq = iq_from_theta(self.theta);
        let se_iq = 15.0 * self.se;
        let scored: Vec<ScoredItem> = self
            .administered
            .iter()
            .map(|i| ScoredItem::new(i.domain, i.difficulty, i.correct))
            .collect();
        let scores = domain_scores(&scored);
        let (strongest_domain, weakest_domain) = strongest_weakest(&scores);
        CatResult {
            iq,
            percentile: percentile(iq),
            theta: self.theta,
            theta_se: self.se,
            confidence_interval: confidence_interval_from_se(iq, se_iq),
            domain_scores: scores,
            strongest_domain,
            weakest_domain,
            total_questions: self.administered.len(),
            correct_answers: self.administered.iter().filter(|i| i.correct).count(),
            stopping_reason: reason,
        }
    }
}
