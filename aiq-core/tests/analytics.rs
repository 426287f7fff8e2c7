//! `/v1/analytics/*` and `/v1/benchmark/summary` through the service, on both stores.

mod support;

use std::sync::Arc;

use aiq_core::storage::{NewLlmRun, Storage};
use aiq_core::{AiqService, Config};
use aiq_testkit::fixtures::bank::{import, question, take_test};
use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::{Reply, authed, detail, register, send};

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
    anonymous_events_are_stored_lowercased_without_a_user,
    a_valid_token_attributes_events_and_a_bad_one_is_anonymous,
    batches_must_hold_one_to_a_hundred_events,
    bad_event_fields_are_422_without_echo,
    model_performance_groups_the_callers_answers_by_vendor,
    model_performance_for_one_session_is_the_callers_only,
    benchmark_summary_is_filtered_sorted_and_cached,
    question_statistics_need_the_admin_token,
    question_statistics_list_and_problematic_items,
);

async fn user(service: &AiqService, email: &str) -> (String, i64) {
    let tokens = register(service, email).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let id = tokens["user"]["id"].as_i64().unwrap();
    (token, id)
}

fn events_body(names: &[&str]) -> Value {
    json!({
        "events": names
            .iter()
            .map(|name| json!({
                "event_name": name,
                "timestamp": "2025-01-02T03:04:05.123Z",
                "properties": {"screen": "home"},
            }))
            .collect::<Vec<_>>(),
        "app_version": "1.4.0",
        "device_id": "device-42",
    })
}

async fn post_events(service: &AiqService, body: Value, token: Option<&str>) -> Reply {
    send(
        service,
        support::json(Method::POST, "/v1/analytics/events", body, token),
    )
    .await
}

async fn anonymous_events_are_stored_lowercased_without_a_user(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let reply = post_events(
        &service,
        events_body(&["  User.Login ", "guest_conversion.claim_succeeded"]),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"success": true, "events_received": 2,
               "message": "Successfully received 2 analytics events"})
    );
    let stored = store.recent_client_events(10).await.unwrap();
    let names: Vec<&str> = stored.iter().map(|e| e.event.event_name.as_str()).collect();
    assert_eq!(names, ["guest_conversion.claim_succeeded", "user.login"]);
    for event in &stored {
        assert_eq!(event.event.user_id, None);
        assert_eq!(event.event.client_platform, "ios");
        assert_eq!(event.event.app_version, "1.4.0");
        assert_eq!(event.event.device_id.as_deref(), Some("device-42"));
        assert_eq!(event.event.properties, Some(json!({"screen": "home"})));
        assert_eq!(
            event.event.client_timestamp,
            time::macros::datetime!(2025-01-02 03:04:05.123 UTC)
        );
    }
}

async fn a_valid_token_attributes_events_and_a_bad_one_is_anonymous(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let (token, id) = user(&service, "events@example.com").await;
    let mut body = events_body(&["test.started"]);
    body["client_platform"] = json!("ipados");
    body["events"][0]["properties"] = Value::Null;
    let reply = post_events(&service, body, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = post_events(
        &service,
        events_body(&["test.completed"]),
        Some("not.a.jwt"),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a bad token is anonymous, not a 401"
    );

    let stored = store.recent_client_events(10).await.unwrap();
    assert_eq!(stored[1].event.event_name, "test.started");
    assert_eq!(stored[1].event.user_id, Some(id));
    assert_eq!(stored[1].event.client_platform, "ipados");
    assert_eq!(stored[1].event.properties, None);
    assert_eq!(stored[0].event.user_id, None);
}

async fn batches_must_hold_one_to_a_hundred_events(service: AiqService, store: Arc<dyn Storage>) {
    let empty = post_events(&service, events_body(&[]), None).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.json()["detail"][0]["loc"], json!(["body", "events"]));

    let names = vec!["app.opened"; 101];
    let too_many = post_events(&service, events_body(&names), None).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_many.json()["detail"][0]["loc"],
        json!(["body", "events"])
    );

    let hundred = post_events(&service, events_body(&names[..100]), None).await;
    assert_eq!(hundred.status, StatusCode::OK);
    assert_eq!(hundred.json()["events_received"], 100);
    assert_eq!(store.recent_client_events(1000).await.unwrap().len(), 100);
}

