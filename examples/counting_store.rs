//! A storage backend of your own, checked by aiq's storage conformance suite.
//!
//! `CountingStore` wraps another store (here the in-memory one) and counts the calls to each
//! method of the storage traits before passing them on. It stands for any third-party backend:
//! whatever implements [`Storage`] runs the same suite aiq-core's own stores pass, with one call
//! to [`storage_conformance`] and a factory that makes a fresh, empty store per case.
//!
//! ```sh
//! cargo run -p aiq-examples --example counting_store    # every case, then the calls per method
//! cargo test -p aiq-examples --example counting_store   # the same as a test (CI runs it)
//! ```
//!
//! A backend implements every method of every area trait, so a wrapper delegates each one: the
//! `counted!` macro below writes those delegations from the methods' signatures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aiq_core::cat::{CalibratedItem, ItemResponse, PoolItem};
use aiq_core::questions::NewQuestion;
use aiq_core::selection::Candidate;
use aiq_core::storage::*;
use aiq_testkit::conformance::storage_conformance;
use async_trait::async_trait;
use time::{Date, OffsetDateTime};

/// Calls per storage method, shared by every store the suite's factory makes.
#[derive(Debug, Default)]
struct CallCounts(Mutex<BTreeMap<&'static str, u64>>);

impl CallCounts {
    fn record(&self, method: &'static str) {
        *self.0.lock().unwrap().entry(method).or_default() += 1;
    }

    /// Every counted method with its count so far (zero for those never called).
    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        let counts = self.0.lock().unwrap();
        METHODS
            .iter()
            .map(|method| (*method, counts.get(method).copied().unwrap_or(0)))
            .collect()
    }
}

/// A store that counts the calls it passes on to `inner`.
#[derive(Debug)]
struct CountingStore<S> {
    inner: S,
    counts: Arc<CallCounts>,
}

impl<S: Storage> CountingStore<S> {
    fn new(inner: S, counts: Arc<CallCounts>) -> Self {
        Self { inner, counts }
    }
}

#[async_trait]
impl<S: Storage> Storage for CountingStore<S> {
    async fn ping(&self) -> Result<(), StorageError> {
        self.counts.record("ping");
        self.inner.ping().await
    }

    fn backend(&self) -> &'static str {
        "counting"
    }

    async fn user_with_revocations(
        &self,
        id: UserId,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<(Option<User>, Vec<Option<OffsetDateTime>>), StorageError> {
        self.counts.record("user_with_revocations");
        self.inner.user_with_revocations(id, keys, now).await
    }
}

/// Implements each listed trait for `CountingStore<S>`: every method records its name, then
/// calls the same method of the inner store. Also lists the methods as `METHODS`.
macro_rules! counted {
    ($(
        impl $area:ident {
            $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*
        }
    )*) => {
        $(
            #[async_trait]
            impl<S: Storage> $area for CountingStore<S> {
                $(
                    async fn $method(&self $(, $arg: $ty)*) -> $ret {
                        self.counts.record(stringify!($method));
                        self.inner.$method($($arg),*).await
                    }
                )*
            }
        )*

        /// Every method of the storage traits, those of `Storage` itself included.
        const METHODS: &[&str] = &["ping", "user_with_revocations", $($(stringify!($method),)*)*];
    };
}

