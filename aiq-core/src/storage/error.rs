//! Storage failures, independent of the backend.

use crate::BoxError;

/// A uniqueness rule that an operation would have broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// Another user has this email.
    UserEmail,
    /// This provider identity is linked to a user already.
    OAuthIdentity,
    /// A password reset token with this hash exists already.
    PasswordResetToken,
    /// The user has a test session in progress already.
    ActiveSession,
    /// The user was shown one of these questions already.
    QuestionSeen,
    /// This question was answered in this session already.
    Response,
    /// The session is no longer in progress (another request completed or abandoned it).
    SessionNotInProgress,
    /// A group or a single-use invite has this invite code already.
    InviteCode,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UserEmail => "a user with this email",
            Self::OAuthIdentity => "a link to this provider identity",
            Self::PasswordResetToken => "a password reset token with this hash",
            Self::ActiveSession => "a test session in progress for this user",
            Self::QuestionSeen => "a record of this question shown to this user",
            Self::Response => "a response to this question in this session",
            Self::SessionNotInProgress => "a completion or abandonment of this session",
            Self::InviteCode => "a group or invite with this code",
        })
    }
}

/// Why a storage operation failed. Nothing was written when an operation returns an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The operation would break a uniqueness rule; the caller usually answers 409.
    #[error("conflict: {0} already exists")]
    Conflict(Conflict),
    /// The backend could not be reached (connection refused, pool exhausted, timeout).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The backend answered with an unexpected error.
    #[error("storage failure: {0}")]
    Backend(#[source] BoxError),
}
