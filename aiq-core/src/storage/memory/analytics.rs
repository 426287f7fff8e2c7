//! `AnalyticsStore` in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::storage::StorageError;
use crate::storage::analytics::{
    AccuracyScope, AnalyticsStore, ClientEvent, Feedback, FeedbackId, LlmRun, ModelAccuracy,
    NewClientEvent, NewFeedback, NewLlmRun, QuestionStatistics,
};
use crate::storage::sessions::SessionStatus;
use crate::storage::users::UserId;

/// Events, feedback and benchmark runs.
#[derive(Debug, Default)]
pub(super) struct AnalyticsData {
    events: Vec<ClientEvent>,
    feedback: BTreeMap<FeedbackId, Feedback>,
    /// Benchmark runs by session id.
    llm_runs: BTreeMap<i64, NewLlmRun>,
}

impl AnalyticsData {
    /// Forgets who sent events and feedback, as the database's `ON DELETE SET NULL` does.
    pub(super) fn remove_user(&mut self, user: UserId) {
        for event in &mut self.events {
            if event.event.user_id == Some(user) {
                event.event.user_id = None;
            }
        }
        for feedback in self.feedback.values_mut() {
            if feedback.feedback.user_id == Some(user) {
                feedback.feedback.user_id = None;
            }
        }
    }
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn insert_client_events(&self, events: &[NewClientEvent]) -> Result<u64, StorageError> {
        let mut state = self.state();
        let analytics = &mut state.analytics;
        for event in events {
            let id = analytics.events.len() as i64 + 1;
            analytics.events.push(ClientEvent {
                id,
                event: event.clone(),
            });
        }
        Ok(events.len() as u64)
    }

    async fn recent_client_events(&self, limit: usize) -> Result<Vec<ClientEvent>, StorageError> {
        let state = self.state();
        Ok(state
            .analytics
            .events
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn create_feedback(&self, feedback: NewFeedback) -> Result<Feedback, StorageError> {
        let mut state = self.state();
        let stored = &mut state.analytics.feedback;
        let id = stored.keys().next_back().map_or(1, |last| last + 1);
        let feedback = Feedback {
            id,
            status: "pending".to_owned(),
            feedback,
        };
        stored.insert(id, feedback.clone());
        Ok(feedback)
    }

    async fn feedback(&self, id: FeedbackId) -> Result<Option<Feedback>, StorageError> {
        Ok(self.state().analytics.feedback.get(&id).cloned())
    }

    async fn model_accuracy(
        &self,
        scope: AccuracyScope,
    ) -> Result<Vec<ModelAccuracy>, StorageError> {
        let state = self.state();
        let tests = &state.tests;
        let mut counts: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
        for (session_id, responses) in &tests.responses {
            let Some(session) = tests.sessions.get(session_id) else {
                continue;
            };
            let counted = match scope {
                AccuracyScope::User(user) => {
                    session.user_id == user && session.status == SessionStatus::Completed
                }
                AccuracyScope::Session(id) => session.id == id,
            };
            if !counted {
                continue;
            }
            for response in responses {
                let Some(question) = state.bank.questions.get(&response.question_id) else {
                    continue;
                };
                let Some(vendor) = question.content.source_llm.clone() else {
                    continue;
                };
                let entry = counts
                    .entry((vendor, question.content.source_model.clone()))
                    .or_default();
                entry.0 += u64::from(response.is_correct);
                entry.1 += 1;
            }
        }
        Ok(counts
            .into_iter()
            .map(|((vendor, model), (correct, total))| ModelAccuracy {
                vendor,
                model,
                correct,
                total,
            })
            .collect())
    }

    async fn record_llm_run(&self, run: NewLlmRun) -> Result<i64, StorageError> {
        let mut state = self.state();
        let runs = &mut state.analytics.llm_runs;
        let id = runs.keys().next_back().map_or(1, |last| last + 1);
        runs.insert(id, run);
        Ok(id)
    }

    async fn llm_runs(&self) -> Result<Vec<LlmRun>, StorageError> {
        let state = self.state();
        Ok(state
            .analytics
            .llm_runs
            .values()
            .filter(|run| {
                run.status == "completed"
                    && !run
                        .response_errors
                        .iter()
                        .any(|error| error.as_deref().is_some_and(|e| !e.is_empty()))
            })
            .filter_map(|run| {
                Some(LlmRun {
                    vendor: run.vendor.clone(),
                    model_id: run.model_id.clone(),
                    iq_score: run.iq_score?,
                    total_questions: run.total_questions,
                    correct_answers: run.correct_answers,
                    domain_scores: run.domain_scores.clone(),
                })
            })
            .collect())
    }

    async fn question_statistics(
        &self,
        min_responses: i32,
    ) -> Result<Vec<QuestionStatistics>, StorageError> {
        let state = self.state();
        let mut list: Vec<QuestionStatistics> = state
            .bank
            .questions
            .values()
            .filter(|q| q.response_count >= min_responses)
            .map(|q| QuestionStatistics {
                question_id: q.id,
                question_type: q.domain(),
                difficulty_level: q.difficulty(),
                is_active: q.is_active,
                empirical_difficulty: q.empirical_difficulty,
                discrimination: q.discrimination,
                response_count: q.response_count,
            })
            .collect();
        list.sort_by(|a, b| {
            b.response_count
                .cmp(&a.response_count)
                .then(a.question_id.cmp(&b.question_id))
        });
        Ok(list)
    }
}
