//! The fixed-form test endpoints end to end, through the real service, on both stores.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::questions::{Difficulty, Domain, starter_bank};
use aiq_core::storage::Storage;
use aiq_core::{AiqService, Config};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Reply, authed, detail, register, send};

// Submit's checks in the old backend's order, and concurrent starts and submits.
#[path = "test_sessions/refusals.rs"]
mod refusals;

fn config() -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config
}

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    support::service_with(config(), store)
}

async fn load_bank(store: &Arc<dyn Storage>) {
    let added = store.import_questions(&starter_bank()).await.unwrap();
    assert!(added.iter().all(|added| *added));
}

async fn user(service: &AiqService, email: &str) -> String {
    register(service, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn start(service: &AiqService, token: &str) -> Reply {
    send(service, authed(Method::POST, "/v1/test/start", token)).await
}

/// Answers for `questions`: the correct option for the first `correct` of them, a wrong one
/// for the rest.
async fn answers(store: &Arc<dyn Storage>, questions: &[Value], correct: usize) -> Vec<Value> {
    let ids: Vec<i64> = questions
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    let stored: HashMap<i64, _> = store
        .questions_by_ids(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.id, q))
        .collect();
    ids.iter()
        .enumerate()
        .map(|(index, id)| {
            let question = &stored[id].content;
            let answer = if index < correct {
                // Submitted answers are compared trimmed and case-insensitively.
                format!("  {}  ", question.correct_answer.to_uppercase())
            } else {
                question
                    .answer_options
                    .iter()
                    .find(|option| !question.is_correct(option))
                    .unwrap()
                    .clone()
            };
            json!({"question_id": id, "user_answer": answer})
        })
        .collect()
}

async fn submit(
    service: &AiqService,
    token: &str,
    session_id: i64,
    responses: Vec<Value>,
) -> Reply {
    send(
        service,
        support::json(
            Method::POST,
            "/v1/test/submit",
            json!({"session_id": session_id, "responses": responses}),
            Some(token),
        ),
    )
    .await
}

async fn journey(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "journey@example.com").await;

    let started = start(&service, &token).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let body = started.json();
    let questions = body["questions"].as_array().unwrap().clone();
    assert_eq!(questions.len(), 25);
    assert_eq!(body["total_questions"], 25);
    assert_eq!(body["session"]["status"], "in_progress");
    assert!(body["current_theta"].is_null());
    for question in &questions {
        assert!(question.get("correct_answer").is_none());
        assert!(question["explanation"].is_null());
        assert!(question["answer_options"].as_array().unwrap().len() >= 4);
    }
    let mut by_difficulty: HashMap<&str, usize> = HashMap::new();
    for question in &questions {
        *by_difficulty
            .entry(question["difficulty_level"].as_str().unwrap())
            .or_default() += 1;
    }
    assert_eq!(
        (
            by_difficulty["easy"],
            by_difficulty["medium"],
            by_difficulty["hard"]
        ),
        (5, 13, 7)
    );
    let session_id = body["session"]["id"].as_i64().unwrap();

    let active = send(&service, authed(Method::GET, "/v1/test/active", &token)).await;
    assert_eq!(active.status, StatusCode::OK);
    assert_eq!(active.json()["session"]["id"], session_id);
    assert_eq!(active.json()["questions"].as_array().unwrap().len(), 25);
    assert_eq!(active.json()["questions_count"], 0);

    let adaptive = send(
        &service,
        authed(Method::POST, "/v1/test/start?adaptive=true", &token),
    )
    .await;
    // Adaptive starts obey the same one-active-session rule.
    assert_eq!(adaptive.status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&adaptive).contains(&format!("active test session (ID: {session_id})")),
        "{}",
        detail(&adaptive)
    );

    let again = start(&service, &token).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        detail(&again).contains(&format!("active test session (ID: {session_id})")),
        "{}",
        detail(&again)
    );

    let submitted = submit(
        &service,
        &token,
        session_id,
        answers(&store, &questions, 25).await,
    )
    .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
    let body = submitted.json();
    assert_eq!(body["message"], "Test completed! IQ Score: 115");
    assert_eq!(body["responses_count"], 25);
    assert_eq!(body["session"]["status"], "completed");
    let result = &body["result"];
    assert_eq!(result["iq_score"], 115);
    assert_eq!(result["percentile_rank"], 84.1);
    assert_eq!(result["accuracy_percentage"], 100.0);
    assert_eq!(result["correct_answers"], 25);
    assert_eq!(result["model_scores"]["aiq-generator/1"]["total"], 25);
    assert!(result["confidence_interval"].is_null());
    assert_eq!(
        result["response_time_flags"]["flags"],
        json!(["no_time_data"])
    );
    // The raw text keeps the order the app shows: the old enum order.
    let text = submitted.text();
    let domains = &text[text.find("\"domain_scores\"").unwrap()..];
    let positions: Vec<usize> = ["pattern", "logic", "spatial", "math", "verbal", "memory"]
        .iter()
        .map(|d| domains.find(&format!("\"{d}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{domains}");
    assert_eq!(result["strongest_domain"], "pattern");
    let result_id = result["id"].as_i64().unwrap();

    let none = send(&service, authed(Method::GET, "/v1/test/active", &token)).await;
    assert_eq!(
        (none.status, none.text().as_str()),
        (StatusCode::OK, "null")
    );

    let fetched = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/results/{result_id}"),
            &token,
        ),
    )
    .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json()["iq_score"], 115);
    assert_eq!(
        fetched.json()["model_scores"]["aiq-generator/1"]["correct"],
        25
    );

    let history = send(&service, authed(Method::GET, "/v1/test/history", &token)).await;
    assert_eq!(history.status, StatusCode::OK);
    let history = history.json();
    assert_eq!(history["total_count"], 1);
    assert_eq!(history["has_more"], false);
    assert_eq!(history["results"][0]["id"], result_id);
    assert!(history["results"][0]["model_scores"].is_null());

    let session = send(
        &service,
        authed(
            Method::GET,
            &format!("/v1/test/session/{session_id}"),
            &token,
        ),
    )
    .await;
    assert_eq!(session.json()["questions_count"], 25);
    assert!(session.json()["questions"].is_null());

    let cadence = start(&service, &token).await;
    assert_eq!(cadence.status, StatusCode::BAD_REQUEST);
    let message = detail(&cadence);
    let today = aiq_core::time::now().date();
    let next = today + time::Duration::days(90);
    assert_eq!(
        message,
        format!(
            "You must wait 90 days (3 months) between tests. Your last test was completed on \
             {today}. You can take your next test on {next} (90 days remaining)."
        )
    );
}

