//! `QuestionStore` in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::questions::NewQuestion;
use crate::scoring::ItemStatistics;
use crate::selection::Candidate;
use crate::storage::StorageError;
use crate::storage::questions::{
    QualityFlag, Question, QuestionId, QuestionStore, RefreshedQuestion, content_key,
};
use crate::storage::sessions::SessionStatus;
use crate::storage::users::UserId;

/// The stored questions.
#[derive(Debug, Default)]
pub(super) struct Bank {
    pub(super) questions: BTreeMap<QuestionId, Question>,
    keys: HashMap<String, QuestionId>,
    next_id: QuestionId,
}

impl Bank {
    /// Adds the rows whose content key is new.
    pub(super) fn import(&mut self, rows: &[NewQuestion], now: OffsetDateTime) -> Vec<bool> {
        rows.iter()
            .map(|row| {
                let key = content_key(row);
                if self.keys.contains_key(&key) {
                    return false;
                }
                self.next_id += 1;
                let id = self.next_id;
                self.keys.insert(key, id);
                self.questions.insert(
                    id,
                    Question {
                        id,
                        content: row.clone(),
                        is_active: true,
                        quality_flag: QualityFlag::Normal,
                        quality_flag_reason: None,
                        empirical_difficulty: None,
                        discrimination: None,
                        response_count: 0,
                        irt_difficulty: None,
                        irt_discrimination: None,
                        created_at: now,
                    },
                );
                true
            })
            .collect()
    }
}

#[async_trait]
impl QuestionStore for MemoryStore {
    async fn import_questions(&self, rows: &[NewQuestion]) -> Result<Vec<bool>, StorageError> {
        Ok(self.state().bank.import(rows, crate::time::now()))
    }

    async fn question_count(&self) -> Result<u64, StorageError> {
        Ok(self.state().bank.questions.len() as u64)
    }

    async fn questions_by_ids(&self, ids: &[QuestionId]) -> Result<Vec<Question>, StorageError> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| state.bank.questions.get(id))
            .cloned()
            .collect())
    }

    async fn unseen_questions(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Question>, StorageError> {
        let state = self.state();
        let seen = state.tests.seen.get(&user);
        Ok(state
            .bank
            .questions
            .values()
            .filter(|q| q.is_active && seen.is_none_or(|seen| !seen.contains_key(&q.id)))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn selection_candidates(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<Candidate>, StorageError> {
        let state = self.state();
        let seen = user.and_then(|user| state.tests.seen.get(&user));
        Ok(state
            .bank
            .questions
            .values()
            .filter(|q| {
                q.is_active
                    && q.quality_flag == QualityFlag::Normal
                    && q.discrimination.is_none_or(|d| d >= 0.0)
                    && seen.is_none_or(|seen| !seen.contains_key(&q.id))
            })
            .map(|q| Candidate {
                id: q.id,
                domain: q.domain(),
                difficulty: q.difficulty(),
                discrimination: q.discrimination,
                is_anchor: q.content.is_anchor,
            })
            .collect())
    }

    async fn refresh_question_statistics(
        &self,
        ids: &[QuestionId],
        _now: OffsetDateTime,
        latest: u32,
    ) -> Result<Vec<RefreshedQuestion>, StorageError> {
        let mut state = self.state();
        let state = &mut *state;
        // (correct, the session's correct count) per question, over the latest responses in
        // completed sessions (`answered_in` is in the order answered).
        let mut pairs: HashMap<QuestionId, Vec<(bool, f64)>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for (question, list) in pairs.iter_mut() {
            let sessions = state.tests.answered_in.get(question).map(Vec::as_slice);
            for session_id in sessions.unwrap_or_default().iter().rev() {
                if list.len() >= latest as usize {
                    break;
                }
                let completed = state
                    .tests
                    .sessions
                    .get(session_id)
                    .is_some_and(|s| s.status == SessionStatus::Completed);
                let (true, Some(result)) = (completed, state.tests.result_of_session(*session_id))
                else {
                    continue;
                };
                let total = f64::from(result.scores.correct_answers);
                let responses = state.tests.responses.get(session_id).map(Vec::as_slice);
                if let Some(response) = responses
                    .unwrap_or_default()
                    .iter()
                    .find(|r| r.question_id == *question)
                {
                    list.push((response.is_correct, total));
                }
            }
        }
        let mut refreshed = Vec::new();
        let mut done = std::collections::HashSet::new();
        for id in ids {
            // Each item once, in the order asked, as PostgreSQL answers.
            if !done.insert(*id) {
                continue;
            }
            let (Some(question), Some(list)) = (state.bank.questions.get_mut(id), pairs.get(id))
            else {
                continue;
            };
            let mut statistics = ItemStatistics::from_responses(list).unwrap_or(ItemStatistics {
                empirical_difficulty: 0.0,
                discrimination: 0.0,
                response_count: 0,
            });
            // Every response to the item counts, as PostgreSQL's index-only count does.
            statistics.response_count = state.tests.answered_in.get(id).map_or(0, Vec::len);
            question.empirical_difficulty = Some(statistics.empirical_difficulty);
            question.discrimination = Some(statistics.discrimination);
            question.response_count = i32::try_from(statistics.response_count).unwrap_or(i32::MAX);
            let flagged = question.quality_flag == QualityFlag::Normal && statistics.should_flag();
            if flagged {
                question.quality_flag = QualityFlag::UnderReview;
                question.quality_flag_reason = Some(statistics.flag_reason());
            }
            refreshed.push(RefreshedQuestion {
                id: *id,
                statistics,
                flagged,
            });
        }
        Ok(refreshed)
    }
}
