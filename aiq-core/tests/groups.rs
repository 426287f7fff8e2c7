//! The group endpoints end to end, through the real service, on both stores.

mod support;

use std::sync::Arc;

use aiq_core::storage::{NewInvite, Storage};
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::json;
use support::groups::{
    assert_error, call, call_json, create, invite, is_code, join, member, result,
};
use time::{Duration, OffsetDateTime};

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    support::service_with(config, store)
}

both_stores!(
    life_cycle_with_three_users,
    invites_expire_and_are_single_use,
    groups_hold_ten_members,
    leaderboard_ties_share_a_rank_and_page,
    a_group_survives_its_creator_unless_empty,
);

async fn life_cycle_with_three_users(service: AiqService, store: Arc<dyn Storage>) {
    let ada = member(&service, "ada@example.com").await;
    let bob = member(&service, "bob@example.com").await;
    let cy = member(&service, "cy@example.com").await;

    let group = create(&service, &ada, "  Team 1!  ").await;
    assert_eq!(group["name"], "Team 1!");
    assert_eq!(group["created_by"], ada.id);
    assert_eq!(group["member_count"], 1);
    assert_eq!(group["max_members"], 10);
    assert!(is_code(&group["invite_code"]));
    assert!(group["created_at"].as_str().unwrap().ends_with('Z'));
    let id = group["id"].as_i64().unwrap();

    // Bob joins with a single-use code, Cy with the permanent one.
    let generated = invite(&service, &ada, id).await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.text());
    let generated = generated.json();
    assert!(is_code(&generated["invite_code"]));
    assert_ne!(generated["invite_code"], group["invite_code"]);
    let created = OffsetDateTime::parse(
        generated["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = OffsetDateTime::parse(
        generated["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires - created, Duration::days(7));
    let code = generated["invite_code"].as_str().unwrap();
    let joined = join(&service, &bob, &format!("  {code} ")).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text());
    assert_eq!(joined.json()["member_count"], 2);
    let joined = join(&service, &cy, group["invite_code"].as_str().unwrap()).await;
    assert_eq!(joined.json()["member_count"], 3);

    // Everyone sees it; the detail lists members in join order with lowercase roles.
    for who in [&ada, &bob, &cy] {
        let list = call(&service, Method::GET, "/v1/groups/", who).await.json();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["member_count"], 3);
    }
    let detail_reply = call(&service, Method::GET, &format!("/v1/groups/{id}"), &bob).await;
    assert_eq!(
        detail_reply.status,
        StatusCode::OK,
        "{}",
        detail_reply.text()
    );
    let members = detail_reply.json()["members"].clone();
    let roles: Vec<(i64, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        vec![(ada.id, "owner"), (bob.id, "member"), (cy.id, "member")]
    );
    assert_eq!(members[0]["first_name"], "Ada");

    // Leaderboard: Cy best, then Ada; Bob without results is last with zeros.
    result(&store, ada.id, 110, 1).await;
    result(&store, cy.id, 130, 400).await;
    result(&store, cy.id, 120, 2).await;
    let board = call(
        &service,
        Method::GET,
        &format!("/v1/groups/{id}/leaderboard"),
        &cy,
    )
    .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    let board = board.json();
    assert_eq!(board["group_id"], id);
    assert_eq!(board["group_name"], "Team 1!");
    assert_eq!(board["total_count"], 3);
    assert!(board["limit"].is_null() && board["offset"].is_null() && board["days"].is_null());
    assert_eq!(board["has_more"], false);
    let entries = board["entries"].as_array().unwrap();
    assert_eq!(entries[0]["user_id"], cy.id);
    assert_eq!(entries[0]["best_score"], 130);
    assert_eq!(entries[0]["average_score"], 125.0);
    assert_eq!(entries[1]["user_id"], ada.id);
    assert_eq!(entries[2]["user_id"], bob.id);
    assert_eq!(entries[2]["best_score"], 0);
    assert_eq!(entries[2]["average_score"], 0.0);
    assert_eq!(entries[2]["rank"], 3);
    // The last 30 days only: Cy's old 130 drops out.
    let recent = call(
        &service,
        Method::GET,
        &format!("/v1/groups/{id}/leaderboard?days=30"),
        &cy,
    )
    .await
    .json();
    assert_eq!(recent["days"], 30);
    assert_eq!(recent["entries"][0]["best_score"], 120);
    assert_eq!(recent["entries"][0]["average_score"], 120.0);

    // The owner cannot leave before handing over, and can afterwards.
    let leave = format!("/v1/groups/{id}/members/{}", ada.id);
    assert_error(
        &call(&service, Method::DELETE, &leave, &ada).await,
        StatusCode::BAD_REQUEST,
        "The group owner cannot be removed.",
    );
    let transferred = call_json(
        &service,
        Method::PUT,
        &format!("/v1/groups/{id}/transfer-ownership"),
        json!({"new_owner_id": bob.id}),
        &ada,
    )
    .await;
    assert_eq!(transferred.status, StatusCode::OK, "{}", transferred.text());
    let transferred = transferred.json();
    assert_eq!(transferred["created_by"], ada.id);
    assert_eq!(transferred["members"][0]["role"], "member");
    assert_eq!(transferred["members"][1]["role"], "owner");
    let left = call(&service, Method::DELETE, &leave, &ada).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text());
    assert!(left.body.is_empty());
    assert_eq!(
        call(&service, Method::GET, "/v1/groups/", &ada)
            .await
            .json(),
        json!([])
    );

    // The new owner removes Cy, then deletes the group.
    let removed = call(
        &service,
        Method::DELETE,
        &format!("/v1/groups/{id}/members/{}", cy.id),
        &bob,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text());
    let group_uri = format!("/v1/groups/{id}");
    assert_error(
        &call(&service, Method::GET, &group_uri, &cy).await,
        StatusCode::FORBIDDEN,
        "You are not a member of this group.",
    );
    let deleted = call(&service, Method::DELETE, &group_uri, &bob).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    assert_error(
        &call(&service, Method::GET, &group_uri, &bob).await,
        StatusCode::NOT_FOUND,
        "Group not found.",
    );
    assert!(store.group(id).await.unwrap().is_none());
    assert!(store.invite_by_code(code).await.unwrap().is_none());
}