async fn half_right_scores_100_and_statistics_follow(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "half@example.com").await;
    let body = start(&service, &token).await.json();
    let questions = body["questions"].as_array().unwrap()[..24].to_vec();
    let session_id = body["session"]["id"].as_i64().unwrap();
    let reply = submit(
        &service,
        &token,
        session_id,
        answers(&store, &questions, 12).await,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // Unanswered questions are not scored: 12 of 24.
    assert_eq!(reply.json()["result"]["iq_score"], 100);
    assert_eq!(reply.json()["result"]["total_questions"], 24);

    service.settle().await;
    let ids: Vec<i64> = questions
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    for question in store.questions_by_ids(&ids).await.unwrap() {
        assert_eq!(question.response_count, 1, "question {}", question.id);
        let right = ids.iter().position(|id| *id == question.id).unwrap() < 12;
        assert_eq!(
            question.empirical_difficulty,
            Some(if right { 1.0 } else { 0.0 })
        );
    }
}

async fn abandon_then_fresh_questions(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "abandon@example.com").await;
    let first = start(&service, &token).await.json();
    let session_id = first["session"]["id"].as_i64().unwrap();
    let abandoned = send(
        &service,
        authed(
            Method::POST,
            &format!("/v1/test/{session_id}/abandon"),
            &token,
        ),
    )
    .await;
    assert_eq!(abandoned.status, StatusCode::OK);
    assert_eq!(
        abandoned.json()["message"],
        "Test session abandoned successfully"
    );
    assert_eq!(abandoned.json()["responses_saved"], 0);
    assert_eq!(abandoned.json()["session"]["status"], "abandoned");
    let twice = send(
        &service,
        authed(
            Method::POST,
            &format!("/v1/test/{session_id}/abandon"),
            &token,
        ),
    )
    .await;
    assert_eq!(
        detail(&twice),
        "Test session is already abandoned. Only in-progress sessions can be modified."
    );

    // Fewer than 7 answers: no cooldown; and no question comes back.
    let second = start(&service, &token).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let seen: Vec<i64> = first["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    for question in second.json()["questions"].as_array().unwrap() {
        assert!(!seen.contains(&question["id"].as_i64().unwrap()));
    }
}

