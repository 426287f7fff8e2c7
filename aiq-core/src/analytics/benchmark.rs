//! `GET /v1/benchmark/summary`: language models' benchmark runs, summarised per model and
//! cached in process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use super::percent;
use crate::scoring::round_dp;
use crate::storage::{LlmRun, Storage, StorageError};

/// How long a summary is served from the cache (also told to clients as `cache_ttl`).
pub(crate) const CACHE_TTL_SECONDS: u64 = 600;

/// Display names of the models the app shows; any other model is shown by its id.
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("claude-opus-4-7", "Claude Opus 4.7"),
    ("claude-opus-4-1", "Claude Opus 4.1"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
    ("claude-haiku-4-5", "Claude Haiku 4.5"),
    ("gpt-5", "GPT-5"),
    ("gpt-4o", "GPT-4o"),
    ("o3", "o3"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("grok-4", "Grok 4"),
];

/// The name the app shows for `model_id`.
pub(crate) fn display_name(model_id: &str) -> String {
    DISPLAY_NAMES
        .iter()
        .find(|(id, _)| *id == model_id)
        .map_or_else(|| model_id.to_owned(), |(_, name)| (*name).to_owned())
}

/// A model's accuracy in one domain over its runs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct DomainAccuracy {
    pub(crate) domain: String,
    /// Percentage correct, two decimals.
    pub(crate) accuracy_pct: f64,
    pub(crate) total_questions: u64,
}

/// One model's benchmark summary.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct ModelSummary {
    pub(crate) display_name: String,
    pub(crate) vendor: String,
    /// Mean IQ over the runs, two decimals.
    pub(crate) mean_iq: f64,
    /// Percentage correct over all runs, two decimals.
    pub(crate) accuracy_pct: f64,
    pub(crate) runs: u64,
    /// Sorted by domain.
    pub(crate) domain_accuracy: Vec<DomainAccuracy>,
}

/// Reads a `{"correct": n, "total": m}` entry of `domain_scores`.
fn domain_counts(value: &serde_json::Value) -> Option<(u64, u64)> {
    let correct = value.get("correct")?.as_u64()?;
    let total = value.get("total")?.as_u64()?;
    Some((correct, total))
}

/// Summaries of the (vendor, model) pairs with at least `min_runs` runs, highest mean IQ first
/// (then by vendor and model id).
pub(crate) fn summarize(runs: &[LlmRun], min_runs: u64) -> Vec<ModelSummary> {
    #[derive(Default)]
    struct Totals {
        runs: u64,
        iq_sum: f64,
        correct: u64,
        total: u64,
        domains: BTreeMap<String, (u64, u64)>,
    }
    let mut models: BTreeMap<(&str, &str), Totals> = BTreeMap::new();
    for run in runs {
        let totals = models
            .entry((run.vendor.as_str(), run.model_id.as_str()))
            .or_default();
        totals.runs += 1;
        totals.iq_sum += f64::from(run.iq_score);
        totals.correct += u64::try_from(run.correct_answers).unwrap_or_default();
        totals.total += u64::try_from(run.total_questions).unwrap_or_default();
        if let Some(serde_json::Value::Object(domains)) = &run.domain_scores {
            for (domain, value) in domains {
                if let Some((correct, total)) = domain_counts(value) {
                    let entry = totals.domains.entry(domain.clone()).or_default();
                    entry.0 += correct;
                    entry.1 += total;
                }
            }
        }
    }
    let mut summaries: Vec<(&str, ModelSummary)> = models
        .into_iter()
        .filter(|(_, totals)| totals.runs >= min_runs.max(1))
        .map(|((vendor, model_id), totals)| {
            (
                model_id,
                ModelSummary {
                    display_name: display_name(model_id),
                    vendor: vendor.to_owned(),
                    mean_iq: round_dp(totals.iq_sum / totals.runs as f64, 2),
                    accuracy_pct: percent(totals.correct, totals.total, 2),
                    runs: totals.runs,
                    domain_accuracy: totals
                        .domains
                        .into_iter()
                        .map(|(domain, (correct, total))| DomainAccuracy {
                            domain,
                            accuracy_pct: percent(correct, total, 2),
                            total_questions: total,
                        })
                        .collect(),
                },
            )
        })
        .collect();
    // Stable: ties keep the (vendor, model id) order.
    summaries.sort_by(|a, b| b.1.mean_iq.total_cmp(&a.1.mean_iq));
    summaries.into_iter().map(|(_, summary)| summary).collect()
}

type Entry = (Instant, Arc<Vec<ModelSummary>>);

/// Summaries per `min_runs`, each kept for [`CACHE_TTL_SECONDS`].
#[derive(Debug, Clone, Default)]
pub(crate) struct BenchmarkCache {
    inner: Arc<Mutex<HashMap<u64, Entry>>>,
}

impl BenchmarkCache {
    /// The summary for `min_runs`, from the cache while it is fresh, else recomputed.
    pub(crate) async fn summary(
        &self,
        storage: &dyn Storage,
        min_runs: u64,
    ) -> Result<Arc<Vec<ModelSummary>>, StorageError> {
        let ttl = Duration::from_secs(CACHE_TTL_SECONDS);
        if let Some((at, summary)) = self.lock().get(&min_runs)
            && at.elapsed() < ttl
        {
            return Ok(Arc::clone(summary));
        }
        let summary = Arc::new(summarize(&storage.llm_runs().await?, min_runs));
        let mut cache = self.lock();
        // Bounded: `min_runs` is a query parameter, so a client could ask for many values.
        cache.retain(|_, (at, _)| at.elapsed() < ttl);
        if cache.len() < 64 {
            cache.insert(min_runs, (Instant::now(), Arc::clone(&summary)));
        }
        Ok(summary)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(vendor: &str, model: &str, iq: i32, correct: i32) -> LlmRun {
        LlmRun {
            vendor: vendor.to_owned(),
            model_id: model.to_owned(),
            iq_score: iq,
            total_questions: 20,
            correct_answers: correct,
            domain_scores: Some(json!({
                "math": {"correct": correct / 2, "total": 10},
                "logic": {"correct": correct - correct / 2, "total": 10},
            })),
        }
    }

    #[test]
    fn models_with_enough_runs_sorted_by_mean_iq() {
        let runs = [
            run("openai", "gpt-5", 120, 15),
            run("anthropic", "claude-opus-4-7", 130, 18),
            run("anthropic", "claude-opus-4-7", 125, 17),
            run("openai", "gpt-5", 121, 16),
            run("x", "lonely", 150, 20),
        ];
        let summary = summarize(&runs, 2);
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].display_name, "Claude Opus 4.7");
        assert_eq!(summary[0].mean_iq, 127.5);
        assert_eq!(summary[0].accuracy_pct, 87.5);
        assert_eq!(summary[0].runs, 2);
        let domains: Vec<&str> = summary[0]
            .domain_accuracy
            .iter()
            .map(|d| d.domain.as_str())
            .collect();
        assert_eq!(domains, ["logic", "math"]);
        assert_eq!(summary[0].domain_accuracy[0].total_questions, 20);
        assert_eq!(summary[1].display_name, "gpt-5".replace("gpt", "GPT"));
        assert_eq!(summarize(&runs, 1)[0].display_name, "lonely");
    }
}
