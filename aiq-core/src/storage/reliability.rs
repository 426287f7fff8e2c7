//! Aggregates over the answers of completed sessions, for the reliability coefficients.
//!
//! Each is computed where the answers live, over the latest `latest` completed sessions (by
//! id), and returns a size bounded by the item bank, never a row per session or per response:
//! on a deployment with millions of responses, the database counts a bounded number of them
//! and aiq receives a few kilobytes. The rules that choose what to aggregate (how many
//! sessions, which items are common enough, which sessions are complete enough) are not here:
//! they are in [`crate::reliability`], once for every backend.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StorageError;
use super::questions::QuestionId;

/// How many completed sessions answered each question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAppearances {
    /// Completed sessions (those without answers too).
    pub sessions: u64,
    /// Per question answered in a completed session: in how many, by question id.
    pub items: Vec<(QuestionId, u64)>,
}

/// Sums over the completed sessions that answered at least a given number of a set of items,
/// scoring each session by its correct answers among those items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSums {
    /// Sessions counted.
    pub sessions: u64,
    /// The sum of their scores.
    pub score_sum: u64,
    /// The sum of their scores' squares.
    pub score_squares: u64,
    /// Per item of the set that any of them answered correctly: how many did, by question id.
    pub correct: Vec<(QuestionId, u64)>,
}

/// Sums over the completed sessions with at least two answers, each split into the correct
/// answers at odd positions (1st, 3rd, ...) and at even positions, in the order answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitHalfSums {
    /// Sessions counted.
    pub sessions: u64,
    /// Σ odd.
    pub odd: u64,
    /// Σ even.
    pub even: u64,
    /// Σ odd².
    pub odd_squares: u64,
    /// Σ even².
    pub even_squares: u64,
    /// Σ odd × even.
    pub products: u64,
}

impl SplitHalfSums {
    /// Counts one session, given the correctness of its answers in the order answered (a
    /// session with fewer than two answers is left out).
    ///
    /// ```
    /// use aiq_core::storage::SplitHalfSums;
    /// let mut sums = SplitHalfSums::default();
    /// sums.add([true, false, true, true]);
    /// sums.add([true]);
    /// assert_eq!((sums.sessions, sums.odd, sums.even, sums.products), (1, 2, 1, 2));
    /// ```
    pub fn add(&mut self, answers: impl IntoIterator<Item = bool>) {
        let (mut odd, mut even, mut count) = (0u64, 0u64, 0usize);
        for (position, correct) in answers.into_iter().enumerate() {
            count += 1;
            if correct {
                if position % 2 == 0 {
                    odd += 1;
                } else {
                    even += 1;
                }
            }
        }
        if count < 2 {
            return;
        }
        self.sessions += 1;
        self.odd += odd;
        self.even += even;
        self.odd_squares += odd * odd;
        self.even_squares += even * even;
        self.products += odd * even;
    }
}

/// The aggregates behind Cronbach's alpha and split-half reliability.
#[async_trait]
pub trait ReliabilityStore {
    /// The latest `latest` completed sessions (fewer when there are fewer), and per question
    /// how many of them answered it.
    async fn item_appearances(&self, latest: u64) -> Result<ItemAppearances, StorageError>;

    /// [`ScoreSums`] over those of the latest `latest` completed sessions that answered at
    /// least `min_answered` of `items` (`min_answered` is at least 1: a session that answered
    /// none is never counted).
    async fn score_sums(
        &self,
        items: &[QuestionId],
        min_answered: u64,
        latest: u64,
    ) -> Result<ScoreSums, StorageError>;

    /// [`SplitHalfSums`] over those of the latest `latest` completed sessions with at least
    /// two answers.
    async fn split_half_sums(&self, latest: u64) -> Result<SplitHalfSums, StorageError>;
}
