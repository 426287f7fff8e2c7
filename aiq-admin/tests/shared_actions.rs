//! The dashboard and the admin JSON API do an operator action one way (`aiq_core::admin`): the
//! same change, the same audit entry but for who acted and from where.

mod support;

use std::sync::Arc;

use aiq_core::storage::{AuditEntry, PageRequest, QualityFlag, SessionId, Storage, UserId};
use aiq_core::{Aiq, AiqService, Config};
use axum::body::Body;
use http::{Request, StatusCode};
use support::{Harness, complete, now, question_ids, start, user};
use time::Duration;
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "an-admin-token-of-some-length-0123456789";

/// The admin JSON API over `store`.
fn api(store: &Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    Aiq::builder(config)
        .storage(Arc::clone(store))
        .build()
        .unwrap()
}

/// Sends an admin request with the token; its status.
async fn call(service: &AiqService, method: &str, uri: &str, body: Option<&str>) -> StatusCode {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-admin-token", ADMIN_TOKEN);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
    service
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap()
        .status()
}

/// The latest two audit entries, newest first.
async fn latest_two(store: &Arc<dyn Storage>) -> [AuditEntry; 2] {
    let items = store.audit_log(PageRequest::first(2)).await.unwrap().items;
    items.try_into().unwrap()
}

/// A user with two completed tests of three questions each (no question shown twice), oldest
/// first.
async fn two_finished_tests(store: &Arc<dyn Storage>) -> (UserId, [SessionId; 2]) {
    let questions = question_ids(store, 6).await;
    let ada = user(store, "ada@example.com", None).await;
    let mut finished = [0; 2];
    for (k, shown) in questions.chunks(3).enumerate() {
        let at = now() - Duration::days(3 - k as i64);
        let id = start(store, ada, at, shown).await;
        let answers: Vec<_> = shown.iter().map(|q| (*q, true)).collect();
        complete(store, id, at, &answers, 110).await;
        finished[k] = id;
    }
    (ada, finished)
}

#[tokio::test]
async fn a_session_deleted_from_either_is_audited_alike() {
    let harness = Harness::new();
    let store = &harness.store;
    let (ada, finished) = two_finished_tests(store).await;
    // Logging in is audited too: before either action.
    let session = harness.login().await;

    let uri = format!("/v1/admin/sessions/{}", finished[0]);
    assert_eq!(
        call(&api(store), "DELETE", &uri, None).await,
        StatusCode::NO_CONTENT
    );
    let page = harness
        .act(
            &format!("/admin/sessions/{}/delete", finished[1]),
            &session,
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    for id in &finished {
        assert_eq!(store.session(*id).await.unwrap(), None);
    }

    let [from_dashboard, from_api] = latest_two(store).await;
    let expected_detail = format!("user:{ada} status:completed responses:3 results:1");
    for (entry, id, actor) in [
        (&from_api, finished[0], "admin-token"),
        (&from_dashboard, finished[1], support::USERNAME),
    ] {
        assert_eq!(entry.entry.action, "session.delete");
        assert_eq!(entry.entry.target, Some(format!("session:{id}")));
        assert_eq!(
            entry.entry.detail.as_deref(),
            Some(expected_detail.as_str())
        );
        assert_eq!(entry.entry.actor, actor);
    }
}

#[tokio::test]
async fn a_quality_flag_set_from_either_is_audited_alike() {
    let harness = Harness::new();
    let store = &harness.store;
    let questions = question_ids(store, 2).await;
    let session = harness.login().await;
    let body = r#"{"quality_flag": "under_review", "reason": " ambiguous wording "}"#;
    let uri = format!("/v1/admin/questions/{}/quality-flag", questions[0]);
    assert_eq!(
        call(&api(store), "PATCH", &uri, Some(body)).await,
        StatusCode::OK
    );
    let page = harness
        .act(
            &format!("/admin/questions/{}/quality-flag", questions[1]),
            &session,
            &[("flag", "under_review"), ("reason", " ambiguous wording ")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let [from_dashboard, from_api] = latest_two(store).await;
    for (entry, id) in [(&from_api, questions[0]), (&from_dashboard, questions[1])] {
        assert_eq!(entry.entry.action, "question.quality_flag.set");
        assert_eq!(entry.entry.target, Some(format!("question:{id}")));
        assert_eq!(
            entry.entry.detail.as_deref(),
            Some("normal -> under_review: ambiguous wording")
        );
    }
    for question in store.questions_by_ids(&questions).await.unwrap() {
        assert_eq!(question.quality_flag, QualityFlag::UnderReview);
        assert_eq!(
            question.quality_flag_reason.as_deref(),
            Some("ambiguous wording")
        );
    }

    // Both refuse to deactivate without a reason, and change nothing.
    let missing = r#"{"quality_flag": "deactivated"}"#;
    assert_eq!(
        call(&api(store), "PATCH", &uri, Some(missing)).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let refused = harness
        .act(
            &format!("/admin/questions/{}/quality-flag", questions[1]),
            &session,
            &[("flag", "deactivated"), ("reason", "  ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("A reason is required"),
        "{}",
        refused.body
    );
    assert_eq!(latest_two(store).await[0].id, from_dashboard.id);
}

#[tokio::test]
async fn a_validity_override_from_either_is_audited_alike() {
    let harness = Harness::new();
    let store = &harness.store;
    let (_, finished) = two_finished_tests(store).await;
    let session = harness.login().await;
    let body =
        r#"{"validity_status": "invalid", "override_reason": " answers copied from a key "}"#;
    let uri = format!("/v1/admin/sessions/{}/validity", finished[0]);
    assert_eq!(
        call(&api(store), "PATCH", &uri, Some(body)).await,
        StatusCode::OK
    );
    let page = harness
        .act(
            &format!("/admin/sessions/{}/validity", finished[1]),
            &session,
            &[
                ("status", "invalid"),
                ("reason", " answers copied from a key "),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let [from_dashboard, from_api] = latest_two(store).await;
    for (entry, id) in [(&from_api, finished[0]), (&from_dashboard, finished[1])] {
        assert_eq!(entry.entry.action, "session.validity.override");
        assert_eq!(entry.entry.target, Some(format!("session:{id}")));
        assert_eq!(
            entry.entry.detail.as_deref(),
            Some("valid -> invalid: answers copied from a key")
        );
        let record = store.validity(id).await.unwrap().unwrap();
        assert_eq!(record.validity_status, "invalid");
        assert_eq!(
            record.override_reason.as_deref(),
            Some("answers copied from a key")
        );
    }
}
