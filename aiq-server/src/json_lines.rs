//! Production log lines: one flat JSON object per event.
//!
//! Each line has `timestamp` (RFC 3339 UTC), `level`, `target`, the fields of the spans the
//! event happened in, lifted to the top level, then the event's own fields (`message`...). A
//! request's span carries the method, the route and `request_id`, so every line logged while
//! serving a request names them (as `method` and `route`), and the completion line adds
//! `status` and `duration_ms`. The span's other OpenTelemetry attributes (`otel.*`,
//! `url.path`...) are for the trace, not the line. When the line is logged inside a sampled,
//! exported span it also carries the span's `trace_id` and `span_id` (hex), so logs and traces
//! join up. A key appears once: an event field wins over a span field of the same name.
//!
//! One line is written per request at least, so it is written straight into a buffer, without
//! an intermediate map: span fields are stored as JSON once, when the span is made, and spliced
//! into each line.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as flat JSON lines, with the span fields [`LineFields`] kept.
pub(crate) struct JsonLines;

/// Keeps the span fields the lines carry, as a JSON object: plain names as they are, the
/// OpenTelemetry attributes of [`SPAN_FIELDS`] under their short names, other dotted names
/// (attributes for the trace only) not at all. Recording a dropped field later (the status
/// code at the end of a request) costs nothing.
pub(crate) struct LineFields;

/// The span attributes that lines carry, under their short names.
const SPAN_FIELDS: [(&str, &str); 2] = [("http.request.method", "method"), ("http.route", "route")];

/// The name a span field has in the lines, if it has one.
fn span_key(name: &'static str) -> Option<&'static str> {
    if !name.contains('.') {
        return Some(name);
    }
    SPAN_FIELDS
        .iter()
        .find(|(long, _)| *long == name)
        .map(|(_, short)| *short)
}

/// A JSON object being written, member by member.
struct Object {
    buf: Vec<u8>,
    members: usize,
}

impl Object {
    /// An empty object with room for `capacity` bytes.
    fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        Self { buf, members: 0 }
    }

    fn key(&mut self, key: &str) -> fmt::Result {
        if self.members > 0 {
            self.buf.push(b',');
        }
        self.members += 1;
        serde_json::to_writer(&mut self.buf, key).map_err(|_| fmt::Error)?;
        self.buf.push(b':');
        Ok(())
    }

    /// A member whose value is text that needs no escaping (digits, hex, ASCII punctuation).
    fn plain(&mut self, key: &str, text: &str) -> fmt::Result {
        self.key(key)?;
        self.buf.push(b'"');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.push(b'"');
        Ok(())
    }

    /// A member whose value is `bytes` in lowercase hex (trace and span ids).
    fn hex(&mut self, key: &str, bytes: &[u8]) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.key(key)?;
        self.buf.push(b'"');
        for byte in bytes {
            self.buf.push(DIGITS[usize::from(byte >> 4)]);
            self.buf.push(DIGITS[usize::from(byte & 0x0f)]);
        }
        self.buf.push(b'"');
        Ok(())
    }

    fn member(&mut self, key: &str, value: &impl serde::Serialize) -> fmt::Result {
        self.key(key)?;
        serde_json::to_writer(&mut self.buf, value).map_err(|_| fmt::Error)
    }

    /// The members of another object (`{...}`), as they are.
    fn splice(&mut self, object: &[u8]) {
        let body = &object[1..object.len() - 1];
        if !body.is_empty() {
            if self.members > 0 {
                self.buf.push(b',');
            }
            self.members += 1;
            self.buf.extend_from_slice(body);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }
}

/// Writes fields into an [`Object`], a span's through [`span_key`], and notes their names.
struct Members<'a> {
    object: &'a mut Object,
    of_span: bool,
    names: Vec<&'static str>,
    failed: bool,
}

impl Members<'_> {
    fn write(&mut self, field: &Field, value: &impl serde::Serialize) {
        let key = if self.of_span {
            span_key(field.name())
        } else {
            Some(field.name())
        };
        if let Some(key) = key {
            self.failed |= self.object.member(key, value).is_err();
            self.names.push(key);
        }
    }
}

