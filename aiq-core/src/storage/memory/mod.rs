//! The in-memory backend: the embedded default.
//!
//! All state sits behind one mutex, so every operation is atomic and sees the same uniqueness
//! rules as the PostgreSQL schema. The lock is never held across an `.await`. Data lives as long
//! as the process. One file per area implements that area's trait on [`MemoryStore`].

mod adaptive;
mod admin;
mod analytics;
mod auth;
mod calibration;
mod groups;
mod questions;
mod reliability;
mod reminders;
mod sessions;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::users::{GUEST_USER_ID, NewUser, User, UserId};
use super::{Storage, StorageError};

/// A stored password reset token.
#[derive(Debug, Clone)]
struct ResetToken {
    user_id: UserId,
    token_hash: String,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

/// A revocation entry.
#[derive(Debug, Clone, Copy)]
struct RevocationEntry {
    revoked_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

#[derive(Debug)]
struct State {
    users: BTreeMap<UserId, User>,
    user_ids_by_email: HashMap<String, UserId>,
    next_user_id: UserId,
    /// (provider, subject) -> user.
    oauth_identities: HashMap<(String, String), UserId>,
    reset_tokens: Vec<ResetToken>,
    /// Ordered by key, so that the record can be listed page by page (`live_revocations`).
    revocations: BTreeMap<String, RevocationEntry>,
    /// Size of `revocations` at which expired entries are swept next.
    revocations_sweep_at: usize,
    bank: questions::Bank,
    tests: sessions::TestData,
    groups: groups::GroupData,
    /// `users.test_reminder_sent_for`: the result each user's last test reminder was for.
    test_reminder_sent_for: HashMap<UserId, super::ResultId>,
    analytics: analytics::AnalyticsData,
    calibration_runs: Vec<super::CalibrationRun>,
    admin: admin::AdminData,
}

impl State {
    /// Adds a user, enforcing the unique email as the database's constraint does.
    fn insert_user(&mut self, user: NewUser) -> Result<User, StorageError> {
        if self.user_ids_by_email.contains_key(&user.email) {
            return Err(StorageError::Conflict(super::Conflict::UserEmail));
        }
        let id = self.next_user_id;
        self.next_user_id += 1;
        let user = user.into_user(id);
        self.user_ids_by_email.insert(user.email.clone(), id);
        self.users.insert(id, user.clone());
        Ok(user)
    }

    /// Removes the user and what belongs to them, as the database's cascades do.
    fn remove_user(&mut self, id: UserId) -> Option<User> {
        let user = self.users.remove(&id)?;
        self.user_ids_by_email.remove(&user.email);
        self.oauth_identities.retain(|_, owner| *owner != id);
        self.reset_tokens.retain(|token| token.user_id != id);
        self.tests.remove_user(id);
        self.groups.remove_user(id);
        self.test_reminder_sent_for.remove(&id);
        self.analytics.remove_user(id);
        Some(user)
    }
}

/// A complete store in process memory, seeded like a freshly migrated database.
///
/// ```
/// use aiq_core::storage::{MemoryStore, NewUser, UserStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let user = store.create_user(NewUser::with_password("ada@example.com", "hash")).await.unwrap();
/// assert_eq!(user.id, 1);
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store holding only the guest sentinel user, as the first migration leaves a
    /// database.
    pub fn new() -> Self {
        let mut guest = NewUser::with_password("guest@aiq.internal", "!");
        guest.password_login_enabled = false;
        let mut guest = guest.into_user(GUEST_USER_ID);
        guest.notification_enabled = false;
        guest.bypass_cooldown = true;
        Self {
            state: Mutex::new(State {
                user_ids_by_email: HashMap::from([(guest.email.clone(), guest.id)]),
                users: BTreeMap::from([(guest.id, guest)]),
                next_user_id: 1,
                oauth_identities: HashMap::new(),
                reset_tokens: Vec::new(),
                revocations: BTreeMap::new(),
                revocations_sweep_at: auth::SWEEP_THRESHOLD,
                bank: questions::Bank::default(),
                tests: sessions::TestData::default(),
                groups: groups::GroupData::default(),
                test_reminder_sent_for: HashMap::new(),
                analytics: analytics::AnalyticsData::default(),
                calibration_runs: Vec::new(),
                admin: admin::AdminData::default(),
            }),
        }
    }

    /// A store holding `questions` (for instance [`crate::questions::starter_bank`]), as after
    /// an import.
    ///
    /// ```
    /// use aiq_core::questions::starter_bank;
    /// use aiq_core::storage::{MemoryStore, QuestionStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::with_questions(&starter_bank());
    /// assert!(store.question_count().await.unwrap() >= 900);
    /// # });
    /// ```
    pub fn with_questions(questions: &[crate::questions::NewQuestion]) -> Self {
        let store = Self::new();
        store.state().bank.import(questions, crate::time::now());
        store
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave half an operation behind (each one
        // checks before it writes), so the data is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Storage for MemoryStore {
    async fn ping(&self) -> Result<(), StorageError> {
        drop(self.state());
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
