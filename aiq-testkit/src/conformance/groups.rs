//! `GroupStore`: every rule-carrying operation (codes, seats, roles, ownership on deletion).

use std::sync::Arc;

use aiq_core::storage::{
    Conflict, Group, GroupDenied, GroupRole, JoinOutcome, LeaderboardRow, NewGroup, NewInvite,
    NewUser, Storage, StorageError,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::cases;
use crate::fixtures::admin::{bank, complete, start};

cases!(
    a_new_group_has_its_owner_as_only_member,
    invite_codes_are_unique_across_groups_and_invites,
    join_outcomes_follow_the_code_and_the_seats,
    only_the_owner_generates_invites,
    removal_and_transfer_refuse_in_order,
    deleting_a_group_takes_its_memberships_and_invites,
    an_owners_account_deletion_passes_the_group_on,
    a_transfer_racing_an_account_deletion_leaves_exactly_one_owner,
    the_leaderboard_sums_up_each_members_results_in_the_window,
);

fn at(seconds: i64) -> OffsetDateTime {
    datetime!(2026-01-01 00:00 UTC) + Duration::seconds(seconds)
}

async fn user(store: &Arc<dyn Storage>, email: &str) -> i64 {
    store
        .create_user(NewUser::with_password(email, "h"))
        .await
        .unwrap()
        .id
}

async fn group(store: &Arc<dyn Storage>, owner: i64, code: &str, seats: i32) -> Group {
    store
        .create_group(NewGroup {
            name: "Team 1".into(),
            created_by: owner,
            created_at: at(0),
            invite_code: code.into(),
            max_members: seats,
        })
        .await
        .unwrap()
}

fn invite(group: i64, by: i64, code: &str, expires: i64) -> NewInvite {
    NewInvite {
        group_id: group,
        invited_by: by,
        invite_code: code.into(),
        created_at: at(0),
        expires_at: at(expires),
    }
}

async fn a_new_group_has_its_owner_as_only_member(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let created = group(&store, owner, "AAAA1111", 10).await;
    assert_eq!(created.member_count, 1);
    assert_eq!(created.name, "Team 1", "digits are kept");
    assert_eq!(
        store.group(created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.user_groups(owner).await.unwrap(),
        vec![created.clone()]
    );
    let members = store.group_members(created.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id, members[0].role),
        (owner, GroupRole::Owner)
    );
    assert_eq!(store.group(created.id + 1000).await.unwrap(), None);
}

async fn invite_codes_are_unique_across_groups_and_invites(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let first = group(&store, owner, "SAME0001", 10).await;
    let duplicate = store
        .create_group(NewGroup {
            name: "Other".into(),
            created_by: owner,
            created_at: at(1),
            invite_code: "SAME0001".into(),
            max_members: 10,
        })
        .await;
    assert!(matches!(
        duplicate,
        Err(StorageError::Conflict(Conflict::InviteCode))
    ));
    let clash = store
        .create_invite(invite(first.id, owner, "SAME0001", 100))
        .await;
    assert!(matches!(
        clash,
        Err(StorageError::Conflict(Conflict::InviteCode))
    ));
    // Nothing was written by the refusals.
    assert_eq!(store.user_groups(owner).await.unwrap().len(), 1);
    assert_eq!(store.invite_by_code("SAME0001").await.unwrap(), None);
}

async fn join_outcomes_follow_the_code_and_the_seats(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let cy = user(&store, "cy@example.com").await;
    let created = group(&store, owner, "PERM0001", 3).await;
    store
        .create_invite(invite(created.id, owner, "ONCE0001", 100))
        .await
        .unwrap()
        .unwrap();
    store
        .create_invite(invite(created.id, owner, "OLD00001", 10))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        store.join_group("NOPE0001", ada, at(1)).await.unwrap(),
        JoinOutcome::InvalidCode
    );
    assert_eq!(
        store.join_group("perm0001", ada, at(1)).await.unwrap(),
        JoinOutcome::InvalidCode,
        "codes are case-sensitive"
    );
    assert_eq!(
        store.join_group("OLD00001", ada, at(11)).await.unwrap(),
        JoinOutcome::Expired
    );
    match store.join_group("ONCE0001", ada, at(2)).await.unwrap() {
        JoinOutcome::Joined(group) => assert_eq!(group.member_count, 2),
        other => panic!("{other:?}"),
    }
    let used = store.invite_by_code("ONCE0001").await.unwrap().unwrap();
    assert_eq!(
        (used.accepted_by, used.accepted_at),
        (Some(ada), Some(at(2)))
    );
    assert_eq!(
        store.join_group("ONCE0001", bob, at(3)).await.unwrap(),
        JoinOutcome::Used
    );
    assert_eq!(
        store.join_group("PERM0001", ada, at(3)).await.unwrap(),
        JoinOutcome::AlreadyMember
    );
    match store.join_group("PERM0001", bob, at(4)).await.unwrap() {
        JoinOutcome::Joined(group) => assert_eq!(group.member_count, 3),
        other => panic!("{other:?}"),
    }
    // Full: a refused join consumes no single-use invite.
    store
        .create_invite(invite(created.id, owner, "ONCE0002", 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.join_group("ONCE0002", cy, at(5)).await.unwrap(),
        JoinOutcome::Full
    );
    assert_eq!(
        store
            .invite_by_code("ONCE0002")
            .await
            .unwrap()
            .unwrap()
            .accepted_by,
        None
    );
    let members: Vec<i64> = store
        .group_members(created.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, vec![owner, ada, bob], "in the order they joined");
}

async fn only_the_owner_generates_invites(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let ada = user(&store, "ada@example.com").await;
    let created = group(&store, owner, "PERM0002", 10).await;
    store.join_group("PERM0002", ada, at(1)).await.unwrap();
    assert_eq!(
        store
            .create_invite(invite(created.id, ada, "MEMB0001", 100))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.invite_by_code("MEMB0001").await.unwrap(), None);
    let made = store
        .create_invite(invite(created.id, owner, "OWNR0001", 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((made.group_id, made.invited_by), (created.id, Some(owner)));
}

async fn removal_and_transfer_refuse_in_order(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let stranger = user(&store, "stranger@example.com").await;
    let created = group(&store, owner, "PERM0003", 10).await;
    let id = created.id;
    store.join_group("PERM0003", ada, at(1)).await.unwrap();
    store.join_group("PERM0003", bob, at(2)).await.unwrap();

    let denied = |result: Result<(), GroupDenied>| result.unwrap_err();
    assert_eq!(
        denied(store.remove_member(id + 99, owner, ada).await.unwrap()),
        GroupDenied::GroupNotFound
    );
    assert_eq!(
        denied(store.remove_member(id, stranger, ada).await.unwrap()),
        GroupDenied::NotMember
    );
    assert_eq!(
        denied(store.remove_member(id, ada, bob).await.unwrap()),
        GroupDenied::NotOwner
    );
    assert_eq!(
        denied(store.remove_member(id, owner, stranger).await.unwrap()),
        GroupDenied::TargetNotMember
    );
    assert_eq!(
        denied(store.remove_member(id, owner, owner).await.unwrap()),
        GroupDenied::TargetIsOwner
    );
    assert_eq!(
        denied(store.transfer_ownership(id, ada, bob).await.unwrap()),
        GroupDenied::NotOwner
    );
    assert_eq!(
        denied(store.transfer_ownership(id, owner, owner).await.unwrap()),
        GroupDenied::AlreadyOwner
    );
    assert_eq!(
        denied(store.transfer_ownership(id, owner, stranger).await.unwrap()),
        GroupDenied::TargetNotMember
    );
    assert_eq!(
        store.group_members(id).await.unwrap().len(),
        3,
        "refusals change nothing"
    );

    store.remove_member(id, bob, bob).await.unwrap().unwrap();
    store
        .transfer_ownership(id, owner, ada)
        .await
        .unwrap()
        .unwrap();
    let roles: Vec<(i64, GroupRole)> = store
        .group_members(id)
        .await
        .unwrap()
        .iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        roles,
        vec![(owner, GroupRole::Member), (ada, GroupRole::Owner)]
    );
    // After the transfer the former owner may leave.
    store
        .remove_member(id, owner, owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.group(id).await.unwrap().unwrap().member_count, 1);
    assert_eq!(
        store.group(id).await.unwrap().unwrap().created_by,
        owner,
        "the creator stays recorded"
    );
}

async fn deleting_a_group_takes_its_memberships_and_invites(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let ada = user(&store, "ada@example.com").await;
    let created = group(&store, owner, "PERM0004", 10).await;
    store.join_group("PERM0004", ada, at(1)).await.unwrap();
    store
        .create_invite(invite(created.id, owner, "ONCE0004", 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.delete_group(created.id, ada).await.unwrap(),
        Err(GroupDenied::NotOwner)
    );
    store
        .delete_group(created.id, owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.group(created.id).await.unwrap(), None);
    assert!(store.user_groups(ada).await.unwrap().is_empty());
    assert_eq!(store.invite_by_code("ONCE0004").await.unwrap(), None);
    assert_eq!(
        store.join_group("PERM0004", ada, at(2)).await.unwrap(),
        JoinOutcome::InvalidCode
    );
}

async fn an_owners_account_deletion_passes_the_group_on(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let ada = user(&store, "ada@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let shared = group(&store, owner, "PERM0005", 10).await;
    store.join_group("PERM0005", ada, at(1)).await.unwrap();
    store.join_group("PERM0005", bob, at(2)).await.unwrap();
    let alone = group(&store, owner, "PERM0006", 10).await;

    assert!(store.delete_user(owner).await.unwrap());
    let survivor = store
        .group(shared.id)
        .await
        .unwrap()
        .expect("the group survives");
    assert_eq!(survivor.member_count, 2);
    let roles: Vec<(i64, GroupRole)> = store
        .group_members(shared.id)
        .await
        .unwrap()
        .iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        roles,
        vec![(ada, GroupRole::Owner), (bob, GroupRole::Member)],
        "the longest-standing member owns it now"
    );
    assert_eq!(
        store.group(alone.id).await.unwrap(),
        None,
        "a group nobody is left in goes"
    );
}

async fn a_transfer_racing_an_account_deletion_leaves_exactly_one_owner(store: Arc<dyn Storage>) {
    for round in 0..10 {
        let owner = user(&store, &format!("owner{round}@example.com")).await;
        let heir = user(&store, &format!("heir{round}@example.com")).await;
        let other = user(&store, &format!("other{round}@example.com")).await;
        let code = format!("RACE{round:04}");
        let created = group(&store, owner, &code, 10).await;
        store.join_group(&code, heir, at(1)).await.unwrap();
        store.join_group(&code, other, at(2)).await.unwrap();
        // The owner hands the group to `heir` while `heir` deletes their account.
        let (transfer, deletion) = tokio::join!(
            store.transfer_ownership(created.id, owner, heir),
            store.delete_user(heir)
        );
        assert!(
            deletion.unwrap(),
            "round {round}: the account deletion succeeds"
        );
        let transfer = transfer.unwrap();
        assert!(
            matches!(transfer, Ok(()) | Err(GroupDenied::TargetNotMember)),
            "round {round}: {transfer:?}"
        );
        let members = store.group_members(created.id).await.unwrap();
        let owners = members
            .iter()
            .filter(|m| m.role == GroupRole::Owner)
            .count();
        assert_eq!(owners, 1, "round {round}: {members:?}");
        assert!(members.iter().all(|m| m.user_id != heir));
    }
}

async fn the_leaderboard_sums_up_each_members_results_in_the_window(store: Arc<dyn Storage>) {
    let owner = user(&store, "owner@example.com").await;
    let mut new = NewUser::with_password("ada@example.com", "h");
    new.first_name = Some("Ada".into());
    let ada = store.create_user(new).await.unwrap().id;
    let outsider = user(&store, "outsider@example.com").await;
    let created = group(&store, owner, "LEAD0001", 10).await;
    store.join_group("LEAD0001", ada, at(1)).await.unwrap();
    // Ada scores 100 and then 120, the owner never takes a test, and a non-member's result is
    // no part of the group's board.
    let questions = bank(&store, 4).await;
    let tests = [
        (ada, 100, 100, &questions[..2]),
        (ada, 120, 300, &questions[2..]),
        (outsider, 140, 300, &questions[..2]),
    ];
    for (who, iq, completed, items) in tests {
        let session = start(&store, who, at(completed - 60), items).await;
        let answers: Vec<_> = items.iter().map(|id| (*id, true)).collect();
        complete(&store, session, at(completed), &answers, iq).await;
    }
    let board = |since| {
        let store = Arc::clone(&store);
        async move {
            let mut rows = store.leaderboard(created.id, since).await.unwrap();
            rows.sort_by_key(|row| row.user_id);
            rows
        }
    };
    let row = |user_id, first_name: Option<&str>, best, average| LeaderboardRow {
        user_id,
        first_name: first_name.map(str::to_owned),
        best_score: best,
        average_score: average,
    };
    assert_eq!(
        board(None).await,
        [
            row(owner, None, None, None),
            row(ada, Some("Ada"), Some(120), Some(110.0))
        ],
        "every member, with or without results"
    );
    assert_eq!(
        board(Some(at(300))).await,
        [
            row(owner, None, None, None),
            row(ada, Some("Ada"), Some(120), Some(120.0))
        ],
        "results completed at or after `since`"
    );
    assert!(
        store
            .leaderboard(created.id + 1000, None)
            .await
            .unwrap()
            .is_empty(),
        "no group, no rows"
    );
}
