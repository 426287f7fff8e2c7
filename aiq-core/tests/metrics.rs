//! The metrics the service records, read back through a Prometheus recorder installed for this
//! test binary, and the `/v1/metrics` endpoint.

mod support;

use std::sync::{Arc, OnceLock};

use aiq_core::storage::MemoryStore;
use aiq_core::telemetry::{DURATION_BUCKETS, HISTOGRAMS, METRICS, exposition_names};
use aiq_core::{Aiq, AiqService, Config};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use support::{get, login, register, send};

/// The process-wide recorder (one per test binary).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    // Configured as aiq-server configures it.
    HANDLE.get_or_init(|| {
        let mut builder = PrometheusBuilder::new().with_recommended_naming(true);
        for (name, bounds) in HISTOGRAMS {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(name.to_owned()), bounds)
                .unwrap();
        }
        builder.install_recorder().unwrap()
    })
}

fn service(prometheus_enabled: bool) -> AiqService {
    let handle = recorder().clone();
    let mut config = Config::default();
    config.otel.prometheus_enabled = prometheus_enabled;
    config.rate_limit.default_limit = 10_000;
    Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .metrics_renderer(move || handle.render())
        .build()
        .unwrap()
}

/// The exposition lines of `name` whose labels contain every one of `labels`.
fn series<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect()
}

#[tokio::test]
async fn requests_are_counted_by_route_template_with_bounded_cardinality() {
    let service = service(true);
    for i in 0..1_000 {
        let reply = send(&service, get(&format!("/v1/things/{i}/details"))).await;
        assert_eq!(reply.status, 404);
    }
    send(&service, get("/v1/ping")).await;
    let text = send(&service, get("/v1/metrics")).await.text();

    let unmatched = series(
        &text,
        "http_server_requests_total",
        &["http_route=\"unmatched\"", "http_status_code=\"404\""],
    );
    assert_eq!(unmatched.len(), 1, "1,000 paths, one series: {unmatched:?}");
    assert!(unmatched[0].ends_with(" 1000"), "{}", unmatched[0]);
    assert!(
        !text.contains("/v1/things/"),
        "raw paths never become labels"
    );
    let ping = series(
        &text,
        "http_server_requests_total",
        &["http_route=\"/v1/ping\"", "http_method=\"GET\""],
    );
    assert_eq!(ping.len(), 1, "{text}");
    let buckets = series(
        &text,
        "http_server_request_duration_bucket",
        &["http_route=\"/v1/ping\""],
    );
    assert_eq!(
        buckets.len(),
        DURATION_BUCKETS.len() + 1,
        "the bounds plus +Inf: {buckets:?}"
    );
    assert!(buckets.iter().any(|line| line.contains("le=\"0.005\"")));
    assert!(buckets.iter().any(|line| line.contains("le=\"10\"")));
}

#[tokio::test]
async fn logins_and_registrations_are_counted() {
    let service = service(true);
    let before = send(&service, get("/v1/metrics")).await.text();
    let count = |text: &str, name: &str, label: &str| -> u64 {
        series(text, name, &[label])
            .first()
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    register(&service, "counted@example.com").await;
    login(&service, "counted@example.com", "correct horse 9").await;
    login(&service, "counted@example.com", "wrong horse 9").await;
    let after = send(&service, get("/v1/metrics")).await.text();
    let registrations = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("users_registrations_total "))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(registrations(&after) > registrations(&before), "{after}");
    assert!(
        count(&after, "auth_login_total", "auth_success=\"true\"")
            > count(&before, "auth_login_total", "auth_success=\"true\"")
    );
    assert!(
        count(&after, "auth_login_total", "auth_success=\"false\"")
            > count(&before, "auth_login_total", "auth_success=\"false\"")
    );
}

