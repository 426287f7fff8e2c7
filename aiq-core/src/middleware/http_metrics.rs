//! `http.server.requests` and `http.server.request.duration` for every request.
//!
//! Labels are the method, the matched route template (`unmatched` for a path no route knows,
//! never the raw path, whose ids would make one series per request) and the status. Durations
//! are in seconds. The records go to the `metrics` facade; the embedding binary decides where
//! they end up (Prometheus, OTLP).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub(super) async fn http_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("http.method", method),
        ("http.route", route),
        ("http.status_code", status),
    ];
    metrics::counter!(crate::telemetry::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(crate::telemetry::HTTP_REQUEST_DURATION, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
