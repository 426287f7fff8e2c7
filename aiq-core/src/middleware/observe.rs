//! One tracing span per request, one log line when it completes, and the request metrics.
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
//! records go to the `metrics` facade; the embedding binary decides where they end up.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use metrics::{Label, SharedString};
use tracing::Span;
use tracing::field::Empty;

use super::around::{Hooks, Proceed};
use super::request_id::X_REQUEST_ID;

/// The route label of a path no route knows.
const UNMATCHED: &str = "unmatched";

/// Called with each request's headers and its new span (see
/// [`AiqBuilder::on_request_span`](crate::AiqBuilder::on_request_span)).
pub(crate) type SpanHook = Arc<dyn Fn(&HeaderMap, &Span) + Send + Sync>;

#[derive(Clone)]
pub(super) struct Observe {
    pub(super) hook: Option<SpanHook>,
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
        // One copy of the route for both records (the label values are shared, not cloned).
        let route = SharedString::from(Arc::<str>::from(route));
        let status_label = status_label(status);
        let labels = |route: SharedString, status: SharedString| {
            vec![
                Label::new("http.method", method_label(&observed.method)),
                Label::new("http.route", route),
                Label::new("http.status_code", status),
            ]
        };
        metrics::counter!(
            crate::telemetry::HTTP_REQUESTS,
            labels(route.clone(), status_label.clone())
        )
        .increment(1);
        metrics::histogram!(
            crate::telemetry::HTTP_REQUEST_DURATION,
            labels(route, status_label)
        )
        .record(elapsed.as_secs_f64());

        // As i64: the OpenTelemetry layer records unsigned integers as text.
        span.record("http.response.status_code", i64::from(status));
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            span.record("otel.status_code", "error");
            tracing::error!(status, duration_ms, "request completed");
        } else if status >= 400 {
            tracing::warn!(status, duration_ms, "request completed");
        } else {
            tracing::info!(status, duration_ms, "request completed");
        }
        response
    }
}

/// The status as a label value, without an allocation for the common ones.
fn status_label(status: u16) -> SharedString {
    let code = match status {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return SharedString::from(status.to_string()),
    };
    SharedString::const_str(code)
}

/// The method as a label value, without an allocation for the standard ones.
fn method_label(method: &Method) -> SharedString {
    let name = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => return SharedString::from(method.as_str().to_owned()),
    };
    SharedString::const_str(name)
}
