//! The service's own endpoints and its middleware, driven in-process through `oneshot`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aiq_core::Config;
use aiq_core::config::{CorsOrigins, Environment};
use aiq_core::questions::NewQuestion;
use aiq_core::selection::Candidate;
use aiq_core::storage::{
    AccuracyScope, AnalyticsStore, ClientEvent, Feedback, FeedbackId, LlmRun, ModelAccuracy,
    NewClientEvent, NewFeedback, NewLlmRun, QuestionStatistics,
};
use aiq_core::storage::{
    ClaimOutcome, Completion, GuestStore, MemoryStore, NewPasswordReset, NewSession, NewUser,
    OAuthStore, PasswordChange, PasswordResetStore, PgStore, ProfileUpdate, Question, QuestionId,
    QuestionStore, RefreshedQuestion, ReminderCandidate, ReminderStore, ResultId, ResultPage,
    RevocationStore, SessionId, SessionStore, StartContext, Storage, StorageError, StoredResponse,
    SystemConfigStore, TestResult, TestSession, User, UserId, UserStore,
};
use async_trait::async_trait;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use support::{Reply, get, memory_service, send, service_with};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A store that fails in a chosen way on `ping`, for the error paths of the health check.
#[derive(Debug)]
enum Fault {
    Panic,
    Hang,
}

#[derive(Debug)]
struct FaultyStore {
    fault: Fault,
    inner: MemoryStore,
}

