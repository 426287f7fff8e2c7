//! Item statistics, refreshed after submits without holding up the submit request.
//!
//! A submit hands the answered question ids to the [`StatisticsQueue`] and returns. One worker
//! task per service drains the queue, up to 50 questions per transaction: ids that arrive while
//! it works are merged, so a burst of submits costs one recomputation per question, not one per
//! submit.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::state::AppState;

/// An item's share correct and discrimination are computed over its latest this many
/// responses: enough for both to be precise to about ±0.02, and a refresh that costs the same
/// however many responses the item has collected over the years.
const LATEST_RESPONSES: u32 = 2_000;
/// Questions refreshed in one transaction.
const BATCH: usize = 50;
use crate::storage::QuestionId;
use crate::telemetry;

/// The pending statistics refreshes of one service.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatisticsQueue {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pending: Mutex<BTreeSet<QuestionId>>,
    running: AtomicBool,
    idle: Notify,
}

impl Inner {
    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeSet<QuestionId>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_idle(&self) -> bool {
        !self.running.load(Ordering::SeqCst) && self.pending().is_empty()
    }
}

impl StatisticsQueue {
    /// Queues a refresh of these questions' statistics.
    pub(crate) fn refresh(&self, state: &AppState, ids: impl IntoIterator<Item = QuestionId>) {
        self.inner.pending().extend(ids);
        if !self.inner.running.swap(true, Ordering::SeqCst) {
            tokio::spawn(work(self.inner.clone(), state.clone()));
        }
    }

    /// Resolves once every queued refresh has been written.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            if self.inner.is_idle() {
                return;
            }
            notified.await;
        }
    }
}

async fn work(inner: Arc<Inner>, state: AppState) {
    loop {
        // A bounded batch per transaction: a backlog of hundreds of questions (a burst of
        // submits) is refreshed a chunk at a time, so no statement runs long.
        let batch: Vec<QuestionId> = {
            let mut pending = inner.pending();
            std::iter::from_fn(|| pending.pop_first())
                .take(BATCH)
                .collect()
        };
        if batch.is_empty() {
            inner.running.store(false, Ordering::SeqCst);
            // A refresh queued between the take and the store above found the worker running
            // and did not start one: take it over, unless another worker already has.
            if inner.pending().is_empty() || inner.running.swap(true, Ordering::SeqCst) {
                inner.idle.notify_waiters();
                return;
            }
            continue;
        }
        // Run in a task of its own, so a panic in a store comes back as an error here instead
        // of ending the worker with `running` still set (which would stop every later refresh).
        let storage = state.storage.clone();
        let ids = batch.clone();
        let started = std::time::Instant::now();
        let refresh = tokio::spawn(async move {
            storage
                .refresh_question_statistics(&ids, crate::time::now(), LATEST_RESPONSES)
                .await
        });
        match refresh.await {
            Ok(Ok(refreshed)) => {
                tracing::debug!(
                    questions = refreshed.len(),
                    responses = refreshed
                        .iter()
                        .map(|q| q.statistics.response_count)
                        .sum::<usize>(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "item statistics refreshed"
                );
                for question in refreshed.iter().filter(|q| q.flagged) {
                    tracing::warn!(
                        question_id = question.id,
                        discrimination = question.statistics.discrimination,
                        responses = question.statistics.response_count,
                        "question flagged for review: negative discrimination"
                    );
                    metrics::counter!(telemetry::QUESTIONS_FLAGGED).increment(1);
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, questions = batch.len(), "item statistics refresh failed");
            }
            Err(error) => {
                tracing::error!(%error, questions = batch.len(), "item statistics refresh panicked");
            }
        }
    }
}
