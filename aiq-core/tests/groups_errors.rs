//! Group API errors (the old statuses and messages) and concurrent joins, on both stores.

mod support;

use std::sync::Arc;

use aiq_core::storage::Storage;
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::json;
use support::groups::{assert_error, call, call_json, create, invite, join, member};
use support::send;

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    support::service_with(config, store)
}

both_stores!(
    errors_have_the_old_statuses_and_messages,
    concurrent_joins_take_only_the_free_seats,
);

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
        ("", "String should have at least 1 character"),
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
