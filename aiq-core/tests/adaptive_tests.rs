//! Adaptive tests end to end (§2.4 `/test/start?adaptive=true`, `/test/next`,
//! `/test/progress`; §3.4), through the real service, on both stores.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use aiq_core::questions::starter_bank;
use aiq_core::storage::{PgStore, Storage};
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Reply, authed, detail, register, send};

fn config() -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    // Several tests in a row for one user.
    config.test_rules.disable_cadence = true;
    config
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    support::service_with(config(), store)
}

async fn load_bank(store: &Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
}

async fn user(service: &AiqService, email: &str) -> String {
    register(service, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn start_adaptive(service: &AiqService, token: &str) -> Reply {
    send(
        service,
        authed(Method::POST, "/v1/test/start?adaptive=true", token),
    )
    .await
}

async fn next(service: &AiqService, token: &str, body: Value) -> Reply {
    send(
        service,
        support::json(Method::POST, "/v1/test/next", body, Some(token)),
    )
    .await
}

async fn progress(service: &AiqService, token: &str, session_id: i64) -> Reply {
    send(
        service,
        authed(
            Method::GET,
            &format!("/v1/test/progress?session_id={session_id}"),
            token,
        ),
    )
    .await
}

/// The correct answer to `question_id`, or a wrong one.
async fn answer(store: &Arc<dyn Storage>, question_id: i64, correct: bool) -> String {
    let question = store
        .questions_by_ids(&[question_id])
        .await
        .unwrap()
        .remove(0)
        .content;
    if correct {
        question.correct_answer.clone()
    } else {
        question
            .answer_options
            .iter()
            .find(|option| !question.is_correct(option))
            .unwrap()
            .clone()
    }
}

/// Answers until the test completes (right on every other item); returns the final reply's
/// body and the ids served.
async fn run_to_completion(
    service: &AiqService,
    store: &Arc<dyn Storage>,
    token: &str,
    session_id: i64,
    first: i64,
    already: usize,
) -> (Value, Vec<i64>) {
    let mut served = vec![first];
    let mut question = first;
    for n in already + 1..=15 {
        let reply = next(
            service,
            token,
            json!({
                "session_id": session_id,
                "question_id": question,
                "user_answer": answer(store, question, n % 2 == 1).await,
                "time_spent_seconds": 12,
            }),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let body = reply.json();
        assert_eq!(body["items_administered"], n);
        assert!(body["current_se"].as_f64().unwrap() < 1.0);
        if body["test_complete"] == true {
            assert!(body["next_question"].is_null());
            return (body, served);
        }
        assert!(body["result"].is_null() && body["stopping_reason"].is_null());
        question = body["next_question"]["id"].as_i64().unwrap();
        assert!(!served.contains(&question), "{question} served twice");
        served.push(question);
    }
    panic!("no completion after 15 items");
}

async fn journey(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "cat@example.com").await;

    let started = start_adaptive(&service, &token).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let body = started.json();
    assert_eq!(body["total_questions"], 1);
    assert_eq!(body["questions"].as_array().unwrap().len(), 1);
    assert_eq!(body["current_theta"], 0.0);
    assert_eq!(body["current_se"], 1.0);
    assert_eq!(body["session"]["is_adaptive"], true);
    assert!(body["questions"][0]["explanation"].is_null());
    let session_id = body["session"]["id"].as_i64().unwrap();
    let first = body["questions"][0]["id"].as_i64().unwrap();

    let before = progress(&service, &token, session_id).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    let before = before.json();
    assert_eq!(before["session_id"], session_id);
    assert_eq!(before["items_administered"], 0);
    assert_eq!(before["total_items_max"], 15);
    assert_eq!(before["estimated_items_remaining"], 15);
    assert_eq!(before["total_domains_covered"], 0);
    assert_eq!(before["current_se"], 1.0);
    let coverage = before["domain_coverage"].as_object().unwrap();
    assert_eq!(coverage.len(), 6);
    assert!(coverage.values().all(|n| *n == 0));
    assert!(before.get("current_theta").is_none());

    // The served question is what the session shows while in progress.
    let status = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/session/{session_id}"),
            &token,
        ),
    )
    .await
    .json();
    assert_eq!(status["questions"][0]["id"], first);

    let (done, served) = run_to_completion(&service, &store, &token, session_id, first, 0).await;
    let items = served.len();
    assert!((8..=15).contains(&items), "{items} items");
    assert!(
        [
            "se_threshold",
            "theta_stable",
            "max_items",
            "item_pool_exhausted"
        ]
        .contains(&done["stopping_reason"].as_str().unwrap())
    );
    let result = &done["result"];
    assert_eq!(result["test_session_id"], session_id);
    assert_eq!(result["total_questions"], items);
    assert_eq!(result["correct_answers"], items.div_ceil(2));
    let ci = &result["confidence_interval"];
    assert_eq!(ci["confidence_level"], 0.95);
    assert!(ci["lower"].as_i64().unwrap() <= result["iq_score"].as_i64().unwrap());
    // The fixed form's domain shape (DECISIONS.md), so strongest/weakest are filled.
    let domains = result["domain_scores"].as_object().unwrap();
    assert_eq!(domains.len(), 6);
    let total: i64 = domains.values().map(|d| d["total"].as_i64().unwrap()).sum();
    assert_eq!(total, items as i64);
    assert!(result["strongest_domain"].is_string());
    let theta = done["current_theta"].as_f64().unwrap();

    let history = send(&service, authed(Method::GET, "/v1/test/history", &token))
        .await
        .json();
    assert_eq!(history["total_count"], 1);
    assert_eq!(history["results"][0]["iq_score"], result["iq_score"]);
    assert_eq!(history["results"][0]["total_questions"], items);
    let session = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/session/{session_id}"),
            &token,
        ),
    )
    .await
    .json();
    assert_eq!(session["session"]["status"], "completed");
    assert_eq!(session["questions_count"], items);

    // A finished session takes no more answers.
    let late = next(
        &service,
        &token,
        json!({"session_id": session_id, "question_id": first, "user_answer": "x"}),
    )
    .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&late),
        "Test session is already completed. Only in-progress sessions can be modified."
    );

    // The next adaptive test starts at the last final θ, with items not seen before.
    let second = start_adaptive(&service, &token).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let second = second.json();
    assert!((second["current_theta"].as_f64().unwrap() - theta).abs() < 1e-12);
    let first_again = second["questions"][0]["id"].as_i64().unwrap();
    assert!(!served.contains(&first_again));
    let second_id = second["session"]["id"].as_i64().unwrap();
    let (done, _) = run_to_completion(&service, &store, &token, second_id, first_again, 0).await;
    let theta2 = done["current_theta"].as_f64().unwrap();
    // With several completed adaptive sessions, the latest one is the prior (no failure).
    let third = send(
        &service,
        authed(Method::POST, "/v1/test/start?adaptive=true", &token),
    )
    .await
    .json();
    assert!((third["current_theta"].as_f64().unwrap() - theta2).abs() < 1e-12);
}