async fn bad_event_fields_are_422_without_echo(service: AiqService, store: Arc<dyn Storage>) {
    // A bad event is dropped and named, not the batch (hostile_text.rs has the whole table).
    let bad_name = "drop table users;--";
    let reply = post_events(&service, events_body(&["ok.event", bad_name]), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json()["dropped"][0]["loc"],
        json!(["body", "events", 1, "event_name"])
    );
    assert!(!reply.text().contains("drop table"), "{}", reply.text());

    let mut body = events_body(&["ok.event"]);
    body["events"][0]["timestamp"] = json!("yesterday-ish");
    let reply = post_events(&service, body, None).await;
    assert_eq!(reply.json()["events_dropped"], 1);
    assert!(!reply.text().contains("yesterday-ish"));

    // The batch's own fields are still refused whole.
    let mut body = events_body(&["ok.event"]);
    body["app_version"] = json!("1.0.0-a-very-long-version-string");
    let reply = post_events(&service, body, None).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.json()["detail"][0]["loc"],
        json!(["body", "app_version"])
    );

    let mut body = events_body(&["ok.event"]);
    body["events"][0]["properties"] = json!([1, 2]);
    let reply = post_events(&service, body, None).await;
    assert_eq!(reply.json()["events_dropped"], 1);
    // Only the first batch's valid event was stored.
    let stored = store.recent_client_events(10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event.event_name, "ok.event");
}

/// Four questions from two vendors (one without a model), and one without a vendor.
async fn vendor_bank(store: &Arc<dyn Storage>) -> Vec<i64> {
    import(
        store,
        &[
            question(1, Some("openai"), Some("gpt-5")),
            question(2, Some("anthropic"), Some("claude-opus-4-7")),
            question(3, Some("anthropic"), None),
            question(4, None, None),
            question(5, Some("google"), Some("gemini-2.5-pro")),
        ],
    )
    .await
}

