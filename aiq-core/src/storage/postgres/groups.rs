//! `GroupStore` on PostgreSQL.
//!
//! Every rule-carrying operation runs in a transaction that first locks the group's row, so
//! joins, removals, transfers, deletions and an owner's account deletion on one group run one
//! after the other; the checks that follow the lock read committed state. Locks are always
//! taken group first, then invites, so these operations cannot deadlock each other.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{PgStore, db_error, timed};
use crate::storage::groups::{
    Group, GroupDenied, GroupId, GroupInvite, GroupMember, GroupRole, GroupStore, JoinOutcome,
    LeaderboardRow, NewGroup, NewInvite,
};
use crate::storage::users::UserId;
use crate::storage::{Conflict, StorageError};

/// Selects the columns [`group_from_row`] reads from `groups g`.
const GROUP_SELECT: &str = "SELECT g.id, g.name, g.created_by, g.created_at, g.invite_code, \
     g.max_members, (SELECT count(*) FROM group_memberships m WHERE m.group_id = g.id) \
     AS member_count FROM groups g";

const INVITE_COLUMNS: &str = "id, group_id, invited_by, invite_code, created_at, expires_at, \
     accepted_by, accepted_at";

fn group_from_row(row: &Row) -> Result<Group, StorageError> {
    Ok(Group {
        id: row.try_get("id").map_err(db_error)?,
        name: row.try_get("name").map_err(db_error)?,
        created_by: row.try_get("created_by").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        invite_code: row.try_get("invite_code").map_err(db_error)?,
        max_members: row.try_get("max_members").map_err(db_error)?,
        member_count: row.try_get("member_count").map_err(db_error)?,
    })
}

fn invite_from_row(row: &Row) -> Result<GroupInvite, StorageError> {
    Ok(GroupInvite {
        id: row.try_get("id").map_err(db_error)?,
        group_id: row.try_get("group_id").map_err(db_error)?,
        invited_by: row.try_get("invited_by").map_err(db_error)?,
        invite_code: row.try_get("invite_code").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        expires_at: row.try_get("expires_at").map_err(db_error)?,
        accepted_by: row.try_get("accepted_by").map_err(db_error)?,
        accepted_at: row.try_get("accepted_at").map_err(db_error)?,
    })
}

fn role_from(value: &str) -> Result<GroupRole, StorageError> {
    GroupRole::parse(value)
        .ok_or_else(|| StorageError::Backend(format!("unknown group role {value:?}").into()))
}

/// Locks the group's row for the rest of the transaction; false when there is no such group.
async fn lock_group(tx: &Transaction<'_>, group: GroupId) -> Result<bool, StorageError> {
    let statement = tx
        .prepare_cached("SELECT id FROM groups WHERE id = $1 FOR UPDATE")
        .await
        .map_err(db_error)?;
    Ok(tx
        .query_opt(&statement, &[&group])
        .await
        .map_err(db_error)?
        .is_some())
}

/// The roles of `users` in the group (absent users are not members).
async fn roles(
    tx: &Transaction<'_>,
    group: GroupId,
    users: &[UserId],
) -> Result<Vec<(UserId, GroupRole)>, StorageError> {
    let statement = tx
        .prepare_cached(
            "SELECT user_id, role FROM group_memberships \
             WHERE group_id = $1 AND user_id = ANY($2)",
        )
        .await
        .map_err(db_error)?;
    let rows = tx
        .query(&statement, &[&group, &users])
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let role: &str = row.try_get("role").map_err(db_error)?;
            Ok((row.try_get("user_id").map_err(db_error)?, role_from(role)?))
        })
        .collect()
}

fn role_in(roles: &[(UserId, GroupRole)], user: UserId) -> Option<GroupRole> {
    roles
        .iter()
        .find(|(id, _)| *id == user)
        .map(|(_, role)| *role)
}

async fn set_role(
    tx: &Transaction<'_>,
    group: GroupId,
    user: UserId,
    role: GroupRole,
) -> Result<(), StorageError> {
    let statement = tx
        .prepare_cached(
            "UPDATE group_memberships SET role = $3 WHERE group_id = $1 AND user_id = $2",
        )
        .await
        .map_err(db_error)?;
    let updated = tx
        .execute(&statement, &[&group, &user, &role.as_str()])
        .await
        .map_err(db_error)?;
    // Callers hold the group's lock and checked the membership under it: no row means the
    // invariant broke, and the transaction must not commit a group without its owner.
    if updated != 1 {
        return Err(StorageError::Backend(
            format!(
                "group {group}: no membership of user {user} to make {}",
                role.as_str()
            )
            .into(),
        ));
    }
    Ok(())
}

