//! The group endpoints end to end, through the real service, on both stores.

mod support;

use std::sync::Arc;

use aiq_core::storage::{Completion, NewInvite, NewResult, NewSession, Storage};
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Reply, authed, detail, register, send};
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
    errors_have_the_old_statuses_and_messages,
    concurrent_joins_take_only_the_free_seats,
);

struct Member {
    token: String,
    id: i64,
}

async fn member(service: &AiqService, email: &str) -> Member {
    let token = register(service, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = support::profile(service, &token).await.json()["id"]
        .as_i64()
        .unwrap();
    Member { token, id }
}

async fn call(service: &AiqService, method: Method, uri: &str, who: &Member) -> Reply {
    send(service, authed(method, uri, &who.token)).await
}

async fn call_json(
    service: &AiqService,
    method: Method,
    uri: &str,
    body: Value,
    who: &Member,
) -> Reply {
    send(service, support::json(method, uri, body, Some(&who.token))).await
}

async fn create(service: &AiqService, who: &Member, name: &str) -> Value {
    let reply = call_json(
        service,
        Method::POST,
        "/v1/groups/",
        json!({"name": name}),
        who,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

async fn join(service: &AiqService, who: &Member, code: &str) -> Reply {
    call_json(
        service,
        Method::POST,
        "/v1/groups/join",
        json!({"invite_code": code}),
        who,
    )
    .await
}

async fn invite(service: &AiqService, who: &Member, group: i64) -> Reply {
    call(
        service,
        Method::POST,
        &format!("/v1/groups/{group}/invite"),
        who,
    )
    .await
}

fn assert_error(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(detail(reply), message);
}

fn is_code(value: &Value) -> bool {
    let code = value.as_str().unwrap();
    code.len() == 8
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Stores a completed test for `user` with this IQ score, completed `days_ago`.
async fn result(store: &Arc<dyn Storage>, user: i64, iq_score: i32, days_ago: i64) {
    let at = aiq_core::time::now() - Duration::days(days_ago);
    let session = store
        .start_session(NewSession {
            user_id: user,
            started_at: at - Duration::minutes(10),
            question_ids: Vec::new(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: false,
        })
        .await
        .unwrap();
    store
        .complete_session(Completion {
            session_id: session.id,
            completed_at: at,
            time_limit_exceeded: false,
            responses: Vec::new(),
            result: NewResult {
                iq_score,
                percentile_rank: None,
                total_questions: 25,
                correct_answers: 12,
                completion_time_seconds: Some(600),
                standard_error: None,
                ci_lower: None,
                ci_upper: None,
                response_time_flags: None,
                validity_status: "valid".to_owned(),
                validity_flags: None,
                domain_scores: None,
                scoring_method: "ctt".to_owned(),
            },
        })
        .await
        .unwrap();
}

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

async fn errors_have_the_old_statuses_and_messages(service: AiqService, _store: Arc<dyn Storage>) {
    let ada = member(&service, "ada@example.com").await;
    let bob = member(&service, "bob@example.com").await;
    let eve = member(&service, "eve@example.com").await;
    let group = create(&service, &ada, "Club").await;
    let id = group["id"].as_i64().unwrap();
    join(&service, &bob, group["invite_code"].as_str().unwrap()).await;

    // Names: blank or control characters are 422 with the old message; 31 characters too long.
    for (name, message) in [
        ("   ", "Value error, Group name contains invalid characters"),
        (
            "a\u{7}b",
            "Value error, Group name contains invalid characters",
        ),
        ("", "Value error, String should have at least 1 character"),
    ] {
        let reply = call_json(
            &service,
            Method::POST,
            "/v1/groups/",
            json!({"name": name}),
            &ada,
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text()
        );
        assert_eq!(reply.json()["detail"][0]["msg"], message);
        assert_eq!(reply.json()["detail"][0]["loc"], json!(["body", "name"]));
    }
    let long = call_json(
        &service,
        Method::POST,
        "/v1/groups/",
        json!({"name": "x".repeat(31)}),
        &ada,
    )
    .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Without the trailing slash there is no such route.
    let bare = call(&service, Method::GET, "/v1/groups", &ada).await;
    assert_eq!(bare.status, StatusCode::NOT_FOUND);
    // Unauthenticated.
    let anonymous = send(&service, support::get("/v1/groups/")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Non-integer ids are 422.
    for uri in [
        "/v1/groups/abc".to_owned(),
        "/v1/groups/abc/leaderboard".to_owned(),
        format!("/v1/groups/{id}/members/x"),
    ] {
        let method = if uri.contains("members") {
            Method::DELETE
        } else {
            Method::GET
        };
        let reply = call(&service, method, &uri, &ada).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
    }

    let missing = "/v1/groups/999999";
    assert_error(
        &call(&service, Method::GET, missing, &ada).await,
        StatusCode::NOT_FOUND,
        "Group not found.",
    );
    assert_error(
        &call(&service, Method::DELETE, missing, &ada).await,
        StatusCode::NOT_FOUND,
        "Group not found.",
    );
    assert_error(
        &invite(&service, &ada, 999_999).await,
        StatusCode::NOT_FOUND,
        "Group not found.",
    );
    let group_uri = format!("/v1/groups/{id}");
    assert_error(
        &call(&service, Method::GET, &group_uri, &eve).await,
        StatusCode::FORBIDDEN,
        "You are not a member of this group.",
    );
    assert_error(
        &call(
            &service,
            Method::GET,
            &format!("{group_uri}/leaderboard"),
            &eve,
        )
        .await,
        StatusCode::FORBIDDEN,
        "You are not a member of this group.",
    );
    for who in [&bob, &eve] {
        assert_error(
            &invite(&service, who, id).await,
            StatusCode::FORBIDDEN,
            "Only the group owner can perform this action.",
        );
        assert_error(
            &call(&service, Method::DELETE, &group_uri, who).await,
            StatusCode::FORBIDDEN,
            "Only the group owner can perform this action.",
        );
    }
    assert_error(
        &call(
            &service,
            Method::DELETE,
            &format!("{group_uri}/members/{}", ada.id),
            &bob,
        )
        .await,
        StatusCode::FORBIDDEN,
        "Only the group owner can remove other members.",
    );
    assert_error(
        &call(
            &service,
            Method::DELETE,
            &format!("{group_uri}/members/{}", bob.id),
            &eve,
        )
        .await,
        StatusCode::FORBIDDEN,
        "You are not a member of this group.",
    );
    assert_error(
        &call(
            &service,
            Method::DELETE,
            &format!("{group_uri}/members/{}", eve.id),
            &ada,
        )
        .await,
        StatusCode::NOT_FOUND,
        "Member not found in this group.",
    );

    let transfer = format!("{group_uri}/transfer-ownership");
    for (who, new_owner, status, message) in [
        (
            &bob,
            ada.id,
            StatusCode::FORBIDDEN,
            "Only the group owner can transfer ownership.",
        ),
        (
            &ada,
            ada.id,
            StatusCode::BAD_REQUEST,
            "You are already the owner of this group.",
        ),
        (
            &ada,
            eve.id,
            StatusCode::NOT_FOUND,
            "The specified user is not a member of this group.",
        ),
    ] {
        let reply = call_json(
            &service,
            Method::PUT,
            &transfer,
            json!({"new_owner_id": new_owner}),
            who,
        )
        .await;
        assert_error(&reply, status, message);
    }
    let zero = call_json(
        &service,
        Method::PUT,
        &transfer,
        json!({"new_owner_id": 0}),
        &ada,
    )
    .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn concurrent_joins_take_only_the_free_seats(service: AiqService, _store: Arc<dyn Storage>) {
    let owner = member(&service, "owner@example.com").await;
    let group = create(&service, &owner, "Race").await;
    let code = group["invite_code"].as_str().unwrap().to_owned();
    let id = group["id"].as_i64().unwrap();
    for n in 1..8 {
        let who = member(&service, &format!("m{n}@example.com")).await;
        assert_eq!(join(&service, &who, &code).await.status, StatusCode::OK);
    }
    // 8 members, 2 seats left, 5 contenders.
    let mut contenders = Vec::new();
    for n in 0..5 {
        contenders.push(member(&service, &format!("c{n}@example.com")).await);
    }
    let tasks: Vec<_> = contenders
        .into_iter()
        .map(|who| {
            let service = service.clone();
            let code = code.clone();
            tokio::spawn(async move { join(&service, &who, &code).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let full = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((ok, full), (2, 3), "{statuses:?}");
    let detail_reply = call(&service, Method::GET, &format!("/v1/groups/{id}"), &owner)
        .await
        .json();
    assert_eq!(detail_reply["member_count"], 10);

    // Two racing for one single-use invite: exactly one wins.
    let owner2 = member(&service, "owner2@example.com").await;
    let other = create(&service, &owner2, "Race 2").await["id"]
        .as_i64()
        .unwrap();
    let single = invite(&service, &owner2, other).await.json()["invite_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = member(&service, "a@example.com").await;
    let b = member(&service, "b@example.com").await;
    let (ra, rb) = tokio::join!(join(&service, &a, &single), join(&service, &b, &single));
    let mut pair = [ra.status, rb.status];
    pair.sort();
    assert_eq!(pair, [StatusCode::OK, StatusCode::CONFLICT]);
}