async fn model_performance_groups_the_callers_answers_by_vendor(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let ids = vendor_bank(&store).await;
    let (token, me) = user(&service, "perf@example.com").await;
    take_test(
        &store,
        me,
        &[
            (ids[0], true),
            (ids[1], true),
            (ids[2], false),
            (ids[3], true),
            (ids[4], false),
        ],
        true,
    )
    .await;

    let reply = send(
        &service,
        authed(Method::GET, "/v1/analytics/model-performance", &token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["total_count"], 3);
    assert_eq!(
        (body["limit"].clone(), body["offset"].clone()),
        (json!(50), json!(0))
    );
    assert_eq!(body["has_more"], false);
    assert_eq!(
        body["results"][0],
        json!({"vendor": "anthropic", "correct": 1, "total": 2, "accuracy_pct": 50.0,
        "models": [
            {"model": "Unknown Model", "correct": 0, "total": 1, "accuracy_pct": 0.0},
            {"model": "claude-opus-4-7", "correct": 1, "total": 1, "accuracy_pct": 100.0},
        ]})
    );
    let vendors: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["vendor"].as_str().unwrap())
        .collect();
    assert_eq!(vendors, ["anthropic", "google", "openai"]);

    let page = send(
        &service,
        authed(
            Method::GET,
            "/v1/analytics/model-performance?limit=1&offset=1",
            &token,
        ),
    )
    .await
    .json();
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert_eq!(page["results"][0]["vendor"], "google");
    assert_eq!(page["has_more"], true);
    assert_eq!(page["total_count"], 3);

    for bad in ["limit=0", "limit=101", "offset=-1"] {
        let reply = send(
            &service,
            authed(
                Method::GET,
                &format!("/v1/analytics/model-performance?{bad}"),
                &token,
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let anonymous = send(&service, support::get("/v1/analytics/model-performance")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn model_performance_for_one_session_is_the_callers_only(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let ids = vendor_bank(&store).await;
    let (token, me) = user(&service, "mine@example.com").await;
    let (_, other) = user(&service, "other@example.com").await;
    let mine = take_test(&store, me, &[(ids[0], true), (ids[1], false)], true).await;
    let theirs = take_test(&store, other, &[(ids[0], true)], true).await;

    let uri = format!("/v1/analytics/model-performance?test_session_id={mine}&limit=1&offset=5");
    let reply = send(&service, authed(Method::GET, &uri, &token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        2,
        "every vendor, not a page"
    );
    assert_eq!(
        (body["limit"].clone(), body["offset"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(body["has_more"], false);

    for session in [theirs, theirs + mine + 1000] {
        let uri = format!("/v1/analytics/model-performance?test_session_id={session}");
        let reply = send(&service, authed(Method::GET, &uri, &token)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(detail(&reply), "Test session not found.");
    }
}

fn llm_run(vendor: &str, model: &str, iq: i32, correct: i32, error: Option<&str>) -> NewLlmRun {
    NewLlmRun {
        vendor: vendor.to_owned(),
        model_id: model.to_owned(),
        status: "completed".to_owned(),
        iq_score: Some(iq),
        total_questions: 20,
        correct_answers: correct,
        domain_scores: Some(json!({
            "math": {"correct": correct / 2, "total": 10},
            "logic": {"correct": correct - correct / 2, "total": 10},
        })),
        response_errors: vec![None, error.map(str::to_owned)],
    }
}

async fn benchmark(service: &AiqService, token: &str, query: &str) -> Reply {
    send(
        service,
        authed(Method::GET, &format!("/v1/benchmark/summary{query}"), token),
    )
    .await
}

async fn benchmark_summary_is_filtered_sorted_and_cached(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    for run in [
        llm_run("anthropic", "claude-opus-4-7", 130, 18, None),
        llm_run("anthropic", "claude-opus-4-7", 126, 17, None),
        llm_run("openai", "gpt-5", 131, 18, None),
        llm_run("openai", "gpt-5", 129, 19, None),
        llm_run("openai", "gpt-5", 150, 20, Some("rate limited")),
        llm_run("acme", "acme-1", 140, 19, None),
    ] {
        store.record_llm_run(run).await.unwrap();
    }
    let (token, _) = user(&service, "bench@example.com").await;

    let reply = benchmark(&service, &token, "?min_runs=2").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["min_runs"], 2);
    assert_eq!(body["cache_ttl"], 600);
    assert_eq!(
        body["models"],
        json!([
            {"display_name": "GPT-5", "vendor": "openai", "mean_iq": 130.0,
             "accuracy_pct": 92.5, "runs": 2, "domain_accuracy": [
                 {"domain": "logic", "accuracy_pct": 95.0, "total_questions": 20},
                 {"domain": "math", "accuracy_pct": 90.0, "total_questions": 20}]},
            {"display_name": "Claude Opus 4.7", "vendor": "anthropic", "mean_iq": 128.0,
             "accuracy_pct": 87.5, "runs": 2, "domain_accuracy": [
                 {"domain": "logic", "accuracy_pct": 90.0, "total_questions": 20},
                 {"domain": "math", "accuracy_pct": 85.0, "total_questions": 20}]},
        ]),
        "highest mean IQ first; the errored run and single-run models left out"
    );

    let default = benchmark(&service, &token, "").await.json();
    assert_eq!(default["min_runs"], 3);
    assert_eq!(default["models"], json!([]));
    let all = benchmark(&service, &token, "?min_runs=1").await.json();
    assert_eq!(all["models"][0]["display_name"], "acme-1");

    // Served from the cache for ten minutes: a new run is not seen yet.
    store
        .record_llm_run(llm_run("anthropic", "claude-opus-4-7", 60, 1, None))
        .await
        .unwrap();
    let again = benchmark(&service, &token, "?min_runs=2").await.json();
    assert_eq!(again, body);

    let zero = benchmark(&service, &token, "?min_runs=0").await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = send(&service, support::get("/v1/benchmark/summary")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

fn admin_get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("x-admin-token", token);
    }
    request.body(Body::empty()).unwrap()
}

async fn question_statistics_need_the_admin_token(service: AiqService, store: Arc<dyn Storage>) {
    let ids = vendor_bank(&store).await;
    let paths = [
        format!("/v1/analytics/questions/{}/statistics", ids[0]),
        "/v1/analytics/questions/statistics".to_owned(),
        "/v1/analytics/questions/problematic".to_owned(),
    ];
    let unset = support::service_with(
        {
            let mut config = config();
            config.admin.token = None;
            config
        },
        store.clone(),
    );
    for path in &paths {
        let ok = send(&service, admin_get(path, Some(ADMIN_TOKEN))).await;
        assert_eq!(ok.status, StatusCode::OK, "{path}: {}", ok.text());

        let wrong = send(
            &service,
            admin_get(path, Some("an-admin-token-of-some-length-012345678X")),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(detail(&wrong), "Invalid or missing admin token.");
        assert!(wrong.header("www-authenticate").is_none());

        let missing = send(&service, admin_get(path, None)).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{path}");

        // A user's bearer token is no admin token.
        let (token, _) = user(&service, &format!("u{}@example.com", path.len())).await;
        let bearer = send(&service, authed(Method::GET, path, &token)).await;
        assert_eq!(bearer.status, StatusCode::UNAUTHORIZED, "{path}");

        let disabled = send(&unset, admin_get(path, Some(ADMIN_TOKEN))).await;
        assert_eq!(disabled.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            detail(&disabled).contains("ADMIN_TOKEN"),
            "{}",
            disabled.text()
        );
    }

    let one = send(&service, admin_get(&paths[0], Some(ADMIN_TOKEN)))
        .await
        .json();
    assert_eq!(
        one,
        json!({"question_id": ids[0], "empirical_difficulty": null, "discrimination": null,
               "response_count": 0, "has_sufficient_data": false})
    );
    let missing = send(
        &service,
        admin_get(
            "/v1/analytics/questions/999999/statistics",
            Some(ADMIN_TOKEN),
        ),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&missing), "Question 999999 not found.");
}

async fn question_statistics_list_and_problematic_items(
    service: AiqService,
    store: Arc<dyn Storage>,
) {
    let ids = vendor_bank(&store).await;
    import(&store, &[question(6, None, None)]).await;
    for n in 0..3 {
        let (_, owner) = user(&service, &format!("taker{n}@example.com")).await;
        // Item 0 always right, item 1 always wrong, item 2 right only for a weak taker (so
        // its discrimination is negative), items 3 and 4 right for the stronger ones.
        let answers = [
            (ids[0], true),
            (ids[1], false),
            (ids[2], n == 0),
            (ids[3], n > 0),
            (ids[4], n == 2),
        ];
        take_test(&store, owner, &answers, true).await;
    }
    store
        .refresh_question_statistics(&ids, aiq_core::time::now(), 2_000)
        .await
        .unwrap();

    let list = send(
        &service,
        admin_get(
            "/v1/analytics/questions/statistics?min_responses=1",
            Some(ADMIN_TOKEN),
        ),
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let list = list.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 5, "the unanswered item is left out");
    assert_eq!(list[0]["question_id"], ids[0]);
    assert_eq!(list[0]["response_count"], 3);
    assert_eq!(list[0]["empirical_difficulty"], 1.0);
    assert_eq!(list[0]["has_sufficient_data"], false);
    assert_eq!(list[0]["is_active"], true);
    assert!(list[0]["question_type"].is_string() && list[0]["difficulty_level"].is_string());

    let all = send(
        &service,
        admin_get("/v1/analytics/questions/statistics", Some(ADMIN_TOKEN)),
    )
    .await
    .json();
    assert_eq!(all.as_array().unwrap().len(), 6);

    let problematic = send(
        &service,
        admin_get(
            "/v1/analytics/questions/problematic?min_responses=2",
            Some(ADMIN_TOKEN),
        ),
    )
    .await;
    assert_eq!(problematic.status, StatusCode::OK, "{}", problematic.text());
    let body = problematic.json();
    let ids_in = |key: &str| -> Vec<i64> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["question_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids_in("too_easy"), [ids[0]]);
    assert_eq!(ids_in("too_hard"), [ids[1]]);
    assert!(ids_in("negative_discrimination").contains(&ids[2]));
    assert!(ids_in("poor_discrimination").contains(&ids[2]));
    assert!(!ids_in("negative_discrimination").contains(&ids[3]));

    let default = send(
        &service,
        admin_get("/v1/analytics/questions/problematic", Some(ADMIN_TOKEN)),
    )
    .await
    .json();
    assert_eq!(default["too_easy"], json!([]), "30 responses by default");
    for bad in [
        "problematic?min_responses=1",
        "statistics?min_responses=1001",
    ] {
        let reply = send(
            &service,
            admin_get(&format!("/v1/analytics/questions/{bad}"), Some(ADMIN_TOKEN)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_analytics_endpoints_are_in_the_openapi_document() {
    let doc = send(&support::memory_service(), support::get("/v1/openapi.json"))
        .await
        .json();
    for (method, path, operation) in [
        (
            "post",
            "/v1/analytics/events",
            "submit_analytics_events_v1_analytics_events_post",
        ),
        (
            "get",
            "/v1/analytics/model-performance",
            "get_model_performance_v1_analytics_model_performance_get",
        ),
        (
            "get",
            "/v1/benchmark/summary",
            "get_benchmark_summary_v1_benchmark_summary_get",
        ),
        (
            "get",
            "/v1/analytics/questions/{question_id}/statistics",
            "get_question_stats_v1_analytics_questions__question_id__statistics_get",
        ),
        (
            "get",
            "/v1/analytics/questions/statistics",
            "get_all_questions_stats_v1_analytics_questions_statistics_get",
        ),
        (
            "get",
            "/v1/analytics/questions/problematic",
            "get_problematic_questions_v1_analytics_questions_problematic_get",
        ),
        (
            "post",
            "/v1/feedback/submit",
            "submit_feedback_v1_feedback_submit_post",
        ),
    ] {
        assert_eq!(
            doc["paths"][path][method]["operationId"], operation,
            "{method} {path}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["AdminToken"]["name"],
        "X-Admin-Token"
    );
}
