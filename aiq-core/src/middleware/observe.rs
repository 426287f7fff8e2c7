//! One tracing span per request, one log line when it completes, and the request metrics.
//!
//! Completion lines are `info` for a success or a client error (4xx), `error` for a 5xx. All
//! are limited in rate ([`LogBudget`]), as a client can cause any number of them:
//! `REQUEST_LOG_PER_SECOND` successes a second (100 by default: every request of an ordinary
//! day, a sample with a count of the rest under load, where a line per request is more than a
//! log pipeline takes), 5 client errors and 10 server errors. The metrics and the spans count
//! every request.
//!
//! The span follows OpenTelemetry's HTTP server conventions: it is named after the method and
//! the route template (`otel.name` = `GET /v1/test/results/{result_id}`), is of kind `server`,
//! and carries `http.request.method`, `http.route`, `url.path`, `http.response.status_code`
//! and the request id; a 5xx marks it failed (`otel.status_code`). Storage and Redis calls made
//! while serving the request are its children. An embedding binary that exports traces links
//! it to the caller's trace (W3C `traceparent`) through
//! [`AiqBuilder::on_request_span`](crate::AiqBuilder::on_request_span).
//!
//! `http.server.requests` and `http.server.request.duration` (seconds) are labelled by the
//! method, the route template and the status. The route is the template, never the raw path,
//! whose ids would make one series per request; paths no route knows share `unmatched`. The
//! records go to the `metrics` facade, through handles kept per series
//! ([`request_metrics`](super::request_metrics)); the embedding binary decides where they end up.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use tracing::Span;
use tracing::field::Empty;

use super::around::{Hooks, Proceed};
use super::request_id::X_REQUEST_ID;
use super::request_metrics::{RequestMetrics, UNMATCHED};
use crate::log_budget::{LogBudget, limited};

/// Completion lines of requests that failed for the client's reasons (4xx): not warnings, and
/// limited in rate, as anyone can cause them.
static CLIENT_ERRORS: LogBudget = LogBudget::new(5);
/// Completion lines of 5xx responses: during an outage every request fails alike.
static SERVER_ERRORS: LogBudget = LogBudget::new(10);

/// Called with each request's headers and its new span (see
/// [`AiqBuilder::on_request_span`](crate::AiqBuilder::on_request_span)).
pub(crate) type SpanHook = Arc<dyn Fn(&HeaderMap, &Span) + Send + Sync>;

#[derive(Clone)]
pub(super) struct Observe {
    pub(super) hook: Option<SpanHook>,
    pub(super) metrics: Arc<RequestMetrics>,
    /// The budget of success lines; `None` writes every one.
    pub(super) successes: Option<Arc<LogBudget>>,
}

/// The budget of `per_second` success lines (`0`: no budget, every line is written).
pub(super) fn success_budget(per_second: u32) -> Option<Arc<LogBudget>> {
    (per_second > 0).then(|| Arc::new(LogBudget::new(per_second)))
}

/// One request being observed (its span is held by [`Around`](super::around::Around)).
pub(super) struct Observed {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
}

impl Hooks for Observe {
    type State = Observed;

    fn before(&self, req: &mut Request) -> ControlFlow<Response, Proceed<Observed>> {
        let started = Instant::now();
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        let method = req.method().as_str();
        let request_id = req
            .headers()
            .get(X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            url.path = req.uri().path(),
            http.response.status_code = Empty,
            request_id,
        );
        if let Some(hook) = &self.hook
            && !span.is_disabled()
        {
            hook(req.headers(), &span);
        }
        let observed = Observed {
            started,
            method: req.method().clone(),
            route: matched,
        };
        ControlFlow::Continue(Proceed::within(observed, span))
    }

    /// Runs inside the request span (entered by `Around`), so the completion line and the
    /// status belong to it.
    fn after(
        &self,
        observed: Option<Observed>,
        span: Option<&Span>,
        response: Response,
    ) -> Response {
        let (Some(observed), Some(span)) = (observed, span) else {
            return response;
        };
        let elapsed = observed.started.elapsed();
        let status = response.status().as_u16();
        let route = observed
            .route
            .as_ref()
            .map_or(UNMATCHED, MatchedPath::as_str);
        self.metrics
            .record(&observed.method, route, status, elapsed);

        // As i64: the OpenTelemetry layer records unsigned integers as text.
        span.record("http.response.status_code", i64::from(status));
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            span.record("otel.status_code", "error");
            limited!(
                SERVER_ERRORS,
                error,
                status,
                duration_ms,
                "request completed"
            );
        } else if status >= 400 {
            limited!(
                CLIENT_ERRORS,
                info,
                status,
                duration_ms,
                "request completed"
            );
        } else {
            match &self.successes {
                Some(budget) => limited!(budget, info, status, duration_ms, "request completed"),
                None => tracing::info!(status, duration_ms, "request completed"),
            }
        }
        response
    }
}
