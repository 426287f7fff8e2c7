//! `/v1/admin/*` through the service, on both stores: the token guard of every route, each
//! route's effect in storage, validation, missing ids, dry runs and the audit log.

mod support;

use std::sync::Arc;

use aiq_core::storage::{AuditEntry, GUEST_USER_ID, PageRequest, QualityFlag, Storage};
use aiq_core::{AiqService, Config};
use aiq_testkit::fixtures::admin::{bank, finished, user};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Reply, detail, send};

// Reliability, inventory health, the scoring configuration and the audit log's addresses.
#[path = "admin_api/reports.rs"]
mod reports;
// Deleting sessions, and validity.
#[path = "admin_api/sessions.rs"]
mod sessions;

const ADMIN_TOKEN: &str = "an-admin-token-of-some-length-0123456789";

fn config() -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    config
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    support::service_with(config(), store)
}

both_stores!(
    every_route_needs_the_admin_token,
    user_flags_are_read_and_set,
    question_flags_and_anchors_are_set,
);

/// A request with an optional admin token and an optional JSON body.
fn request(method: &Method, uri: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if let Some(token) = token {
        builder = builder.header("x-admin-token", token);
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

/// Calls `uri` with the right token.
async fn admin(service: &AiqService, method: Method, uri: &str, body: Option<Value>) -> Reply {
    send(
        service,
        request(&method, uri, Some(ADMIN_TOKEN), body.as_ref()),
    )
    .await
}

/// The whole audit log, oldest first.
async fn audit(store: &Arc<dyn Storage>) -> Vec<AuditEntry> {
    let mut entries = store
        .audit_log(PageRequest::first(500))
        .await
        .unwrap()
        .items;
    entries.reverse();
    entries
}

/// The (action, target) of each audit entry, oldest first; every entry is the token's.
async fn actions(store: &Arc<dyn Storage>) -> Vec<(String, String)> {
    audit(store)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.entry.actor, "admin-token");
            (e.entry.action, e.entry.target.unwrap_or_default())
        })
        .collect()
}

fn pair(action: &str, target: String) -> (String, String) {
    (action.to_owned(), target)
}

async fn every_route_needs_the_admin_token(service: AiqService, store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com", None).await;
    let q = bank(&store, 2).await;
    let session = finished(&store, ada, 0, &q, 100).await;
    let flag = json!({"bypass_cooldown": true});
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/v1/admin/user-flags/{ada}/cooldown-bypass"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/admin/user-flags/{ada}/cooldown-bypass"),
            Some(flag.clone()),
        ),
        (
            Method::PATCH,
            "/v1/admin/user-flags/by-email/cooldown-bypass?email=ada@example.com".to_owned(),
            Some(flag),
        ),
        (
            Method::GET,
            format!("/v1/admin/user-flags/{ada}/admin-status"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/admin/user-flags/{ada}/admin-status"),
            Some(json!({"is_admin": true})),
        ),
        (
            Method::GET,
            format!("/v1/admin/sessions/{session}/validity"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/admin/sessions/{session}/validity"),
            Some(json!({"validity_status": "invalid", "override_reason": "shared answers online"})),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/questions/{}/quality-flag", q[0]),
            Some(json!({"quality_flag": "under_review"})),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/questions/{}/anchor", q[0]),
            Some(json!({"is_anchor": true})),
        ),
        (Method::GET, "/v1/admin/inventory-health".to_owned(), None),
        (Method::GET, "/v1/admin/reliability".to_owned(), None),
        (
            Method::GET,
            "/v1/admin/config/weighted-scoring".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/v1/admin/config/weighted-scoring".to_owned(),
            Some(json!({"enabled": true})),
        ),
        (
            Method::GET,
            "/v1/admin/config/domain-weights".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/v1/admin/config/domain-weights".to_owned(),
            Some(json!({"weights": reports::weights()})),
        ),
        // Last: the calls above need the session.
        (
            Method::DELETE,
            format!("/v1/admin/sessions/{session}"),
            None,
        ),
        (
            Method::DELETE,
            "/v1/admin/sessions/by-email/ada@example.com?dry_run=false".to_owned(),
            None,
        ),
    ];
    let mut unset = config();
    unset.admin.token = None;
    let unset = support::service_with(unset, store.clone());
    let wrong = "an-admin-token-of-some-length-012345678X";
    for (method, uri, body) in &routes {
        for token in [None, Some(wrong), Some("")] {
            let reply = send(&service, request(method, uri, token, body.as_ref())).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {token:?}"
            );
            assert_eq!(detail(&reply), "Invalid or missing admin token.");
        }
        let reply = send(
            &unset,
            request(method, uri, Some(ADMIN_TOKEN), body.as_ref()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {uri}"
        );
        assert!(
            detail(&reply).contains("ADMIN_TOKEN is not set"),
            "{}",
            reply.text()
        );
    }
    assert!(
        audit(&store).await.is_empty(),
        "a refused call writes nothing"
    );
    let stored = store.user_by_id(ada).await.unwrap().unwrap();
    assert!(!stored.bypass_cooldown && !stored.is_admin);
    assert!(store.session(session).await.unwrap().is_some());

    for (method, uri, body) in routes {
        let reply = admin(&service, method.clone(), &uri, body).await;
        assert!(
            reply.status.is_success(),
            "{method} {uri}: {} {}",
            reply.status,
            reply.text()
        );
    }
    assert_eq!(audit(&store).await.len(), 9, "one entry per write");
}

