//! `CalibrationStore` in memory.

use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::cat::{CalibratedItem, ItemResponse};
use crate::storage::StorageError;
use crate::storage::calibration::{CalibrationRun, CalibrationStatus, CalibrationStore};
use crate::storage::sessions::{SessionId, SessionStatus, StoredResponse};

impl State {
    /// Responses of completed fixed-form sessions, with their session.
    fn calibration_input(&self) -> impl Iterator<Item = (i64, &StoredResponse)> {
        self.tests
            .sessions
            .values()
            .filter(|s| s.status == SessionStatus::Completed && !s.is_adaptive)
            .flat_map(|s| {
                self.tests
                    .responses
                    .get(&s.id)
                    .into_iter()
                    .flatten()
                    .map(move |r| (s.id, r))
            })
    }
}

#[async_trait]
impl CalibrationStore for MemoryStore {
    async fn calibration_responses(
        &self,
        before: Option<SessionId>,
        sessions: u32,
    ) -> Result<Vec<ItemResponse>, StorageError> {
        let state = self.state();
        let mut page = Vec::new();
        let chosen = state
            .tests
            .sessions
            .range(..before.unwrap_or(SessionId::MAX))
            .rev()
            .map(|(_, s)| s)
            .filter(|s| s.status == SessionStatus::Completed && !s.is_adaptive)
            .filter_map(|s| {
                let responses = state.tests.responses.get(&s.id)?;
                (!responses.is_empty()).then_some((s.id, responses))
            })
            .take(sessions as usize);
        for (person, responses) in chosen {
            let mut answers: Vec<&StoredResponse> = responses.iter().collect();
            answers.sort_by_key(|r| r.question_id);
            page.extend(answers.into_iter().map(|r| ItemResponse {
                person,
                item: r.question_id,
                correct: r.is_correct,
            }));
        }
        Ok(page)
    }

    async fn new_calibration_responses(&self) -> Result<u64, StorageError> {
        let state = self.state();
        let since = state
            .calibration_runs
            .iter()
            .filter(|run| run.status == CalibrationStatus::Completed)
            .map(|run| run.finished_at)
            .max();
        Ok(state
            .calibration_input()
            .filter(|(_, r)| since.is_none_or(|since| r.answered_at >= since))
            .count() as u64)
    }

    async fn publish_calibration(
        &self,
        items: &[CalibratedItem],
        run: &CalibrationRun,
    ) -> Result<(), StorageError> {
        let mut state = self.state();
        for item in items {
            if let Some(question) = state.bank.questions.get_mut(&item.id) {
                question.irt_discrimination = Some(item.a);
                question.irt_difficulty = Some(item.b);
            }
        }
        state.calibration_runs.push(run.clone());
        Ok(())
    }

    async fn record_calibration_run(&self, run: &CalibrationRun) -> Result<(), StorageError> {
        self.state().calibration_runs.push(run.clone());
        Ok(())
    }

    async fn calibration_runs(&self, limit: u32) -> Result<Vec<CalibrationRun>, StorageError> {
        let state = self.state();
        Ok(state
            .calibration_runs
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
