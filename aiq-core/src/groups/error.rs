//! The rules a group request can break, and how each one answers.

use crate::error::ApiError;
use crate::storage::StorageError;

/// Why a group operation was refused; the Display is the old backend's message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GroupError {
    #[error("Group not found.")]
    GroupNotFound,
    #[error("You are not a member of this group.")]
    NotMember,
    #[error("Only the group owner can perform this action.")]
    OwnerOnly,
    #[error("Only the group owner can remove other members.")]
    RemoveOthersOwnerOnly,
    #[error("Only the group owner can transfer ownership.")]
    TransferOwnerOnly,
    #[error("Member not found in this group.")]
    MemberNotFound,
    #[error("The group owner cannot be removed.")]
    OwnerCannotBeRemoved,
    #[error("You are already the owner of this group.")]
    AlreadyOwner,
    #[error("The specified user is not a member of this group.")]
    NewOwnerNotMember,
    #[error("This invite code has expired.")]
    InviteExpired,
    #[error("This invite code has already been used.")]
    InviteUsed,
    #[error("Invalid invite code.")]
    InvalidInvite,
    #[error("You are already a member of this group.")]
    AlreadyMember,
    #[error("This group has reached its maximum member limit.")]
    GroupFull,
    /// No fresh invite code after several draws, or no entropy source: a 500.
    #[error("could not generate an unused invite code: {0}")]
    NoInviteCode(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        use GroupError as E;
        let message = err.to_string();
        match err {
            E::GroupNotFound | E::MemberNotFound | E::NewOwnerNotMember | E::InvalidInvite => {
                Self::NotFound(message)
            }
            E::NotMember | E::OwnerOnly | E::RemoveOthersOwnerOnly | E::TransferOwnerOnly => {
                Self::Forbidden(message)
            }
            E::OwnerCannotBeRemoved | E::AlreadyOwner | E::InviteExpired | E::GroupFull => {
                Self::BadRequest(message)
            }
            E::InviteUsed | E::AlreadyMember => Self::Conflict(message),
            E::NoInviteCode(_) => Self::Internal(message.into()),
            E::Storage(storage) => storage.into(),
        }
    }
}
