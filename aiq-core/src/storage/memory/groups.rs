//! `GroupStore` in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, State};
use crate::storage::groups::{
    Group, GroupDenied, GroupId, GroupInvite, GroupMember, GroupRole, GroupStore, InviteId,
    JoinOutcome, LeaderboardRow, NewGroup, NewInvite,
};
use crate::storage::users::UserId;
use crate::storage::{Conflict, StorageError};

/// A membership row; `seq` orders members who joined at the same instant (the table's id).
#[derive(Debug, Clone)]
struct Membership {
    seq: i64,
    group_id: GroupId,
    user_id: UserId,
    role: GroupRole,
    joined_at: OffsetDateTime,
}

/// The groups, memberships and invites.
#[derive(Debug, Default)]
pub(super) struct GroupData {
    /// Stored with `member_count` 0; counted on read.
    groups: BTreeMap<GroupId, Group>,
    next_group_id: GroupId,
    memberships: Vec<Membership>,
    next_seq: i64,
    invites: BTreeMap<InviteId, GroupInvite>,
    next_invite_id: InviteId,
}

impl GroupData {
    fn code_taken(&self, code: &str) -> bool {
        self.groups.values().any(|g| g.invite_code == code)
            || self.invites.values().any(|i| i.invite_code == code)
    }

    fn with_count(&self, group: &Group) -> Group {
        let count = self.members_of(group.id).count();
        Group {
            member_count: i64::try_from(count).unwrap_or(i64::MAX),
            ..group.clone()
        }
    }

    fn members_of(&self, group: GroupId) -> impl Iterator<Item = &Membership> {
        self.memberships.iter().filter(move |m| m.group_id == group)
    }

    fn role_of(&self, group: GroupId, user: UserId) -> Option<GroupRole> {
        self.members_of(group)
            .find(|m| m.user_id == user)
            .map(|m| m.role)
    }

    fn add_member(&mut self, group: GroupId, user: UserId, role: GroupRole, at: OffsetDateTime) {
        self.next_seq += 1;
        self.memberships.push(Membership {
            seq: self.next_seq,
            group_id: group,
            user_id: user,
            role,
            joined_at: at,
        });
    }

    fn set_role(&mut self, group: GroupId, user: UserId, role: GroupRole) {
        for m in &mut self.memberships {
            if m.group_id == group && m.user_id == user {
                m.role = role;
            }
        }
    }

    fn remove_group(&mut self, group: GroupId) {
        self.groups.remove(&group);
        self.memberships.retain(|m| m.group_id != group);
        self.invites.retain(|_, i| i.group_id != group);
    }

    /// Removes a deleted user's memberships, hands the groups they owned to the
    /// longest-standing remaining member (or deletes them when none remains), and clears their
    /// id from invites.
    pub(super) fn remove_user(&mut self, user: UserId) {
        let owned: Vec<GroupId> = self
            .memberships
            .iter()
            .filter(|m| m.user_id == user && m.role == GroupRole::Owner)
            .map(|m| m.group_id)
            .collect();
        self.memberships.retain(|m| m.user_id != user);
        for group in owned {
            let heir = self
                .members_of(group)
                .min_by_key(|m| (m.joined_at, m.seq))
                .map(|m| m.user_id);
            match heir {
                Some(heir) => self.set_role(group, heir, GroupRole::Owner),
                None => self.remove_group(group),
            }
        }
        for invite in self.invites.values_mut() {
            if invite.invited_by == Some(user) {
                invite.invited_by = None;
            }
            if invite.accepted_by == Some(user) {
                invite.accepted_by = None;
            }
        }
    }
}

