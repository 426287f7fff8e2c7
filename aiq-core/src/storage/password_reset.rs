//! Password reset tokens. Only a hash of each token is stored.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;
use super::users::{User, UserId};

/// A reset token about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasswordReset {
    /// The user it resets.
    pub user_id: UserId,
    /// Hex SHA-256 of the token mailed to the user.
    pub token_hash: String,
    /// When it was requested.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What a successful reset changes besides consuming the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// The new password's hash.
    pub password_hash: String,
    /// When the reset happened: every token issued before is revoked.
    pub at: OffsetDateTime,
}

/// Issuing and redeeming password reset tokens.
#[async_trait]
pub trait PasswordResetStore {
    /// Stores `reset` unless the user already has `max_active` unused, unexpired tokens (then
    /// nothing changes and the result is false). The user's earlier unused tokens are marked
    /// used, so only the newest link works.
    async fn create_password_reset(
        &self,
        reset: NewPasswordReset,
        max_active: usize,
    ) -> Result<bool, StorageError>;

    /// Redeems the unused, unexpired token with this hash, atomically: the token and the user's
    /// other unused tokens are marked used, the password is replaced, password login is
    /// enabled and every existing token of the user is revoked. `None` (and no change) when no
    /// such token exists; a token can be redeemed once even when two requests race.
    async fn redeem_password_reset(
        &self,
        token_hash: &str,
        change: PasswordChange,
    ) -> Result<Option<User>, StorageError>;
}
