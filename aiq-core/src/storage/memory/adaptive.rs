//! `AdaptiveStore` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use super::sessions::{Seen, TestData};
use crate::cat::PoolItem;
use crate::storage::adaptive::{
    AdaptiveCompletion, AdaptiveState, AdaptiveStep, AdaptiveStore, pool_params,
};
use crate::storage::questions::{QualityFlag, Question};
use crate::storage::sessions::{
    NewSession, SessionId, SessionStatus, StoredResponse, TestResult, TestSession,
};
use crate::storage::users::UserId;
use crate::storage::{Conflict, StorageError};

/// An adaptive session's stored state and, once finished, its final θ (what the trait reads
/// back; θ history, final SE and stopping reason are kept only by PostgreSQL, for analysis).
#[derive(Debug, Clone, Default)]
pub(super) struct AdaptiveRow {
    state: serde_json::Value,
    items: u32,
    final_theta: Option<f64>,
}

impl TestData {
    /// Checks and applies one adaptive step; the caller holds the lock, so it is atomic.
    fn apply_step(
        &mut self,
        step: AdaptiveStep,
        source_model: Option<String>,
    ) -> Result<TestSession, StorageError> {
        let Some(session) = self.sessions.get(&step.session_id).cloned() else {
            return Err(StorageError::Conflict(Conflict::SessionNotInProgress));
        };
        if session.status != SessionStatus::InProgress {
            return Err(StorageError::Conflict(Conflict::SessionNotInProgress));
        }
        let row = self
            .adaptive
            .get(&session.id)
            .ok_or(StorageError::Conflict(Conflict::SessionNotInProgress))?;
        let answered = self
            .responses
            .get(&session.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if row.items != step.expected_items
            || answered
                .iter()
                .any(|r| r.question_id == step.response.question_id)
        {
            return Err(StorageError::Conflict(Conflict::Response));
        }
        if let Some(next) = step.next_question {
            if self
                .seen
                .get(&session.user_id)
                .is_some_and(|seen| seen.contains_key(&next))
            {
                return Err(StorageError::Conflict(Conflict::QuestionSeen));
            }
            self.seen.entry(session.user_id).or_default().insert(
                next,
                Seen {
                    at: step.answered_at,
                },
            );
            self.served.entry(session.id).or_default().push(next);
        }
        self.answered_in
            .entry(step.response.question_id)
            .or_default()
            .push(session.id);
        self.responses
            .entry(session.id)
            .or_default()
            .push(StoredResponse {
                question_id: step.response.question_id,
                user_answer: step.response.user_answer,
                is_correct: step.response.is_correct,
                answered_at: step.answered_at,
                time_spent_seconds: step.response.time_spent_seconds,
                source_model,
            });
        let row = self.adaptive.entry(session.id).or_default();
        row.state = step.state;
        row.items += 1;
        Ok(session)
    }
}

#[async_trait]
impl AdaptiveStore for MemoryStore {
    async fn adaptive_pool(&self, user: UserId) -> Result<Vec<PoolItem>, StorageError> {
        let state = self.state();
        let seen = state.tests.seen.get(&user);
        Ok(state
            .bank
            .questions
            .values()
            .filter(|q| {
                q.is_active
                    && q.quality_flag == QualityFlag::Normal
                    && seen.is_none_or(|seen| !seen.contains_key(&q.id))
            })
            .filter_map(|q| {
                Some(PoolItem {
                    id: q.id,
                    domain: q.domain(),
                    difficulty: q.difficulty(),
                    params: pool_params(q.irt_discrimination, q.irt_difficulty, q.difficulty())?,
                })
            })
            .collect())
    }

    async fn adaptive_prior(&self, user: UserId) -> Result<Option<f64>, StorageError> {
        let state = self.state();
        let tests = &state.tests;
        Ok(tests
            .sessions
            .values()
            .filter(|s| s.user_id == user && s.status == SessionStatus::Completed && s.is_adaptive)
            .filter_map(|s| {
                let theta = tests.adaptive.get(&s.id)?.final_theta?;
                Some((s.completed_at, s.id, theta))
            })
            .max_by_key(|(at, id, _)| (*at, *id))
            .map(|(_, _, theta)| theta))
    }

    async fn start_adaptive_session(
        &self,
        new: NewSession,
        cat_state: serde_json::Value,
    ) -> Result<TestSession, StorageError> {
        let mut state = self.state();
        let session = state.tests.start(new)?;
        state.tests.adaptive.insert(
            session.id,
            AdaptiveRow {
                state: cat_state,
                ..AdaptiveRow::default()
            },
        );
        Ok(session)
    }

    async fn adaptive_state(&self, id: SessionId) -> Result<Option<AdaptiveState>, StorageError> {
        let state = self.state();
        let tests = &state.tests;
        Ok(tests
            .sessions
            .get(&id)
            .filter(|s| s.is_adaptive)
            .and_then(|s| tests.adaptive.get(&s.id))
            .map(|row| AdaptiveState {
                state: row.state.clone(),
                items: row.items,
            }))
    }

    async fn record_adaptive_step(&self, step: AdaptiveStep) -> Result<(), StorageError> {
        let mut state = self.state();
        let source = source_model(&state.bank.questions, step.response.question_id);
        state.tests.apply_step(step, source).map(drop)
    }

    async fn finish_adaptive_session(
        &self,
        step: AdaptiveStep,
        completion: AdaptiveCompletion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        let mut state = self.state();
        let source = source_model(&state.bank.questions, step.response.question_id);
        let at = step.answered_at;
        let tests = &mut state.tests;
        let session = tests.apply_step(step, source)?;
        let row = tests.adaptive.entry(session.id).or_default();
        row.final_theta = Some(completion.theta);
        let stored = tests
            .sessions
            .get_mut(&session.id)
            .ok_or(StorageError::Conflict(Conflict::SessionNotInProgress))?;
        stored.status = SessionStatus::Completed;
        stored.completed_at = Some(at);
        let session = stored.clone();
        tests.next_result_id += 1;
        let result = TestResult {
            id: tests.next_result_id,
            test_session_id: session.id,
            user_id: session.user_id,
            completed_at: at,
            validity_checked_at: Some(at),
            scores: completion.result,
        };
        tests.result_by_session.insert(session.id, result.id);
        tests.results.insert(result.id, result.clone());
        Ok((session, result))
    }
}

fn source_model(questions: &std::collections::BTreeMap<i64, Question>, id: i64) -> Option<String> {
    questions
        .get(&id)
        .and_then(|q| q.content.source_model.clone())
}
