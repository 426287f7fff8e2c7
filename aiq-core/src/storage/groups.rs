//! Groups of users who compare scores: the records, the outcomes of the rule-carrying
//! operations, and the store contract.
//!
//! Operations that enforce a rule which concurrent requests could break (the member limit, the
//! single use of an invite, one owner per group, membership checks before a removal) are single
//! atomic operations here, so every backend can guarantee them; they report a refusal as a value
//! ([`JoinOutcome`], [`GroupDenied`]) and leave the wording to [`crate::groups`].

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;
use super::users::UserId;

/// A group's id.
pub type GroupId = i64;
/// A generated invite's id.
pub type InviteId = i64;

/// The members a new group admits (the old backend's default).
pub const DEFAULT_MAX_MEMBERS: i32 = 10;

/// A member's role in a group: exactly one owner per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    /// May invite, remove members, transfer ownership and delete the group.
    Owner,
    /// Sees the group and its leaderboard, and may leave.
    Member,
}

impl GroupRole {
    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::storage::GroupRole;
    /// assert_eq!(GroupRole::Owner.as_str(), "owner");
    /// assert_eq!(GroupRole::parse("member"), Some(GroupRole::Member));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }

    /// Parses a column value.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Owner, Self::Member]
            .into_iter()
            .find(|role| role.as_str() == value)
    }
}

/// A stored group with its current member count.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The id.
    pub id: GroupId,
    /// The display name (1-30 characters).
    pub name: String,
    /// Who created it. Kept as a plain id: the group outlives the creator's account when
    /// someone else owns it, and then this names a deleted user.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// The permanent code every member may share; it never expires.
    pub invite_code: String,
    /// How many members it admits.
    pub max_members: i32,
    /// How many members it has.
    pub member_count: i64,
}

/// A group about to be created, with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    /// The display name.
    pub name: String,
    /// The creator, who becomes the owner.
    pub created_by: UserId,
    /// When.
    pub created_at: OffsetDateTime,
    /// The permanent code (8 characters A-Z0-9).
    pub invite_code: String,
    /// How many members it admits.
    pub max_members: i32,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member.
    pub user_id: UserId,
    /// Their first name, if they gave one.
    pub first_name: Option<String>,
    /// Owner or member.
    pub role: GroupRole,
    /// When they joined.
    pub joined_at: OffsetDateTime,
}

/// A single-use invite code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInvite {
    /// The id.
    pub id: InviteId,
    /// The group it admits to.
    pub group_id: GroupId,
    /// Who generated it (None once their account is deleted).
    pub invited_by: Option<UserId>,
    /// The code (8 characters A-Z0-9).
    pub invite_code: String,
    /// When it was generated.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Who used it (None while unused, or once that account is deleted).
    pub accepted_by: Option<UserId>,
    /// When it was used.
    pub accepted_at: Option<OffsetDateTime>,
}

/// An invite about to be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvite {
    /// The group.
    pub group_id: GroupId,
    /// The owner generating it: nothing is written unless they own the group.
    pub invited_by: UserId,
    /// The code.
    pub invite_code: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What [`GroupStore::join_group`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinOutcome {
    /// The user joined; the group with its new count.
    Joined(Group),
    /// No invite and no group has this code.
    InvalidCode,
    /// The single-use invite has expired.
    Expired,
    /// The single-use invite was used already.
    Used,
    /// The user is a member already (the invite is not consumed).
    AlreadyMember,
    /// The group has no free seat (the invite is not consumed).
    Full,
}

/// Why a rule-carrying group operation wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupDenied {
    /// No such group.
    GroupNotFound,
    /// The acting user is not a member.
    NotMember,
    /// The acting user is a member but the operation needs the owner.
    NotOwner,
    /// The target user is not a member.
    TargetNotMember,
    /// The target of a removal is the owner (who must transfer ownership first).
    TargetIsOwner,
    /// The target of a transfer is the acting owner.
    AlreadyOwner,
}

/// One member's scores for a leaderboard, unranked.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardRow {
    /// The member.
    pub user_id: UserId,
    /// Their first name, if they gave one.
    pub first_name: Option<String>,
    /// Their highest IQ score in the window (None without results).
    pub best_score: Option<i32>,
    /// The mean of their IQ scores in the window (None without results).
    pub average_score: Option<f64>,
}

/// Groups, memberships and invites.
///
/// ```
/// use aiq_core::storage::{GroupStore, MemoryStore, NewGroup, NewUser, UserStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let owner = store.create_user(NewUser::with_password("o@example.com", "h")).await.unwrap();
/// let group = store
///     .create_group(NewGroup {
///         name: "Team 1".into(),
///         created_by: owner.id,
///         created_at: aiq_core::time::now(),
///         invite_code: "ABCD1234".into(),
///         max_members: 10,
///     })
///     .await
///     .unwrap();
/// assert_eq!(group.member_count, 1);
/// assert_eq!(store.user_groups(owner.id).await.unwrap(), vec![group]);
/// # });
/// ```
#[async_trait]
pub trait GroupStore: std::fmt::Debug + Send + Sync + 'static {
    /// Creates a group and its owner's membership, atomically.
    ///
    /// # Errors
    /// [`Conflict::InviteCode`](super::Conflict::InviteCode) when a group or an invite has
    /// this code already (generate another and retry).
    async fn create_group(&self, group: NewGroup) -> Result<Group, StorageError>;

    /// A group by id.
    async fn group(&self, id: GroupId) -> Result<Option<Group>, StorageError>;

    /// The groups `user` belongs to, newest first.
    async fn user_groups(&self, user: UserId) -> Result<Vec<Group>, StorageError>;

    /// A group's members in the order they joined.
    async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMember>, StorageError>;

    /// Stores a single-use invite if `invited_by` owns the group at that moment; None otherwise
    /// (the group is gone, or ownership moved).
    ///
    /// # Errors
    /// [`Conflict::InviteCode`](super::Conflict::InviteCode) when the code is taken.
    async fn create_invite(&self, invite: NewInvite) -> Result<Option<GroupInvite>, StorageError>;

    /// A single-use invite by code.
    async fn invite_by_code(&self, code: &str) -> Result<Option<GroupInvite>, StorageError>;

    /// Adds `user` to the group of `code` as a member, atomically: single-use invites are tried
    /// first (expired or used ones refuse), then permanent group codes; the member limit and
    /// the single use hold under concurrency, and a refused join consumes nothing.
    async fn join_group(
        &self,
        code: &str,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<JoinOutcome, StorageError>;

    /// Removes `target` from the group on behalf of `actor` (who may be the target, leaving).
    /// Checks, in order: the group exists, `actor` is a member, removing someone else needs
    /// the owner, `target` is a member, `target` is not the owner.
    async fn remove_member(
        &self,
        group: GroupId,
        actor: UserId,
        target: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError>;

    /// Makes `new_owner` the owner and `actor` a member. Checks, in order: the group exists,
    /// `actor` owns it, `new_owner` is not `actor`, `new_owner` is a member.
    async fn transfer_ownership(
        &self,
        group: GroupId,
        actor: UserId,
        new_owner: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError>;

    /// Deletes the group with its memberships and invites if `actor` owns it.
    async fn delete_group(
        &self,
        group: GroupId,
        actor: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError>;

    /// Every member's best and average IQ score over their results completed at or after
    /// `since` (all of them when None), unranked.
    async fn leaderboard(
        &self,
        group: GroupId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<LeaderboardRow>, StorageError>;
}
