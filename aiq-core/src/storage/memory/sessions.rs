//! `SessionStore`, `GuestStore` and `SystemConfigStore` in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::storage::questions::QuestionId;
use crate::storage::sessions::{
    ClaimOutcome, Completion, GuestStore, NewSession, ResultId, ResultPage, SessionId,
    SessionStatus, SessionStore, StartContext, StoredResponse, TestResult, TestSession,
};
use crate::storage::system_config::SystemConfigStore;
use crate::storage::users::{GUEST_USER_ID, UserId};
use crate::storage::{Conflict, StorageError};

/// When a question was shown to a user.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    pub(super) at: OffsetDateTime,
}

/// Sessions, what they showed, their responses and results.
#[derive(Debug, Default)]
pub(super) struct TestData {
    pub(super) sessions: BTreeMap<SessionId, TestSession>,
    next_session_id: SessionId,
    /// Adaptive sessions' engine state and outcome.
    pub(super) adaptive: HashMap<SessionId, super::adaptive::AdaptiveRow>,
    /// Per user, the questions shown to them (the `user_questions` table).
    pub(super) seen: HashMap<UserId, HashMap<QuestionId, Seen>>,
    /// Per session, the questions recorded as seen, in the order served.
    pub(super) served: HashMap<SessionId, Vec<QuestionId>>,
    pub(super) responses: BTreeMap<SessionId, Vec<StoredResponse>>,
    /// Per question, the sessions with a response to it (the statistics refresh reads only
    /// these, not every response). Entries of deleted sessions are dropped with them.
    pub(super) answered_in: HashMap<QuestionId, Vec<SessionId>>,
    pub(super) results: BTreeMap<ResultId, TestResult>,
    pub(super) result_by_session: HashMap<SessionId, ResultId>,
    pub(super) next_result_id: ResultId,
    /// Operators' validity verdicts, by result (the `validity_override_*` columns).
    pub(super) validity_overrides: HashMap<ResultId, super::admin::OverrideNote>,
    guest_devices: HashMap<String, i32>,
    /// Values by key, with when each was last written or claimed.
    system_config: HashMap<String, (serde_json::Value, OffsetDateTime)>,
}

impl TestData {
    pub(super) fn result_of_session(&self, session: SessionId) -> Option<&TestResult> {
        self.result_by_session
            .get(&session)
            .and_then(|id| self.results.get(id))
    }

    /// The user's results, in id order (leaderboards and reminders read them).
    pub(super) fn results_of(&self, user: UserId) -> impl Iterator<Item = &TestResult> {
        self.results.values().filter(move |r| r.user_id == user)
    }

