//! What submit refuses, in the old backend's order, and what concurrent starts and submits
//! leave behind.

use super::*;

crate::both_stores!(
    submit_errors_in_order,
    ten_concurrent_starts_make_one_session,
    ten_concurrent_submits_make_one_result,
);

async fn submit_errors_in_order(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "errors@example.com").await;
    let other = user(&service, "other@example.com").await;
    let body = start(&service, &token).await.json();
    let session_id = body["session"]["id"].as_i64().unwrap();
    let questions = body["questions"].as_array().unwrap().clone();
    let first = questions[0]["id"].as_i64().unwrap();

    let missing = submit(&service, &token, 999_999, vec![]).await;
    assert_eq!(
        (missing.status, detail(&missing).as_str()),
        (StatusCode::NOT_FOUND, "Test session not found.")
    );
    let foreign = submit(&service, &other, session_id, vec![]).await;
    assert_eq!(
        (foreign.status, detail(&foreign).as_str()),
        (
            StatusCode::FORBIDDEN,
            "Not authorized to access this test session."
        )
    );
    let empty = submit(&service, &token, session_id, vec![]).await;
    assert_eq!(
        (empty.status, detail(&empty).as_str()),
        (StatusCode::BAD_REQUEST, "Response list cannot be empty.")
    );
    let wrong_ids = submit(
        &service,
        &token,
        session_id,
        vec![
            json!({"question_id": 999_997, "user_answer": "x"}),
            json!({"question_id": first, "user_answer": "x"}),
            json!({"question_id": 999_993, "user_answer": "x"}),
        ],
    )
    .await;
    assert_eq!(wrong_ids.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&wrong_ids),
        "Invalid question IDs: 999993, 999997. These questions do not belong to this test session."
    );
    let blank = submit(
        &service,
        &token,
        session_id,
        vec![json!({"question_id": first, "user_answer": " \t "})],
    )
    .await;
    assert_eq!(
        (blank.status, detail(&blank)),
        (
            StatusCode::BAD_REQUEST,
            format!("User answer for question {first} cannot be empty.")
        )
    );
    let twice = submit(
        &service,
        &token,
        session_id,
        vec![
            json!({"question_id": first, "user_answer": "a"}),
            json!({"question_id": first, "user_answer": "b"}),
        ],
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let invalid = submit(
        &service,
        &token,
        session_id,
        vec![json!({"question_id": 0, "user_answer": "a"})],
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        invalid.json()["detail"][0]["loc"],
        json!(["body", "responses", 0, "question_id"])
    );

    let not_a_number = send(
        &service,
        authed(Method::GET, "/v1/test/session/abc", &token),
    )
    .await;
    assert_eq!(not_a_number.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(not_a_number.json()["detail"][0]["loc"], json!(["path"]));

    // Nothing was written by the failures: the session is still in progress and unanswered.
    let status = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/session/{session_id}"),
            &token,
        ),
    )
    .await;
    assert_eq!(status.json()["session"]["status"], "in_progress");
    assert_eq!(status.json()["questions_count"], 0);

    let done = submit(
        &service,
        &token,
        session_id,
        answers(&store, &questions, 3).await,
    )
    .await;
    assert_eq!(done.status, StatusCode::OK);
    let late = submit(
        &service,
        &token,
        session_id,
        answers(&store, &questions, 3).await,
    )
    .await;
    assert_eq!(
        (late.status, detail(&late).as_str()),
        (
            StatusCode::BAD_REQUEST,
            "Test session is already completed. Only in-progress sessions can be modified."
        )
    );
    let result_id = done.json()["result"]["id"].as_i64().unwrap();
    let stranger = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/results/{result_id}"),
            &other,
        ),
    )
    .await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN);
    let nothing = send(
        &service,
        authed(Method::GET, "/v1/test/results/424242", &token),
    )
    .await;
    assert_eq!(
        (nothing.status, detail(&nothing).as_str()),
        (StatusCode::NOT_FOUND, "Test result not found.")
    );
}

async fn ten_concurrent_starts_make_one_session(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "race@example.com").await;
    let replies = futures_join(10, |_| {
        let service = service.clone();
        let token = token.clone();
        async move { start(&service, &token).await }
    })
    .await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert!(
            reply.status == StatusCode::BAD_REQUEST || reply.status == StatusCode::CONFLICT,
            "{} {}",
            reply.status,
            reply.text()
        );
    }
    assert_eq!(store.active_session_count().await.unwrap(), 1);
}

async fn ten_concurrent_submits_make_one_result(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "submits@example.com").await;
    let body = start(&service, &token).await.json();
    let session_id = body["session"]["id"].as_i64().unwrap();
    let responses = answers(&store, body["questions"].as_array().unwrap(), 20).await;
    let replies = futures_join(10, |_| {
        let service = service.clone();
        let token = token.clone();
        let responses = responses.clone();
        async move { submit(&service, &token, session_id, responses).await }
    })
    .await;
    let ok: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert!(
            reply.status == StatusCode::BAD_REQUEST || reply.status == StatusCode::CONFLICT,
            "{} {}",
            reply.status,
            reply.text()
        );
    }
    let history = send(&service, authed(Method::GET, "/v1/test/history", &token))
        .await
        .json();
    assert_eq!(history["total_count"], 1);
    assert_eq!(store.response_count(session_id).await.unwrap(), 25);
}

/// Runs `n` futures made by `make` concurrently on the runtime's threads.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.unwrap());
    }
    replies
}
