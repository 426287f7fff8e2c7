//! Accounts linked to Sign in with Apple / Google identities.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;
use super::users::{NewUser, User, UserId};

/// Storing which provider identity belongs to which user.
#[async_trait]
pub trait OAuthStore {
    /// The user linked to `subject` at `provider` (`apple`, `google`).
    async fn user_by_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<User>, StorageError>;

    /// Links an identity to an existing user. Fails with
    /// [`Conflict::OAuthIdentity`](super::Conflict::OAuthIdentity) when it is linked already.
    async fn link_oauth_identity(
        &self,
        user_id: UserId,
        provider: &str,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), StorageError>;

    /// Creates a user together with its identity, atomically: either both exist afterwards or
    /// neither (conflicts on the email or the identity are reported as such).
    async fn create_oauth_user(
        &self,
        user: NewUser,
        provider: &str,
        subject: &str,
    ) -> Result<User, StorageError>;
}
