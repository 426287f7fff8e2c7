//! Continuing the caller's trace: a request carrying a W3C `traceparent` gets a span whose
//! parent is the caller's, so the trace runs through both services (and the sampling decision
//! of a parent-based sampler follows the caller's).

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The hook given to `AiqBuilder::on_request_span`: makes the caller's span, if the headers
/// name a valid one, the parent of `span`.
pub(crate) fn continue_trace(headers: &HeaderMap, span: &tracing::Span) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid()
        && let Err(error) = span.set_parent(parent)
    {
        tracing::debug!(%error, "cannot continue the caller's trace");
    }
}

/// Header lookup for the propagator.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
