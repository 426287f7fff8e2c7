//! The log subscriber: readable lines in development, one JSON object per line in production,
//! and the OpenTelemetry layers when the export is on (spans, log records).
//!
//! The server's lines are formatted on the thread that logs and written to standard output in
//! batches by a thread of their own ([`line_writer`](crate::line_writer)): a slow reader of
//! stdout costs memory, not request time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aiq_core::Config;
use aiq_core::config::LogLevel;
use aiq_core::telemetry::CLIENT_SPANS;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::{DynFilterFn, FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::line_writer::{Flush, Lines};
use crate::telemetry::Providers;

type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

/// Crates whose own logging is noise unless someone asked for debug output; the export's
/// HTTP client and the SDK are among them, and never reach the exported logs (which would
/// feed the exporter its own complaints).
const EXPORT_STACK: [&str; 5] = ["opentelemetry", "reqwest", "hyper", "h2", "tower"];

fn level(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

/// Installs the process-wide subscriber, with the lines handed to a writer thread when
/// `batched` (the server) or written at once (the one-shot commands, which print their results
/// on stdout too). Keep the returned [`Flush`] until the last line is logged.
pub(crate) fn install(
    config: &Config,
    providers: &Providers,
    batched: bool,
) -> Result<Option<Flush>, String> {
    let (stdout, flush) = if batched {
        let (lines, flush) = Lines::batched(std::io::stdout())
            .map_err(|e| format!("cannot start the log writer thread: {e}"))?;
        (lines, Some(flush))
    } else {
        (Lines::direct(), None)
    };
    let level = level(config.app.log_level);
    let quiet = if level >= LevelFilter::DEBUG {
        level
    } else {
        LevelFilter::WARN
    };
    let logs = ["tokio_postgres", "refinery_core"]
        .into_iter()
        .chain(EXPORT_STACK)
        .fold(Targets::new().with_default(level), |targets, target| {
            targets.with_target(target, quiet)
        });
    let mut layers: Vec<Boxed> = Vec::new();
    // The storage and Redis spans hold no log lines: only the trace export needs them.
    let printed = logs
        .clone()
        .with_target(CLIENT_SPANS, LevelFilter::OFF)
        .and(export_errors());
    layers.push(if config.app.environment.is_production() {
        tracing_subscriber::fmt::layer()
            .fmt_fields(crate::json_lines::LineFields)
            .event_format(crate::json_lines::JsonLines)
            .with_writer(stdout)
            .with_filter(printed)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(stdout)
            .with_filter(printed)
            .boxed()
    });
    if let Some(tracer) = providers.tracer() {
        // The service's own spans, whatever LOG_LEVEL says. Not the events: log lines are
        // logs (carrying the trace and span ids), not copies inside the spans.
        let ours = level.max(LevelFilter::INFO);
        let spans = Targets::new()
            .with_target("aiq_core", ours)
            .with_target("aiq_server", ours)
            .with_target(CLIENT_SPANS, LevelFilter::INFO)
            .and(filter_fn(|meta| meta.is_span()));
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_tracked_inactivity(false)
                .with_threads(false)
                .with_location(false)
                .with_target(false)
                .with_filter(spans)
                .boxed(),
        );
    }
    if let Some(logger) = providers.logger() {
        let exported = EXPORT_STACK.into_iter().fold(logs, |targets, target| {
            targets.with_target(target, LevelFilter::OFF)
        });
        layers.push(
            OpenTelemetryTracingBridge::new(logger)
                .with_filter(exported)
                .boxed(),
        );
    }
    tracing_subscriber::registry().with(layers).init();
    Ok(flush)
}

/// How often a failed export of one signal is logged: the SDK logs every failed batch (spans
/// every 5 s, log records every second), which with an unreachable collector buries the
/// service's own lines.
const EXPORT_ERROR_EVERY: Duration = Duration::from_secs(60);

/// Whether an event is the SDK's report of a failed export (`BatchSpanProcessor.ExportError`,
/// `BatchLogProcessor.ExportError`, `PeriodicReader.ExportError`).
fn is_export_error(meta: &Metadata<'_>) -> bool {
    meta.is_event()
        && meta.target().starts_with("opentelemetry")
        && meta.name().ends_with(".ExportError")
}

/// Lets the SDK's failed-export errors through at most once per [`EXPORT_ERROR_EVERY`] and
/// kind (`BatchSpanProcessor.ExportError`...); every other event passes, decided once per call site (nothing is added to the
/// path of the service's own lines).
fn export_errors<S: Subscriber>() -> impl Filter<S> {
    let last: Mutex<HashMap<&'static str, Instant>> = Mutex::default();
    DynFilterFn::new(move |meta, _| {
        if !is_export_error(meta) {
            return true;
        }
        let now = Instant::now();
        let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
        match last.get(meta.name()) {
            Some(at) if now.duration_since(*at) < EXPORT_ERROR_EVERY => false,
            _ => {
                last.insert(meta.name(), now);
                true
            }
        }
    })
    // Every level may pass: the level is the other filters' business (and a filter without a
    // hint would take the process-wide level hint away).
    .with_max_level_hint(LevelFilter::TRACE)
    .with_callsite_filter(|meta| {
        if is_export_error(meta) {
            Interest::sometimes()
        } else {
            Interest::always()
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;

    /// Counts the events that reach it.
    struct Count(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Count {
        fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn failed_exports_are_logged_once_a_minute_per_kind_and_other_events_always() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber =
            tracing_subscriber::registry().with(Count(seen.clone()).with_filter(export_errors()));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                tracing::error!(name: "BatchSpanProcessor.ExportError", target: "opentelemetry_sdk", "failed");
                tracing::error!(name: "PeriodicReader.ExportError", target: "opentelemetry_sdk", "failed");
                tracing::error!(name: "BatchSpanProcessor.Shutdown.Error", target: "opentelemetry_sdk", "failed");
                tracing::error!("the service's own error");
            }
        });
        // One per export kind, and every other event (the SDK's other errors included).
        assert_eq!(seen.load(Ordering::Relaxed), 1 + 1 + 5 + 5);
    }
}