/// Within an account deletion (before the user's row goes): removes the user's memberships,
/// hands each group they owned to its longest-standing remaining member, and deletes the
/// owned groups left without members.
pub(super) async fn release_groups_of(
    tx: &Transaction<'_>,
    user: UserId,
) -> Result<(), StorageError> {
    // Lock every group the user belongs to (in id order, like every other group operation
    // locks its one group), then read which of them they own: a transfer that committed before
    // the locks were taken is seen, one that comes after finds the user gone.
    let statement = tx
        .prepare_cached(
            "SELECT g.id FROM groups g WHERE g.id IN ( \
                 SELECT group_id FROM group_memberships WHERE user_id = $1) \
             ORDER BY g.id FOR UPDATE",
        )
        .await
        .map_err(db_error)?;
    tx.query(&statement, &[&user]).await.map_err(db_error)?;
    let statement = tx
        .prepare_cached(
            "SELECT group_id FROM group_memberships WHERE user_id = $1 AND role = 'owner' \
             ORDER BY group_id",
        )
        .await
        .map_err(db_error)?;
    let owned: Vec<GroupId> = tx
        .query(&statement, &[&user])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| row.try_get(0).map_err(db_error))
        .collect::<Result<_, _>>()?;
    let statement = tx
        .prepare_cached("DELETE FROM group_memberships WHERE user_id = $1")
        .await
        .map_err(db_error)?;
    tx.execute(&statement, &[&user]).await.map_err(db_error)?;
    if owned.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "UPDATE group_memberships SET role = 'owner' WHERE id IN ( \
                 SELECT DISTINCT ON (group_id) id FROM group_memberships \
                 WHERE group_id = ANY($1) ORDER BY group_id, joined_at, id)",
        )
        .await
        .map_err(db_error)?;
    tx.execute(&statement, &[&owned]).await.map_err(db_error)?;
    let statement = tx
        .prepare_cached(
            "DELETE FROM groups g WHERE g.id = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM group_memberships m WHERE m.group_id = g.id)",
        )
        .await
        .map_err(db_error)?;
    tx.execute(&statement, &[&owned]).await.map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl GroupStore for PgStore {
    async fn create_group(&self, new: NewGroup) -> Result<Group, StorageError> {
        let _timed = timed("create_group", "groups");
        let conn = self.conn().await?;
        // One statement: the group and its owner, or nothing (a code held by an invite too).
        let statement = conn
            .prepare_cached(
                "WITH g AS ( \
                     INSERT INTO groups (name, created_by, created_at, invite_code, max_members) \
                     SELECT $1::varchar, $2::bigint, $3::timestamptz, $4::varchar, $5::int \
                     WHERE NOT EXISTS ( \
                         SELECT 1 FROM group_invites WHERE invite_code = $4) \
                     RETURNING id, name, created_by, created_at, invite_code, max_members), \
                 m AS ( \
                     INSERT INTO group_memberships (group_id, user_id, role, joined_at) \
                     SELECT g.id, g.created_by, 'owner', g.created_at FROM g) \
                 SELECT g.*, 1::bigint AS member_count FROM g",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(
                &statement,
                &[
                    &new.name,
                    &new.created_by,
                    &new.created_at,
                    &new.invite_code,
                    &new.max_members,
                ],
            )
            .await
            .map_err(db_error)?
            .ok_or(StorageError::Conflict(Conflict::InviteCode))?;
        group_from_row(&row)
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>, StorageError> {
        let _timed = timed("group", "groups");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!("{GROUP_SELECT} WHERE g.id = $1"))
            .await
            .map_err(db_error)?;
        let row = conn.query_opt(&statement, &[&id]).await.map_err(db_error)?;
        row.as_ref().map(group_from_row).transpose()
    }

    async fn user_groups(&self, user: UserId) -> Result<Vec<Group>, StorageError> {
        let _timed = timed("user_groups", "groups");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "{GROUP_SELECT} WHERE g.id IN ( \
                     SELECT group_id FROM group_memberships WHERE user_id = $1) \
                 ORDER BY g.created_at DESC, g.id DESC"
            ))
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&user]).await.map_err(db_error)?;
        rows.iter().map(group_from_row).collect()
    }

    async fn group_members(&self, id: GroupId) -> Result<Vec<GroupMember>, StorageError> {
        let _timed = timed("group_members", "group_memberships");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT m.user_id, u.first_name, m.role, m.joined_at \
                 FROM group_memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_id = $1 ORDER BY m.joined_at, m.id",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[&id]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let role: &str = row.try_get("role").map_err(db_error)?;
                Ok(GroupMember {
                    user_id: row.try_get("user_id").map_err(db_error)?,
                    first_name: row.try_get("first_name").map_err(db_error)?,
                    role: role_from(role)?,
                    joined_at: row.try_get("joined_at").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn create_invite(&self, new: NewInvite) -> Result<Option<GroupInvite>, StorageError> {
        let _timed = timed("create_invite", "group_invites");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        if !lock_group(&tx, new.group_id).await?
            || role_in(
                &roles(&tx, new.group_id, &[new.invited_by]).await?,
                new.invited_by,
            ) != Some(GroupRole::Owner)
        {
            return Ok(None);
        }
        let statement = tx
            .prepare_cached(&format!(
                "INSERT INTO group_invites (group_id, invited_by, invite_code, created_at, \
                                            expires_at) \
                 SELECT $1::bigint, $2::bigint, $3::varchar, $4::timestamptz, $5::timestamptz \
                 WHERE NOT EXISTS ( \
                     SELECT 1 FROM groups WHERE invite_code = $3) \
                 RETURNING {INVITE_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = tx
            .query_opt(
                &statement,
                &[
                    &new.group_id,
                    &new.invited_by,
                    &new.invite_code,
                    &new.created_at,
                    &new.expires_at,
                ],
            )
            .await
            .map_err(db_error)?
            .ok_or(StorageError::Conflict(Conflict::InviteCode))?;
        let invite = invite_from_row(&row)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(invite))
    }

    async fn invite_by_code(&self, code: &str) -> Result<Option<GroupInvite>, StorageError> {
        let _timed = timed("invite_by_code", "group_invites");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {INVITE_COLUMNS} FROM group_invites WHERE invite_code = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&code])
            .await
            .map_err(db_error)?;
        row.as_ref().map(invite_from_row).transpose()
    }

    async fn join_group(
        &self,
        code: &str,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<JoinOutcome, StorageError> {
        let _timed = timed("join_group", "group_memberships");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        // Which group, without locks; then the group's lock, then the invite's state under it
        // (an invite is only consumed under its group's lock).
        let statement = tx
            .prepare_cached(
                "SELECT group_id, TRUE AS single_use FROM group_invites WHERE invite_code = $1 \
                 UNION ALL \
                 SELECT id, FALSE FROM groups WHERE invite_code = $1 \
                 ORDER BY single_use DESC LIMIT 1",
            )
            .await
            .map_err(db_error)?;
        let Some(found) = tx.query_opt(&statement, &[&code]).await.map_err(db_error)? else {
            return Ok(JoinOutcome::InvalidCode);
        };
        let group: GroupId = found.try_get(0).map_err(db_error)?;
        let single_use: bool = found.try_get(1).map_err(db_error)?;
        if !lock_group(&tx, group).await? {
            return Ok(JoinOutcome::InvalidCode);
        }
        let mut invite_id = None;
        if single_use {
            let statement = tx
                .prepare_cached(
                    "SELECT id, expires_at, accepted_at FROM group_invites WHERE invite_code = $1",
                )
                .await
                .map_err(db_error)?;
            let Some(row) = tx.query_opt(&statement, &[&code]).await.map_err(db_error)? else {
                return Ok(JoinOutcome::InvalidCode);
            };
            let expires_at: OffsetDateTime = row.try_get("expires_at").map_err(db_error)?;
            let accepted_at: Option<OffsetDateTime> =
                row.try_get("accepted_at").map_err(db_error)?;
            if expires_at <= now {
                return Ok(JoinOutcome::Expired);
            }
            if accepted_at.is_some() {
                return Ok(JoinOutcome::Used);
            }
            invite_id = Some(row.try_get::<_, i64>("id").map_err(db_error)?);
        }
        let statement = tx
            .prepare_cached(
                "SELECT g.max_members, count(m.id) AS members, \
                        coalesce(bool_or(m.user_id = $2), FALSE) AS is_member \
                 FROM groups g LEFT JOIN group_memberships m ON m.group_id = g.id \
                 WHERE g.id = $1 GROUP BY g.id",
            )
            .await
            .map_err(db_error)?;
        let row = tx
            .query_one(&statement, &[&group, &user])
            .await
            .map_err(db_error)?;
        let max_members: i32 = row.try_get("max_members").map_err(db_error)?;
        let members: i64 = row.try_get("members").map_err(db_error)?;
        if row.try_get::<_, bool>("is_member").map_err(db_error)? {
            return Ok(JoinOutcome::AlreadyMember);
        }
        if members >= i64::from(max_members) {
            return Ok(JoinOutcome::Full);
        }
        let statement = tx
            .prepare_cached(
                "INSERT INTO group_memberships (group_id, user_id, role, joined_at) \
                 VALUES ($1, $2, 'member', $3)",
            )
            .await
            .map_err(db_error)?;
        tx.execute(&statement, &[&group, &user, &now])
            .await
            .map_err(db_error)?;
        if let Some(id) = invite_id {
            let statement = tx
                .prepare_cached(
                    "UPDATE group_invites SET accepted_by = $2, accepted_at = $3 WHERE id = $1",
                )
                .await
                .map_err(db_error)?;
            tx.execute(&statement, &[&id, &user, &now])
                .await
                .map_err(db_error)?;
        }
        let statement = tx
            .prepare_cached(&format!("{GROUP_SELECT} WHERE g.id = $1"))
            .await
            .map_err(db_error)?;
        let row = tx
            .query_one(&statement, &[&group])
            .await
            .map_err(db_error)?;
        let joined = group_from_row(&row)?;
        tx.commit().await.map_err(db_error)?;
        Ok(JoinOutcome::Joined(joined))
    }

    async fn remove_member(
        &self,
        group: GroupId,
        actor: UserId,
        target: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let _timed = timed("remove_member", "group_memberships");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        if !lock_group(&tx, group).await? {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        let roles = roles(&tx, group, &[actor, target]).await?;
        let Some(actor_role) = role_in(&roles, actor) else {
            return Ok(Err(GroupDenied::NotMember));
        };
        if actor != target && actor_role != GroupRole::Owner {
            return Ok(Err(GroupDenied::NotOwner));
        }
        match role_in(&roles, target) {
            None => return Ok(Err(GroupDenied::TargetNotMember)),
            Some(GroupRole::Owner) => return Ok(Err(GroupDenied::TargetIsOwner)),
            Some(GroupRole::Member) => {}
        }
        let statement = tx
            .prepare_cached("DELETE FROM group_memberships WHERE group_id = $1 AND user_id = $2")
            .await
            .map_err(db_error)?;
        tx.execute(&statement, &[&group, &target])
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Ok(()))
    }

    async fn transfer_ownership(
        &self,
        group: GroupId,
        actor: UserId,
        new_owner: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let _timed = timed("transfer_ownership", "group_memberships");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        if !lock_group(&tx, group).await? {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        let roles = roles(&tx, group, &[actor, new_owner]).await?;
        if role_in(&roles, actor) != Some(GroupRole::Owner) {
            return Ok(Err(GroupDenied::NotOwner));
        }
        if actor == new_owner {
            return Ok(Err(GroupDenied::AlreadyOwner));
        }
        if role_in(&roles, new_owner).is_none() {
            return Ok(Err(GroupDenied::TargetNotMember));
        }
        // Demote first: the one-owner index is checked row by row.
        set_role(&tx, group, actor, GroupRole::Member).await?;
        set_role(&tx, group, new_owner, GroupRole::Owner).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Ok(()))
    }

    async fn delete_group(
        &self,
        group: GroupId,
        actor: UserId,
    ) -> Result<Result<(), GroupDenied>, StorageError> {
        let _timed = timed("delete_group", "groups");
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        if !lock_group(&tx, group).await? {
            return Ok(Err(GroupDenied::GroupNotFound));
        }
        if role_in(&roles(&tx, group, &[actor]).await?, actor) != Some(GroupRole::Owner) {
            return Ok(Err(GroupDenied::NotOwner));
        }
        let statement = tx
            .prepare_cached("DELETE FROM groups WHERE id = $1")
            .await
            .map_err(db_error)?;
        tx.execute(&statement, &[&group]).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Ok(()))
    }

    async fn leaderboard(
        &self,
        group: GroupId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<LeaderboardRow>, StorageError> {
        let _timed = timed("leaderboard", "test_results");
        let conn = self.conn().await?;
        // The average as float division of the exact sum, as the memory store computes it. The
        // window's start is one condition either way (no `$2 IS NULL OR` branch), so one generic
        // plan serves every call instead of a plan made per call.
        let statement = conn
            .prepare_cached(
                "SELECT m.user_id, u.first_name, max(r.iq_score) AS best, \
                        sum(r.iq_score)::float8 / nullif(count(r.id), 0) AS average \
                 FROM group_memberships m JOIN users u ON u.id = m.user_id \
                 LEFT JOIN test_results r ON r.user_id = m.user_id \
                      AND r.completed_at >= COALESCE($2::timestamptz, '-infinity') \
                 WHERE m.group_id = $1 GROUP BY m.user_id, u.first_name",
            )
            .await
            .map_err(db_error)?;
        let rows = conn
            .query(&statement, &[&group, &since])
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(LeaderboardRow {
                    user_id: row.try_get("user_id").map_err(db_error)?,
                    first_name: row.try_get("first_name").map_err(db_error)?,
                    best_score: row.try_get("best").map_err(db_error)?,
                    average_score: row.try_get("average").map_err(db_error)?,
                })
            })
            .collect()
    }
}
