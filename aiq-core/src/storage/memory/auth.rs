//! OAuth identities, password reset tokens and revocations in memory.

use std::ops::Bound;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, ResetToken, RevocationEntry};
use crate::storage::oauth::OAuthStore;
use crate::storage::password_reset::{NewPasswordReset, PasswordChange, PasswordResetStore};
use crate::storage::revocations::{Revocation, RevocationRecord, RevocationStore};
use crate::storage::users::{NewUser, User, UserId};
use crate::storage::{Conflict, StorageError};

/// Revocation entries kept before the first sweep of expired ones.
pub(super) const SWEEP_THRESHOLD: usize = 10_000;

#[async_trait]
impl OAuthStore for MemoryStore {
    async fn user_by_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<User>, StorageError> {
        let state = self.state();
        Ok(state
            .oauth_identities
            .get(&(provider.to_owned(), subject.to_owned()))
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn link_oauth_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
        _at: OffsetDateTime,
    ) -> Result<(), StorageError> {
        let mut state = self.state();
        let key = (provider.to_owned(), subject.to_owned());
        if state.oauth_identities.contains_key(&key) {
            return Err(StorageError::Conflict(Conflict::OAuthIdentity));
        }
        if !state.users.contains_key(&user_id) {
            return Err(StorageError::Backend(
                format!("no user {user_id} to link").into(),
            ));
        }
        state.oauth_identities.insert(key, user_id);
        Ok(())
    }

    async fn create_oauth_user(
        &self,
        user: NewUser,
        provider: &str,
        subject: &str,
    ) -> Result<User, StorageError> {
        let mut state = self.state();
        let key = (provider.to_owned(), subject.to_owned());
        if state.oauth_identities.contains_key(&key) {
            return Err(StorageError::Conflict(Conflict::OAuthIdentity));
        }
        let user = state.insert_user(user)?;
        state.oauth_identities.insert(key, user.id);
        Ok(user)
    }
}

#[async_trait]
impl PasswordResetStore for MemoryStore {
    async fn create_password_reset(
        &self,
        reset: NewPasswordReset,
        max_active: usize,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        if state
            .reset_tokens
            .iter()
            .any(|t| t.token_hash == reset.token_hash)
        {
            return Err(StorageError::Conflict(Conflict::PasswordResetToken));
        }
        let now = reset.created_at;
        // Used and expired tokens can never be redeemed again: forget them.
        state
            .reset_tokens
            .retain(|t| t.used_at.is_none() && t.expires_at > now);
        let active = state
            .reset_tokens
            .iter()
            .filter(|t| t.user_id == reset.user_id && t.used_at.is_none() && t.expires_at > now)
            .count();
        if active >= max_active {
            return Ok(false);
        }
        for token in state
            .reset_tokens
            .iter_mut()
            .filter(|t| t.user_id == reset.user_id && t.used_at.is_none())
        {
            token.used_at = Some(now);
        }
        state.reset_tokens.push(ResetToken {
            user_id: reset.user_id,
            token_hash: reset.token_hash,
            expires_at: reset.expires_at,
            used_at: None,
        });
        Ok(true)
    }

    async fn redeem_password_reset(
        &self,
        token_hash: &str,
        change: PasswordChange,
    ) -> Result<Option<User>, StorageError> {
        let mut state = self.state();
        let now = change.at;
        let Some(user_id) = state
            .reset_tokens
            .iter()
            .find(|t| t.token_hash == token_hash && t.used_at.is_none() && t.expires_at > now)
            .map(|t| t.user_id)
        else {
            return Ok(None);
        };
        if !state.users.contains_key(&user_id) {
            return Ok(None);
        }
        for token in state
            .reset_tokens
            .iter_mut()
            .filter(|t| t.user_id == user_id && t.used_at.is_none())
        {
            token.used_at = Some(now);
        }
        let user = state
            .users
            .get_mut(&user_id)
            .expect("checked above under the same lock");
        user.password_hash = change.password_hash;
        user.password_login_enabled = true;
        user.token_generation += 1;
        user.token_revoked_before = Some(now);
        Ok(Some(user.clone()))
    }
}

#[async_trait]
impl RevocationStore for MemoryStore {
    async fn revoke(
        &self,
        key: &str,
        revoked_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        // Sweeping only when the map has doubled since the last sweep keeps the cost per
        // revocation constant, however many live entries there are.
        if state.revocations.len() >= state.revocations_sweep_at {
            state.revocations.retain(|_, r| r.expires_at > revoked_at);
            state.revocations_sweep_at = SWEEP_THRESHOLD.max(2 * state.revocations.len());
        }
        match state.revocations.get(key) {
            Some(existing) if existing.expires_at > revoked_at => Ok(false),
            _ => {
                state.revocations.insert(
                    key.to_owned(),
                    RevocationEntry {
                        revoked_at,
                        expires_at,
                    },
                );
                Ok(true)
            }
        }
    }

    async fn revoked_at(
        &self,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<OffsetDateTime>>, StorageError> {
        let state = self.state();
        Ok(keys
            .iter()
            .map(|key| {
                state
                    .revocations
                    .get(*key)
                    .filter(|r| r.expires_at > now)
                    .map(|r| r.revoked_at)
            })
            .collect())
    }
}

#[async_trait]
impl RevocationRecord for MemoryStore {
    async fn live_revocations(
        &self,
        after: Option<&str>,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<Revocation>, StorageError> {
        let state = self.state();
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(state
            .revocations
            .range::<str, _>((start, Bound::Unbounded))
            .filter(|(_, entry)| entry.expires_at > now)
            .take(limit)
            .map(|(key, entry)| Revocation {
                key: key.clone(),
                revoked_at: entry.revoked_at,
                expires_at: entry.expires_at,
            })
            .collect())
    }
}
