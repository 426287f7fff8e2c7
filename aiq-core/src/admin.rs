//! Operator actions that both the admin JSON API (`/v1/admin`) and the dashboard (`aiq-admin`)
//! offer, written once: each checks its rules, changes the store and appends the same audit
//! entry whichever of the two asked. The callers turn [`AdminError`] into their own answers (a
//! JSON error body, an HTML page).
//!
//! ```
//! use aiq_core::admin::{self, Actor};
//! use aiq_core::storage::{AdminStore, MemoryStore, PageRequest};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let actor = Actor::new("ops", None);
//! let now = time::OffsetDateTime::now_utc();
//! let target = Some("config:x".to_owned());
//! admin::record(&store, &actor, "config.set", target, None, now).await.unwrap();
//! let log = store.audit_log(PageRequest::first(10)).await.unwrap();
//! assert_eq!(log.items[0].entry.actor, "ops");
//! # });
//! ```

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::scoring::ValidityStatus;
use crate::storage::{
    NewAuditEntry, QualityFlag, QuestionId, SessionId, SessionStatus, Storage, StorageError,
    TestSession, ValidityOverride,
};

/// The longest reason an operator may give (the column's width).
pub const MAX_REASON_CHARS: usize = 255;

/// Who acts, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The operator's name (`admin-token` for the JSON API, the login for the dashboard).
    pub name: String,
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// An actor named `name`, from `ip`.
    ///
    /// ```
    /// let actor = aiq_core::admin::Actor::new("ops", None);
    /// assert_eq!(actor.name, "ops");
    /// ```
    pub fn new(name: impl Into<String>, ip: Option<IpAddr>) -> Self {
        Self {
            name: name.into(),
            ip,
        }
    }
}

/// What an operator action did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No such question.
    Question,
    /// No such test session.
    Session,
    /// The test session has no result (or does not exist).
    Result,
}

impl Missing {
    /// What was not found, as a noun (`test session`).
    ///
    /// ```
    /// assert_eq!(aiq_core::admin::Missing::Session.noun(), "test session");
    /// ```
    pub fn noun(self) -> &'static str {
        match self {
            Self::Question => "question",
            Self::Session => "test session",
            Self::Result => "result of this test session",
        }
    }

    /// The sentence the admin API answers with (the old backend's).
    ///
    /// ```
    /// assert_eq!(aiq_core::admin::Missing::Session.message(), "Test session not found.");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            Self::Question => "Question not found.",
            Self::Session => "Test session not found.",
            Self::Result => "This test session has no result.",
        }
    }
}

/// Why an operator action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The record acted on does not exist.
    #[error("{}", .0.message())]
    NotFound(Missing),
    /// The reason given is not acceptable.
    #[error(transparent)]
    Reason(#[from] ReasonError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What is wrong with an operator's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// None was given where one is required.
    #[error("A reason is required to deactivate a question")]
    Missing,
    /// It is longer than [`MAX_REASON_CHARS`].
    #[error("The reason must be at most 255 characters long")]
    TooLong,
    /// A validity override's reason is not 10 to 1,000 characters long
    /// ([`OVERRIDE_REASON_CHARS`]).
    #[error("The reason must be 10 to 1000 characters long")]
    OverrideLength,
}

/// How long, in characters, the reason for a validity override must be.
pub const OVERRIDE_REASON_CHARS: std::ops::RangeInclusive<usize> = 10..=1000;