async fn next_errors_in_order(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let ada = user(&service, "ada@example.com").await;
    let bob = user(&service, "bob@example.com").await;
    let started = start_adaptive(&service, &ada).await.json();
    let session_id = started["session"]["id"].as_i64().unwrap();
    let served = started["questions"][0]["id"].as_i64().unwrap();
    let body = |question: i64, answer: &str| json!({"session_id": session_id, "question_id": question, "user_answer": answer});

    let missing = next(
        &service,
        &ada,
        json!({"session_id": 999_999, "question_id": served, "user_answer": "a"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&missing), "Test session not found.");

    let foreign = next(&service, &bob, body(served, "a")).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(
        detail(&foreign),
        "Not authorized to access this test session."
    );
    let foreign = progress(&service, &bob, session_id).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    // A fixed-form session is not adaptive.
    let fixed = send(&service, authed(Method::POST, "/v1/test/start", &bob))
        .await
        .json();
    let fixed_id = fixed["session"]["id"].as_i64().unwrap();
    let fixed_q = fixed["questions"][0]["id"].as_i64().unwrap();
    let not_adaptive = next(
        &service,
        &bob,
        json!({"session_id": fixed_id, "question_id": fixed_q, "user_answer": ""}),
    )
    .await;
    assert_eq!(not_adaptive.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&not_adaptive),
        "This endpoint is only available for adaptive (CAT) test sessions."
    );
    let not_adaptive = progress(&service, &bob, fixed_id).await;
    assert_eq!(not_adaptive.status, StatusCode::BAD_REQUEST);

    // Blank is checked before the question.
    let blank = next(&service, &ada, body(served + 100_000, "  ")).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert_eq!(detail(&blank), "User answer cannot be empty.");

    let other = if served == 1 { 2 } else { 1 };
    let not_served = next(&service, &ada, body(other, "a")).await;
    assert_eq!(not_served.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&not_served),
        format!(
            "Question {other} was not served in this adaptive session. Only the most recently \
             served question can be answered."
        )
    );

    let ok = next(&service, &ada, body(served, "whatever")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["items_administered"], 1);
    let again = next(&service, &ada, body(served, "whatever")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        detail(&again),
        format!("A response for question {served} has already been submitted in this session.")
    );

    let validation = next(
        &service,
        &ada,
        json!({"session_id": 0, "question_id": served, "user_answer": "a"}),
    )
    .await;
    assert_eq!(validation.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_id = send(&service, authed(Method::GET, "/v1/test/progress", &ada)).await;
    assert_eq!(
        no_id.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_id.text()
    );
    assert_eq!(
        no_id.json()["detail"][0]["loc"],
        json!(["query", "session_id"])
    );

    let after = progress(&service, &ada, session_id).await.json();
    assert_eq!(after["items_administered"], 1);
    assert_eq!(after["estimated_items_remaining"], 14);
    assert_eq!(after["total_domains_covered"], 1);
    assert!(after["current_se"].as_f64().unwrap() < 1.0);

    let abandoned = send(
        &service,
        authed(
            Method::POST,
            &format!("/v1/test/{session_id}/abandon"),
            &ada,
        ),
    )
    .await;
    assert_eq!(abandoned.status, StatusCode::OK);
    assert_eq!(abandoned.json()["responses_saved"], 1);
    let closed = next(&service, &ada, body(served, "a")).await;
    assert_eq!(closed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&closed),
        "Test session is already abandoned. Only in-progress sessions can be modified."
    );
    let closed = progress(&service, &ada, session_id).await;
    assert_eq!(closed.status, StatusCode::BAD_REQUEST);
}

