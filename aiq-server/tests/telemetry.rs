//! OpenTelemetry export and the metrics listener of the `aiq-server` binary, run as a process
//! against a local OTLP/HTTP receiver.

mod otlp;
mod support;

use aiq_testkit::TestDb;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otlp::{Receiver, hex, int, text};
use support::{Server, client};

/// A caller's span, as its `traceparent` names it (sampled).
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
}

/// The settings that export everything to `receiver`.
fn exporting(receiver: &Receiver) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_ENABLED", "true".into()),
        ("OTEL_EXPORTER", "otlp".into()),
        ("OTEL_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_SERVICE_NAME", "aiq-under-test".into()),
        // URL-encoded, as a Grafana Cloud `Basic ...` value usually is.
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20test".into(),
        ),
        ("OTEL_METRICS_ENABLED", "true".into()),
        // Longer than the test: the metrics only leave with the flush at shutdown.
        ("OTEL_METRICS_EXPORT_INTERVAL_MILLIS", "600000".into()),
        ("OTEL_LOGS_ENABLED", "true".into()),
    ]
}

fn start(vars: &[(&'static str, String)]) -> Server {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(&vars)
}

/// SIGTERM, then the exit status once the process has flushed and exited.
async fn stop(server: Server) -> std::process::ExitStatus {
    server.terminate();
    tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
}

async fn get(server: &Server, path: &str, traceparent: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url(path));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    request.send().await.unwrap()
}

fn named<'a>(
    spans: &'a [(opentelemetry_proto::tonic::resource::v1::Resource, Span)],
    name: &str,
) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|(_, span)| span.name == name)
        .map(|(_, span)| span)
        .collect()
}