/// A reason for `flag`, trimmed: `None` when blank. Deactivating needs one; no reason may be
/// longer than [`MAX_REASON_CHARS`] characters.
///
/// ```
/// use aiq_core::admin::{ReasonError, flag_reason};
/// use aiq_core::storage::QualityFlag;
/// assert_eq!(flag_reason(QualityFlag::UnderReview, Some("  vague ")), Ok(Some("vague")));
/// assert_eq!(flag_reason(QualityFlag::Normal, Some(" ")), Ok(None));
/// assert_eq!(flag_reason(QualityFlag::Deactivated, None), Err(ReasonError::Missing));
/// assert_eq!(flag_reason(QualityFlag::Normal, Some(&"x".repeat(256))), Err(ReasonError::TooLong));
/// ```
pub fn flag_reason(flag: QualityFlag, reason: Option<&str>) -> Result<Option<&str>, ReasonError> {
    let reason = reason.map(str::trim).filter(|reason| !reason.is_empty());
    if flag == QualityFlag::Deactivated && reason.is_none() {
        return Err(ReasonError::Missing);
    }
    if reason.is_some_and(|reason| reason.chars().count() > MAX_REASON_CHARS) {
        return Err(ReasonError::TooLong);
    }
    Ok(reason)
}

/// A quality flag as set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSet {
    /// The flag the question had before.
    pub previous: QualityFlag,
    /// The reason stored with the new flag, trimmed (`None` when blank).
    pub reason: Option<String>,
}

/// Sets a question's quality flag with its reason ([`flag_reason`]) and logs the change.
///
/// ```
/// use aiq_core::admin::{self, Actor, AdminError, Missing};
/// use aiq_core::storage::{MemoryStore, QualityFlag};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let now = time::OffsetDateTime::now_utc();
/// let missing = admin::set_quality_flag(&store, &Actor::new("ops", None), 7, QualityFlag::UnderReview, None, now).await;
/// assert!(matches!(missing, Err(AdminError::NotFound(Missing::Question))));
/// # });
/// ```
pub async fn set_quality_flag(
    storage: &(impl Storage + ?Sized),
    actor: &Actor,
    question: QuestionId,
    flag: QualityFlag,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<FlagSet, AdminError> {
    let reason = flag_reason(flag, reason)?;
    let previous = storage
        .set_quality_flag(question, flag, reason, now)
        .await?
        .ok_or(AdminError::NotFound(Missing::Question))?;
    let detail = format!(
        "{} -> {}{}",
        previous.as_str(),
        flag.as_str(),
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    record(
        storage,
        actor,
        "question.quality_flag.set",
        Some(format!("question:{question}")),
        Some(detail),
        now,
    )
    .await?;
    Ok(FlagSet {
        previous,
        reason: reason.map(str::to_owned),
    })
}

/// A validity override as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidityChange {
    /// The status before.
    pub previous: String,
    /// The override written (its reason trimmed).
    pub verdict: ValidityOverride,
}

/// Overrides the validity of a session's result with `status` after review, for `reason`
/// (trimmed; [`OVERRIDE_REASON_CHARS`] characters), and logs the change.
///
/// ```
/// use aiq_core::admin::{self, Actor, AdminError, Missing, ReasonError};
/// use aiq_core::scoring::ValidityStatus;
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let (store, actor) = (MemoryStore::new(), Actor::new("ops", None));
/// let now = time::OffsetDateTime::now_utc();
/// let short = admin::override_validity(&store, &actor, 1, ValidityStatus::Invalid, "no", now).await;
/// assert!(matches!(short, Err(AdminError::Reason(ReasonError::OverrideLength))));
/// let reason = "answers copied from a key";
/// let none = admin::override_validity(&store, &actor, 1, ValidityStatus::Invalid, reason, now).await;
/// assert!(matches!(none, Err(AdminError::NotFound(Missing::Result))));
/// # });
/// ```
pub async fn override_validity(
    storage: &(impl Storage + ?Sized),
    actor: &Actor,
    session: SessionId,
    status: ValidityStatus,
    reason: &str,
    now: OffsetDateTime,
) -> Result<ValidityChange, AdminError> {
    let reason = reason.trim();
    if !OVERRIDE_REASON_CHARS.contains(&reason.chars().count()) {
        return Err(ReasonError::OverrideLength.into());
    }
    let previous = storage
        .validity(session)
        .await?
        .ok_or(AdminError::NotFound(Missing::Result))?;
    let verdict = ValidityOverride {
        status: status.as_str().to_owned(),
        reason: reason.to_owned(),
        at: now,
    };
    storage
        .override_validity(session, &verdict)
        .await?
        .ok_or(AdminError::NotFound(Missing::Result))?;
    let detail = format!(
        "{} -> {}: {}",
        previous.validity_status, verdict.status, verdict.reason
    );
    record(
        storage,
        actor,
        "session.validity.override",
        Some(format!("session:{session}")),
        Some(detail),
        now,
    )
    .await?;
    Ok(ValidityChange {
        previous: previous.validity_status,
        verdict,
    })
}

/// The rows hanging off one test session, which deleting it removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRows {
    /// Answers.
    pub responses: u64,
    /// Records of the questions it showed.
    pub user_questions: u64,
    /// Its result (0 or 1).
    pub test_results: u64,
}