counted! {
    impl UserStore {
        async fn create_user(&self, user: NewUser) -> Result<User, StorageError>;
        async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError>;
        async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError>;
        async fn delete_user(&self, id: UserId) -> Result<bool, StorageError>;
        async fn record_login(&self, id: UserId, at: OffsetDateTime, verified_hash: &str, new_password_hash: Option<String>) -> Result<Option<User>, StorageError>;
        async fn update_profile(&self, id: UserId, update: ProfileUpdate) -> Result<Option<User>, StorageError>;
        async fn revoke_all_tokens(&self, id: UserId, at: OffsetDateTime) -> Result<Option<User>, StorageError>;
        async fn set_device_token(&self, id: UserId, token: Option<&str>) -> Result<bool, StorageError>;
        async fn clear_device_token_if(&self, id: UserId, token: &str) -> Result<bool, StorageError>;
    }
    impl OAuthStore {
        async fn user_by_oauth_identity(&self, provider: &str, subject: &str) -> Result<Option<User>, StorageError>;
        async fn link_oauth_identity(&self, user_id: UserId, provider: &str, subject: &str, at: OffsetDateTime) -> Result<(), StorageError>;
        async fn create_oauth_user(&self, user: NewUser, provider: &str, subject: &str) -> Result<User, StorageError>;
    }
    impl PasswordResetStore {
        async fn create_password_reset(&self, reset: NewPasswordReset, max_active: usize) -> Result<bool, StorageError>;
        async fn redeem_password_reset(&self, token_hash: &str, change: PasswordChange) -> Result<Option<User>, StorageError>;
    }
    impl RevocationStore {
        async fn revoke(&self, key: &str, revoked_at: OffsetDateTime, expires_at: OffsetDateTime) -> Result<bool, StorageError>;
        async fn revoked_at(&self, keys: &[&str], now: OffsetDateTime) -> Result<Vec<Option<OffsetDateTime>>, StorageError>;
    }
    impl RevocationRecord {
        async fn live_revocations(&self, after: Option<&str>, limit: usize, now: OffsetDateTime) -> Result<Vec<Revocation>, StorageError>;
    }
    impl QuestionStore {
        async fn import_questions(&self, rows: &[NewQuestion]) -> Result<Vec<bool>, StorageError>;
        async fn question_count(&self) -> Result<u64, StorageError>;
        async fn questions_by_ids(&self, ids: &[QuestionId]) -> Result<Vec<Question>, StorageError>;
        async fn unseen_questions(&self, user: UserId, limit: usize) -> Result<Vec<Question>, StorageError>;
        async fn selection_candidates(&self, user: Option<UserId>) -> Result<Vec<Candidate>, StorageError>;
        async fn refresh_question_statistics(&self, ids: &[QuestionId], now: OffsetDateTime, latest: u32) -> Result<Vec<RefreshedQuestion>, StorageError>;
    }
    impl SessionStore {
        async fn start_context(&self, user: UserId, abandon_threshold: i64) -> Result<StartContext, StorageError>;
        async fn start_session(&self, session: NewSession) -> Result<TestSession, StorageError>;
        async fn session(&self, id: SessionId) -> Result<Option<TestSession>, StorageError>;
        async fn session_question_ids(&self, id: SessionId) -> Result<Vec<QuestionId>, StorageError>;
        async fn seen_since(&self, user: UserId, since: OffsetDateTime) -> Result<Vec<QuestionId>, StorageError>;
        async fn response_count(&self, id: SessionId) -> Result<u64, StorageError>;
        async fn session_responses(&self, id: SessionId) -> Result<Vec<StoredResponse>, StorageError>;
        async fn abandon_session(&self, id: SessionId, at: OffsetDateTime) -> Result<Option<(TestSession, u64)>, StorageError>;
        async fn abandon_stale_guest_sessions(&self, started_before: OffsetDateTime) -> Result<u64, StorageError>;
        async fn complete_session(&self, completion: Completion) -> Result<(TestSession, TestResult), StorageError>;
        async fn result(&self, id: ResultId) -> Result<Option<TestResult>, StorageError>;
        async fn result_for_session(&self, session: SessionId) -> Result<Option<TestResult>, StorageError>;
        async fn result_history(&self, user: UserId, limit: u64, offset: u64) -> Result<ResultPage, StorageError>;
        async fn claim_guest_session(&self, session: SessionId, user: UserId) -> Result<ClaimOutcome, StorageError>;
        async fn active_session_count(&self) -> Result<u64, StorageError>;
    }
    impl ReliabilityStore {
        async fn item_appearances(&self, latest: u64) -> Result<ItemAppearances, StorageError>;
        async fn score_sums(&self, items: &[QuestionId], min_answered: u64, latest: u64) -> Result<ScoreSums, StorageError>;
        async fn split_half_sums(&self, latest: u64) -> Result<SplitHalfSums, StorageError>;
    }
    impl GuestStore {
        async fn guest_tests_taken(&self, device_id: &str) -> Result<i32, StorageError>;
        async fn record_guest_test(&self, device_id: &str, at: OffsetDateTime) -> Result<i32, StorageError>;
    }
    impl SystemConfigStore {
        async fn system_config(&self, key: &str) -> Result<Option<serde_json::Value>, StorageError>;
        async fn set_system_config(&self, key: &str, value: serde_json::Value, at: OffsetDateTime) -> Result<(), StorageError>;
        async fn claim_system_config(&self, key: &str, stale_before: OffsetDateTime, now: OffsetDateTime) -> Result<bool, StorageError>;
    }
    impl GroupStore {
        async fn create_group(&self, group: NewGroup) -> Result<Group, StorageError>;
        async fn group(&self, id: GroupId) -> Result<Option<Group>, StorageError>;
        async fn user_groups(&self, user: UserId) -> Result<Vec<Group>, StorageError>;
        async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMember>, StorageError>;
        async fn create_invite(&self, invite: NewInvite) -> Result<Option<GroupInvite>, StorageError>;
        async fn invite_by_code(&self, code: &str) -> Result<Option<GroupInvite>, StorageError>;
        async fn join_group(&self, code: &str, user: UserId, now: OffsetDateTime) -> Result<JoinOutcome, StorageError>;
        async fn remove_member(&self, group: GroupId, actor: UserId, target: UserId) -> Result<Result<(), GroupDenied>, StorageError>;
        async fn transfer_ownership(&self, group: GroupId, actor: UserId, new_owner: UserId) -> Result<Result<(), GroupDenied>, StorageError>;
        async fn delete_group(&self, group: GroupId, actor: UserId) -> Result<Result<(), GroupDenied>, StorageError>;
        async fn leaderboard(&self, group: GroupId, since: Option<OffsetDateTime>) -> Result<Vec<LeaderboardRow>, StorageError>;
    }
    impl ReminderStore {
        async fn test_reminder_candidates(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<ReminderCandidate>, StorageError>;
        async fn mark_test_reminder_sent(&self, user: UserId, result: ResultId) -> Result<bool, StorageError>;
        async fn day_30_reminder_candidates(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<ReminderCandidate>, StorageError>;
        async fn mark_day_30_reminder_sent(&self, user: UserId, at: OffsetDateTime) -> Result<bool, StorageError>;
    }
    impl AnalyticsStore {
        async fn insert_client_events(&self, events: &[NewClientEvent]) -> Result<u64, StorageError>;
        async fn recent_client_events(&self, limit: usize) -> Result<Vec<ClientEvent>, StorageError>;
        async fn create_feedback(&self, feedback: NewFeedback) -> Result<Feedback, StorageError>;
        async fn feedback(&self, id: FeedbackId) -> Result<Option<Feedback>, StorageError>;
        async fn model_accuracy(&self, scope: AccuracyScope) -> Result<Vec<ModelAccuracy>, StorageError>;
        async fn record_llm_run(&self, run: NewLlmRun) -> Result<i64, StorageError>;
        async fn llm_runs(&self) -> Result<Vec<LlmRun>, StorageError>;
        async fn question_statistics(&self, min_responses: i32) -> Result<Vec<QuestionStatistics>, StorageError>;
    }
    impl AdaptiveStore {
        async fn adaptive_pool(&self, user: UserId) -> Result<Vec<PoolItem>, StorageError>;
        async fn adaptive_prior(&self, user: UserId) -> Result<Option<f64>, StorageError>;
        async fn start_adaptive_session(&self, session: NewSession, state: serde_json::Value) -> Result<TestSession, StorageError>;
        async fn adaptive_state(&self, id: SessionId) -> Result<Option<AdaptiveState>, StorageError>;
        async fn record_adaptive_step(&self, step: AdaptiveStep) -> Result<(), StorageError>;
        async fn finish_adaptive_session(&self, step: AdaptiveStep, completion: AdaptiveCompletion) -> Result<(TestSession, TestResult), StorageError>;
    }
    impl CalibrationStore {
        async fn calibration_responses(&self, before: Option<SessionId>, sessions: u32) -> Result<Vec<ItemResponse>, StorageError>;
        async fn new_calibration_responses(&self) -> Result<u64, StorageError>;
        async fn publish_calibration(&self, items: &[CalibratedItem], run: &CalibrationRun) -> Result<(), StorageError>;
        async fn record_calibration_run(&self, run: &CalibrationRun) -> Result<(), StorageError>;
        async fn calibration_runs(&self, limit: u32) -> Result<Vec<CalibrationRun>, StorageError>;
    }
    impl AdminStore {
        async fn overview_counts(&self) -> Result<OverviewCounts, StorageError>;
        async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError>;
        async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError>;
        async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError>;
        async fn list_users(&self, query: &UserQuery, page: PageRequest) -> Result<Page<UserRow>, StorageError>;
        async fn export_users(&self, query: &UserQuery, seek: Seek) -> Result<Vec<UserRow>, StorageError>;
        async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError>;
        async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError>;
        async fn list_questions(&self, query: &QuestionQuery, page: PageRequest) -> Result<Page<Question>, StorageError>;
        async fn export_questions(&self, query: &QuestionQuery, seek: Seek) -> Result<Vec<Question>, StorageError>;
        async fn set_question_active(&self, id: QuestionId, active: bool) -> Result<bool, StorageError>;
        async fn set_quality_flag(&self, id: QuestionId, flag: QualityFlag, reason: Option<&str>, at: OffsetDateTime) -> Result<Option<QualityFlag>, StorageError>;
        async fn set_anchor(&self, id: QuestionId, anchor: bool, at: OffsetDateTime) -> Result<bool, StorageError>;
        async fn list_sessions(&self, query: &SessionQuery, page: PageRequest) -> Result<Page<SessionRow>, StorageError>;
        async fn export_sessions(&self, query: &SessionQuery, seek: Seek) -> Result<Vec<SessionRow>, StorageError>;
        async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError>;
        async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError>;
        async fn override_validity(&self, session: SessionId, verdict: &ValidityOverride) -> Result<Option<ValidityRecord>, StorageError>;
        async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError>;
        async fn admin_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<AdminSession>, StorageError>;
        async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError>;
        async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError>;
        async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError>;
        async fn export_audit(&self, seek: Seek) -> Result<Vec<AuditEntry>, StorageError>;
    }
}

/// Runs the whole conformance suite on counting stores around fresh in-memory stores, and
/// returns the calls they counted together.
async fn run_the_suite() -> BTreeMap<&'static str, u64> {
    let counts = Arc::new(CallCounts::default());
    let shared = Arc::clone(&counts);
    // Called once per case: every case gets an empty store of its own; the counts are shared.
    storage_conformance(move || {
        let counts = Arc::clone(&shared);
        async move { CountingStore::new(MemoryStore::new(), counts) }
    })
    .await;
    counts.snapshot()
}

#[tokio::main]
async fn main() {
    let counts = run_the_suite().await;
    println!("calls per storage method over the whole suite:");
    for (method, calls) in &counts {
        println!("{calls:>8}  {method}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_counting_wrapper_around_the_memory_store_conforms() {
        let counts = run_the_suite().await;
        // Every call went through the wrapper, and the suite leaves no method of the storage
        // traits unexercised.
        let never: Vec<_> = counts
            .iter()
            .filter(|(_, calls)| **calls == 0)
            .map(|(method, _)| *method)
            .collect();
        assert!(never.is_empty(), "never called: {never:?}");
        assert_eq!(counts.len(), METHODS.len());
    }

    /// What the service asks of its store per authenticated read: one call, which a database
    /// backend answers in one round trip.
    #[tokio::test]
    async fn an_authenticated_read_is_one_storage_call() {
        use axum::body::{Body, to_bytes};
        use http::{Request, StatusCode};
        use tower::ServiceExt;

        let counts = Arc::new(CallCounts::default());
        let store = CountingStore::new(MemoryStore::new(), Arc::clone(&counts));
        let service = aiq_core::Aiq::builder(aiq_core::Config::default())
            .storage(Arc::new(store))
            .build()
            .unwrap();
        let register = serde_json::json!({
            "email": "one@example.com", "password": "Correct-Horse-9",
            "first_name": "One", "last_name": "Read",
        });
        let request = Request::post("/v1/auth/register")
            .header("content-type", "application/json")
            .body(Body::from(register.to_string()))
            .unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let registered: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let access = registered["access_token"].as_str().unwrap();

        let before = counts.snapshot();
        let request = Request::get("/v1/user/profile")
            .header("authorization", format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let calls: BTreeMap<_, _> = counts
            .snapshot()
            .into_iter()
            .map(|(method, n)| (method, n - before[method]))
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(calls, BTreeMap::from([("user_with_revocations", 1)]));
    }
}
