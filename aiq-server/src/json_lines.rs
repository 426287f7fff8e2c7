//! Production log lines: one flat JSON object per event.
//!
//! Each line has `timestamp` (RFC 3339 UTC), `level`, `target`, `message`, the event's own fields
//! and the fields of the spans it happened in, lifted to the top level. A request's span carries
//! the method, the route and `request_id`, so every line logged while serving a request names
//! them (as `method` and `route`), and the completion line adds `status` and `duration_ms`.
//! The span's other OpenTelemetry attributes (`otel.*`, `url.path`...) are for the trace, not
//! the line. When the line is logged inside a sampled, exported span it also carries the
//! span's `trace_id` and `span_id` (hex), so logs and traces join up.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as flat JSON lines (span fields stored by `JsonFields`).
pub(crate) struct JsonLines;

/// The request span's OpenTelemetry attributes that lines carry, under their short names. Its
/// other dotted fields stay out of the lines.
const SPAN_FIELDS: [(&str, &str); 2] = [("http.request.method", "method"), ("http.route", "route")];

/// Adds a span's fields to `line`: plain names as they are, the attributes of [`SPAN_FIELDS`]
/// renamed, other dotted names (OpenTelemetry attributes) left out.
fn lift(line: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (name, value) in fields {
        if !name.contains('.') {
            line.insert(name, value);
        } else if let Some((_, short)) = SPAN_FIELDS.iter().find(|(long, _)| *long == name) {
            line.insert((*short).to_owned(), value);
        }
    }
}

/// The trace and span ids of the active OpenTelemetry span, when it is sampled (exported).
fn trace_context(line: &mut Map<String, Value>) {
    let context = opentelemetry::Context::current();
    let span = context.span();
    let span = span.span_context();
    if span.is_valid() && span.is_sampled() {
        line.insert("trace_id".into(), Value::from(span.trace_id().to_string()));
        line.insert("span_id".into(), Value::from(span.span_id().to_string()));
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(aiq_core::time::format_rfc3339(aiq_core::time::now())),
        );
        line.insert("level".into(), Value::from(meta.level().as_str()));
        line.insert("target".into(), Value::from(meta.target()));
        // Outer spans first, so inner spans and then the event itself win a name clash.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields)
                {
                    lift(&mut line, fields);
                }
            }
        }
        trace_context(&mut line);
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}
