//! Every action refuses a form without this session's CSRF token, and changes nothing.

mod support;

use aiq_core::storage::PageRequest;
use http::StatusCode;
use support::{Harness, complete, now, question_ids, start, user};

#[tokio::test]
async fn every_action_needs_the_sessions_token() {
    let harness = Harness::new();
    let store = &harness.store;
    let id = user(store, "ada@example.com", None).await;
    let questions = question_ids(store, 2).await;
    let session_id = start(store, id, now(), &questions).await;
    complete(store, session_id, now(), &[(questions[0], true)], 100).await;
    let question = questions[0];
    let session = harness.login().await;
    // A token of another session of the same operator does not pass either.
    let other = harness.login().await;
    assert_ne!(session.csrf, other.csrf);

    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/admin/users/{id}/bypass-cooldown"),
            vec![("value", "true")],
        ),
        (format!("/admin/users/{id}/admin"), vec![("value", "true")]),
        (format!("/admin/users/{id}/delete"), vec![]),
        (
            format!("/admin/questions/{question}/active"),
            vec![("value", "false")],
        ),
        (
            format!("/admin/questions/{question}/quality-flag"),
            vec![("flag", "under_review")],
        ),
        (
            format!("/admin/questions/{question}/anchor"),
            vec![("value", "true")],
        ),
        (
            format!("/admin/sessions/{session_id}/validity"),
            vec![("status", "invalid"), ("reason", "a good reason here")],
        ),
        (format!("/admin/sessions/{session_id}/delete"), vec![]),
        ("/admin/logout".to_owned(), vec![]),
    ];
    for (path, fields) in &actions {
        let without = harness.post(path, &session, fields).await;
        assert_eq!(
            without.status,
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut foreign = vec![("csrf", other.csrf.as_str())];
        foreign.extend_from_slice(fields);
        let with_other = harness.post(path, &session, &foreign).await;
        assert_eq!(
            with_other.status,
            StatusCode::FORBIDDEN,
            "{path} with another token"
        );
    }

    // Nothing changed and nothing was audited but the two logins.
    let ada = store.user_by_id(id).await.unwrap().unwrap();
    assert!(!ada.bypass_cooldown && !ada.is_admin);
    let q = store.questions_by_ids(&[question]).await.unwrap().remove(0);
    assert!(q.is_active);
    assert_eq!(q.quality_flag, aiq_core::storage::QualityFlag::Normal);
    assert_eq!(
        store
            .validity(session_id)
            .await
            .unwrap()
            .unwrap()
            .validity_status,
        "valid"
    );
    assert!(store.session(session_id).await.unwrap().is_some());
    let audit = store.audit_log(PageRequest::first(10)).await.unwrap();
    assert_eq!(audit.total, aiq_core::storage::Total::Exact(2));
    assert_eq!(
        harness.get("/admin/users", Some(&session)).await.status,
        StatusCode::OK,
        "the session survived the forged logout"
    );
}