/// The exposition shows nothing outside `telemetry::METRICS`, under the names
/// `exposition_names` gives them (what the dashboard test checks the queries against).
#[tokio::test]
async fn every_exposed_series_is_named_as_the_catalogue_says() {
    let service = service(true);
    register(&service, "named@example.com").await;
    login(&service, "named@example.com", "correct horse 9").await;
    let text = send(&service, get("/v1/metrics")).await.text();
    let known: std::collections::BTreeSet<String> = METRICS
        .iter()
        .flat_map(|(name, kind)| exposition_names(name, *kind))
        .collect();
    let shown: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split(['{', ' ']).next().unwrap())
        .collect();
    for name in [
        "http_server_requests_total",
        "http_server_request_duration_bucket",
        "auth_login_total",
        "users_registrations_total",
    ] {
        assert!(shown.contains(name), "{name} is exposed: {shown:?}");
    }
    for name in &shown {
        assert!(known.contains(*name), "{name} is not in the catalogue");
    }
}

#[tokio::test]
async fn the_endpoint_is_off_unless_enabled_and_never_rate_limited() {
    let off = send(&service(false), get("/v1/metrics")).await;
    assert_eq!(off.status, 503);
    assert!(off.text().contains("PROMETHEUS_METRICS_ENABLED"));
    assert!(
        off.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );

    let on = service(true);
    let reply = send(&on, get("/v1/metrics")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-ratelimit-limit"), None);
    let doc = send(&on, get("/v1/openapi.json")).await.json();
    assert!(
        doc["paths"]["/v1/metrics"].is_null(),
        "kept out of the API document"
    );
}

#[tokio::test]
async fn with_a_metrics_port_the_api_path_is_not_found() {
    let handle = recorder().clone();
    let mut config = Config::default();
    config.otel.prometheus_enabled = true;
    config.otel.metrics_port = Some(9464);
    let service = Aiq::builder(config)
        .metrics_renderer(move || handle.render())
        .build()
        .unwrap();
    let reply = send(&service, get("/v1/metrics")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["detail"], "Not Found");
}

#[tokio::test]
async fn postgres_operations_are_timed() {
    let (store, _db) = support::pg_store().await;
    let handle = recorder().clone();
    let mut config = Config::default();
    config.otel.prometheus_enabled = true;
    let service = Aiq::builder(config)
        .storage(Arc::new(store))
        .metrics_renderer(move || handle.render())
        .build()
        .unwrap();
    let registered = register(&service, "timed@example.com").await;
    support::profile(&service, registered["access_token"].as_str().unwrap()).await;
    let text = send(&service, get("/v1/metrics")).await.text();
    // The profile read is one statement: the user with the revocations of its token.
    for (operation, table) in [("create_user", "users"), ("user_with_revocations", "users")] {
        let buckets = series(
            &text,
            "db_query_duration_bucket",
            &[
                &format!("db_operation=\"{operation}\""),
                &format!("db_table=\"{table}\""),
            ],
        );
        assert_eq!(
            buckets.len(),
            DURATION_BUCKETS.len() + 1,
            "{operation}: {text}"
        );
    }
}

#[tokio::test]
async fn failures_are_counted_by_type() {
    // A database nobody listens on: every storage call is `unavailable`.
    let mut config = Config::default();
    config.database.url = Some("postgres://postgres@127.0.0.1:1/none".to_owned().into());
    config.database.connect_timeout = std::time::Duration::from_millis(200);
    config.otel.prometheus_enabled = true;
    config.rate_limit.enabled = false;
    let store = aiq_core::storage::PgStore::connect(&config.database).unwrap();
    let handle = recorder().clone();
    let service = Aiq::builder(config)
        .storage(Arc::new(store))
        .metrics_renderer(move || handle.render())
        .build()
        .unwrap();
    let before = counter(&send(&service, get("/v1/metrics")).await.text());
    let reply = send(
        &service,
        support::json(
            http::Method::POST,
            "/v1/auth/register",
            support::registration("down@example.com"),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, 503);
    let after = counter(&send(&service, get("/v1/metrics")).await.text());
    assert!(after >= before + 1.0, "before {before}, after {after}");
}

/// The value of `app_errors_total{error_type="unavailable"}` (0 before the first one).
fn counter(text: &str) -> f64 {
    series(text, "app_errors_total", &["error_type=\"unavailable\""])
        .first()
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().unwrap())
}
