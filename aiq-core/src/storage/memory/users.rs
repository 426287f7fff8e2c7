//! `UserStore` in memory.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::storage::StorageError;
use crate::storage::users::{NewUser, ProfileUpdate, User, UserId, UserStore};

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StorageError> {
        self.state().insert_user(user)
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
        Ok(self.state().remove_user(id).is_some())
    }

    async fn record_login(
        &self,
        id: UserId,
        at: OffsetDateTime,
        verified_hash: &str,
        new_password_hash: Option<String>,
    ) -> Result<Option<User>, StorageError> {
        let mut state = self.state();
        let user = state
            .users
            .get_mut(&id)
            .filter(|user| user.password_hash == verified_hash);
        Ok(user.map(|user| {
            user.last_login_at = Some(at);
            if let Some(hash) = new_password_hash {
                user.password_hash = hash;
            }
            user.clone()
        }))
    }

    async fn update_profile(
        &self,
        id: UserId,
        update: ProfileUpdate,
    ) -> Result<Option<User>, StorageError> {
        let mut state = self.state();
        Ok(state.users.get_mut(&id).map(|user| {
            if let Some(first_name) = update.first_name {
                user.first_name = first_name;
            }
            if let Some(last_name) = update.last_name {
                user.last_name = last_name;
            }
            if let Some(enabled) = update.notification_enabled {
                user.notification_enabled = enabled;
            }
            user.clone()
        }))
    }

    async fn revoke_all_tokens(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<User>, StorageError> {
        let mut state = self.state();
        Ok(state.users.get_mut(&id).map(|user| {
            user.token_generation += 1;
            user.token_revoked_before = Some(at);
            user.clone()
        }))
    }

    async fn set_device_token(
        &self,
        id: UserId,
        token: Option<&str>,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        if !state.users.contains_key(&id) {
            return Ok(false);
        }
        if let Some(token) = token {
            for (_, other) in state.users.iter_mut().filter(|(other, _)| **other != id) {
                if other.apns_device_token.as_deref() == Some(token) {
                    other.apns_device_token = None;
                }
            }
        }
        if let Some(user) = state.users.get_mut(&id) {
            user.apns_device_token = token.map(str::to_owned);
        }
        Ok(true)
    }

    async fn clear_device_token_if(&self, id: UserId, token: &str) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(state
            .users
            .get_mut(&id)
            .filter(|user| user.apns_device_token.as_deref() == Some(token))
            .is_some_and(|user| {
                user.apns_device_token = None;
                true
            }))
    }
}