async fn concurrent_answers_make_one_step(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "race@example.com").await;
    let started = start_adaptive(&service, &token).await.json();
    let session_id = started["session"]["id"].as_i64().unwrap();
    let served = started["questions"][0]["id"].as_i64().unwrap();
    let answer = answer(&store, served, true).await;
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let service = service.clone();
            let token = token.clone();
            let body =
                json!({"session_id": session_id, "question_id": served, "user_answer": answer});
            tokio::spawn(async move { next(&service, &token, body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        let reply = handle.await.unwrap();
        if reply.status == StatusCode::CONFLICT {
            assert_eq!(
                detail(&reply),
                format!(
                    "A response for question {served} has already been submitted in this session."
                )
            );
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7
    );
    assert_eq!(store.response_count(session_id).await.unwrap(), 1);
    let after = progress(&service, &token, session_id).await.json();
    assert_eq!(after["items_administered"], 1);
    // One next question was recorded: the first and the one after it.
    assert_eq!(
        store.session_question_ids(session_id).await.unwrap().len(),
        2
    );
}

both_stores!(
    journey,
    next_errors_in_order,
    concurrent_answers_make_one_step
);

/// A session started on one instance continues on another (a restart, or the next request
/// landing elsewhere): the state is in PostgreSQL, not in the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_a_restart_on_postgres() {
    let (store, db) = support::pg_store().await;
    let store: Arc<dyn Storage> = Arc::new(store);
    load_bank(&store).await;
    let config = config();
    let before = support::service_with(config.clone(), store.clone());
    let token = user(&before, "restart@example.com").await;
    let started = start_adaptive(&before, &token).await.json();
    let session_id = started["session"]["id"].as_i64().unwrap();
    let mut question = started["questions"][0]["id"].as_i64().unwrap();
    let mut served = HashSet::from([question]);
    for n in 1..=3 {
        let reply = next(
            &before,
            &token,
            json!({"session_id": session_id, "question_id": question,
                   "user_answer": answer(&store, question, n != 2).await}),
        )
        .await
        .json();
        question = reply["next_question"]["id"].as_i64().unwrap();
        assert!(served.insert(question));
    }
    drop(before);

    // A new process: its own pool on the same database, the same secrets.
    let mut db_config = config.clone();
    db_config.database.url = Some(db.url().to_owned().into());
    let fresh = PgStore::connect(&db_config.database).unwrap();
    let fresh: Arc<dyn Storage> = Arc::new(fresh);
    let after = support::service_with(config, fresh.clone());
    let now = progress(&after, &token, session_id).await.json();
    assert_eq!(now["items_administered"], 3);
    let (done, rest) = run_to_completion(&after, &fresh, &token, session_id, question, 3).await;
    assert!(
        rest.iter()
            .all(|id| *id == question || !served.contains(id))
    );
    assert_eq!(done["test_complete"], true);
    assert_eq!(
        done["result"]["total_questions"],
        done["items_administered"]
    );
}
