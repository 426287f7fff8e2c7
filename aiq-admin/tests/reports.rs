//! The question import, the reliability page and the audit log.

mod support;

use aiq_core::questions::Domain;
use aiq_core::storage::PageRequest;
use axum::body::Body;
use http::StatusCode;
use support::{Harness, complete, multipart, now, question_ids, start, user};
use time::Duration;

async fn audit_actions(harness: &Harness) -> Vec<String> {
    harness
        .store
        .audit_log(PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|line| line.entry.action)
        .collect()
}

#[tokio::test]
async fn a_bank_file_is_imported_with_the_clis_report() {
    let harness = Harness::new();
    let session = harness.login().await;
    let form = harness.get("/admin/questions/import", Some(&session)).await;
    assert!(form.body.contains(r#"enctype="multipart/form-data""#));

    let mut fresh = aiq_core::questions::starter_bank()[0].clone();
    fresh.question_text = "Which number comes next: 2, 4, 8, 16?".into();
    fresh.question_type = Domain::Pattern;
    let fresh = serde_json::to_string(&fresh).unwrap();
    let existing = serde_json::to_string(&aiq_core::questions::starter_bank()[1]).unwrap();
    let file = format!("{fresh}\n{{\"question_text\": 1}}\n{existing}\n");

    let upload = |csrf: Option<String>| {
        let (content_type, body) = multipart(csrf.as_deref(), &file);
        http::Request::post("/admin/questions/import")
            .header("cookie", &session.cookie)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let refused = harness.send(upload(None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(harness.store.question_count().await.unwrap(), 990);

    let report = harness.send(upload(Some(session.csrf.clone()))).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.body.contains("Added 1, skipped 1, rejected 1."),
        "{}",
        report.body
    );
    assert!(report.body.contains("<td>2</td><td>rejected</td>"));
    assert!(report.body.contains("<td>3</td><td>skipped</td>"));
    assert_eq!(harness.store.question_count().await.unwrap(), 991);
    assert_eq!(audit_actions(&harness).await[0], "questions.import");
}

#[tokio::test]
async fn reliability_shows_alpha_or_why_not() {
    let harness = Harness::new();
    let store = &harness.store;
    let session = harness.login().await;
    let page = harness.get("/admin/reliability", Some(&session)).await;
    assert!(page.body.contains(r#"id="alpha-unavailable""#));
    assert!(
        page.body.contains("0 completed sessions, 100 needed"),
        "{}",
        page.body
    );

    // 120 test takers of varying ability on the same 10 items: a consistent scale.
    let questions = question_ids(store, 10).await;
    for n in 0..120usize {
        let id = user(store, &format!("taker{n}@example.com"), None).await;
        let session_id = start(store, id, now() - Duration::days(1), &questions).await;
        let ability = n % 11;
        let answers: Vec<_> = questions
            .iter()
            .enumerate()
            .map(|(k, q)| (*q, k < ability))
            .collect();
        complete(store, session_id, now(), &answers, 100).await;
    }
    let page = harness.get("/admin/reliability", Some(&session)).await;
    assert!(page.body.contains(r#"id="alpha">"#), "{}", page.body);
    assert!(page.body.contains("(excellent)"));
    assert!(page.body.contains("<dd>120</dd>"));
    assert!(page.body.contains("<dd>1200</dd>"));
}

#[tokio::test]
async fn the_audit_log_lists_actions_newest_first() {
    let harness = Harness::new();
    let id = user(&harness.store, "ada@example.com", None).await;
    let session = harness.login().await;
    harness
        .act(
            &format!("/admin/users/{id}/bypass-cooldown"),
            &session,
            &[("value", "true")],
        )
        .await;
    let page = harness.get("/admin/audit", Some(&session)).await;
    let set = page.body.find("user.bypass_cooldown.set").unwrap();
    let login = page.body.find("<td>login</td>").unwrap();
    assert!(set < login);
    assert!(page.body.contains(&format!("user:{id}")));
    assert!(page.body.contains("198.51.100.7"));
}