fn body(record: &LogRecord) -> Option<&str> {
    match record.body.as_ref()?.value.as_ref()? {
        opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_metrics_and_logs_reach_the_collector_with_the_configured_header() {
    let receiver = Receiver::start().await;
    let db = TestDb::create().await;
    let mut vars = exporting(&receiver);
    vars.push(("DATABASE_URL", db.url().to_owned()));
    vars.push(("RATE_LIMIT_STORAGE", "redis".into()));
    vars.push(("RATE_LIMIT_REDIS_URL", support::redis_url()));
    let server = start(&vars);

    let ping = get(&server, "/v1/ping", Some(&traceparent())).await;
    assert_eq!(ping.status(), 200);
    assert_eq!(get(&server, "/v1/health", None).await.status(), 200);
    // Unknown paths are rate limited (one Redis script run) and share one route.
    assert_eq!(get(&server, "/v1/things/17", None).await.status(), 404);
    assert!(stop(server).await.success());

    let exports = receiver.exports();
    assert!(!exports.is_empty(), "nothing was exported");
    for export in &exports {
        assert_eq!(
            export.headers["authorization"], "Bearer test",
            "{}",
            export.path
        );
        assert_eq!(export.headers["content-type"], "application/x-protobuf");
    }

    // Traces: one server span per request, named by route template, with the HTTP attributes.
    let spans = receiver.spans();
    for (resource, _) in &spans {
        assert_eq!(
            text(&resource.attributes, "service.name"),
            Some("aiq-under-test")
        );
    }
    let ping = named(&spans, "GET /v1/ping");
    assert_eq!(ping.len(), 1, "{spans:#?}");
    let ping = ping[0];
    assert_eq!(ping.kind, SpanKind::Server as i32);
    assert_eq!(
        hex(&ping.trace_id),
        CALLER_TRACE,
        "the caller's trace goes on"
    );
    assert_eq!(hex(&ping.parent_span_id), CALLER_SPAN);
    assert_eq!(text(&ping.attributes, "http.request.method"), Some("GET"));
    assert_eq!(text(&ping.attributes, "http.route"), Some("/v1/ping"));
    assert_eq!(text(&ping.attributes, "url.path"), Some("/v1/ping"));
    assert_eq!(
        int(&ping.attributes, "http.response.status_code"),
        Some(200)
    );

    let health = named(&spans, "GET /v1/health");
    assert_eq!(health.len(), 1, "{spans:#?}");
    let health = health[0];
    assert_ne!(
        hex(&health.trace_id),
        CALLER_TRACE,
        "a request without traceparent starts a trace"
    );
    let queries: Vec<&Span> = spans
        .iter()
        .map(|(_, span)| span)
        .filter(|span| span.parent_span_id == health.span_id)
        .collect();
    assert!(
        queries
            .iter()
            .any(|span| span.kind == SpanKind::Client as i32
                && text(&span.attributes, "db.system.name") == Some("postgresql")
                && text(&span.attributes, "db.operation.name") == Some("ping")),
        "the health check's database ping is a child span: {queries:#?}"
    );

    let unmatched = named(&spans, "GET unmatched");
    assert_eq!(unmatched.len(), 1, "{spans:#?}");
    assert_eq!(
        int(&unmatched[0].attributes, "http.response.status_code"),
        Some(404)
    );
    assert!(
        spans
            .iter()
            .any(|(_, span)| span.parent_span_id == unmatched[0].span_id
                && text(&span.attributes, "db.system.name") == Some("redis")),
        "the rate limiter's Redis call is a child span: {spans:#?}"
    );

    // Metrics: the names the dashboards use, flushed at shutdown.
    let names = receiver.metric_names();
    for (resource, _) in &names {
        assert_eq!(
            text(&resource.attributes, "service.name"),
            Some("aiq-under-test")
        );
    }
    for expected in [
        "http.server.requests",
        "http.server.request.duration",
        "db.query.duration",
        "test.sessions.active",
    ] {
        assert!(
            names.iter().any(|(_, name)| name == expected),
            "{expected} missing from {names:?}"
        );
    }
    // Every data point carries the service name as an attribute, which Grafana Cloud keeps as the
    // `service_name` label the guide's selectors use; counters exist from start-up.
    for counter in ["http.server.requests", "app.errors"] {
        let points = receiver.counter_points(counter);
        assert!(!points.is_empty(), "{counter} exported");
        for attributes in &points {
            assert_eq!(
                text(attributes, "service_name"),
                Some("aiq-under-test"),
                "{counter}: {attributes:?}"
            );
        }
    }

    // Logs: the request log lines, in the trace they belong to.
    let logs = receiver.logs();
    let completed: Vec<&LogRecord> = logs
        .iter()
        .map(|(_, record)| record)
        .filter(|record| body(record) == Some("request completed"))
        .collect();
    assert_eq!(completed.len(), 3, "{logs:#?}");
    assert!(
        completed
            .iter()
            .any(|record| hex(&record.trace_id) == CALLER_TRACE && record.span_id == ping.span_id),
        "{completed:#?}"
    );
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_with_the_none_exporter() {
    let receiver = Receiver::start().await;
    let mut vars = exporting(&receiver);
    vars.retain(|(name, _)| *name != "OTEL_EXPORTER");
    vars.push(("OTEL_EXPORTER", "none".into()));
    let server = start(&vars);
    assert_eq!(
        get(&server, "/v1/ping", Some(&traceparent()))
            .await
            .status(),
        200
    );
    assert_eq!(get(&server, "/v1/nope", None).await.status(), 404);
    // The exit flushes whatever would have been sent.
    assert!(stop(server).await.success());
    assert!(receiver.exports().is_empty(), "{:?}", receiver.exports());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_neither_fails_nor_holds_requests() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let receiver = Receiver::start().await;
    let mut vars = exporting(&receiver);
    vars.retain(|(name, _)| {
        !matches!(
            *name,
            "OTEL_OTLP_ENDPOINT" | "OTEL_METRICS_EXPORT_INTERVAL_MILLIS"
        )
    });
    vars.push(("OTEL_OTLP_ENDPOINT", format!("http://{closed}")));
    // Failing metric exports all along.
    vars.push(("OTEL_METRICS_EXPORT_INTERVAL_MILLIS", "50".into()));
    vars.push(("SHUTDOWN_TIMEOUT_SECONDS", "1".into()));
    let server = start(&vars);
    for i in 0..50 {
        let path = if i % 2 == 0 { "/v1/ping" } else { "/v1/health" };
        let response = get(&server, path, Some(&traceparent())).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    // A flush waiting for the collector would hold the exit for ever; `stop` gives up on it
    // after PATIENCE. How soon the exit comes is not this test's business.
    assert!(stop(server).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_carry_the_trace_of_the_request() {
    let receiver = Receiver::start().await;
    let db = TestDb::create().await;
    let mut vars = exporting(&receiver);
    vars.extend([
        ("ENV", "production".into()),
        ("DATABASE_URL", db.url().to_owned()),
        (
            "SECRET_KEY",
            "5e0f7c1d9a2b4c6e8f1a3b5c7d9e0f2a4b6c8d0e".into(),
        ),
        (
            "JWT_SECRET_KEY",
            "a9c8e7d6f5b4a3c2e1d0f9a8b7c6d5e4f3a2b1c0".into(),
        ),
        ("CORS_ORIGINS", "https://a-iq-test.com".into()),
    ]);
    let mut server = start(&vars);

    let response = client()
        .get(server.url("/v1/health"))
        .header("x-request-id", "traced-1")
        .header("traceparent", traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = server.wait_for_line("\"request_id\":\"traced-1\"");
    let traced: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(traced["message"], "request completed");
    assert_eq!(traced["trace_id"], CALLER_TRACE, "{line}");
    let span_id = traced["span_id"].as_str().unwrap().to_owned();
    assert_eq!(span_id.len(), 16, "{line}");
    assert_ne!(
        span_id, CALLER_SPAN,
        "the line names the server's span, not the caller's"
    );
    assert_eq!(traced["route"], "/v1/health");
    assert!(
        traced.get("otel.name").is_none() && traced.get("url.path").is_none(),
        "{line}"
    );

    let response = client()
        .get(server.url("/v1/ping"))
        .header("x-request-id", "untraced-2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let line = server.wait_for_line("\"request_id\":\"untraced-2\"");
    let fresh: serde_json::Value = serde_json::from_str(&line).unwrap();
    let trace_id = fresh["trace_id"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32, "{line}");
    assert!(trace_id.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    assert_ne!(trace_id, CALLER_TRACE);

    assert!(stop(server).await.success());
    // The line's ids are those of the exported span.
    let spans = receiver.spans();
    let exported = named(&spans, "GET /v1/health");
    assert_eq!(exported.len(), 1, "{spans:#?}");
    assert_eq!(hex(&exported[0].span_id), span_id);
    assert_eq!(hex(&exported[0].trace_id), CALLER_TRACE);
    drop(db);
}

#[tokio::test]
async fn metrics_can_have_a_port_of_their_own() {
    let mut server = Server::start(&[
        ("PROMETHEUS_METRICS_ENABLED", "true"),
        ("METRICS_PORT", "0"),
    ]);
    let line = server.wait_for_line("Prometheus metrics at http://");
    let url: String = line
        .split("Prometheus metrics at ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    assert_eq!(get(&server, "/v1/ping", None).await.status(), 200);

    let metrics = client().get(&url).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_server_requests_total{")
                && l.contains("http_route=\"/v1/ping\"")),
        "{text}"
    );
    // Not on the API port.
    let public = get(&server, "/v1/metrics", None).await;
    assert_eq!(public.status(), 404);
    assert!(stop(server).await.success());
}