impl FaultyStore {
    fn shared(fault: Fault) -> Arc<dyn Storage> {
        Arc::new(Self {
            fault,
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
    ) -> Result<Vec<RefreshedQuestion>, StorageError> {
        self.inner.refresh_question_statistics(ids, now).await
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
    async fn response_matrix(
        &self,
        min_sessions: u64,
    ) -> Result<Vec<Vec<(QuestionId, bool)>>, StorageError> {
        self.inner.response_matrix(min_sessions).await
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
    ) -> Result<Vec<aiq_core::cat::ItemResponse>, StorageError> {
        self.inner.calibration_responses().await
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

/// The headers every response must carry, whatever produced it.
fn assert_standard_headers(reply: &Reply) {
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("x-xss-protection", "1; mode=block"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        (
            "permissions-policy",
            "geolocation=(), microphone=(), camera=(), payment=(), usb=()",
        ),
        ("x-permitted-cross-domain-policies", "none"),
    ] {
        assert_eq!(
            reply.header(name),
            Some(value),
            "{name} on {}",
            reply.status
        );
    }
    let csp = reply.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let id = reply.header("x-request-id").expect("x-request-id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated ids are uuids: {id}"
    );
    assert!(reply.header("x-process-time").is_some());
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "JSON on {}",
        reply.status
    );
}

fn production_config() -> Config {
    let mut config = Config::default();
    config.app.environment = Environment::new("production");
    config.database.url = Some("postgres://aiq@127.0.0.1:5432/aiq".to_owned().into());
    config.security.secret_key = "0123456789abcdef0123456789abcdef-session".to_owned().into();
    config.security.jwt_secret_key = "0123456789abcdef0123456789abcdef-jwt".to_owned().into();
    config.security.secrets_generated = false;
    config.http.cors_origins = CorsOrigins::List(vec!["https://a-iq-test.com".into()]);
    config
}

#[tokio::test]
async fn root_welcomes_with_version_and_docs() {
    let reply = send(&memory_service(), get("/")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        serde_json::json!({"message": "Welcome to AIQ API", "version": "0.1.0", "docs": "/v1/docs"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn health_is_ok_on_memory() {
    let reply = send(&memory_service(), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["service"], "AIQ API");
    assert_eq!(body["version"], "0.1.0");
    assert!(body.get("database_error").is_none());
    let timestamp = body["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    OffsetDateTime::parse(timestamp, &Rfc3339).unwrap();
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn health_is_ok_on_postgres() {
    let (store, _db) = support::pg_store().await;
    let service = service_with(Config::default(), Arc::new(store));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["database"], "ok");
}

fn unreachable_pg(config: &mut Config) -> Arc<dyn Storage> {
    // Port 1 on loopback refuses connections at once.
    config.database.url = Some("postgres://aiq@127.0.0.1:1/aiq".to_owned().into());
    config.database.connect_timeout = Duration::from_secs(1);
    Arc::new(PgStore::connect(&config.database).unwrap())
}

#[tokio::test]
async fn health_is_503_when_the_database_is_unreachable() {
    let mut config = Config::default();
    let store = unreachable_pg(&mut config);
    let reply = send(&service_with(config, store), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"], "error");
    assert!(
        body["database_error"].as_str().is_some(),
        "reason shown outside production"
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn production_health_hides_the_database_error() {
    let mut config = production_config();
    let store = unreachable_pg(&mut config);
    let reply = send(&service_with(config, store), get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.json().get("database_error").is_none());
}

#[tokio::test(start_paused = true)]
async fn health_gives_up_on_a_hanging_database() {
    let service = service_with(Config::default(), FaultyStore::shared(Fault::Hang));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = reply.json()["database_error"].as_str().unwrap().to_owned();
    assert!(reason.contains("timed out"), "{reason}");
}

#[tokio::test]
async fn ping_pongs() {
    let reply = send(&memory_service(), get("/v1/ping")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({"message": "pong"}));
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let reply = send(&memory_service(), get("/v1/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "AIQ API");
    for (path, operation_id) in [
        ("/", "root__get"),
        (
            "/.well-known/apple-app-site-association",
            "apple_app_site_association__well_known_apple_app_site_association_get",
        ),
        ("/v1/health", "health_check_v1_health_get"),
        ("/v1/ping", "ping_v1_ping_get"),
    ] {
        assert_eq!(
            doc["paths"][path]["get"]["operationId"], operation_id,
            "{path}"
        );
    }
}

#[tokio::test]
async fn docs_render_from_the_binary_alone() {
    let service = memory_service();
    let redirect = send(&service, get("/v1/docs")).await;
    assert!(redirect.status.is_redirection());
    assert_eq!(redirect.header("location"), Some("/v1/docs/"));

    let page = send(&service, get("/v1/docs/")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets: {html}"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let reply = send(&service, get(&format!("/v1/docs/{asset}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(!reply.body.is_empty(), "{asset}");
    }
    let init = send(&service, get("/v1/docs/swagger-initializer.js"))
        .await
        .text();
    assert!(init.contains("../openapi.json"), "{init}");
}

#[tokio::test]
async fn apple_app_site_association_lists_the_app_links() {
    let reply = send(
        &memory_service(),
        get("/.well-known/apple-app-site-association"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let details = &body["applinks"]["details"][0];
    assert_eq!(details["appIDs"][0], "4HDNC3V5Q6.com.aiq.app");
    let components = details["components"].as_array().unwrap();
    assert_eq!(components.len(), 3);
    assert_eq!(components[0]["/"], "/groups/join");
    assert_eq!(components[0]["?"]["code"], "?*");
}

#[tokio::test]
async fn unknown_route_is_a_json_404_with_headers() {
    let reply = send(&memory_service(), get("/v1/nope")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json(), serde_json::json!({"detail": "Not Found"}));
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn wrong_method_is_a_json_405_with_headers() {
    let request = Request::post("/v1/health").body(Body::empty()).unwrap();
    let reply = send(&memory_service(), request).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Method Not Allowed"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn oversized_body_is_a_json_413_with_headers() {
    let request = Request::post("/v1/ping")
        .header("content-length", (2 * 1024 * 1024).to_string())
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 2 * 1024 * 1024]))
        .unwrap();
    let reply = send(&memory_service(), request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Request body too large"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn a_panic_is_a_json_500_with_an_error_id_and_headers() {
    let service = service_with(Config::default(), FaultyStore::shared(Fault::Panic));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = reply.json();
    assert_eq!(body["detail"], "Internal server error");
    assert!(uuid::Uuid::parse_str(body["error_id"].as_str().unwrap()).is_ok());
    assert!(
        !reply.text().contains("exploded"),
        "the panic message stays in the logs"
    );
    assert_standard_headers(&reply);
}

#[tokio::test(start_paused = true)]
async fn a_request_over_the_timeout_is_a_json_408() {
    let mut config = Config::default();
    config.http.request_timeout = Duration::from_secs(1);
    let service = service_with(config, FaultyStore::shared(Fault::Hang));
    let reply = send(&service, get("/v1/health")).await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        reply.json(),
        serde_json::json!({"detail": "Request timed out"})
    );
    assert_standard_headers(&reply);
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_odd_one_replaced() {
    let service = memory_service();
    let request = Request::get("/v1/ping")
        .header("x-request-id", "client-trace.42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&service, request).await.header("x-request-id"),
        Some("client-trace.42")
    );

    for odd in ["<script>alert(1)</script>", &"x".repeat(200)] {
        let request = Request::get("/v1/ping")
            .header("x-request-id", odd)
            .body(Body::empty())
            .unwrap();
        let reply = send(&service, request).await;
        let id = reply.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "replaced: {id}");
    }
}

#[tokio::test]
async fn hsts_only_in_production() {
    let reply = send(&memory_service(), get("/v1/ping")).await;
    assert_eq!(reply.header("strict-transport-security"), None);

    let service = service_with(production_config(), Arc::new(MemoryStore::new()));
    let reply = send(&service, get("/v1/ping")).await;
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let service = memory_service();
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/health")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = send(&service, preflight("http://localhost:3000")).await;
    assert!(allowed.status.is_success(), "{}", allowed.status);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("600"));
    assert!(allowed.header("x-request-id").is_some());

    let denied = send(&service, preflight("https://evil.example")).await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    // Error responses carry CORS headers too, so a browser can read them.
    let request = Request::get("/v1/nope")
        .header("origin", "http://localhost:3000")
        .body(Body::empty())
        .unwrap();
    let reply = send(&service, request).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
}

#[tokio::test]
async fn the_api_prefix_is_configurable() {
    let mut config = Config::default();
    config.app.api_prefix = "/api/v1".into();
    let service = service_with(config, Arc::new(MemoryStore::new()));
    assert_eq!(
        send(&service, get("/api/v1/health")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&service, get("/v1/health")).await.status,
        StatusCode::NOT_FOUND
    );
    let doc = send(&service, get("/api/v1/openapi.json")).await.json();
    assert!(doc["paths"]["/api/v1/ping"].is_object());
    assert_eq!(
        send(&service, get("/")).await.json()["docs"],
        "/api/v1/docs"
    );
}

#[tokio::test]
async fn the_service_mounts_under_another_router() {
    let service = memory_service();
    let app = axum::Router::new()
        .route("/own", axum::routing::get(|| async { "own route" }))
        .nest_service("/aiq", service);
    let reply = tower::ServiceExt::oneshot(app, get("/aiq/v1/ping"))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_invalid_config_is_refused_at_build() {
    let mut config = Config::default();
    config.app.api_prefix = "v1/".into();
    let err = aiq_core::Aiq::builder(config).build().unwrap_err();
    assert!(err.names("API_V1_PREFIX"), "{err}");
}

/// `ApiJson` rejections, through a router that uses it the way handlers do.
#[tokio::test]
async fn json_bodies_are_checked_with_json_errors() {
    use aiq_core::extract::ApiJson;
    #[derive(serde::Deserialize)]
    struct Login {
        #[allow(dead_code)]
        email: String,
    }
    let app = axum::Router::new().route(
        "/login",
        axum::routing::post(|ApiJson(_): ApiJson<Login>| async { "ok" }),
    );
    let post = |content_type: Option<&str>, body: &'static str| {
        let mut request = Request::post("/login");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(Body::from(body)).unwrap()
    };
    let call = |request: Request<Body>| async {
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        (
            status,
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        )
    };

    let (status, body) = call(post(Some("application/json"), r#"{"email": "a@b.c"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");

    let (status, body) = call(post(None, "")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], serde_json::json!(["body"]));
    assert_eq!(body["detail"][0]["type"], "missing");

    let (status, body) = call(post(Some("text/plain"), r#"{"email": "a@b.c"}"#)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["detail"], "Content-Type must be application/json");

    let (status, body) = call(post(Some("application/json"), r#"{"email": 42}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["body", "email"])
    );
    assert!(!body.to_string().contains("42"), "{body}");
}

/// A body without a length is cut off at the limit while it is read: 413, not a 500.
#[tokio::test]
async fn a_streamed_body_over_the_limit_is_a_413() {
    use aiq_core::extract::ApiJson;
    let mut config = Config::default();
    config.http.max_body_bytes = 1024;
    // The limit applies inside the service's own routes; a nested router is built the same way.
    let app = axum::Router::new()
        .route(
            "/echo",
            axum::routing::post(
                |ApiJson(v): ApiJson<serde_json::Value>| async move { v.to_string() },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            config.http.max_body_bytes,
        ));
    let request = Request::post("/echo")
        .header("content-type", "application/json")
        .body(Body::new(Chunks { left: 4 }))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A body of `left` chunks of 1 KiB with no declared length, as a chunked upload arrives.
struct Chunks {
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        let chunk = bytes::Bytes::from_static(&[b' '; 1024]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}
