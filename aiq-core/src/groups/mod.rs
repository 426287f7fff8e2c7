//! Groups: the rules of creating, inviting, joining, leaving, transferring, deleting and
//! ranking, independent of HTTP. Handlers in `api::groups` parse requests, call these functions
//! and shape the answers; every rule a client can break is a `GroupError`,
//! mapped to a status and the old backend's message in one place.
//!
//! Fixes over the old backend: names keep digits, roles serialise, a sole owner cannot leave
//! but an owner may leave once ownership is transferred, a group survives its creator's
//! account deletion (see [`crate::storage::UserStore::delete_user`]), and leaderboard ties
//! share a rank.

mod error;

use time::{Duration, OffsetDateTime};

pub(crate) use self::error::GroupError;
use crate::storage::{
    Conflict, DEFAULT_MAX_MEMBERS, Group, GroupDenied, GroupId, GroupInvite, GroupMember,
    GroupRole, JoinOutcome, LeaderboardRow, NewGroup, NewInvite, Storage, StorageError, UserId,
};

/// Characters of invite codes.
pub const INVITE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Length of invite codes.
pub const INVITE_CODE_LEN: usize = 8;
/// How long a single-use invite works.
pub const INVITE_LIFETIME: Duration = Duration::days(7);
/// Draws before giving up on finding an unused code (36^8 codes make one retry rare already).
const CODE_ATTEMPTS: usize = 5;

/// A fresh invite code: 8 characters from `A-Z0-9`, uniformly drawn from the operating
/// system's CSPRNG.
///
/// ```
/// let code = aiq_core::groups::new_invite_code().unwrap();
/// assert_eq!(code.len(), 8);
/// assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
/// ```
pub fn new_invite_code() -> Result<String, getrandom::Error> {
    let mut code = String::with_capacity(INVITE_CODE_LEN);
    let mut buf = [0u8; 16];
    while code.len() < INVITE_CODE_LEN {
        getrandom::fill(&mut buf)?;
        // 252 = 7 * 36: rejecting the rest keeps every character equally likely.
        for byte in buf.iter().filter(|b| **b < 252) {
            if code.len() < INVITE_CODE_LEN {
                code.push(char::from(INVITE_ALPHABET[usize::from(*byte % 36)]));
            }
        }
    }
    Ok(code)
}

/// One ranked line of a leaderboard.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardEntry {
    /// 1-based competition rank: members with equal best scores share it ("1, 1, 3").
    pub rank: u64,
    /// The member.
    pub user_id: UserId,
    /// Their first name, `""` when they gave none.
    pub first_name: String,
    /// Their best IQ score, 0 without results.
    pub best_score: i32,
    /// Their mean IQ score, 0.0 without results.
    pub average_score: f64,
}

/// Ranks members by best score (members without results count as 0). Equal best scores share
/// a rank; within a tie the order is by average score (higher first), then user id.
///
/// ```
/// use aiq_core::groups::rank;
/// use aiq_core::storage::LeaderboardRow;
/// let row = |user_id, best, average| LeaderboardRow {
///     user_id,
///     first_name: None,
///     best_score: best,
///     average_score: average,
/// };
/// let ranked = rank(vec![
///     row(1, Some(110), Some(105.0)),
///     row(2, None, None),
///     row(3, Some(120), Some(120.0)),
///     row(4, Some(120), Some(115.0)),
/// ]);
/// let order: Vec<_> = ranked.iter().map(|e| (e.user_id, e.rank)).collect();
/// assert_eq!(order, vec![(3, 1), (4, 1), (1, 3), (2, 4)]);
/// ```
pub fn rank(rows: Vec<LeaderboardRow>) -> Vec<LeaderboardEntry> {
    let mut entries: Vec<LeaderboardEntry> = rows
        .into_iter()
        .map(|row| LeaderboardEntry {
            rank: 0,
            user_id: row.user_id,
            first_name: row.first_name.unwrap_or_default(),
            best_score: row.best_score.unwrap_or(0),
            average_score: row.average_score.unwrap_or(0.0),
        })
        .collect();
    entries.sort_by(|a, b| {
        b.best_score
            .cmp(&a.best_score)
            .then(b.average_score.total_cmp(&a.average_score))
            .then(a.user_id.cmp(&b.user_id))
    });
    let mut previous: Option<(i32, u64)> = None;
    for (index, entry) in entries.iter_mut().enumerate() {
        entry.rank = match previous {
            Some((best, rank)) if best == entry.best_score => rank,
            _ => index as u64 + 1,
        };
        previous = Some((entry.best_score, entry.rank));
    }
    entries
}

/// Draws codes until `attempt` stores one that no group or invite holds.
async fn with_fresh_code<T, F, Fut>(mut attempt: F) -> Result<T, GroupError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, StorageError>>,
{
    for _ in 0..CODE_ATTEMPTS {
        let code = new_invite_code().map_err(|e| GroupError::NoInviteCode(e.to_string()))?;
        match attempt(code).await {
            Err(StorageError::Conflict(Conflict::InviteCode)) => continue,
            other => return other.map_err(GroupError::from),
        }
    }
    Err(GroupError::NoInviteCode(format!(
        "{CODE_ATTEMPTS} draws collided"
    )))
}

