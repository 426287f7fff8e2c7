//! What operators read and change: searchable lists of users, questions and test sessions, the
//! flags they set, the overview counts, the admin dashboard's login sessions and the audit log.
//!
//! Lists are pages in a stable order (the sort column, then the id) that start at a row's
//! position ([`Cursor`]), for a person paging through them; exports walk a whole table in id
//! order instead ([`Seek`]). Neither skips or counts a whole table: see
//! [`paging`](super::paging).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::paging::{Cursor, Page, PageRequest, Seek, SortValue};
use super::{
    QualityFlag, Question, QuestionId, SessionId, SessionStatus, StorageError, TestSession, User,
    UserId,
};
use crate::questions::{Difficulty, Domain};

/// The column a user list is sorted by (then by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSort {
    /// Id.
    Id,
    /// Email.
    Email,
    /// Account creation; the default.
    #[default]
    CreatedAt,
    /// Last login (accounts that never logged in sort as the oldest).
    LastLoginAt,
}

impl UserSort {
    /// A user's position in a list sorted by this column.
    ///
    /// ```
    /// use aiq_core::storage::{MemoryStore, NewUser, SortValue, UserSort, UserStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let user = store.create_user(NewUser::with_password("ada@example.com", "h")).await.unwrap();
    /// let cursor = UserSort::Email.cursor(&user);
    /// assert_eq!(cursor.key, Some(SortValue::Text("ada@example.com".into())));
    /// assert_eq!(cursor.id, user.id);
    /// assert_eq!(UserSort::LastLoginAt.cursor(&user).key, None, "never logged in");
    /// # });
    /// ```
    pub fn cursor(self, user: &User) -> Cursor {
        let key = match self {
            Self::Id => None,
            Self::Email => Some(SortValue::Text(user.email.clone())),
            Self::CreatedAt => Some(SortValue::Time(user.created_at)),
            Self::LastLoginAt => user.last_login_at.map(SortValue::Time),
        };
        Cursor { key, id: user.id }
    }
}

/// Filters and order of a user list. The guest sentinel is never listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserQuery {
    /// Case-insensitive substring of the email, first name or last name.
    pub search: Option<String>,
    /// Sort column.
    pub sort: UserSort,
    /// Largest first.
    pub descending: bool,
}

/// A user with the counts a list shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    /// The account.
    pub user: User,
    /// Completed test sessions.
    pub completed_tests: u64,
}

/// The column a question list is sorted by (then by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionSort {
    /// Id; the default.
    #[default]
    Id,
    /// Responses counted in the statistics.
    ResponseCount,
    /// Empirical p-value (items without one sort as the lowest).
    EmpiricalDifficulty,
    /// Discrimination (items without one sort as the lowest).
    Discrimination,
}

impl QuestionSort {
    /// A question's position in a list sorted by this column.
    pub fn cursor(self, question: &Question) -> Cursor {
        let key = match self {
            Self::Id => None,
            Self::ResponseCount => Some(SortValue::Int(question.response_count.into())),
            Self::EmpiricalDifficulty => question.empirical_difficulty.map(SortValue::Float),
            Self::Discrimination => question.discrimination.map(SortValue::Float),
        };
        Cursor {
            key,
            id: question.id,
        }
    }
}

/// Filters and order of a question list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuestionQuery {
    /// Only this domain.
    pub domain: Option<Domain>,
    /// Only this intended difficulty.
    pub difficulty: Option<Difficulty>,
    /// Only active (or only inactive) items.
    pub active: Option<bool>,
    /// Only items with this quality flag.
    pub quality_flag: Option<QualityFlag>,
    /// Only anchors (or only non-anchors).
    pub anchor: Option<bool>,
    /// Case-insensitive substring of the question text.
    pub search: Option<String>,
    /// Sort column.
    pub sort: QuestionSort,
    /// Largest first.
    pub descending: bool,
}

/// Filters of a test-session list; newest first (by start, then id).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionQuery {
    /// Only this status.
    pub status: Option<SessionStatus>,
    /// Only this user's sessions.
    pub user_id: Option<UserId>,
    /// Started at or after.
    pub started_from: Option<OffsetDateTime>,
    /// Started before.
    pub started_before: Option<OffsetDateTime>,
}