async fn invites_expire_and_are_single_use(service: AiqService, store: Arc<dyn Storage>) {
    let ada = member(&service, "ada@example.com").await;
    let bob = member(&service, "bob@example.com").await;
    let cy = member(&service, "cy@example.com").await;
    let id = create(&service, &ada, "Readers").await["id"]
        .as_i64()
        .unwrap();

    // An invite generated eight days ago.
    let old = aiq_core::time::now() - Duration::days(8);
    store
        .create_invite(NewInvite {
            group_id: id,
            invited_by: ada.id,
            invite_code: "OLD00001".to_owned(),
            created_at: old,
            expires_at: old + Duration::days(7),
        })
        .await
        .unwrap()
        .unwrap();
    assert_error(
        &join(&service, &bob, "OLD00001").await,
        StatusCode::BAD_REQUEST,
        "This invite code has expired.",
    );

    let code = invite(&service, &ada, id).await.json()["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Codes are case-sensitive.
    assert_error(
        &join(&service, &bob, &code.to_lowercase()).await,
        StatusCode::NOT_FOUND,
        "Invalid invite code.",
    );
    assert_eq!(join(&service, &bob, &code).await.status, StatusCode::OK);
    assert_error(
        &join(&service, &cy, &code).await,
        StatusCode::CONFLICT,
        "This invite code has already been used.",
    );
    let used = store.invite_by_code(&code).await.unwrap().unwrap();
    assert_eq!(used.accepted_by, Some(bob.id));
    assert!(used.accepted_at.is_some());

    // A member using a fresh invite is refused and the invite stays usable.
    let fresh = invite(&service, &ada, id).await.json()["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &join(&service, &bob, &fresh).await,
        StatusCode::CONFLICT,
        "You are already a member of this group.",
    );
    assert_eq!(join(&service, &cy, &fresh).await.status, StatusCode::OK);
    assert_error(
        &join(&service, &cy, "NOPE1234").await,
        StatusCode::NOT_FOUND,
        "Invalid invite code.",
    );
    let blank = join(&service, &cy, "   ").await;
    assert_eq!(
        blank.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        blank.text()
    );
}

async fn groups_hold_ten_members(service: AiqService, _store: Arc<dyn Storage>) {
    let owner = member(&service, "owner@example.com").await;
    let group = create(&service, &owner, "Ten").await;
    let code = group["invite_code"].as_str().unwrap();
    for n in 1..10 {
        let who = member(&service, &format!("m{n}@example.com")).await;
        let reply = join(&service, &who, code).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json()["member_count"], n + 1);
    }
    let late = member(&service, "late@example.com").await;
    assert_error(
        &join(&service, &late, code).await,
        StatusCode::BAD_REQUEST,
        "This group has reached its maximum member limit.",
    );
    // A single-use invite to a full group is refused without being consumed.
    let single = invite(&service, &owner, group["id"].as_i64().unwrap())
        .await
        .json()["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &join(&service, &late, &single).await,
        StatusCode::BAD_REQUEST,
        "This group has reached its maximum member limit.",
    );
}

