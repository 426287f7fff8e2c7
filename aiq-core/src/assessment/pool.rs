//! The question pool a fixed-form test is composed from, kept in memory between starts.
//!
//! Reading the whole pool was the dearest part of a start (every servable item of the bank,
//! about 1,000 rows, read and decoded per start, while the user's seen questions are a small
//! index read). The pool changes rarely and slowly (imports, admin edits, flags after item
//! statistics), so a copy is kept for [`POOL_TTL`], and the start itself keeps the rules
//! exact: the store refuses to start a session on a question that is no longer servable
//! ([`Conflict::QuestionUnavailable`]), and then the pool is read again and the test composed
//! anew, once. A pool too small for the test (new questions not seen yet) is read again too
//! before a start is refused.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common::{fresh_rng, questions_in_order};
use crate::selection::{Candidate, Composition, compose};
use crate::state::AppState;
use crate::storage::{Conflict, NewSession, Question, QuestionId, StorageError, TestSession};

/// How long a pool read is used before it is read again.
pub(crate) const POOL_TTL: Duration = Duration::from_secs(60);

/// The servable questions (`Storage::selection_candidates(None)`) of one service, cached.
#[derive(Debug, Default)]
pub(crate) struct CandidatePool {
    cached: Mutex<Option<(Instant, Arc<Vec<Candidate>>)>>,
}

impl CandidatePool {
    /// The pool, from memory when read less than [`POOL_TTL`] ago; `true` when just read.
    async fn get(&self, state: &AppState) -> Result<(Arc<Vec<Candidate>>, bool), StorageError> {
        let cached = self
            .lock()
            .as_ref()
            .filter(|(at, _)| at.elapsed() < POOL_TTL)
            .map(|(_, pool)| Arc::clone(pool));
        match cached {
            Some(pool) => Ok((pool, false)),
            None => Ok((self.reload(state).await?, true)),
        }
    }

    /// Reads the pool from the store and keeps it.
    async fn reload(&self, state: &AppState) -> Result<Arc<Vec<Candidate>>, StorageError> {
        let pool = Arc::new(state.storage.selection_candidates(None).await?);
        *self.lock() = Some((Instant::now(), Arc::clone(&pool)));
        Ok(pool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<Candidate>>)>> {
        self.cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What a fixed-form start needs besides the pool: who takes it and how it is composed.
pub(super) struct Plan<'a> {
    /// Questions the taker has been shown (never served again).
    pub(super) seen: &'a HashSet<QuestionId>,
    pub(super) count: usize,
    /// Whether anchor items are included (not for guests).
    pub(super) anchors: bool,
    /// The session to store for a composition.
    pub(super) session: &'a (dyn Fn(&Composition) -> NewSession + Sync),
}

/// A session started on a composition, with its questions in the order served.
pub(super) struct Started {
    pub(super) session: TestSession,
    pub(super) composition: Composition,
    pub(super) questions: Vec<Question>,
}

/// Why a start did not happen.
pub(super) enum StartFailure {
    /// No unseen servable question is left.
    PoolExhausted,
    /// The store refused the session (an active session, a question seen meanwhile, ...).
    Storage(StorageError),
}

impl From<StorageError> for StartFailure {
    fn from(error: StorageError) -> Self {
        Self::Storage(error)
    }
}

/// Composes a test from the pool and starts it (see the module docs for when the pool is read
/// again). The questions' content is read beside the start.
pub(super) async fn compose_and_start(
    state: &AppState,
    pool: Result<(Arc<Vec<Candidate>>, bool), StorageError>,
    plan: &Plan<'_>,
) -> Result<Started, StartFailure> {
    let (mut candidates, mut fresh) = pool?;
    let mut composition = composed(&candidates, plan);
    if composition.question_ids.len() < plan.count && !fresh {
        candidates = state.candidate_pool.reload(state).await?;
        fresh = true;
        composition = composed(&candidates, plan);
    }
    loop {
        if composition.question_ids.is_empty() {
            return Err(StartFailure::PoolExhausted);
        }
        let (session, questions) = tokio::join!(
            state.storage.start_session((plan.session)(&composition)),
            questions_in_order(state, &composition.question_ids),
        );
        match session {
            Ok(session) => {
                return Ok(Started {
                    session,
                    composition,
                    questions: questions?,
                });
            }
            Err(StorageError::Conflict(Conflict::QuestionUnavailable)) if !fresh => {
                candidates = state.candidate_pool.reload(state).await?;
                fresh = true;
                composition = composed(&candidates, plan);
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The pool as of now (see [`CandidatePool`]), for [`compose_and_start`].
pub(super) async fn current(state: &AppState) -> Result<(Arc<Vec<Candidate>>, bool), StorageError> {
    state.candidate_pool.get(state).await
}

fn composed(candidates: &[Candidate], plan: &Plan<'_>) -> Composition {
    let unseen: Vec<Candidate> = candidates
        .iter()
        .filter(|candidate| !plan.seen.contains(&candidate.id))
        .copied()
        .collect();
    compose(&unseen, plan.count, plan.anchors, &mut fresh_rng())
}