/// What deleting `session` would remove.
///
/// ```
/// use aiq_core::admin::{SessionRows, session_rows};
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let rows = session_rows(&MemoryStore::new(), 1).await.unwrap();
/// assert_eq!(rows, SessionRows { responses: 0, user_questions: 0, test_results: 0 });
/// # });
/// ```
pub async fn session_rows(
    storage: &(impl Storage + ?Sized),
    session: SessionId,
) -> Result<SessionRows, StorageError> {
    Ok(SessionRows {
        responses: storage.response_count(session).await?,
        user_questions: storage.session_question_ids(session).await?.len() as u64,
        test_results: u64::from(storage.result_for_session(session).await?.is_some()),
    })
}

/// Deletes `session` (as read before, with its `rows`) and logs it; false when it was gone
/// already. A session that was in progress leaves this process's active-sessions gauge (the
/// periodic resync corrects a race with a submit).
///
/// ```
/// use aiq_core::admin::{self, Actor, session_rows};
/// use aiq_core::storage::{GUEST_USER_ID, MemoryStore, NewSession, SessionStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let now = time::OffsetDateTime::now_utc();
/// let session = store
///     .start_session(NewSession {
///         user_id: GUEST_USER_ID,
///         started_at: now,
///         question_ids: Vec::new(),
///         composition_metadata: serde_json::json!({}),
///         is_adaptive: false,
///         record_seen: false,
///     })
///     .await
///     .unwrap();
/// let rows = session_rows(&store, session.id).await.unwrap();
/// let actor = Actor::new("ops", None);
/// assert!(admin::delete_session(&store, &actor, &session, &rows, now).await.unwrap());
/// assert!(!admin::delete_session(&store, &actor, &session, &rows, now).await.unwrap());
/// # });
/// ```
pub async fn delete_session(
    storage: &(impl Storage + ?Sized),
    actor: &Actor,
    session: &TestSession,
    rows: &SessionRows,
    now: OffsetDateTime,
) -> Result<bool, StorageError> {
    if !storage.delete_session(session.id).await? {
        return Ok(false);
    }
    if session.status == SessionStatus::InProgress {
        metrics::gauge!(crate::telemetry::TEST_SESSIONS_ACTIVE).decrement(1.0);
    }
    let detail = format!(
        "user:{} status:{} responses:{} results:{}",
        session.user_id,
        session.status.as_str(),
        rows.responses,
        rows.test_results
    );
    record(
        storage,
        actor,
        "session.delete",
        Some(format!("session:{}", session.id)),
        Some(detail),
        now,
    )
    .await?;
    Ok(true)
}

/// Appends `action` on `target` (`user:42`, if any) by `actor` to the audit log, at `now`, and logs
/// it (target `aiq_core::admin::audit`). `detail` holds new values and counts, never secrets.
pub async fn record(
    storage: &(impl Storage + ?Sized),
    actor: &Actor,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    tracing::info!(
        target: "aiq_core::admin::audit",
        actor = actor.name,
        action,
        target_record = target.as_deref().unwrap_or(""),
        "admin action"
    );
    storage
        .record_audit(&NewAuditEntry {
            actor: actor.name.clone(),
            action: action.to_owned(),
            target,
            detail,
            ip: actor.ip.map(|ip| ip.to_string()),
            at: now,
        })
        .await
}
