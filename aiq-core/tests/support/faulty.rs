//! A store that fails in a chosen way (everything else is the memory store's): on `ping`, for
//! the error paths of the health check and the panic handling; or on recording a sent reminder,
//! for a reminder run that meets a storage failure.

mod admin;

use std::sync::Arc;

use aiq_core::questions::NewQuestion;
use aiq_core::selection::Candidate;
use aiq_core::storage::{
    AccuracyScope, AnalyticsStore, ClientEvent, Feedback, FeedbackId, LlmRun, ModelAccuracy,
    NewClientEvent, NewFeedback, NewLlmRun, QuestionStatistics,
};
use aiq_core::storage::{
    ClaimOutcome, Completion, GuestStore, MemoryStore, NewPasswordReset, NewSession, NewUser,
    OAuthStore, PasswordChange, PasswordResetStore, ProfileUpdate, Question, QuestionId,
    QuestionStore, RefreshedQuestion, ReminderCandidate, ReminderStore, ResultId, ResultPage,
    Revocation, RevocationRecord, RevocationStore, SessionId, SessionStore, StartContext, Storage,
    StorageError, StoredResponse, SystemConfigStore, TestResult, TestSession, User, UserId,
    UserStore,
};
use async_trait::async_trait;
use time::OffsetDateTime;

/// How the store fails.
#[derive(Debug)]
pub enum Fault {
    /// `ping` panics.
    Panic,
    /// `ping` never answers.
    Hang,
    /// Recording a sent test reminder first yields (so concurrent sends interleave), then the
    /// first record to get there fails; later ones succeed.
    FirstReminderRecord,
}

#[derive(Debug)]
pub struct FaultyStore {
    fault: Fault,
    tripped: std::sync::atomic::AtomicBool,
    inner: MemoryStore,
}

impl FaultyStore {
    pub fn shared(fault: Fault) -> Arc<dyn Storage> {
        Arc::new(Self {
            fault,
            tripped: std::sync::atomic::AtomicBool::new(false),
            inner: MemoryStore::new(),
        })
    }
}

#[async_trait]
impl Storage for FaultyStore {
    async fn ping(&self) -> Result<(), StorageError> {
        match self.fault {
            Fault::Panic => panic!("storage exploded"),
            Fault::Hang => std::future::pending().await,
            Fault::FirstReminderRecord => Ok(()),
        }
    }

    fn backend(&self) -> &'static str {
        "faulty"
    }
}

// Everything but `ping` is the memory store's.
#[async_trait]
impl UserStore for FaultyStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError> {
        self.inner.create_user(user).await
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        self.inner.user_by_id(id).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        self.inner.user_by_email(email).await
    }
    async fn delete_user(&self, id: UserId) -> Result<bool, StorageError> {
        self.inner.delete_user(id).await
    }
    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        verified: &str,
        hash: Option<String>,
    ) -> Result<Option<User>, StorageError> {
        self.inner.record_login(id, at, verified, hash).await
    }
    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
    ) -> Result<Option<User>, StorageError> {
        self.inner.update_profile(id, update).await
    }
    async fn revoke_all_tokens(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<User>, StorageError> {
        self.inner.revoke_all_tokens(id, at).await
    }
    async fn set_device_token(
        &self,
        id: UserId,
        token: Option<&str>,
    ) -> Result<bool, StorageError> {
        self.inner.set_device_token(id, token).await
    }
    async fn clear_device_token_if(&self, id: UserId, token: &str) -> Result<bool, StorageError> {
        self.inner.clear_device_token_if(id, token).await
    }
}

#[async_trait]
impl ReminderStore for FaultyStore {
    async fn test_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        self.inner.test_reminder_candidates(from, to).await
    }
    async fn mark_test_reminder_sent(
        &self,
        user: UserId,
        result: ResultId,
    ) -> Result<bool, StorageError> {
        if let Fault::FirstReminderRecord = self.fault {
            tokio::task::yield_now().await;
            if !self.tripped.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return Err(StorageError::Unavailable(
                    "recording refused by the test".into(),
                ));
            }
        }
        self.inner.mark_test_reminder_sent(user, result).await
    }
    async fn day_30_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        self.inner.day_30_reminder_candidates(from, to).await
    }
    async fn mark_day_30_reminder_sent(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.mark_day_30_reminder_sent(user, at).await
    }
}

