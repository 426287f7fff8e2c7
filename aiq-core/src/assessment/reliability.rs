//! Cronbach's alpha for the confidence interval, cached for five minutes and recomputed in the
//! background, so no submit waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scoring::{ConfidenceInterval, MIN_ALPHA_SESSIONS, cronbach_alpha};
use crate::state::AppState;
use crate::storage::QuestionId;

/// How long a computed alpha is used before it is recomputed.
const TTL: Duration = Duration::from_secs(300);

/// The latest alpha of one service.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlphaCache {
    inner: Arc<Mutex<Cached>>,
}

#[derive(Debug, Default)]
struct Cached {
    alpha: Option<f64>,
    computed_at: Option<Instant>,
    refreshing: bool,
}

impl AlphaCache {
    /// The 95% interval around `iq`, when the cached alpha allows one. A stale or missing alpha
    /// starts a recomputation and this submit uses what is cached.
    pub(crate) fn confidence_interval(
        &self,
        state: &AppState,
        iq: i32,
    ) -> Option<ConfidenceInterval> {
        self.current(state)
            .and_then(|alpha| crate::scoring::confidence_interval(iq, alpha))
    }

    fn current(&self, state: &AppState) -> Option<f64> {
        let mut cached = self.lock();
        let stale = cached.computed_at.is_none_or(|at| at.elapsed() >= TTL);
        if stale && !cached.refreshing {
            cached.refreshing = true;
            let this = self.clone();
            let state = state.clone();
            tokio::spawn(async move {
                // In a task of its own: a panic there must not leave `refreshing` set forever.
                let computed = tokio::spawn(compute(state)).await.unwrap_or_else(|error| {
                    tracing::error!(%error, "reliability: the alpha computation panicked");
                    None
                });
                this.store(computed);
            });
        }
        cached.alpha
    }

    /// Keeps a newly computed alpha; an attempt that failed (`None` from an error, not from too
    /// little data) keeps the previous value until the next attempt.
    fn store(&self, computed: Option<Computed>) {
        let mut cached = self.lock();
        if let Some(Computed(alpha)) = computed {
            cached.alpha = alpha;
        }
        cached.computed_at = Some(Instant::now());
        cached.refreshing = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A finished computation: alpha, or `None` when the data does not allow one yet.
struct Computed(Option<f64>);

/// Reads the responses and computes alpha; `None` when the store could not be read.
async fn compute(state: AppState) -> Option<Computed> {
    let min_sessions = u64::try_from(MIN_ALPHA_SESSIONS).unwrap_or(u64::MAX);
    match state.storage.response_matrix(min_sessions).await {
        Ok(matrix) => {
            let sessions: Vec<HashMap<QuestionId, bool>> = matrix
                .into_iter()
                .map(|answers| answers.into_iter().collect())
                .collect();
            Some(Computed(
                cronbach_alpha(&sessions).ok().map(|report| report.alpha),
            ))
        }
        Err(error) => {
            tracing::warn!(%error, "reliability: could not read responses");
            None
        }
    }
}