async fn leaderboard_ties_share_a_rank_and_page(service: AiqService, store: Arc<dyn Storage>) {
    let owner = member(&service, "owner@example.com").await;
    let group = create(&service, &owner, "Ties").await;
    let id = group["id"].as_i64().unwrap();
    let mut people = vec![owner];
    for n in 1..5 {
        let who = member(&service, &format!("m{n}@example.com")).await;
        join(&service, &who, group["invite_code"].as_str().unwrap()).await;
        people.push(who);
    }
    // Best scores 120, 120, 110, 110, 100; averages break the order within a tie.
    result(&store, people[0].id, 120, 1).await;
    result(&store, people[1].id, 120, 1).await;
    result(&store, people[1].id, 110, 3).await;
    result(&store, people[2].id, 110, 1).await;
    result(&store, people[3].id, 110, 1).await;
    result(&store, people[4].id, 100, 1).await;
    let uri = format!("/v1/groups/{id}/leaderboard");
    let board = call(&service, Method::GET, &uri, &people[2]).await.json();
    let ranks: Vec<(i64, i64)> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["user_id"].as_i64().unwrap(), e["rank"].as_i64().unwrap()))
        .collect();
    let ids: Vec<i64> = people.iter().map(|p| p.id).collect();
    assert_eq!(
        ranks,
        vec![
            (ids[0], 1),
            (ids[1], 1),
            (ids[2], 3),
            (ids[3], 3),
            (ids[4], 5)
        ]
    );

    let page = call(
        &service,
        Method::GET,
        &format!("{uri}?limit=2&offset=2"),
        &people[0],
    )
    .await
    .json();
    assert_eq!(page["total_count"], 5);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 2);
    assert_eq!(page["has_more"], true);
    let ranks: Vec<i64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, vec![3, 3]);
    let last = call(
        &service,
        Method::GET,
        &format!("{uri}?limit=2&offset=4"),
        &people[0],
    )
    .await
    .json();
    assert_eq!(last["entries"].as_array().unwrap().len(), 1);
    assert_eq!(last["has_more"], false);

    for bad in [
        "days=0",
        "days=3651",
        "limit=0",
        "limit=101",
        "offset=-1",
        "limit=x",
    ] {
        let reply = call(&service, Method::GET, &format!("{uri}?{bad}"), &people[0]).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.text()
        );
    }
}

async fn a_group_survives_its_creator_unless_empty(service: AiqService, store: Arc<dyn Storage>) {
    let ada = member(&service, "ada@example.com").await;
    let bob = member(&service, "bob@example.com").await;
    let cy = member(&service, "cy@example.com").await;
    let kept = create(&service, &ada, "Kept").await;
    let kept_id = kept["id"].as_i64().unwrap();
    join(&service, &bob, kept["invite_code"].as_str().unwrap()).await;
    join(&service, &cy, kept["invite_code"].as_str().unwrap()).await;
    let code = invite(&service, &ada, kept_id).await.json()["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let solo = create(&service, &ada, "Solo").await["id"].as_i64().unwrap();

    // The owner deletes their account: Bob (longest-standing) owns the group; Ada's solo
    // group is gone; her invite still works.
    let deleted = call(&service, Method::DELETE, "/v1/user/delete-account", &ada).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    let detail_reply = call(&service, Method::GET, &format!("/v1/groups/{kept_id}"), &cy)
        .await
        .json();
    assert_eq!(detail_reply["created_by"], ada.id);
    assert_eq!(detail_reply["member_count"], 2);
    assert_eq!(detail_reply["members"][0]["user_id"], bob.id);
    assert_eq!(detail_reply["members"][0]["role"], "owner");
    assert!(store.group(solo).await.unwrap().is_none());
    let invite_row = store.invite_by_code(&code).await.unwrap().unwrap();
    assert_eq!(invite_row.invited_by, None);
    let dan = member(&service, "dan@example.com").await;
    assert_eq!(join(&service, &dan, &code).await.status, StatusCode::OK);

    // A plain member deleting their account just leaves.
    call(&service, Method::DELETE, "/v1/user/delete-account", &dan).await;
    assert_eq!(store.group(kept_id).await.unwrap().unwrap().member_count, 2);
    assert_eq!(
        store
            .invite_by_code(&code)
            .await
            .unwrap()
            .unwrap()
            .accepted_by,
        None
    );

    // Then the others: the last one out takes the group with them.
    call(&service, Method::DELETE, "/v1/user/delete-account", &bob).await;
    let group = store.group(kept_id).await.unwrap().unwrap();
    assert_eq!(group.member_count, 1);
    let members = store.group_members(kept_id).await.unwrap();
    assert_eq!(members[0].user_id, cy.id);
    assert_eq!(members[0].role, aiq_core::storage::GroupRole::Owner);
    call(&service, Method::DELETE, "/v1/user/delete-account", &cy).await;
    assert!(store.group(kept_id).await.unwrap().is_none());
    assert!(store.invite_by_code(&code).await.unwrap().is_none());
}