#[async_trait]
impl OAuthStore for FaultyStore {
    async fn user_by_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<User>, StorageError> {
        self.inner.user_by_oauth_identity(provider, subject).await
    }
    async fn link_oauth_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        self.inner
            .link_oauth_identity(user_id, provider, subject, at)
            .await
    }
    async fn create_oauth_user(
        &self,
        user: NewUser,
        provider: &str,
        subject: &str,
    ) -> Result<User, StorageError> {
        self.inner.create_oauth_user(user, provider, subject).await
    }
}

#[async_trait]
impl PasswordResetStore for FaultyStore {
    async fn create_password_reset(
        &self,
        reset: NewPasswordReset,
        max_active: usize,
    ) -> Result<bool, StorageError> {
        self.inner.create_password_reset(reset, max_active).await
    }
    async fn redeem_password_reset(
        &self,
        token_hash: &str,
        change: PasswordChange,
    ) -> Result<Option<User>, StorageError> {
        self.inner.redeem_password_reset(token_hash, change).await
    }
}

#[async_trait]
impl RevocationStore for FaultyStore {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.revoke(key, revoked_at, expires_at).await
    }
    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        self.inner.revoked_at(keys, now).await
    }
}

#[async_trait]
impl RevocationRecord for FaultyStore {
    async fn live_revocations(
        &self,
        after: Option<&str>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StorageError> {
        self.inner.live_revocations(after, limit, now).await
    }
}

#[async_trait]
impl QuestionStore for FaultyStore {
    async fn import_questions(&self, rows: &[NewQuestion]) -> Result<Vec<bool>, StorageError> {
        self.inner.import_questions(rows).await
    }
    async fn question_count(&self) -> Result<u64, StorageError> {
        self.inner.question_count().await
    }
    async fn questions_by_ids(&self, ids: &[QuestionId]) -> Result<Vec<Question>, StorageError> {
        self.inner.questions_by_ids(ids).await
    }
    async fn unseen_questions(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Question>, StorageError> {
        self.inner.unseen_questions(user, limit).await
    }
    async fn selection_candidates(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<Candidate>, StorageError> {
        self.inner.selection_candidates(user).await
    }
    async fn refresh_question_statistics(
        &self,
        ids: &[QuestionId],
        now: OffsetDateTime,
        latest: u32,
    ) -> Result<Vec<RefreshedQuestion>, StorageError> {
        self.inner
            .refresh_question_statistics(ids, now, latest)
            .await
    }
}

#[async_trait]
impl SessionStore for FaultyStore {
    async fn start_context(
        &self,
        user: UserId,
        abandon_threshold: i64,
    ) -> Result<StartContext, StorageError> {
        self.inner.start_context(user, abandon_threshold).await
    }
    async fn start_session(&self, session: NewSession) -> Result<TestSession, StorageError> {
        self.inner.start_session(session).await
    }
    async fn session(&self, id: SessionId) -> Result<Option<TestSession>, StorageError> {
        self.inner.session(id).await
    }
    async fn session_question_ids(&self, id: SessionId) -> Result<Vec<QuestionId>, StorageError> {
        self.inner.session_question_ids(id).await
    }
    async fn seen_since(
        &self,
        user: UserId,
        since: OffsetDateTime,
    ) -> Result<Vec<QuestionId>, StorageError> {
        self.inner.seen_since(user, since).await
    }
    async fn response_count(&self, id: SessionId) -> Result<u64, StorageError> {
        self.inner.response_count(id).await
    }
    async fn session_responses(&self, id: SessionId) -> Result<Vec<StoredResponse>, StorageError> {
        self.inner.session_responses(id).await
    }
    async fn abandon_session(
        &self,
        id: SessionId,
        at: OffsetDateTime,
    ) -> Result<Option<(TestSession, u64)>, StorageError> {
        self.inner.abandon_session(id, at).await
    }
    async fn abandon_stale_guest_sessions(
        &self,
        started_before: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        self.inner
            .abandon_stale_guest_sessions(started_before)
            .await
    }
    async fn complete_session(
        &self,
        completion: Completion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        self.inner.complete_session(completion).await
    }
    async fn result(&self, id: ResultId) -> Result<Option<TestResult>, StorageError> {
        self.inner.result(id).await
    }
    async fn result_for_session(
        &self,
        session: SessionId,
    ) -> Result<Option<TestResult>, StorageError> {
        self.inner.result_for_session(session).await
    }
    async fn result_history(
        &self,
        user: UserId,
        limit: u64,
        offset: u64,
    ) -> Result<ResultPage, StorageError> {
        self.inner.result_history(user, limit, offset).await
    }
    async fn claim_guest_session(
        &self,
        session: SessionId,
        user: UserId,
    ) -> Result<ClaimOutcome, StorageError> {
        self.inner.claim_guest_session(session, user).await
    }
    async fn active_session_count(&self) -> Result<u64, StorageError> {
        self.inner.active_session_count().await
    }
}

#[async_trait]
impl aiq_core::storage::ReliabilityStore for FaultyStore {
    async fn item_appearances(
        &self,
        latest: u64,
    ) -> Result<aiq_core::storage::ItemAppearances, StorageError> {
        self.inner.item_appearances(latest).await
    }
    async fn score_sums(
        &self,
        items: &[QuestionId],
        min_answered: u64,
        latest: u64,
    ) -> Result<aiq_core::storage::ScoreSums, StorageError> {
        self.inner.score_sums(items, min_answered, latest).await
    }
    async fn split_half_sums(
        &self,
        latest: u64,
    ) -> Result<aiq_core::storage::SplitHalfSums, StorageError> {
        self.inner.split_half_sums(latest).await
    }
}

#[async_trait]
impl GuestStore for FaultyStore {
    async fn guest_tests_taken(&self, device_id: &str) -> Result<i32, StorageError> {
        self.inner.guest_tests_taken(device_id).await
    }
    async fn record_guest_test(
        &self,
        device_id: &str,
        at: OffsetDateTime,
    ) -> Result<i32, StorageError> {
        self.inner.record_guest_test(device_id, at).await
    }
}

#[async_trait]
impl aiq_core::storage::AdaptiveStore for FaultyStore {
    async fn adaptive_pool(
        &self,
        user: UserId,
    ) -> Result<Vec<aiq_core::cat::PoolItem>, StorageError> {
        self.inner.adaptive_pool(user).await
    }
    async fn adaptive_prior(&self, user: UserId) -> Result<Option<f64>, StorageError> {
        self.inner.adaptive_prior(user).await
    }
    async fn start_adaptive_session(
        &self,
        session: NewSession,
        state: serde_json::Value,
    ) -> Result<TestSession, StorageError> {
        self.inner.start_adaptive_session(session, state).await
    }
    async fn adaptive_state(
        &self,
        id: SessionId,
    ) -> Result<Option<aiq_core::storage::AdaptiveState>, StorageError> {
        self.inner.adaptive_state(id).await
    }
    async fn record_adaptive_step(
        &self,
        step: aiq_core::storage::AdaptiveStep,
    ) -> Result<(), StorageError> {
        self.inner.record_adaptive_step(step).await
    }
    async fn finish_adaptive_session(
        &self,
        step: aiq_core::storage::AdaptiveStep,
        completion: aiq_core::storage::AdaptiveCompletion,
    ) -> Result<(TestSession, TestResult), StorageError> {
        self.inner.finish_adaptive_session(step, completion).await
    }
}

#[async_trait]
impl aiq_core::storage::CalibrationStore for FaultyStore {
    async fn calibration_responses(
        &self,
        before: Option<SessionId>,
        sessions: u32,
    ) -> Result<Vec<aiq_core::cat::ItemResponse>, StorageError> {
        self.inner.calibration_responses(before, sessions).await
    }
    async fn new_calibration_responses(&self) -> Result<u64, StorageError> {
        self.inner.new_calibration_responses().await
    }
    async fn publish_calibration(
        &self,
        items: &[aiq_core::cat::CalibratedItem],
        run: &aiq_core::storage::CalibrationRun,
    ) -> Result<(), StorageError> {
        self.inner.publish_calibration(items, run).await
    }
    async fn record_calibration_run(
        &self,
        run: &aiq_core::storage::CalibrationRun,
    ) -> Result<(), StorageError> {
        self.inner.record_calibration_run(run).await
    }
    async fn calibration_runs(
        &self,
        limit: u32,
    ) -> Result<Vec<aiq_core::storage::CalibrationRun>, StorageError> {
        self.inner.calibration_runs(limit).await
    }
}

#[async_trait]
impl SystemConfigStore for FaultyStore {
    async fn system_config(&self, key: &str) -> Result<Option<serde_json::Value>, StorageError> {
        self.inner.system_config(key).await
    }
    async fn set_system_config(
        &self,
        key: &str,
        value: serde_json::Value,
        at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        self.inner.set_system_config(key, value, at).await
    }
    async fn claim_system_config(
        &self,
        key: &str,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.claim_system_config(key, stale_before, now).await
    }
}

#[async_trait]
impl aiq_core::storage::GroupStore for FaultyStore {
    async fn create_group(
        &self,
        group: aiq_core::storage::NewGroup,
    ) -> Result<aiq_core::storage::Group, StorageError> {
        self.inner.create_group(group).await
    }
    async fn group(&self, id: i64) -> Result<Option<aiq_core::storage::Group>, StorageError> {
        self.inner.group(id).await
    }
    async fn user_groups(
        &self,
        user: UserId,
    ) -> Result<Vec<aiq_core::storage::Group>, StorageError> {
        self.inner.user_groups(user).await
    }
    async fn group_members(
        &self,
        id: i64,
    ) -> Result<Vec<aiq_core::storage::GroupMember>, StorageError> {
        self.inner.group_members(id).await
    }
    async fn create_invite(
        &self,
        invite: aiq_core::storage::NewInvite,
    ) -> Result<Option<aiq_core::storage::GroupInvite>, StorageError> {
        self.inner.create_invite(invite).await
    }
    async fn invite_by_code(
        &self,
        code: &str,
    ) -> Result<Option<aiq_core::storage::GroupInvite>, StorageError> {
        self.inner.invite_by_code(code).await
    }
    async fn join_group(
        &self,
        code: &str,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<aiq_core::storage::JoinOutcome, StorageError> {
        self.inner.join_group(code, user, now).await
    }
    async fn remove_member(
        &self,
        group: i64,
        actor: UserId,
        target: UserId,
    ) -> Result<Result<(), aiq_core::storage::GroupDenied>, StorageError> {
        self.inner.remove_member(group, actor, target).await
    }
    async fn transfer_ownership(
        &self,
        group: i64,
        actor: UserId,
        new_owner: UserId,
    ) -> Result<Result<(), aiq_core::storage::GroupDenied>, StorageError> {
        self.inner.transfer_ownership(group, actor, new_owner).await
    }
    async fn delete_group(
        &self,
        group: i64,
        actor: UserId,
    ) -> Result<Result<(), aiq_core::storage::GroupDenied>, StorageError> {
        self.inner.delete_group(group, actor).await
    }
    async fn leaderboard(
        &self,
        group: i64,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<aiq_core::storage::LeaderboardRow>, StorageError> {
        self.inner.leaderboard(group, since).await
    }
}

#[async_trait]
impl AnalyticsStore for FaultyStore {
    async fn insert_client_events(&self, events: &[NewClientEvent]) -> Result<u64, StorageError> {
        self.inner.insert_client_events(events).await
    }
    async fn recent_client_events(&self, limit: usize) -> Result<Vec<ClientEvent>, StorageError> {
        self.inner.recent_client_events(limit).await
    }
    async fn create_feedback(&self, feedback: NewFeedback) -> Result<Feedback, StorageError> {
        self.inner.create_feedback(feedback).await
    }
    async fn feedback(&self, id: FeedbackId) -> Result<Option<Feedback>, StorageError> {
        self.inner.feedback(id).await
    }
    async fn model_accuracy(
        &self,
        scope: AccuracyScope,
    ) -> Result<Vec<ModelAccuracy>, StorageError> {
        self.inner.model_accuracy(scope).await
    }
    async fn record_llm_run(&self, run: NewLlmRun) -> Result<i64, StorageError> {
        self.inner.record_llm_run(run).await
    }
    async fn llm_runs(&self) -> Result<Vec<LlmRun>, StorageError> {
        self.inner.llm_runs().await
    }
    async fn question_statistics(
        &self,
        min_responses: i32,
    ) -> Result<Vec<QuestionStatistics>, StorageError> {
        self.inner.question_statistics(min_responses).await
    }
}
