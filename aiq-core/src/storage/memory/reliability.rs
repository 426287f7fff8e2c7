//! The reliability aggregates, counted over the completed sessions in memory.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;

use super::MemoryStore;
use super::sessions::TestData;
use crate::storage::StorageError;
use crate::storage::questions::QuestionId;
use crate::storage::reliability::{ItemAppearances, ReliabilityStore, ScoreSums, SplitHalfSums};
use crate::storage::sessions::{SessionStatus, StoredResponse};

impl TestData {
    /// The responses of each of the latest `latest` completed sessions (an empty list for one
    /// without any), in the order answered.
    fn completed_answers(&self, latest: u64) -> impl Iterator<Item = &[StoredResponse]> {
        self.sessions
            .values()
            .rev()
            .filter(|s| s.status == SessionStatus::Completed)
            .take(usize::try_from(latest).unwrap_or(usize::MAX))
            .map(|s| self.responses.get(&s.id).map_or(&[][..], Vec::as_slice))
    }
}

#[async_trait]
impl ReliabilityStore for MemoryStore {
    async fn item_appearances(&self, latest: u64) -> Result<ItemAppearances, StorageError> {
        let state = self.state();
        let mut items: BTreeMap<QuestionId, u64> = BTreeMap::new();
        let mut sessions = 0;
        for answers in state.tests.completed_answers(latest) {
            sessions += 1;
            for response in answers {
                *items.entry(response.question_id).or_default() += 1;
            }
        }
        Ok(ItemAppearances {
            sessions,
            items: items.into_iter().collect(),
        })
    }

    async fn score_sums(
        &self,
        items: &[QuestionId],
        min_answered: u64,
        latest: u64,
    ) -> Result<ScoreSums, StorageError> {
        let items: HashSet<QuestionId> = items.iter().copied().collect();
        let state = self.state();
        let mut sums = ScoreSums::default();
        let mut correct: BTreeMap<QuestionId, u64> = BTreeMap::new();
        for answers in state.tests.completed_answers(latest) {
            let chosen: Vec<&StoredResponse> = answers
                .iter()
                .filter(|r| items.contains(&r.question_id))
                .collect();
            if chosen.is_empty() || (chosen.len() as u64) < min_answered {
                continue;
            }
            let score = chosen.iter().filter(|r| r.is_correct).count() as u64;
            sums.sessions += 1;
            sums.score_sum += score;
            sums.score_squares += score * score;
            for response in chosen.iter().filter(|r| r.is_correct) {
                *correct.entry(response.question_id).or_default() += 1;
            }
        }
        sums.correct = correct.into_iter().collect();
        Ok(sums)
    }

    async fn split_half_sums(&self, latest: u64) -> Result<SplitHalfSums, StorageError> {
        let state = self.state();
        let mut sums = SplitHalfSums::default();
        for answers in state.tests.completed_answers(latest) {
            sums.add(answers.iter().map(|r| r.is_correct));
        }
        Ok(sums)
    }
}