impl State {
    fn member(&self, m: &Membership) -> GroupMember {
        GroupMember {
            user_id: m.user_id,
            first_name: self
                .users
                .get(&m.user_id)
                .and_then(|u| u.first_name.clone()),
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

#[async_trait]
impl GroupStore for MemoryStore {
    async fn create_group(&self, new: NewGroup) -> Result<Group, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        if data.code_taken(&new.invite_code) {
            return Err(StorageError::Conflict(Conflict::InviteCode));
        }
        data.next_group_id += 1;
        let group = Group {
            id: data.next_group_id,
            name: new.name,
            created_by: new.created_by,
            created_at: new.created_at,
            invite_code: new.invite_code,
            max_members: new.max_members,
            member_count: 0,
        };
        data.groups.insert(group.id, group.clone());
        data.add_member(group.id, new.created_by, GroupRole::Owner, new.created_at);
        Ok(data.with_count(&group))
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>, StorageError> {
        let state = self.state();
        Ok(state
            .groups
            .groups
            .get(&id)
            .map(|g| state.groups.with_count(g)))
    }

    async fn user_groups(&self, user: UserId) -> Result<Vec<Group>, StorageError> {
        let state = self.state();
        let data = &state.groups;
        let mut groups: Vec<Group> = data
            .groups
            .values()
            .filter(|g| data.role_of(g.id, user).is_some())
            .map(|g| data.with_count(g))
            .collect();
        groups.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(groups)
    }

    async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMember>, StorageError> {
        let state = self.state();
        let mut rows: Vec<&Membership> = state.groups.members_of(id).collect();
        rows.sort_by_key(|m| (m.joined_at, m.seq));
        Ok(rows.into_iter().map(|m| state.member(m)).collect())
    }

    async fn create_invite(&self, new: NewInvite) -> Result<Option<GroupInvite>, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        if data.code_taken(&new.invite_code) {
            return Err(StorageError::Conflict(Conflict::InviteCode));
        }
        if data.role_of(new.group_id, new.invited_by) != Some(GroupRole::Owner) {
            return Ok(None);
        }
        data.next_invite_id += 1;
        let invite = GroupInvite {
            id: data.next_invite_id,
            group_id: new.group_id,
            invited_by: Some(new.invited_by),
            invite_code: new.invite_code,
            created_at: new.created_at,
            expires_at: new.expires_at,
            accepted_by: None,
            accepted_at: None,
        };
        data.invites.insert(invite.id, invite.clone());
        Ok(Some(invite))
    }

    async fn invite_by_code(&self, code: &str) -> Result<Option<GroupInvite>, StorageError> {
        let state = self.state();
        Ok(state
            .groups
            .invites
            .values()
            .find(|i| i.invite_code == code)
            .cloned())
    }

    async fn join_group(
        &self,
        code: &str,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<JoinOutcome, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        let invite = data
            .invites
            .values()
            .find(|i| i.invite_code == code)
            .map(|i| (i.id, i.group_id, i.expires_at, i.accepted_at));
        let group_id = match invite {
            Some((_, _, expires_at, _)) if expires_at <= now => return Ok(JoinOutcome::Expired),
            Some((_, _, _, Some(_))) => return Ok(JoinOutcome::Used),
            Some((_, group_id, _, None)) => group_id,
            None => match data.groups.values().find(|g| g.invite_code == code) {
                Some(group) => group.id,
                None => return Ok(JoinOutcome::InvalidCode),
            },
        };
        let Some(group) = data.groups.get(&group_id).cloned() else {
            return Ok(JoinOutcome::InvalidCode);
        };
        if data.role_of(group_id, user).is_some() {
            return Ok(JoinOutcome::AlreadyMember);
        }
        if data.with_count(&group).member_count >= i64::from(group.max_members) {
            return Ok(JoinOutcome::Full);
        }
        data.add_member(group_id, user, GroupRole::Member, now);
        if let Some(invite) = invite.and_then(|(id, ..)| data.invites.get_mut(&id)) {
            invite.accepted_by = Some(user);
            invite.accepted_at = Some(now);
        }
        Ok(JoinOutcome::Joined(data.with_count(&group)))
    }

    async fn remove_member(
        &self,
        group: GroupId,
        actor: UserId,
        target: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        if !data.groups.contains_key(&group) {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        let Some(actor_role) = data.role_of(group, actor) else {
            return Ok(Err(GroupDenied::NotMember));
        };
        if actor != target && actor_role != GroupRole::Owner {
            return Ok(Err(GroupDenied::NotOwner));
        }
        match data.role_of(group, target) {
            None => Ok(Err(GroupDenied::TargetNotMember)),
            Some(GroupRole::Owner) => Ok(Err(GroupDenied::TargetIsOwner)),
            Some(GroupRole::Member) => {
                data.memberships
                    .retain(|m| !(m.group_id == group && m.user_id == target));
                Ok(Ok(()))
            }
        }
    }

    async fn transfer_ownership(
        &self,
        group: GroupId,
        actor: UserId,
        new_owner: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        if !data.groups.contains_key(&group) {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        if data.role_of(group, actor) != Some(GroupRole::Owner) {
            return Ok(Err(GroupDenied::NotOwner));
        }
        if actor == new_owner {
            return Ok(Err(GroupDenied::AlreadyOwner));
        }
        if data.role_of(group, new_owner).is_none() {
            return Ok(Err(GroupDenied::TargetNotMember));
        }
        data.set_role(group, actor, GroupRole::Member);
        data.set_role(group, new_owner, GroupRole::Owner);
        Ok(Ok(()))
    }

    async fn delete_group(
        &self,
        group: GroupId,
        actor: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let mut state = self.state();
        let data = &mut state.groups;
        if !data.groups.contains_key(&group) {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        if data.role_of(group, actor) != Some(GroupRole::Owner) {
            return Ok(Err(GroupDenied::NotOwner));
        }
        data.remove_group(group);
        Ok(Ok(()))
    }

    async fn leaderboard(
        &self,
        group: GroupId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<LeaderboardRow>, StorageError> {
        let state = self.state();
        Ok(state
            .groups
            .members_of(group)
            .map(|m| {
                let scores: Vec<i32> = state
                    .tests
                    .results_of(m.user_id)
                    .filter(|r| since.is_none_or(|since| r.completed_at >= since))
                    .map(|r| r.scores.iq_score)
                    .collect();
                let sum: f64 = scores.iter().map(|s| f64::from(*s)).sum();
                LeaderboardRow {
                    user_id: m.user_id,
                    first_name: state.member(m).first_name,
                    best_score: scores.iter().copied().max(),
                    average_score: (!scores.is_empty()).then(|| sum / scores.len() as f64),
                }
            })
            .collect())
    }
}