async fn user_flags_are_read_and_set(service: AiqService, store: Arc<dyn Storage>) {
    let ada = user(&store, "ada@example.com", None).await;
    let flags = |id: i64| format!("/v1/admin/user-flags/{id}/cooldown-bypass");
    let status = |id: i64| format!("/v1/admin/user-flags/{id}/admin-status");

    let read = admin(&service, Method::GET, &flags(ada), None).await;
    assert_eq!(
        read.json(),
        json!({"user_id": ada, "bypass_cooldown": false})
    );
    let set = admin(
        &service,
        Method::PATCH,
        &flags(ada),
        Some(json!({"bypass_cooldown": true})),
    )
    .await;
    assert_eq!(set.json(), json!({"user_id": ada, "bypass_cooldown": true}));
    assert!(
        store
            .user_by_id(ada)
            .await
            .unwrap()
            .unwrap()
            .bypass_cooldown
    );

    let by_email = "/v1/admin/user-flags/by-email/cooldown-bypass?email=%20ADA@Example.com";
    let cleared = admin(
        &service,
        Method::PATCH,
        by_email,
        Some(json!({"bypass_cooldown": false})),
    )
    .await;
    assert_eq!(
        cleared.json(),
        json!({"user_id": ada, "bypass_cooldown": false})
    );
    assert!(
        !store
            .user_by_id(ada)
            .await
            .unwrap()
            .unwrap()
            .bypass_cooldown
    );

    let read = admin(&service, Method::GET, &status(ada), None).await;
    assert_eq!(read.json(), json!({"user_id": ada, "is_admin": false}));
    let set = admin(
        &service,
        Method::PATCH,
        &status(ada),
        Some(json!({"is_admin": true})),
    )
    .await;
    assert_eq!(set.json(), json!({"user_id": ada, "is_admin": true}));
    assert!(store.user_by_id(ada).await.unwrap().unwrap().is_admin);

    for id in [ada + 100, GUEST_USER_ID] {
        let on = Some(json!({"bypass_cooldown": true}));
        for (method, uri, body) in [
            (Method::GET, flags(id), None),
            (Method::PATCH, flags(id), on),
            (Method::GET, status(id), None),
            (Method::PATCH, status(id), Some(json!({"is_admin": true}))),
        ] {
            let reply = admin(&service, method.clone(), &uri, body).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert_eq!(detail(&reply), "User not found.");
        }
    }
    let unknown = "/v1/admin/user-flags/by-email/cooldown-bypass?email=bob@example.com";
    let reply = admin(
        &service,
        Method::PATCH,
        unknown,
        Some(json!({"bypass_cooldown": true})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for (uri, body) in [
        (flags(ada), json!({"bypass_cooldown": "yes"})),
        (flags(ada), json!({})),
        (status(ada), json!({"is_admin": 1})),
        (
            "/v1/admin/user-flags/by-email/cooldown-bypass?email=nobody".to_owned(),
            json!({"bypass_cooldown": true}),
        ),
        (
            "/v1/admin/user-flags/abc/admin-status".to_owned(),
            json!({"is_admin": true}),
        ),
    ] {
        let reply = admin(&service, Method::PATCH, &uri, Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            reply.text()
        );
    }
    let target = format!("user:{ada}");
    assert_eq!(
        actions(&store).await,
        [
            pair("user.bypass_cooldown.set", target.clone()),
            pair("user.bypass_cooldown.clear", target.clone()),
            pair("user.admin.set", target),
        ]
    );
}

async fn question_flags_and_anchors_are_set(service: AiqService, store: Arc<dyn Storage>) {
    let q = bank(&store, 2).await;
    let flag = |id: i64| format!("/v1/admin/questions/{id}/quality-flag");
    let anchor = |id: i64| format!("/v1/admin/questions/{id}/anchor");

    let body = json!({"quality_flag": "under_review", "reason": " ambiguous wording "});
    let reply = admin(&service, Method::PATCH, &flag(q[0]), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(
        (
            &answer["question_id"],
            &answer["previous_flag"],
            &answer["new_flag"],
            &answer["reason"]
        ),
        (
            &json!(q[0]),
            &json!("normal"),
            &json!("under_review"),
            &json!("ambiguous wording")
        )
    );
    let stored = &store.questions_by_ids(&q[..1]).await.unwrap()[0];
    assert_eq!(stored.quality_flag, QualityFlag::UnderReview);
    assert_eq!(
        stored.quality_flag_reason.as_deref(),
        Some("ambiguous wording")
    );

    for body in [
        json!({"quality_flag": "deactivated"}),
        json!({"quality_flag": "deactivated", "reason": "  "}),
        json!({"quality_flag": "normal", "reason": "x".repeat(256)}),
        json!({"quality_flag": "retired", "reason": "old"}),
    ] {
        let reply = admin(&service, Method::PATCH, &flag(q[0]), Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let missing = json!({"quality_flag": "normal"});
    let reply = admin(&service, Method::PATCH, &flag(q[1] + 100), Some(missing)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&reply), "Question not found.");

    let reply = admin(
        &service,
        Method::PATCH,
        &anchor(q[1]),
        Some(json!({"is_anchor": true})),
    )
    .await;
    let answer = reply.json();
    assert_eq!(
        (&answer["previous_value"], &answer["new_value"]),
        (&json!(false), &json!(true))
    );
    assert!(answer["anchor_designated_at"].is_string());
    assert!(store.questions_by_ids(&q[1..]).await.unwrap()[0].is_anchor());
    let reply = admin(
        &service,
        Method::PATCH,
        &anchor(q[1]),
        Some(json!({"is_anchor": false})),
    )
    .await;
    assert_eq!(reply.json()["anchor_designated_at"], Value::Null);
    assert!(!store.questions_by_ids(&q[1..]).await.unwrap()[0].is_anchor());
    let reply = admin(
        &service,
        Method::PATCH,
        &anchor(q[1] + 100),
        Some(json!({"is_anchor": true})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        actions(&store).await,
        [
            pair("question.quality_flag.set", format!("question:{}", q[0])),
            pair("question.anchor.set", format!("question:{}", q[1])),
            pair("question.anchor.clear", format!("question:{}", q[1])),
        ]
    );
}
