//! `/v1/admin/sessions/*` through the service: deleting sessions (by id and by email, with
//! dry runs) and a result's validity with its override.

use std::sync::Arc;

use aiq_core::AiqService;
use aiq_core::storage::{GUEST_USER_ID, Storage};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{actions, admin, audit, pair};
use crate::support::detail;
use aiq_testkit::fixtures::admin::{at, bank, complete_with, finished, scores, start, user};

crate::both_stores!(
    sessions_are_deleted_after_a_dry_run,
    sessions_are_deleted_by_email,
    validity_is_read_and_overridden,
);

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    super::service_for(store)
}

async fn sessions_are_deleted_after_a_dry_run(service: AiqService, store: Arc<dyn Storage>) {
    let q = bank(&store, 4).await;
    let ada = user(&store, "ada@example.com", None).await;
    let done = finished(&store, ada, 0, &q[..3], 100).await;
    let open = start(&store, ada, at(5), &q[3..]).await;

    let uri = format!("/v1/admin/sessions/{done}?dry_run=true");
    let preview = admin(&service, Method::DELETE, &uri, None).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(
        preview.json(),
        json!({"session_id": done, "user_id": ada, "status": "completed", "responses": 3,
               "user_questions": 3, "test_results": 1, "dry_run": true})
    );
    assert!(
        store.session(done).await.unwrap().is_some(),
        "a dry run deletes nothing"
    );
    assert_eq!(store.session_responses(done).await.unwrap().len(), 3);
    assert!(audit(&store).await.is_empty(), "a dry run is not logged");

    let deleted = admin(
        &service,
        Method::DELETE,
        &format!("/v1/admin/sessions/{done}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    assert_eq!(store.session(done).await.unwrap(), None);
    assert!(store.session_responses(done).await.unwrap().is_empty());
    assert_eq!(store.result_for_session(done).await.unwrap(), None);
    assert!(
        store.session(open).await.unwrap().is_some(),
        "the other session stays"
    );

    let again = admin(
        &service,
        Method::DELETE,
        &format!("/v1/admin/sessions/{done}"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&again), "Test session not found.");
    let bad = admin(&service, Method::DELETE, "/v1/admin/sessions/x", None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let open_uri = format!("/v1/admin/sessions/{open}");
    assert_eq!(
        admin(&service, Method::DELETE, &open_uri, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(store.active_session_count().await.unwrap(), 0);
    let entries = audit(&store).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (
            entries[0].entry.action.as_str(),
            entries[0].entry.target.as_deref()
        ),
        ("session.delete", Some(format!("session:{done}").as_str()))
    );
    assert_eq!(
        entries[0].entry.detail.as_deref(),
        Some(format!("user:{ada} status:completed responses:3 results:1").as_str())
    );
}

async fn sessions_are_deleted_by_email(service: AiqService, store: Arc<dyn Storage>) {
    let q = bank(&store, 6).await;
    let ada = user(&store, "ada@example.com", None).await;
    let bob = user(&store, "bob@example.com", None).await;
    let first = finished(&store, ada, 0, &q[..2], 100).await;
    let second = finished(&store, ada, 24, &q[2..5], 104).await;
    let bobs = finished(&store, bob, 0, &q[..2], 90).await;

    let preview = admin(
        &service,
        Method::DELETE,
        "/v1/admin/sessions/by-email/ADA@example.com",
        None,
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text());
    assert_eq!(
        preview.json(),
        json!({"email": "ada@example.com", "user_id": ada, "sessions_deleted": 2,
               "total_responses": 5, "total_user_questions": 5, "total_test_results": 2,
               "session_ids": [second, first], "dry_run": true}),
        "a dry run by default"
    );
    assert_eq!(
        store.result_history(ada, 10, 0).await.unwrap().total_count,
        2
    );

    let one =
        format!("/v1/admin/sessions/by-email/ada@example.com?session_id={first}&dry_run=false");
    let reply = admin(&service, Method::DELETE, &one, None).await.json();
    assert_eq!(
        (reply["session_ids"].clone(), reply["dry_run"].clone()),
        (json!([first]), json!(false))
    );
    assert_eq!(store.session(first).await.unwrap(), None);
    assert!(store.session(second).await.unwrap().is_some());

    let theirs =
        format!("/v1/admin/sessions/by-email/ada@example.com?session_id={bobs}&dry_run=false");
    let reply = admin(&service, Method::DELETE, &theirs, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "not ada's session");
    assert!(store.session(bobs).await.unwrap().is_some());

    let all = admin(
        &service,
        Method::DELETE,
        "/v1/admin/sessions/by-email/ada@example.com?dry_run=false",
        None,
    )
    .await;
    assert_eq!(all.json()["session_ids"], json!([second]));
    assert_eq!(
        store.result_history(ada, 10, 0).await.unwrap().total_count,
        0
    );
    assert_eq!(
        store.result_history(bob, 10, 0).await.unwrap().total_count,
        1
    );

    let none = admin(
        &service,
        Method::DELETE,
        "/v1/admin/sessions/by-email/ada@example.com",
        None,
    )
    .await;
    assert_eq!(none.json()["sessions_deleted"], 0);
    let unknown = admin(
        &service,
        Method::DELETE,
        "/v1/admin/sessions/by-email/eve@example.com",
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let invalid = admin(
        &service,
        Method::DELETE,
        "/v1/admin/sessions/by-email/not-an-email",
        None,
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        actions(&store).await,
        [
            pair("session.delete", format!("session:{first}")),
            pair("session.delete", format!("session:{second}")),
        ]
    );
}

async fn validity_is_read_and_overridden(service: AiqService, store: Arc<dyn Storage>) {
    let q = bank(&store, 2).await;
    let ada = user(&store, "ada@example.com", None).await;
    let session = start(&store, ada, at(0), &q).await;
    let mut result = scores(130, 2, 2);
    result.validity_status = "suspect".to_owned();
    result.validity_flags = Some(json!([
        {"type": "total_time_too_fast", "severity": "high", "source": "time_check",
         "details": "Completed in 40 seconds", "count": 1},
        {"type": "elevated_guttman_errors", "severity": "medium", "source": "guttman_check",
         "details": "Guttman error rate 0.25", "error_rate": 0.25},
        {"type": "from_the_old_backend", "severity": "low", "source": "time_check", "details": "?"},
    ]));
    complete_with(
        &store,
        session,
        at(1),
        &[(q[0], true), (q[1], true)],
        result,
    )
    .await;
    let uri = format!("/v1/admin/sessions/{session}/validity");
    let read = admin(&service, Method::GET, &uri, None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let body = read.json();
    assert_eq!(
        (&body["session_id"], &body["user_id"]),
        (&json!(session), &json!(ada))
    );
    assert_eq!(body["validity_status"], "suspect");
    assert_eq!(
        body["flags"],
        json!([
            "total_time_too_fast",
            "elevated_guttman_errors",
            "from_the_old_backend"
        ])
    );
    assert_eq!(body["flag_details"][1]["error_rate"], 0.25);
    // High time flag 2, elevated Guttman errors 1; the unknown flag counts for nothing.
    assert_eq!(
        (&body["severity_score"], &body["confidence"]),
        (&json!(3), &json!(0.55))
    );
    assert_eq!(body["completed_at"], "2025-03-01T01:00:00Z");
    assert_eq!(body["override_reason"], Value::Null);

    let short = json!({"validity_status": "invalid", "override_reason": "too short"});
    let reply = admin(&service, Method::PATCH, &uri, Some(short)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown =
        json!({"validity_status": "dubious", "override_reason": "answers were shared online"});
    let reply = admin(&service, Method::PATCH, &uri, Some(unknown)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    let verdict =
        json!({"validity_status": "invalid", "override_reason": "  answers were shared online "});
    let reply = admin(&service, Method::PATCH, &uri, Some(verdict.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(
        (
            &body["previous_status"],
            &body["new_status"],
            &body["override_reason"],
            &body["overridden_by"]
        ),
        (
            &json!("suspect"),
            &json!("invalid"),
            &json!("answers were shared online"),
            &json!(0)
        )
    );
    let stored = store.validity(session).await.unwrap().unwrap();
    assert_eq!(stored.validity_status, "invalid");
    assert_eq!(
        stored.override_reason.as_deref(),
        Some("answers were shared online")
    );
    let read = admin(&service, Method::GET, &uri, None).await.json();
    assert_eq!(read["validity_status"], "invalid");
    assert_eq!(read["overridden_at"], body["overridden_at"]);

    let open = start(&store, GUEST_USER_ID, at(3), &q).await;
    for (method, uri) in [
        (Method::GET, format!("/v1/admin/sessions/{open}/validity")),
        (Method::PATCH, format!("/v1/admin/sessions/{open}/validity")),
        (
            Method::GET,
            format!("/v1/admin/sessions/{}/validity", open + 100),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/sessions/{}/validity", open + 100),
        ),
    ] {
        let reply = admin(&service, method.clone(), &uri, Some(verdict.clone())).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    let entries = audit(&store).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry.action, "session.validity.override");
    assert_eq!(
        entries[0].entry.detail.as_deref(),
        Some("suspect -> invalid: answers were shared online")
    );
}