    /// Removes what belongs to a deleted user, as the database's cascades do.
    pub(super) fn remove_user(&mut self, user: UserId) {
        let sessions: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| s.user_id == user)
            .map(|s| s.id)
            .collect();
        for id in sessions {
            self.remove_session(id);
        }
        self.seen.remove(&user);
    }

    /// Removes a session with its responses, result and the seen records it made, as the
    /// database's cascades do; `None` when there is no such session.
    pub(super) fn remove_session(&mut self, id: SessionId) -> Option<TestSession> {
        let session = self.sessions.remove(&id)?;
        let served = self.served.remove(&id).unwrap_or_default();
        if let Some(seen) = self.seen.get_mut(&session.user_id) {
            for question in served {
                seen.remove(&question);
            }
        }
        for response in self.responses.remove(&id).unwrap_or_default() {
            if let Some(sessions) = self.answered_in.get_mut(&response.question_id) {
                sessions.retain(|session| *session != id);
            }
        }
        self.adaptive.remove(&id);
        if let Some(result) = self.result_by_session.remove(&id) {
            self.results.remove(&result);
            self.validity_overrides.remove(&result);
        }
        Some(session)
    }

    /// Creates a session (and its seen records), enforcing the database's unique rules.
    pub(super) fn start(&mut self, new: NewSession) -> Result<TestSession, StorageError> {
        if self.has_active(new.user_id) {
            return Err(StorageError::Conflict(Conflict::ActiveSession));
        }
        if new.record_seen {
            let seen = self.seen.get(&new.user_id);
            let mut served = std::collections::HashSet::new();
            // A question served twice in one session breaks the same unique rule.
            if new
                .question_ids
                .iter()
                .any(|id| seen.is_some_and(|seen| seen.contains_key(id)) || !served.insert(*id))
            {
                return Err(StorageError::Conflict(Conflict::QuestionSeen));
            }
        }
        self.next_session_id += 1;
        let session = TestSession {
            id: self.next_session_id,
            user_id: new.user_id,
            started_at: new.started_at,
            completed_at: None,
            status: SessionStatus::InProgress,
            composition_metadata: Some(new.composition_metadata),
            time_limit_exceeded: false,
            is_adaptive: new.is_adaptive,
        };
        if new.record_seen {
            let seen = self.seen.entry(new.user_id).or_default();
            for id in &new.question_ids {
                seen.insert(*id, Seen { at: new.started_at });
            }
            self.served.insert(session.id, new.question_ids);
        }
        self.sessions.insert(session.id, session.clone());
        Ok(session)
    }

    fn has_active(&self, user: UserId) -> bool {
        user != GUEST_USER_ID
            && self
                .sessions
                .values()
                .any(|s| s.user_id == user && s.status == SessionStatus::InProgress)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn start_context(
        &self,
        user: UserId,
        abandon_threshold: i64,
    ) -> Result<StartContext, StorageError> {
        let state = self.state();
        let tests = &state.tests;
        let mut context = StartContext::default();
        for session in tests.sessions.values().filter(|s| s.user_id == user) {
            match session.status {
                SessionStatus::InProgress => context.active = Some(session.clone()),
                SessionStatus::Completed => {
                    context.last_completed_at = context.last_completed_at.max(session.completed_at);
                }
                SessionStatus::Abandoned => {
                    let answered = tests.responses.get(&session.id).map_or(0, Vec::len);
                    if answered as i64 >= abandon_threshold {
                        context.last_substantive_abandon_at = context
                            .last_substantive_abandon_at
                            .max(session.completed_at);
                    }
                }
            }
        }
        Ok(context)
    }

    async fn start_session(&self, new: NewSession) -> Result<TestSession, StorageError> {
        self.state().tests.start(new)
    }

    async fn session(&self, id: SessionId) -> Result<Option<TestSession>, StorageError> {
        Ok(self.state().tests.sessions.get(&id).cloned())
    }

    async fn session_question_ids(&self, id: SessionId) -> Result<Vec<QuestionId>, StorageError> {
        Ok(self
            .state()
            .tests
            .served
            .get(&id)
            .cloned()
            .unwrap_or_default())
    }

    async fn seen_since(
        &self,
        user: UserId,
        since: OffsetDateTime,
    ) -> Result<Vec<QuestionId>, StorageError> {
        let state = self.state();
        let mut ids: Vec<QuestionId> = state
            .tests
            .seen
            .get(&user)
            .into_iter()
            .flatten()
            .filter(|(_, seen)| seen.at >= since)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    async fn response_count(&self, id: SessionId) -> Result<u64, StorageError> {
        Ok(self.state().tests.responses.get(&id).map_or(0, Vec::len) as u64)
    }

    async fn session_responses(&self, id: SessionId) -> Result<Vec<StoredResponse>, StorageError> {
        Ok(self
            .state()
            .tests
            .responses
            .get(&id)
            .cloned()
            .unwrap_or_default())
    }

    async fn abandon_session(
        &self,
        id: SessionId,
        at: OffsetDateTime,
    ) -> Result<Option<(TestSession, u64)>, StorageError> {
        let mut state = self.state();
        let tests = &mut state.tests;
        let kept = tests.responses.get(&id).map_or(0, Vec::len) as u64;
        Ok(tests
            .sessions
            .get_mut(&id)
            .filter(|s| s.status == SessionStatus::InProgress)
            .map(|session| {
                session.status = SessionStatus::Abandoned;
                session.completed_at = Some(at);
                (session.clone(), kept)
            }))
    }

    async fn abandon_stale_guest_sessions(
        &self,
        started_before: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let mut state = self.state();
        let mut count = 0;
        for session in state.tests.sessions.values_mut().filter(|s| {
            s.user_id == GUEST_USER_ID
                && s.status == SessionStatus::InProgress
                && s.started_at < started_before
        }) {
            session.status = SessionStatus::Abandoned;
            count += 1;
        }
        Ok(count)
    }

    async fn complete_session(
        &self,
        completion: Completion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        let mut state = self.state();
        let sources: HashMap<QuestionId, Option<String>> = completion
            .responses
            .iter()
            .map(|r| {
                let source = state
                    .bank
                    .questions
                    .get(&r.question_id)
                    .and_then(|q| q.content.source_model.clone());
                (r.question_id, source)
            })
            .collect();
        let tests = &mut state.tests;
        let Some(session) = tests
            .sessions
            .get(&completion.session_id)
            .filter(|s| s.status == SessionStatus::InProgress)
        else {
            return Err(StorageError::Conflict(Conflict::SessionNotInProgress));
        };
        let existing = tests
            .responses
            .get(&session.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut answered: Vec<QuestionId> = existing.iter().map(|r| r.question_id).collect();
        for response in &completion.responses {
            if answered.contains(&response.question_id) {
                return Err(StorageError::Conflict(Conflict::Response));
            }
            answered.push(response.question_id);
        }
        let user_id = session.user_id;
        let session = tests
            .sessions
            .get_mut(&completion.session_id)
            .expect("checked above");
        session.status = SessionStatus::Completed;
        session.completed_at = Some(completion.completed_at);
        session.time_limit_exceeded = completion.time_limit_exceeded;
        let session = session.clone();
        for response in &completion.responses {
            tests
                .answered_in
                .entry(response.question_id)
                .or_default()
                .push(session.id);
        }
        let stored = tests.responses.entry(session.id).or_default();
        stored.extend(completion.responses.into_iter().map(|r| StoredResponse {
            source_model: sources.get(&r.question_id).cloned().flatten(),
            question_id: r.question_id,
            user_answer: r.user_answer,
            is_correct: r.is_correct,
            answered_at: completion.completed_at,
            time_spent_seconds: r.time_spent_seconds,
        }));
        tests.next_result_id += 1;
        let result = TestResult {
            id: tests.next_result_id,
            test_session_id: session.id,
            user_id,
            completed_at: completion.completed_at,
            validity_checked_at: Some(completion.completed_at),
            scores: completion.result,
        };
        tests.result_by_session.insert(session.id, result.id);
        tests.results.insert(result.id, result.clone());
        Ok((session, result))
    }

    async fn result(&self, id: ResultId) -> Result<Option<TestResult>, StorageError> {
        Ok(self.state().tests.results.get(&id).cloned())
    }

    async fn result_for_session(
        &self,
        session: SessionId,
    ) -> Result<Option<TestResult>, StorageError> {
        Ok(self.state().tests.result_of_session(session).cloned())
    }

    async fn result_history(
        &self,
        user: UserId,
        limit: u64,
        offset: u64,
    ) -> Result<ResultPage, StorageError> {
        let state = self.state();
        let mut results: Vec<&TestResult> = state
            .tests
            .results
            .values()
            .filter(|r| r.user_id == user)
            .collect();
        // Newest first; ids break ties as the database's index order would.
        results.sort_by(|a, b| b.completed_at.cmp(&a.completed_at).then(b.id.cmp(&a.id)));
        Ok(ResultPage {
            total_count: results.len() as u64,
            results: results
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect(),
        })
    }

    async fn claim_guest_session(
        &self,
        session_id: SessionId,
        user: UserId,
    ) -> Result<ClaimOutcome, StorageError> {
        let mut state = self.state();
        let tests = &mut state.tests;
        let Some(session) = tests.sessions.get(&session_id) else {
            return Ok(ClaimOutcome::NotClaimable);
        };
        if session.status != SessionStatus::Completed {
            return Ok(ClaimOutcome::NotClaimable);
        }
        let Some(result_id) = tests.result_by_session.get(&session_id).copied() else {
            return Ok(ClaimOutcome::NotClaimable);
        };
        if session.user_id != GUEST_USER_ID {
            return Ok(ClaimOutcome::AlreadyClaimed);
        }
        let session = tests.sessions.get_mut(&session_id).expect("checked above");
        session.user_id = user;
        let session = session.clone();
        let result = tests.results.get_mut(&result_id).expect("indexed result");
        result.user_id = user;
        let result = result.clone();
        let answered: Vec<(QuestionId, OffsetDateTime)> = tests
            .responses
            .get(&session_id)
            .into_iter()
            .flatten()
            .map(|r| (r.question_id, r.answered_at))
            .collect();
        let seen = tests.seen.entry(user).or_default();
        for (question, at) in answered {
            seen.entry(question).or_insert(Seen { at });
        }
        Ok(ClaimOutcome::Claimed(session, result))
    }

    async fn active_session_count(&self) -> Result<u64, StorageError> {
        Ok(self
            .state()
            .tests
            .sessions
            .values()
            .filter(|s| s.status == SessionStatus::InProgress)
            .count() as u64)
    }
}

#[async_trait]
impl GuestStore for MemoryStore {
    async fn guest_tests_taken(&self, device_id: &str) -> Result<i32, StorageError> {
        Ok(self
            .state()
            .tests
            .guest_devices
            .get(device_id)
            .copied()
            .unwrap_or(0))
    }

    async fn record_guest_test(
        &self,
        device_id: &str,
        _at: OffsetDateTime,
    ) -> Result<i32, StorageError> {
        let mut state = self.state();
        let taken = state
            .tests
            .guest_devices
            .entry(device_id.to_owned())
            .or_insert(0);
        *taken += 1;
        Ok(*taken)
    }
}

#[async_trait]
impl SystemConfigStore for MemoryStore {
    async fn system_config(&self, key: &str) -> Result<Option<serde_json::Value>, StorageError> {
        Ok(self
            .state()
            .tests
            .system_config
            .get(key)
            .map(|(value, _)| value.clone()))
    }

    async fn set_system_config(
        &self,
        key: &str,
        value: serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        self.state()
            .tests
            .system_config
            .insert(key.to_owned(), (value, at));
        Ok(())
    }

    async fn claim_system_config(
        &self,
        key: &str,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        let entry = state.tests.system_config.entry(key.to_owned()).or_insert((
            serde_json::Value::Null,
            stale_before - time::Duration::SECOND,
        ));
        if entry.1 >= stale_before {
            return Ok(false);
        }
        entry.1 = now;
        Ok(true)
    }
}
