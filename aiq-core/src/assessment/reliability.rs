//! Cronbach's alpha for the confidence interval, cached and refreshed in the background, so no
//! submit waits for it.
//!
//! The instances sharing a store share one alpha: the shared [`Report`] kept in
//! `system_config` ([`RELIABILITY_ALPHA`]) with when it was computed. An instance re-reads it a
//! minute after its last read; when it is five minutes old, the first instance to claim the key
//! ([`claim_system_config`](crate::storage::SystemConfigStore::claim_system_config))
//! recomputes it from the store's aggregates ([`crate::reliability::report`]) and writes it
//! back, and the others keep the value they have until it is there.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::reliability::{Report, SHARED_TTL, share_report, shared_report};
use crate::scoring::{ConfidenceInterval, MIN_ALPHA_SESSIONS};
use crate::state::AppState;
use crate::storage::{RELIABILITY_ALPHA, Storage, StorageError};

/// How long an instance uses the alpha it read before reading the shared one again.
const TTL: Duration = Duration::from_secs(60);

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

/// Reads the shared alpha, recomputing it first when it is stale and this instance claims the
/// refresh; `None` when the store could not be read.
async fn compute(state: AppState) -> Option<Computed> {
    let storage = state.storage.as_ref();
    let now = crate::time::now();
    let recompute = || crate::reliability::report(storage, MIN_ALPHA_SESSIONS as u64, now);
    match shared_alpha(storage, now, recompute).await {
        Ok(alpha) => alpha.map(Computed),
        Err(error) => {
            tracing::warn!(%error, "reliability: could not read or compute alpha");
            None
        }
    }
}

/// The shared alpha as of `now`: `Some(alpha)` when a report is known (fresh, or just
/// computed here with `compute`), `None` while another instance computes the first one.
async fn shared_alpha<F, Fut>(
    storage: &dyn Storage,
    now: OffsetDateTime,
    compute: F,
) -> Result<Option<Option<f64>>, StorageError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Report, StorageError>>,
{
    let stored = shared_report(storage).await?;
    if let Some(shared) = &stored
        && shared.computed_at > now - SHARED_TTL
    {
        return Ok(Some(shared.alpha()));
    }
    if !storage
        .claim_system_config(RELIABILITY_ALPHA, now - SHARED_TTL, now)
        .await?
    {
        // Another instance is computing it: keep what is there until it has.
        return Ok(stored.map(|shared| shared.alpha()));
    }
    let report = compute().await?;
    share_report(storage, &report).await?;
    Ok(Some(report.alpha()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use time::macros::datetime;

    use super::*;
    use crate::storage::{MemoryStore, SystemConfigStore};

    const T0: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

    /// A report with `alpha`, computed `at`.
    fn report(alpha: f64, at: OffsetDateTime) -> Report {
        Report {
            sessions: 10_000,
            items_answered: 990,
            responses: 250_000,
            min_sessions: MIN_ALPHA_SESSIONS as u64,
            alpha: Ok(crate::scoring::AlphaReport {
                alpha,
                items: 25,
                sessions: 10_000,
            }),
            split_half: None,
            computed_at: at,
        }
    }

    /// Instances sharing a store: the first computes, the others read what it wrote until it is
    /// five minutes old; then one of them computes again.
    #[tokio::test]
    async fn one_instance_computes_and_the_others_read_its_alpha() {
        let store = MemoryStore::new();
        let computed = AtomicUsize::new(0);
        let compute = |alpha: f64, at: OffsetDateTime| {
            let computed = &computed;
            move || async move {
                computed.fetch_add(1, Ordering::SeqCst);
                Ok(report(alpha, at))
            }
        };
        assert_eq!(
            shared_alpha(&store, T0, compute(0.81, T0)).await.unwrap(),
            Some(Some(0.81))
        );
        let later = T0 + time::Duration::minutes(4);
        assert_eq!(
            shared_alpha(&store, later, compute(0.5, later))
                .await
                .unwrap(),
            Some(Some(0.81))
        );
        assert_eq!(
            computed.load(Ordering::SeqCst),
            1,
            "a fresh alpha is read, not recomputed"
        );
        let stale = T0 + time::Duration::minutes(6);
        assert_eq!(
            shared_alpha(&store, stale, compute(0.84, stale))
                .await
                .unwrap(),
            Some(Some(0.84))
        );
        assert_eq!(computed.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn while_another_instance_computes_the_stored_alpha_is_kept() {
        let store = MemoryStore::new();
        let never = || async { panic!("this instance must not compute") };
        // Another instance claimed the first computation a minute ago and is still at it.
        assert!(
            store
                .claim_system_config(RELIABILITY_ALPHA, T0 - SHARED_TTL, T0)
                .await
                .unwrap()
        );
        let soon = T0 + time::Duration::minutes(1);
        assert_eq!(shared_alpha(&store, soon, never).await.unwrap(), None);
        // It wrote an alpha; eight minutes later it is stale and a claim is held again.
        share_report(&store, &report(0.79, soon)).await.unwrap();
        let stale = T0 + time::Duration::minutes(8);
        assert!(
            store
                .claim_system_config(RELIABILITY_ALPHA, stale - SHARED_TTL, stale)
                .await
                .unwrap()
        );
        assert_eq!(
            shared_alpha(&store, stale, never).await.unwrap(),
            Some(Some(0.79))
        );
    }

    #[tokio::test]
    async fn a_failed_computation_leaves_the_claim_to_expire() {
        let store = MemoryStore::new();
        let failing = || async { Err(StorageError::Unavailable("database down".into())) };
        assert!(shared_alpha(&store, T0, failing).await.is_err());
        // The claim stands for five minutes; then another instance computes.
        let never = || async { panic!("the claim is still held") };
        let soon = T0 + time::Duration::minutes(2);
        assert_eq!(shared_alpha(&store, soon, never).await.unwrap(), None);
        let later = T0 + time::Duration::minutes(6);
        let works = || async move { Ok(report(0.7, later)) };
        assert_eq!(
            shared_alpha(&store, later, works).await.unwrap(),
            Some(Some(0.7))
        );
    }
}
