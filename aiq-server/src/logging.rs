//! The log subscriber: readable lines in development, one JSON object per line in production,
//! and the OpenTelemetry layers when the export is on (spans, log records).

use aiq_core::Config;
use aiq_core::config::LogLevel;
use aiq_core::telemetry::CLIENT_SPANS;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

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

/// Installs the process-wide subscriber.
pub(crate) fn install(config: &Config, providers: &Providers) {
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
    let printed = logs.clone().with_target(CLIENT_SPANS, LevelFilter::OFF);
    layers.push(if config.app.environment.is_production() {
        tracing_subscriber::fmt::layer()
            .fmt_fields(crate::json_lines::LineFields)
            .event_format(crate::json_lines::JsonLines)
            .with_filter(printed)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
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
}