/// A test session with what a list shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The session.
    pub session: TestSession,
    /// The owner's email (`None` for guest sessions).
    pub user_email: Option<String>,
    /// Answers stored for it.
    pub response_count: u64,
    /// The IQ score, once completed.
    pub iq_score: Option<i32>,
    /// `valid`, `suspect` or `invalid`, once completed.
    pub validity_status: Option<String>,
}

impl SessionRow {
    /// The session's position in a session list (by start, then id).
    pub fn cursor(&self) -> Cursor {
        session_cursor(&self.session)
    }
}

/// A session's position in a session list (by start, then id), before its row is built.
pub(crate) fn session_cursor(session: &TestSession) -> Cursor {
    Cursor {
        key: Some(SortValue::Time(session.started_at)),
        id: session.id,
    }
}

/// An operator's verdict on a result's validity, replacing the automatic one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidityOverride {
    /// `valid`, `suspect` or `invalid`.
    pub status: String,
    /// Why (required).
    pub reason: String,
    /// When.
    pub at: OffsetDateTime,
}

/// A result's validity as stored, automatic verdict and override alike.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidityRecord {
    /// The session.
    pub session_id: SessionId,
    /// The status in force.
    pub validity_status: String,
    /// What the automatic check found.
    pub validity_flags: Option<serde_json::Value>,
    /// When the automatic check ran.
    pub validity_checked_at: Option<OffsetDateTime>,
    /// Why an operator overrode it.
    pub override_reason: Option<String>,
    /// When an operator overrode it.
    pub overridden_at: Option<OffsetDateTime>,
}

/// Above this many rows in a table, a store may give the overview's counts of users and of
/// completed and abandoned sessions from its statistics instead of counting
/// ([`OverviewCounts::estimated`]).
pub const ESTIMATE_FROM: u64 = 50_000;

/// The score distribution is drawn from this many of the latest results
/// ([`AdminStore::iq_score_counts`]).
pub const SCORE_SAMPLE: u64 = 10_000;

/// The counts at the top of the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OverviewCounts {
    /// Accounts (the guest sentinel excluded).
    pub users: u64,
    /// Sessions in progress.
    pub in_progress: u64,
    /// Completed sessions.
    pub completed: u64,
    /// Abandoned sessions.
    pub abandoned: u64,
    /// Questions in the bank.
    pub questions: u64,
    /// Questions tests may select (active and quality flag `normal`).
    pub selectable_questions: u64,
    /// Whether `users`, `completed` and `abandoned` are estimates from the store's statistics
    /// (a table of more than [`ESTIMATE_FROM`] rows), not counts. `in_progress` and the
    /// questions are always counted.
    pub estimated: bool,
}

/// One cell of the item-bank inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryCell {
    /// The domain.
    pub domain: Domain,
    /// The intended difficulty.
    pub difficulty: Difficulty,
    /// Items tests may select (active and quality flag `normal`).
    pub selectable: u64,
    /// All items of the cell.
    pub total: u64,
}

/// A login session of the admin dashboard. Stores keep only a hash of the session's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// Hex SHA-256 of the cookie's secret.
    pub id_hash: String,
    /// Who logged in.
    pub username: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// One line of the audit log, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who: the admin username, or `admin-token` for the JSON API.
    pub actor: String,
    /// What, as a short dotted name (`user.bypass_cooldown.set`, `question.deactivate`, ...).
    pub action: String,
    /// On what (`user:42`, `question:7`, `session:9`), if anything.
    pub target: Option<String>,
    /// Details (new values, counts); never secrets.
    pub detail: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// When.
    pub at: OffsetDateTime,
}

/// One line of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id; larger is later.
    pub id: i64,
    /// What was written.
    pub entry: NewAuditEntry,
}

impl AuditEntry {
    /// The entry's position in the audit log (by id).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: None,
            id: self.id,
        }
    }
}

