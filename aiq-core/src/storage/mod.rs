//! The storage contract and its two implementations.
//!
//! [`Storage`] is what the service needs from a database, expressed as operations that must be
//! atomic (creating a user with a unique email, later "complete a test session with its
//! responses and result"), so that every backend can guarantee them. It is split by area into
//! small traits ([`UserStore`], ...) that [`Storage`] gathers; each area's trait lives in its own
//! module with its record types. No HTTP types appear here.
//!
//! Two backends ship with the crate and pass one conformance suite (`aiq_testkit::conformance`,
//! which another backend runs with `storage_conformance`; see `tests/storage_conformance.rs`):
//! - [`MemoryStore`]: the embedded default, with the same constraints as PostgreSQL;
//! - `PgStore` (feature `postgres`): PostgreSQL through a deadpool pool, migrations embedded
//!   from `migrations/`.
//!
//! `RedisRevocations` (feature `redis`) implements only [`RevocationStore`], for deployments
//! whose instances share a Redis; it passes the same revocation tests. `CachedRevocations` puts
//! a store behind it as the record of revocations, which refills Redis when it comes back empty.

mod adaptive;
mod admin;
mod analytics;
#[cfg(feature = "redis")]
mod cached_revocations;
mod calibration;
mod error;
mod groups;
mod guest_tokens;
mod memory;
mod oauth;
mod paging;
mod password_reset;
#[cfg(feature = "postgres")]
mod postgres;
mod questions;
mod reach;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod reliability;
mod reminders;
mod revocations;
mod sessions;
mod system_config;
mod users;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use self::adaptive::{
    AdaptiveCompletion, AdaptiveState, AdaptiveStep, AdaptiveStore, pool_params,
};
pub use self::admin::{
    AdminSession, AdminStore, AuditEntry, ESTIMATE_FROM, InventoryCell, NewAuditEntry,
    OverviewCounts, QuestionQuery, QuestionSort, SCORE_SAMPLE, SessionQuery, SessionRow, UserQuery,
    UserRow, UserSort, ValidityOverride, ValidityRecord,
};
pub use self::analytics::{
    AccuracyScope, AnalyticsStore, ClientEvent, Feedback, FeedbackCategory, FeedbackId, LlmRun,
    ModelAccuracy, NewClientEvent, NewFeedback, NewLlmRun, QuestionStatistics,
};
#[cfg(feature = "redis")]
pub use self::cached_revocations::CachedRevocations;
pub use self::calibration::{CalibrationRun, CalibrationStatus, CalibrationStore};
pub use self::error::{Conflict, StorageError};
pub use self::groups::{
    DEFAULT_MAX_MEMBERS, Group, GroupDenied, GroupId, GroupInvite, GroupMember, GroupRole,
    GroupStore, InviteId, JoinOutcome, LeaderboardRow, NewGroup, NewInvite,
};
#[cfg(feature = "redis")]
pub use self::guest_tokens::{GUEST_TOKENS_PREFIX, RedisGuestTokens};
pub use self::guest_tokens::{GuestToken, GuestTokenKind, GuestTokenStore, MemoryGuestTokens};
pub use self::memory::MemoryStore;
pub use self::oauth::OAuthStore;
pub use self::paging::{
    COUNT_LIMIT, Cursor, InvalidCursor, MAX_PAGE_SIZE, Page, PageRequest, PageStart, Seek,
    SortValue, Total,
};
pub use self::password_reset::{NewPasswordReset, PasswordChange, PasswordResetStore};
#[cfg(feature = "postgres")]
pub(crate) use self::postgres::is_valid_url as postgres_url_is_valid;
#[cfg(feature = "postgres")]
pub use self::postgres::{MigrationReport, PgStore, connect_client};
pub use self::questions::{
    QualityFlag, Question, QuestionId, QuestionStore, RefreshedQuestion, content_key,
    content_key_of,
};
#[cfg(any(feature = "postgres", feature = "redis"))]
pub use self::reach::Unreachable;
pub use self::reach::error_chain;
#[cfg(feature = "redis")]
pub use self::reach::ping_redis;
#[cfg(feature = "postgres")]
pub use self::reach::{OpenError, database_failure};
#[cfg(feature = "redis")]
pub(crate) use self::redis::connect as redis_connect;
#[cfg(feature = "redis")]
pub use self::redis::{
    DEFAULT_PREFIX as REDIS_REVOCATIONS_PREFIX, RedisRevocations, display_url as redis_display_url,
};
pub use self::reliability::{ItemAppearances, ReliabilityStore, ScoreSums, SplitHalfSums};
pub use self::reminders::{ReminderCandidate, ReminderStore};
pub use self::revocations::{Revocation, RevocationRecord, RevocationStore};
pub use self::sessions::{
    ClaimOutcome, Completion, GuestStore, NewResponse, NewResult, NewSession, ResultId, ResultPage,
    SessionId, SessionStatus, SessionStore, StartContext, StoredResponse, TestResult, TestSession,
};
pub use self::system_config::{
    CAT_READINESS, DOMAIN_POPULATION_STATS, DOMAIN_WEIGHTS, RELIABILITY_ALPHA, SystemConfigStore,
    USE_WEIGHTED_SCORING,
};
pub use self::users::{
    EducationLevel, GUEST_USER_ID, NewUser, ProfileUpdate, User, UserId, UserStore,
};

/// Everything the service stores. Implement the area traits and this one to plug in a backend.
///
/// ```
/// use std::sync::Arc;
/// use aiq_core::storage::{MemoryStore, Storage};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store: Arc<dyn Storage> = Arc::new(MemoryStore::new());
/// store.ping().await.unwrap();
/// assert_eq!(store.backend(), "memory");
/// # });
/// ```
#[async_trait]
pub trait Storage:
    UserStore
    + OAuthStore
    + PasswordResetStore
    + RevocationStore
    + RevocationRecord
    + QuestionStore
    + SessionStore
    + GuestStore
    + SystemConfigStore
    + GroupStore
    + ReminderStore
    + AnalyticsStore
    + AdaptiveStore
    + CalibrationStore
    + ReliabilityStore
    + AdminStore
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// A cheap round trip that proves the backend answers (the health check).
    async fn ping(&self) -> Result<(), StorageError>;

    /// A short name of the backend for logs (`memory`, `postgres`).
    fn backend(&self) -> &'static str;

    /// What checking an access token reads: the user `id` (`None` if there is no such user)
    /// and, for each of `keys`, when it was revoked, as [`RevocationStore::revoked_at`] answers.
    ///
    /// Every authenticated request makes this read. The default makes the two reads one after
    /// the other; a backend that holds both in one database overrides it to answer in one round
    /// trip (PostgreSQL does).
    ///
    /// ```
    /// use aiq_core::storage::{MemoryStore, NewUser, RevocationStore, Storage, UserStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let now = time::OffsetDateTime::now_utc();
    /// let user = store.create_user(NewUser::with_password("a@example.com", "hash")).await.unwrap();
    /// store.revoke("jti:1", now, now + time::Duration::hours(1)).await.unwrap();
    /// let (found, revoked) = store.user_with_revocations(user.id, &["jti:1", "sid:1"], now).await.unwrap();
    /// assert_eq!(found.map(|u| u.id), Some(user.id));
    /// assert_eq!(revoked, vec![Some(now), None]);
    /// # });
    /// ```
    async fn user_with_revocations(
        &self,
        id: UserId,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<(Option<User>, Vec<Option<OffsetDateTime>>), StorageError> {
        let revoked = self.revoked_at(keys, now).await?;
        let user = self.user_by_id(id).await?;
        Ok((user, revoked))
    }
}
