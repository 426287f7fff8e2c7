//! Guest tests: the device limit, single-use tokens and claiming, on both stores.

mod support;

use std::sync::Arc;

use aiq_core::questions::starter_bank;
use aiq_core::storage::Storage;
use aiq_core::{AiqService, Config};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Reply, authed, detail, register, send};

fn service_for(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    support::service_with(config, store)
}

fn guest_start(device: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/v1/test/guest/start");
    if let Some(device) = device {
        request = request.header("x-device-id", device);
    }
    request.body(Body::empty()).unwrap()
}

async fn guest_submit(service: &AiqService, token: &str, responses: Vec<Value>) -> Reply {
    send(
        service,
        support::json(
            Method::POST,
            "/v1/test/guest/submit",
            json!({"guest_token": token, "responses": responses}),
            None,
        ),
    )
    .await
}

async fn right_answers(store: &Arc<dyn Storage>, started: &Value) -> Vec<Value> {
    let ids: Vec<i64> = started["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    store
        .questions_by_ids(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|q| json!({"question_id": q.id, "user_answer": q.content.correct_answer}))
        .collect()
}

async fn three_tests_per_device(service: AiqService, store: Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
    let missing = send(&service, guest_start(None)).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        missing.json()["detail"][0]["loc"],
        json!(["header", "X-Device-Id"])
    );
    let blank = send(&service, guest_start(Some("   "))).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        detail(&blank),
        "X-Device-Id header is required for guest tests. Please provide a non-empty device identifier."
    );

    let long = "d".repeat(256);
    let too_long = send(&service, guest_start(Some(&long))).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !too_long.text().contains(&long),
        "the 422 does not echo the header"
    );

    for expected_remaining in [2, 1, 0] {
        let started = send(&service, guest_start(Some("device-1"))).await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.text());
        let body = started.json();
        assert_eq!(body["tests_remaining"], expected_remaining);
        assert_eq!(body["session"]["user_id"], -1);
        assert_eq!(body["questions"].as_array().unwrap().len(), 25);
        let token = body["guest_token"].as_str().unwrap();
        let submitted = guest_submit(&service, token, right_answers(&store, &body).await).await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.text());
        assert_eq!(submitted.json()["result"]["iq_score"], 115);
        assert!(submitted.json()["claim_token"].as_str().is_some());

        let reused = guest_submit(&service, token, right_answers(&store, &body).await).await;
        assert_eq!(
            (reused.status, detail(&reused).as_str()),
            (
                StatusCode::BAD_REQUEST,
                "Invalid or expired guest token. Please start a new guest test session."
            )
        );
    }
    let fourth = send(&service, guest_start(Some("device-1"))).await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        fourth.json(),
        json!({"detail": "Guest test limit reached (3 tests). Please create an account to continue."})
    );
    assert_eq!(
        fourth.header("retry-after"),
        Some("1"),
        "never Retry-After: 0"
    );
    assert_eq!(fourth.header("x-tests-remaining"), Some("0"));
    // Another device is not affected.
    assert_eq!(
        send(&service, guest_start(Some("device-2"))).await.status,
        StatusCode::OK
    );
}

async fn a_failed_submit_still_uses_the_token(service: AiqService, store: Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
    let body = send(&service, guest_start(Some("device-x"))).await.json();
    let token = body["guest_token"].as_str().unwrap();
    let foreign = guest_submit(
        &service,
        token,
        vec![json!({"question_id": 999_999, "user_answer": "a"})],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert!(detail(&foreign).starts_with("Invalid question IDs: 999999."));
    let blank = guest_submit(&service, "   ", vec![]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        blank.json()["detail"][0]["msg"],
        "Value error, guest_token cannot be blank."
    );
    let retry = guest_submit(&service, token, right_answers(&store, &body).await).await;
    assert_eq!(retry.status, StatusCode::BAD_REQUEST);
    assert!(detail(&retry).starts_with("Invalid or expired guest token"));
}

async fn claim_moves_the_result_once(service: AiqService, store: Arc<dyn Storage>) {
    store.import_questions(&starter_bank()).await.unwrap();
    let body = send(&service, guest_start(Some("device-c"))).await.json();
    let submitted = guest_submit(
        &service,
        body["guest_token"].as_str().unwrap(),
        right_answers(&store, &body).await,
    )
    .await
    .json();
    let claim_token = submitted["claim_token"].as_str().unwrap();
    let access = register(&service, "claimer@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let claim = |token: &str| {
        support::json(
            Method::POST,
            "/v1/test/guest/claim",
            json!({"claim_token": token}),
            Some(&access),
        )
    };
    let unknown = send(&service, claim("not-a-token")).await;
    assert_eq!(
        (unknown.status, detail(&unknown).as_str()),
        (
            StatusCode::BAD_REQUEST,
            "Invalid or expired guest claim token. Please submit a guest test again."
        )
    );
    let anonymous = send(
        &service,
        support::json(
            Method::POST,
            "/v1/test/guest/claim",
            json!({"claim_token": claim_token}),
            None,
        ),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // A claim token sent to submit is refused and left usable.
    let misused = guest_submit(&service, claim_token, vec![]).await;
    assert_eq!(misused.status, StatusCode::BAD_REQUEST);
    let claimed = send(&service, claim(claim_token)).await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text());
    let claimed = claimed.json();
    assert_eq!(claimed["message"], "Guest result claimed successfully.");
    assert_eq!(claimed["responses_count"], 25);
    let user_id = claimed["session"]["user_id"].as_i64().unwrap();
    assert!(user_id > 0);
    assert_eq!(claimed["result"]["user_id"], user_id);
    assert_eq!(
        claimed["result"]["model_scores"]["aiq-generator/1"]["correct"],
        25
    );

    let again = send(&service, claim(claim_token)).await;
    assert_eq!(
        (again.status, detail(&again).as_str()),
        (
            StatusCode::CONFLICT,
            "This guest result is already claimed by an account."
        )
    );
    let history = send(&service, authed(Method::GET, "/v1/test/history", &access))
        .await
        .json();
    assert_eq!(history["total_count"], 1);
    assert_eq!(history["results"][0]["iq_score"], 115);
    // The claimed test starts the claimer's cadence.
    let start = send(&service, authed(Method::POST, "/v1/test/start", &access)).await;
    assert_eq!(start.status, StatusCode::BAD_REQUEST);
    assert!(detail(&start).contains("must wait 90 days"));
}

both_stores!(
    three_tests_per_device,
    a_failed_submit_still_uses_the_token,
    claim_moves_the_result_once,
);