async fn weighted_scoring_follows_system_config(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let now = aiq_core::time::now();
    store
        .set_system_config("use_weighted_scoring", json!({"enabled": true}), now)
        .await
        .unwrap();
    // Only pattern counts: answering every pattern item right scores 115 whatever the rest.
    store
        .set_system_config("domain_weights", json!({"pattern": 1.0}), now)
        .await
        .unwrap();
    let token = user(&service, "weighted@example.com").await;
    let body = start(&service, &token).await.json();
    let questions = body["questions"].as_array().unwrap();
    let ids: Vec<i64> = questions
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    let stored = store.questions_by_ids(&ids).await.unwrap();
    let responses: Vec<Value> = stored
        .iter()
        .map(|q| {
            let answer = if q.domain() == Domain::Pattern {
                q.content.correct_answer.clone()
            } else {
                q.content
                    .answer_options
                    .iter()
                    .find(|o| !q.content.is_correct(o))
                    .unwrap()
                    .clone()
            };
            json!({"question_id": q.id, "user_answer": answer})
        })
        .collect();
    let reply = submit(
        &service,
        &token,
        body["session"]["id"].as_i64().unwrap(),
        responses,
    )
    .await;
    assert_eq!(reply.json()["result"]["iq_score"], 115, "{}", reply.text());
}

async fn unseen_questions_are_listed_not_marked(service: AiqService, store: Arc<dyn Storage>) {
    load_bank(&store).await;
    let token = user(&service, "unseen@example.com").await;
    let reply = send(
        &service,
        authed(Method::GET, "/v1/questions/unseen?count=7", &token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["questions"].as_array().unwrap().len(), 7);
    assert_eq!(
        (
            reply.json()["total_count"].clone(),
            reply.json()["requested_count"].clone()
        ),
        (json!(7), json!(7))
    );
    let again = send(
        &service,
        authed(Method::GET, "/v1/questions/unseen?count=7", &token),
    )
    .await;
    assert_eq!(again.json()["questions"], reply.json()["questions"]);
    for bad in ["count=0", "count=101", "count=abc"] {
        let reply = send(
            &service,
            authed(Method::GET, &format!("/v1/questions/unseen?{bad}"), &token),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

async fn an_exhausted_pool_is_a_404(service: AiqService, store: Arc<dyn Storage>) {
    let small: Vec<_> = starter_bank()
        .into_iter()
        .filter(|q| q.question_type == Domain::Math && q.difficulty_level == Difficulty::Easy)
        .take(3)
        .collect();
    store.import_questions(&small).await.unwrap();
    let token = user(&service, "few@example.com").await;
    let first = start(&service, &token).await;
    assert_eq!(first.status, StatusCode::OK);
    // Fewer than requested is allowed silently.
    assert_eq!(first.json()["total_questions"], 3);
    let id = first.json()["session"]["id"].as_i64().unwrap();
    send(
        &service,
        authed(Method::POST, &format!("/v1/test/{id}/abandon"), &token),
    )
    .await;
    let empty = start(&service, &token).await;
    assert_eq!(
        (empty.status, detail(&empty).as_str()),
        (
            StatusCode::NOT_FOUND,
            "No unseen questions available. Question pool may be exhausted."
        )
    );
}

both_stores!(
    journey,
    half_right_scores_100_and_statistics_follow,
    abandon_then_fresh_questions,
    weighted_scoring_follows_system_config,
    unseen_questions_are_listed_not_marked,
    an_exhausted_pool_is_a_404,
);