/// Creates a group owned by `user`, with a fresh permanent code.
pub(crate) async fn create_group(
    store: &dyn Storage,
    user: UserId,
    name: String,
    now: OffsetDateTime,
) -> Result<Group, GroupError> {
    with_fresh_code(|invite_code| {
        store.create_group(NewGroup {
            name: name.clone(),
            created_by: user,
            created_at: now,
            invite_code,
            max_members: DEFAULT_MAX_MEMBERS,
        })
    })
    .await
}

/// The group and the caller's role in it: 404 without the group, 403 for non-members.
async fn membership(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
) -> Result<(Group, Vec<GroupMember>, GroupRole), GroupError> {
    let group = store.group(id).await?.ok_or(GroupError::GroupNotFound)?;
    let members = store.group_members(id).await?;
    let role = members
        .iter()
        .find(|m| m.user_id == user)
        .map(|m| m.role)
        .ok_or(GroupError::NotMember)?;
    Ok((group, members, role))
}

/// A group with its members, for a member.
pub(crate) async fn group_detail(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
) -> Result<(Group, Vec<GroupMember>), GroupError> {
    let (group, members, _) = membership(store, user, id).await?;
    Ok((group, members))
}

/// A new single-use invite, for the owner.
pub(crate) async fn create_invite(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
    now: OffsetDateTime,
) -> Result<GroupInvite, GroupError> {
    store.group(id).await?.ok_or(GroupError::GroupNotFound)?;
    let invite = with_fresh_code(|invite_code| {
        store.create_invite(NewInvite {
            group_id: id,
            invited_by: user,
            invite_code,
            created_at: now,
            expires_at: now + INVITE_LIFETIME,
        })
    })
    .await?;
    // None: not the owner (or the group went meanwhile).
    invite.ok_or(GroupError::OwnerOnly)
}

/// Joins the group of `code` (already trimmed).
pub(crate) async fn join(
    store: &dyn Storage,
    user: UserId,
    code: &str,
    now: OffsetDateTime,
) -> Result<Group, GroupError> {
    match store.join_group(code, user, now).await? {
        JoinOutcome::Joined(group) => Ok(group),
        JoinOutcome::InvalidCode => Err(GroupError::InvalidInvite),
        JoinOutcome::Expired => Err(GroupError::InviteExpired),
        JoinOutcome::Used => Err(GroupError::InviteUsed),
        JoinOutcome::AlreadyMember => Err(GroupError::AlreadyMember),
        JoinOutcome::Full => Err(GroupError::GroupFull),
    }
}

/// The ranked leaderboard of a group, for a member; `days` limits it to recent results.
pub(crate) async fn leaderboard(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
    days: Option<i64>,
    now: OffsetDateTime,
) -> Result<(Group, Vec<LeaderboardEntry>), GroupError> {
    let (group, _, _) = membership(store, user, id).await?;
    let since = days.map(|days| now - Duration::days(days));
    Ok((group, rank(store.leaderboard(id, since).await?)))
}

/// Removes `target` from the group (the caller leaving when it is themselves).
pub(crate) async fn remove_member(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
    target: UserId,
) -> Result<(), GroupError> {
    store
        .remove_member(id, user, target)
        .await?
        .map_err(|denied| match denied {
            GroupDenied::GroupNotFound => GroupError::GroupNotFound,
            GroupDenied::NotMember => GroupError::NotMember,
            GroupDenied::NotOwner => GroupError::RemoveOthersOwnerOnly,
            GroupDenied::TargetNotMember => GroupError::MemberNotFound,
            GroupDenied::TargetIsOwner | GroupDenied::AlreadyOwner => {
                GroupError::OwnerCannotBeRemoved
            }
        })
}

/// Hands ownership to `new_owner`; the group with its members afterwards.
pub(crate) async fn transfer_ownership(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
    new_owner: UserId,
) -> Result<(Group, Vec<GroupMember>), GroupError> {
    store
        .transfer_ownership(id, user, new_owner)
        .await?
        .map_err(|denied| match denied {
            GroupDenied::GroupNotFound => GroupError::GroupNotFound,
            GroupDenied::NotMember | GroupDenied::NotOwner => GroupError::TransferOwnerOnly,
            GroupDenied::AlreadyOwner | GroupDenied::TargetIsOwner => GroupError::AlreadyOwner,
            GroupDenied::TargetNotMember => GroupError::NewOwnerNotMember,
        })?;
    let group = store.group(id).await?.ok_or(GroupError::GroupNotFound)?;
    Ok((group, store.group_members(id).await?))
}

/// Deletes the group, for the owner.
pub(crate) async fn delete_group(
    store: &dyn Storage,
    user: UserId,
    id: GroupId,
) -> Result<(), GroupError> {
    store
        .delete_group(id, user)
        .await?
        .map_err(|denied| match denied {
            GroupDenied::GroupNotFound => GroupError::GroupNotFound,
            _ => GroupError::OwnerOnly,
        })
}
