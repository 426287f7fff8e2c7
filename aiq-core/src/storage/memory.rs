//! The in-memory backend: the embedded default.
//!
//! All state sits behind one mutex, so every operation is atomic and sees the same uniqueness
//! rules as the PostgreSQL schema. The lock is never held across an `.await`. Data lives as long
//! as the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::users::{GUEST_USER_ID, NewUser, User, UserId, UserStore};
use super::{Conflict, Storage, StorageError};

#[derive(Debug)]
struct State {
    users: BTreeMap<UserId, User>,
    user_ids_by_email: HashMap<String, UserId>,
    next_user_id: UserId,
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
            }),
        }
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

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError> {
        let mut state = self.state();
        if state.user_ids_by_email.contains_key(&user.email) {
            return Err(StorageError::Conflict(Conflict::UserEmail));
        }
        let id = state.next_user_id;
        state.next_user_id += 1;
        let user = user.into_user(id);
        state.user_ids_by_email.insert(user.email.clone(), id);
        state.users.insert(id, user.clone());
        Ok(user)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StorageError> {
        let state = self.state();
        Ok(state
            .user_ids_by_email
            .get(email)
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn delete_user(&self, id: UserId) -> Result<bool, StorageError> {
        let mut state = self.state();
        let Some(user) = state.users.remove(&id) else {
            return Ok(false);
        };
        state.user_ids_by_email.remove(&user.email);
        Ok(true)
    }
}