/// A `Debug` value written as a JSON string, escaped on the fly.
struct Debugged<'a>(&'a dyn fmt::Debug);

impl serde::Serialize for Debugged<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:?}", self.0))
    }
}

impl Visit for Members<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.write(field, &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write(field, &value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.write(field, &value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.write(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, &Debugged(value));
    }
}

/// The kept fields of `fields` as a JSON object's text, and their names.
fn kept(fields: impl RecordFields) -> Result<(String, Vec<&'static str>), fmt::Error> {
    // A request span's kept fields (method, route, request id) are about 100 bytes.
    let mut object = Object::new(128);
    let mut members = Members {
        object: &mut object,
        of_span: true,
        names: Vec::new(),
        failed: false,
    };
    fields.record(&mut members);
    let (failed, names) = (members.failed, members.names);
    if failed {
        return Err(fmt::Error);
    }
    let text = String::from_utf8(object.finish()).map_err(|_| fmt::Error)?;
    Ok((text, names))
}

impl<'writer> FormatFields<'writer> for LineFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let (text, names) = kept(fields)?;
        if names.is_empty() {
            return Ok(());
        }
        writer.write_str(&text)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let (text, names) = kept(fields)?;
        if names.is_empty() {
            return Ok(());
        }
        if current.fields.is_empty() {
            current.fields = text;
            return Ok(());
        }
        let (Ok(Value::Object(mut merged)), Ok(Value::Object(added))) = (
            serde_json::from_str(&current.fields),
            serde_json::from_str::<Value>(&text),
        ) else {
            return Err(fmt::Error);
        };
        merged.extend(added);
        current.fields = Value::Object(merged).to_string();
        Ok(())
    }
}

/// Whether the JSON object text `object` has a member named `key` (a false positive, from a
/// string value that looks like a member, only costs the slow path).
fn has_member(object: &str, key: &str) -> bool {
    object
        .match_indices(key)
        .any(|(at, _)| object[..at].ends_with('"') && object[at + key.len()..].starts_with("\":"))
}

impl<S> FormatEvent<S, LineFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, LineFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // The event's own fields first: they decide which span fields are left out.
        let mut own = Object::new(128);
        let mut members = Members {
            object: &mut own,
            of_span: false,
            names: Vec::new(),
            failed: false,
        };
        event.record(&mut members);
        let (failed, names) = (members.failed, members.names);
        if failed {
            return Err(fmt::Error);
        }

        let meta = event.metadata();
        // A request's completion line is about 300 bytes: room for it without a reallocation.
        let mut line = Object::new(512);
        line.plain(
            "timestamp",
            aiq_core::time::Rfc3339::new(aiq_core::time::now()).as_str(),
        )?;
        line.plain("level", meta.level().as_str())?;
        // Module paths (`aiq_core::middleware::observe`) need no escaping; a custom target
        // might.
        if meta
            .target()
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            line.plain("target", meta.target())?;
        } else {
            line.member("target", &meta.target())?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<LineFields>>() else {
                    continue;
                };
                if fields.is_empty() {
                    continue;
                }
                if !names.iter().any(|name| has_member(fields, name)) {
                    line.splice(fields.as_bytes());
                } else if let Ok(members) = serde_json::from_str::<Map<String, Value>>(fields) {
                    for (key, value) in members.iter().filter(|(k, _)| !names.contains(&k.as_str()))
                    {
                        line.member(key, value)?;
                    }
                }
            }
        }
        let context = opentelemetry::Context::current();
        let span = context.span();
        let span = span.span_context();
        if span.is_valid() && span.is_sampled() {
            line.hex("trace_id", &span.trace_id().to_bytes())?;
            line.hex("span_id", &span.span_id().to_bytes())?;
        }
        line.splice(&own.finish());
        let line = String::from_utf8(line.finish()).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}
