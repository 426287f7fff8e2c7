//! The read-only analytics: accuracy per question vendor and model, the LLM benchmark summary,
//! and which items look problematic. Storage returns counts and runs; the shaping (grouping,
//! rounding, sorting, caching) lives here so both backends answer identically.

mod benchmark;

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

pub(crate) use self::benchmark::{BenchmarkCache, CACHE_TTL_SECONDS, ModelSummary};
use crate::error::ApiError;
use crate::scoring::round_dp;
use crate::storage::{ModelAccuracy, QuestionId, StorageError};

/// Why an analytics request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnalyticsError {
    #[error("Test session not found.")]
    SessionNotFound,
    #[error("Question {0} not found.")]
    QuestionNotFound(QuestionId),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<AnalyticsError> for ApiError {
    fn from(err: AnalyticsError) -> Self {
        let message = err.to_string();
        match err {
            AnalyticsError::SessionNotFound | AnalyticsError::QuestionNotFound(_) => {
                Self::NotFound(message)
            }
            AnalyticsError::Storage(storage) => storage.into(),
        }
    }
}

/// `correct / total` as a percentage with `decimals` decimals (0 when nothing was answered).
pub(crate) fn percent(correct: u64, total: u64, decimals: usize) -> f64 {
    if total == 0 {
        return 0.0;
    }
    round_dp(correct as f64 / total as f64 * 100.0, decimals)
}

/// What a question without a known model is listed as.
pub(crate) const UNKNOWN_MODEL: &str = "Unknown Model";

/// Accuracy on the questions of one model.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct ModelAccuracyRow {
    /// The model (`"Unknown Model"` when the question does not say).
    pub(crate) model: String,
    pub(crate) correct: u64,
    pub(crate) total: u64,
    /// Percentage correct, one decimal.
    pub(crate) accuracy_pct: f64,
}

/// Accuracy on the questions of one vendor, and per model.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct VendorAccuracyRow {
    pub(crate) vendor: String,
    pub(crate) correct: u64,
    pub(crate) total: u64,
    /// Percentage correct, one decimal.
    pub(crate) accuracy_pct: f64,
    /// Sorted by model name.
    pub(crate) models: Vec<ModelAccuracyRow>,
}

/// Groups (vendor, model) counts by vendor; vendors and models sorted by name.
pub(crate) fn vendor_rows(counts: Vec<ModelAccuracy>) -> Vec<VendorAccuracyRow> {
    let mut vendors: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for count in counts {
        let model = count.model.unwrap_or_else(|| UNKNOWN_MODEL.to_owned());
        let entry = vendors
            .entry(count.vendor)
            .or_default()
            .entry(model)
            .or_default();
        entry.0 += count.correct;
        entry.1 += count.total;
    }
    vendors
        .into_iter()
        .map(|(vendor, models)| {
            let correct = models.values().map(|(c, _)| c).sum();
            let total = models.values().map(|(_, t)| t).sum();
            VendorAccuracyRow {
                vendor,
                correct,
                total,
                accuracy_pct: percent(correct, total, 1),
                models: models
                    .into_iter()
                    .map(|(model, (correct, total))| ModelAccuracyRow {
                        model,
                        correct,
                        total,
                        accuracy_pct: percent(correct, total, 1),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Items with fewer responses than this have too little data for their statistics to mean much.
pub(crate) const SUFFICIENT_RESPONSES: i32 = 30;

/// Share correct above which an item is too easy.
pub(crate) const TOO_EASY: f64 = 0.95;
/// Share correct below which an item is too hard.
pub(crate) const TOO_HARD: f64 = 0.05;
/// Discrimination below which an item discriminates poorly.
pub(crate) const POOR_DISCRIMINATION: f64 = 0.2;

#[cfg(test)]
mod tests {
    use super::*;

    fn count(vendor: &str, model: Option<&str>, correct: u64, total: u64) -> ModelAccuracy {
        ModelAccuracy {
            vendor: vendor.to_owned(),
            model: model.map(str::to_owned),
            correct,
            total,
        }
    }

    #[test]
    fn vendors_sum_their_models_and_sort_by_name() {
        let rows = vendor_rows(vec![
            count("openai", Some("gpt-5"), 1, 3),
            count("anthropic", Some("claude-opus-4-7"), 2, 2),
            count("anthropic", None, 0, 1),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].vendor, "anthropic");
        assert_eq!((rows[0].correct, rows[0].total), (2, 3));
        assert_eq!(rows[0].accuracy_pct, 66.7);
        let models: Vec<&str> = rows[0].models.iter().map(|m| m.model.as_str()).collect();
        assert_eq!(models, ["Unknown Model", "claude-opus-4-7"]);
        assert_eq!(rows[1].accuracy_pct, 33.3);
    }

    #[test]
    fn nothing_answered_is_zero_percent() {
        assert_eq!(percent(0, 0, 1), 0.0);
        assert_eq!(percent(1, 8, 2), 12.5);
    }
}
