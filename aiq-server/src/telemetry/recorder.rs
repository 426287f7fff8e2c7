//! The process-wide `metrics` recorder: Prometheus, an OpenTelemetry meter, or both.
//!
//! Both see every record under the same name (`http.server.requests`...) and the same
//! histogram buckets ([`aiq_core::telemetry::HISTOGRAMS`]). OTLP keeps the dots; Prometheus
//! writes the names as [`aiq_core::telemetry::exposition_names`] says (`http_server_requests_total`),
//! which are the names Grafana Cloud derives from the OTLP export too.

use aiq_core::telemetry::HISTOGRAMS;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_opentelemetry::{OpenTelemetryMetrics, OpenTelemetryRecorder};
use metrics_util::layers::FanoutBuilder;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// Installs the recorder; returns the Prometheus handle when `prometheus` is on.
pub(super) fn install(
    prometheus: bool,
    meter: Option<&SdkMeterProvider>,
) -> Result<Option<PrometheusHandle>, String> {
    let prometheus = prometheus.then(prometheus_recorder).transpose()?;
    let handle = prometheus.as_ref().map(|recorder| recorder.handle());
    let otel = meter.map(|provider| {
        let meter = provider.meter(env!("CARGO_PKG_NAME"));
        let mut recorder = OpenTelemetryRecorder::new(OpenTelemetryMetrics::new(meter));
        for (name, bounds) in HISTOGRAMS {
            recorder.set_histogram_bounds_mut(std::iter::once(name), bounds);
        }
        recorder
    });
    let installed = match (prometheus, otel) {
        (None, None) => return Ok(None),
        (Some(prometheus), None) => metrics::set_global_recorder(prometheus).map_err(failed),
        (None, Some(otel)) => metrics::set_global_recorder(otel).map_err(failed),
        (Some(prometheus), Some(otel)) => metrics::set_global_recorder(
            FanoutBuilder::default()
                .add_recorder(prometheus)
                .add_recorder(otel)
                .build(),
        )
        .map_err(failed),
    };
    installed.map(|()| handle)
}

fn failed<R>(error: metrics::SetRecorderError<R>) -> String {
    format!("cannot install the metrics recorder: {error}")
}

fn prometheus_recorder() -> Result<metrics_exporter_prometheus::PrometheusRecorder, String> {
    // Counters end in `_total`, as OpenMetrics recommends and as Grafana Cloud names them.
    let mut builder = PrometheusBuilder::new().with_recommended_naming(true);
    for (name, bounds) in HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), bounds)
            .map_err(|e| format!("Prometheus buckets of {name}: {e}"))?;
    }
    Ok(builder.build_recorder())
}
