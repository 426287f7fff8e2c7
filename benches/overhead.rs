//! What the middleware and the instrumentation cost per request: `GET /v1/ping` in-process
//! through a bare axum router (the floor), through the whole aiq stack with nothing listening,
//! and through the stack instrumented as `aiq-server` runs it in production with every export
//! on: JSON log lines (the server's own formatter, handed to its writer thread as in
//! production, which writes them to a sink instead of standard output), spans sampled into an
//! OpenTelemetry tracer (`tracing-opentelemetry`, as `OTEL_ENABLED`), log records to an
//! OpenTelemetry logger (`OTEL_LOGS_ENABLED`), and every metric record going to both a
//! Prometheus recorder and an OpenTelemetry meter.
//!
//! ```text
//! cargo bench -p aiq-benches --bench overhead
//! ```
//! The instrumented overhead is the third time minus the first. Spans go through the batch
//! processor's queue as in production, log records through the batch log processor's; the
//! exporters behind them, which run on the SDK's own threads, discard them instead of sending
//! OTLP requests (as the meter's does).

use std::convert::Infallible;
use std::time::Duration;

use aiq_core::telemetry::{CLIENT_SPANS, HISTOGRAMS};
use aiq_core::{Aiq, AiqService, Config};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Empty};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use metrics_opentelemetry::{OpenTelemetryMetrics, OpenTelemetryRecorder};
use metrics_util::layers::FanoutBuilder;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use tower::ServiceExt;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

/// The allocator `aiq-server` runs with (all three cases use it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The production line formatter of `aiq-server` (a binary crate, so included by path).
#[path = "../aiq-server/src/json_lines.rs"]
#[allow(unreachable_pub)]
mod json_lines;

/// The writer thread the server hands its lines to.
#[path = "../aiq-server/src/line_writer.rs"]
#[allow(unreachable_pub, dead_code)]
mod line_writer;

async fn ping<S>(service: &S)
where
    S: tower::Service<
            http::Request<Empty<bytes::Bytes>>,
            Response = axum::response::Response,
            Error = Infallible,
        > + Clone,
{
    let request = http::Request::get("/v1/ping")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
    response.into_body().collect().await.unwrap();
}

fn service() -> AiqService {
    Aiq::builder(Config::default()).build().unwrap()
}

/// The subscriber `aiq-server` installs with `ENV=production`, `OTEL_ENABLED` and
/// `OTEL_LOGS_ENABLED` (lines at INFO to a sink), and the providers behind it.
fn subscriber() -> (
    impl tracing::Subscriber + Send + Sync,
    SdkTracerProvider,
    SdkLoggerProvider,
    line_writer::Flush,
) {
    let (writer, flush) = line_writer::Lines::batched(std::io::sink()).unwrap();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build();
    let logger = SdkLoggerProvider::builder()
        .with_log_processor(BatchLogProcessor::builder(Discard).build())
        .build();
    let printed = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target(CLIENT_SPANS, LevelFilter::OFF);
    let lines = tracing_subscriber::fmt::layer()
        .fmt_fields(json_lines::LineFields)
        .event_format(json_lines::JsonLines)
        .with_writer(writer)
        .with_filter(printed)
        .boxed();
    let spans = Targets::new()
        .with_target("aiq_core", LevelFilter::INFO)
        .with_target(CLIENT_SPANS, LevelFilter::INFO)
        .and(filter_fn(|meta| meta.is_span()));
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("aiq-server"))
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_target(false)
        .with_filter(spans)
        .boxed();
    let logs = OpenTelemetryTracingBridge::new(&logger)
        .with_filter(Targets::new().with_default(LevelFilter::INFO))
        .boxed();
    let layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![lines, traces, logs];
    (
        tracing_subscriber::registry().with(layers),
        provider,
        logger,
        flush,
    )
}

/// Prometheus and an OpenTelemetry meter behind one recorder, as `aiq-server` installs them
/// with `PROMETHEUS_METRICS_ENABLED` and `OTEL_METRICS_ENABLED`.
fn recorder() -> (impl metrics::Recorder, SdkMeterProvider) {
    let mut prometheus = PrometheusBuilder::new().with_recommended_naming(true);
    for (name, bounds) in HISTOGRAMS {
        prometheus = prometheus
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), bounds)
            .unwrap();
    }
    // Collected far less often than the bench runs: the records are aggregated, not sent.
    let reader = PeriodicReader::builder(Discard)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let mut otel = OpenTelemetryRecorder::new(OpenTelemetryMetrics::new(provider.meter("aiq")));
    for (name, bounds) in HISTOGRAMS {
        otel.set_histogram_bounds_mut(std::iter::once(name), bounds);
    }
    let fanout = FanoutBuilder::default()
        .add_recorder(prometheus.build_recorder())
        .add_recorder(otel)
        .build();
    (fanout, provider)
}

/// Where the batches of spans and the meter's collections go: nowhere (exporting is off the
/// request path).
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

impl LogExporter for Discard {
    async fn export(&self, _: LogBatch<'_>) -> OTelSdkResult {
        Ok(())
    }
}

impl PushMetricExporter for Discard {
    async fn export(&self, _: &ResourceMetrics) -> OTelSdkResult {
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bare = axum::Router::new().route(
        "/v1/ping",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"message": "pong"})) }),
    );
    let aiq = service();
    let mut group = c.benchmark_group("overhead");
    group.bench_function("GET /v1/ping: bare axum router", |b| {
        b.to_async(&runtime).iter(|| ping(&bare));
    });
    group.bench_function("GET /v1/ping: aiq stack, nothing listening", |b| {
        b.to_async(&runtime).iter(|| ping(&aiq));
    });
    // Thread-local subscriber and recorder: `block_on` polls the request on this thread.
    let (subscriber, tracer, logger, _lines) = subscriber();
    let (recorder, meter) = recorder();
    tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            group.bench_function(
                "GET /v1/ping: aiq stack, instrumented (JSON lines, OTel spans and logs, Prometheus + OTel metrics)",
                |b| b.to_async(&runtime).iter(|| ping(&aiq)),
            );
        });
    });
    group.finish();
    tracer.shutdown().unwrap();
    logger.shutdown().unwrap();
    meter.shutdown().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
