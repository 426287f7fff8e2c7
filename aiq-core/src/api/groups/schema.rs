//! The shapes of the group endpoints' requests and answers, as the iOS client was generated
//! from them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::groups::LeaderboardEntry;
use crate::input::{GroupName, InviteCodeInput, PositiveId};
use crate::storage::{Group, GroupInvite, GroupMember, GroupRole};

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateGroupRequest {
    /// Display name, 1-30 characters once trimmed; digits and punctuation are kept.
    #[schema(value_type = String, min_length = 1, max_length = 30)]
    pub(super) name: GroupName,
}

/// A code to join by.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct JoinGroupRequest {
    /// A single-use invite code or a group's permanent code (trimmed, case-sensitive).
    #[schema(value_type = String)]
    pub(super) invite_code: InviteCodeInput,
}

/// The member to hand ownership to.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TransferOwnershipRequest {
    /// A member of the group other than the caller (> 0).
    #[schema(value_type = i64, minimum = 1)]
    pub(super) new_owner_id: PositiveId,
}

/// A group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupResponse {
    id: i64,
    name: String,
    /// The creator's id (kept after their account is deleted).
    created_by: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// The permanent code members share; it never expires.
    invite_code: String,
    max_members: i32,
    member_count: i64,
}

impl From<Group> for GroupResponse {
    fn from(group: Group) -> Self {
        Self {
            id: group.id,
            name: group.name,
            created_by: group.created_by,
            created_at: group.created_at,
            invite_code: group.invite_code,
            max_members: group.max_members,
            member_count: group.member_count,
        }
    }
}

/// One member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupMemberResponse {
    user_id: i64,
    /// `""` when the member gave none.
    first_name: String,
    /// `owner` or `member`.
    #[schema(value_type = String)]
    role: GroupRole,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    joined_at: OffsetDateTime,
}

/// A group with its members in the order they joined.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupDetailResponse {
    id: i64,
    name: String,
    created_by: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    invite_code: String,
    max_members: i32,
    member_count: i64,
    members: Vec<GroupMemberResponse>,
}

impl GroupDetailResponse {
    pub(super) fn new(group: Group, members: Vec<GroupMember>) -> Self {
        Self {
            id: group.id,
            name: group.name,
            created_by: group.created_by,
            created_at: group.created_at,
            invite_code: group.invite_code,
            max_members: group.max_members,
            member_count: group.member_count,
            members: members
                .into_iter()
                .map(|m| GroupMemberResponse {
                    user_id: m.user_id,
                    first_name: m.first_name.unwrap_or_default(),
                    role: m.role,
                    joined_at: m.joined_at,
                })
                .collect(),
        }
    }
}

/// A single-use invite.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupInviteResponse {
    id: i64,
    invite_code: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// Seven days after creation.
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
}

impl From<GroupInvite> for GroupInviteResponse {
    fn from(invite: GroupInvite) -> Self {
        Self {
            id: invite.id,
            invite_code: invite.invite_code,
            created_at: invite.created_at,
            expires_at: invite.expires_at,
        }
    }
}

/// Leaderboard options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LeaderboardQuery {
    /// Only include test results from the last N days (1-3650).
    pub(super) days: Option<i64>,
    /// Maximum number of entries to return (1-100).
    pub(super) limit: Option<i64>,
    /// Number of entries to skip (>= 0).
    pub(super) offset: Option<i64>,
}

/// One ranked member.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardEntryResponse {
    /// 1-based; members with equal best scores share a rank.
    rank: u64,
    user_id: i64,
    first_name: String,
    /// 0 without results.
    best_score: i32,
    /// 0.0 without results.
    average_score: f64,
}

impl From<LeaderboardEntry> for LeaderboardEntryResponse {
    fn from(entry: LeaderboardEntry) -> Self {
        Self {
            rank: entry.rank,
            user_id: entry.user_id,
            first_name: entry.first_name,
            best_score: entry.best_score,
            average_score: entry.average_score,
        }
    }
}

/// A group's ranking by best score.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardResponse {
    pub(super) group_id: i64,
    pub(super) group_name: String,
    pub(super) entries: Vec<LeaderboardEntryResponse>,
    /// Members before pagination.
    pub(super) total_count: u64,
    pub(super) limit: Option<i64>,
    /// Echoed only together with `limit`, as the old backend did.
    pub(super) offset: Option<i64>,
    /// Whether entries exist beyond this page.
    pub(super) has_more: bool,
    pub(super) days: Option<i64>,
}