/// Operator reads and writes.
#[async_trait]
pub trait AdminStore {
    /// The counts of the overview; a store may estimate some of them
    /// ([`OverviewCounts::estimated`]) rather than read a large table.
    async fn overview_counts(&self) -> Result<OverviewCounts, StorageError>;

    /// The latest [`SCORE_SAMPLE`] results (by completion time) per IQ score (ascending score),
    /// for the score distribution.
    async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError>;

    /// Completed sessions per UTC day from `since` (inclusive), ascending; days without any
    /// are left out.
    async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError>;

    /// Every domain x difficulty cell that holds an item (cells without items are left out).
    async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError>;

    /// A page of users.
    async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<UserRow>, StorageError>;

    /// A step of an export of users: the rows matching `query`'s filters (its sort is ignored),
    /// in ascending id order.
    async fn export_users(
        &self,
        query: &UserQuery,
        seek: Seek,
    ) -> Result<Vec<UserRow>, StorageError>;

    /// Sets whether the user skips the cooldown; false when there is no such user (the guest
    /// sentinel counts as none: operators cannot change it).
    async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError>;

    /// Sets the user's admin flag; false when there is no such user (or it is the guest
    /// sentinel).
    async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError>;

    /// A page of questions.
    async fn list_questions(
        &self,
        query: &QuestionQuery,
        page: PageRequest,
    ) -> Result<Page<Question>, StorageError>;

    /// A step of an export of questions: the rows matching `query`'s filters (its sort is
    /// ignored), in ascending id order.
    async fn export_questions(
        &self,
        query: &QuestionQuery,
        seek: Seek,
    ) -> Result<Vec<Question>, StorageError>;

    /// Activates or deactivates a question; false when there is no such question.
    async fn set_question_active(&self, id: QuestionId, active: bool)
    -> Result<bool, StorageError>;

    /// Sets the quality flag with its reason (at most 255 characters, the column's width:
    /// callers check) and time; the previous flag, or `None` when there is no such question.
    async fn set_quality_flag(
        &self,
        id: QuestionId,
        flag: QualityFlag,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Option<QualityFlag>, StorageError>;

    /// Marks a question as an anchor item or not (recording when it was designated); false
    /// when there is no such question.
    async fn set_anchor(
        &self,
        id: QuestionId,
        anchor: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError>;

    /// A page of test sessions.
    async fn list_sessions(
        &self,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionRow>, StorageError>;

    /// A step of an export of test sessions: the rows matching `query`'s filters, in ascending
    /// id order (not the list's newest first).
    async fn export_sessions(
        &self,
        query: &SessionQuery,
        seek: Seek,
    ) -> Result<Vec<SessionRow>, StorageError>;

    /// Deletes a session with its responses, result and seen-question records, atomically;
    /// false when there is no such session. The item statistics are left as they are (the next
    /// refresh recounts them).
    ///
    /// The `test.sessions.active` gauge is the service's, not the store's: a caller deleting a
    /// session it read as in progress decrements it (the periodic
    /// [`sync_gauges`](crate::AiqService::sync_gauges) corrects a race with a submit).
    async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError>;

    /// The validity of a session's result; `None` when the session has no result.
    async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError>;

    /// Overrides the validity of a session's result (`verdict.status` is `valid`, `suspect`
    /// or `invalid`: callers check); the record after the change, or `None` when the session
    /// has no result.
    async fn override_validity(
        &self,
        session: SessionId,
        verdict: &ValidityOverride,
    ) -> Result<Option<ValidityRecord>, StorageError>;

    /// Stores a new dashboard login session (and drops expired ones).
    async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError>;

    /// The session with this hash, if it exists and has not expired at `now`.
    async fn admin_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AdminSession>, StorageError>;

    /// Ends a session (logout); false when it did not exist.
    async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError>;

    /// Appends to the audit log.
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError>;

    /// A page of the audit log, newest first.
    async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError>;

    /// A step of an export of the audit log, oldest first (ascending id).
    async fn export_audit(&self, seek: Seek) -> Result<Vec<AuditEntry>, StorageError>;
}
