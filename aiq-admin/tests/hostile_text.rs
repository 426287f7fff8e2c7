//! The dashboard under the one rule for text (`aiq_core::text`), on PostgreSQL, which cannot
//! hold NUL: an operator's reasons and a search are free text and keep NUL as U+FFFD; a bank
//! upload keeps it so in a question's wording, reads an unpaired surrogate escape as U+FFFD,
//! and rejects a row with a control character in an answer. Never a 500.

mod support;

use aiq_core::questions::starter_bank;
use axum::body::Body;
use http::StatusCode;
use support::{Harness, complete, config, multipart, now, pg_store, question_ids, start, user};
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_searches_and_uploads_keep_nul_as_the_replacement_character() {
    let (store, _db) = pg_store().await;
    let harness = Harness::with_store(config(), store.clone());
    let session = harness.login().await;
    let questions = question_ids(&store, 2).await;

    let flagged = harness
        .act(
            &format!("/admin/questions/{}/quality-flag", questions[0]),
            &session,
            &[("flag", "under_review"), ("reason", "two\0 right answers")],
        )
        .await;
    assert_eq!(flagged.status, StatusCode::SEE_OTHER, "{}", flagged.body);
    let question = store.questions_by_ids(&questions[..1]).await.unwrap();
    assert_eq!(
        question[0].quality_flag_reason.as_deref(),
        Some("two\u{fffd} right answers")
    );

    let taker = user(&store, "ada@example.com", Some("Ada")).await;
    let finished = start(&store, taker, now() - Duration::hours(1), &questions).await;
    complete(&store, finished, now(), &[(questions[0], true)], 100).await;
    let overridden = harness
        .act(
            &format!("/admin/sessions/{finished}/validity"),
            &session,
            &[("status", "invalid"), ("reason", "answers\0 shared online")],
        )
        .await;
    assert_eq!(
        overridden.status,
        StatusCode::SEE_OTHER,
        "{}",
        overridden.body
    );
    let record = store.validity(finished).await.unwrap().unwrap();
    assert_eq!(
        record.override_reason.as_deref(),
        Some("answers\u{fffd} shared online")
    );

    for search in [
        "/admin/users?q=ada%00",
        "/admin/users.csv?q=ada%00",
        "/admin/questions?q=next%00",
        "/admin/questions.csv?q=%00",
    ] {
        let page = harness.get(search, Some(&session)).await;
        assert_eq!(page.status, StatusCode::OK, "{search}: {}", page.body);
    }

    let mut wording = starter_bank()[0].clone();
    wording.question_text = "Which planet follows Mars?".into();
    let wording = serde_json::to_string(&wording)
        .unwrap()
        .replace("Mars?", r"Mars\u0000 \ud800?");
    let mut answer = starter_bank()[0].clone();
    answer.question_text = "Which planet comes last?".into();
    let bad_answer = format!("{}\\u0000", answer.correct_answer);
    let answer = serde_json::to_string(&answer).unwrap().replace(
        &format!("\"{}\"", answer.correct_answer),
        &format!("\"{bad_answer}\""),
    );
    let (content_type, body) = multipart(Some(&session.csrf), &format!("{wording}\n{answer}\n"));
    let upload = http::Request::post("/admin/questions/import")
        .header("cookie", &session.cookie)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let report = harness.send(upload).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.body.contains("Added 1, skipped 0, rejected 1."),
        "{}",
        report.body
    );
    assert!(report.body.contains("contains a control character"));
    let found = harness
        .get("/admin/questions?q=planet+follows", Some(&session))
        .await;
    assert!(
        found
            .body
            .contains("Which planet follows Mars\u{fffd} \u{fffd}?"),
        "{}",
        found.body
    );
}
