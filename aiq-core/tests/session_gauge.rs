//! `test.sessions.active` follows starts, submits and abandons, and a service started on an
//! existing database reads it from storage. One test in its own binary, because the gauge lives
//! in the process-wide recorder.

mod support;

use std::sync::Arc;

use aiq_core::questions::starter_bank;
use aiq_core::storage::Storage;
use aiq_core::{Aiq, AiqService, Config};
use http::{Method, StatusCode};
use metrics_exporter_prometheus::PrometheusBuilder;
use support::{authed, register, send};

fn service(store: Arc<dyn Storage>) -> AiqService {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    Aiq::builder(config).storage(store).build().unwrap()
}

fn gauge(text: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix("test_sessions_active "))
        .map(|value| value.trim().parse().unwrap())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_sessions_gauge_is_kept_and_restored() {
    let handle = PrometheusBuilder::new().install_recorder().unwrap();
    let (store, _db) = support::pg_store().await;
    let store: Arc<dyn Storage> = Arc::new(store);
    store.import_questions(&starter_bank()).await.unwrap();
    let first = service(store.clone());

    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..3 {
        let token = register(&first, &format!("gauge{i}@example.com")).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let started = send(&first, authed(Method::POST, "/v1/test/start", &token)).await;
        assert_eq!(started.status, StatusCode::OK);
        sessions.push(started.json());
        tokens.push(token);
    }
    assert_eq!(gauge(&handle.render()), 3.0);

    let abandon = format!("/v1/test/{}/abandon", sessions[0]["session"]["id"]);
    assert_eq!(
        send(&first, authed(Method::POST, &abandon, &tokens[0]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(gauge(&handle.render()), 2.0);

    let question = &sessions[1]["questions"][0];
    let submit = support::json(
        Method::POST,
        "/v1/test/submit",
        serde_json::json!({
            "session_id": sessions[1]["session"]["id"],
            "responses": [{"question_id": question["id"], "user_answer": question["answer_options"][0]}],
        }),
        Some(&tokens[1]),
    );
    assert_eq!(send(&first, submit).await.status, StatusCode::OK);
    assert_eq!(gauge(&handle.render()), 1.0);

    // A restart: the process's gauge is lost (set to a wrong value here), and a new service on
    // the same database reads the truth from storage.
    metrics::gauge!(aiq_core::telemetry::TEST_SESSIONS_ACTIVE).set(42.0);
    let restarted = service(store.clone());
    restarted.sync_gauges().await.unwrap();
    assert_eq!(gauge(&handle.render()), 1.0);
    first.settle().await;
}
