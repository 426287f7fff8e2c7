//! The process-wide `metrics` recorder: Prometheus, an OpenTelemetry meter, or both.
//!
//! Both see every record under the same name (`http.server.requests`...) and the same
//! histogram buckets ([`aiq_core::telemetry::HISTOGRAMS`]). OTLP keeps the dots; Prometheus
//! writes the names as [`aiq_core::telemetry::exposition_names`] says (`http_server_requests_total`),
//! which are the names Grafana Cloud derives from the OTLP export too.
//!
//! Every series carries a `service_name` label (`OTEL_SERVICE_NAME`), in the exposition and as a
//! data point attribute in the OTLP export, so the deployment guide's selectors
//! (`{service_name="aiq-backend"}`) find the same series scraped or through Grafana Cloud. Every
//! counter and gauge of the catalogue exists from start-up at 0, so a panel shows 0, not "No
//! data", until the first event.

use aiq_core::telemetry::{HISTOGRAMS, Kind, METRICS};
use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_opentelemetry::{OpenTelemetryMetrics, OpenTelemetryRecorder};
use metrics_util::layers::FanoutBuilder;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;

/// The label every series carries.
const SERVICE_NAME_LABEL: &str = "service_name";

/// Installs the recorder, labelling every series with `service_name`, and registers the
/// catalogue's counters and gauges at 0; returns the Prometheus handle when `prometheus` is on.
pub(super) fn install(
    prometheus: bool,
    meter: Option<&SdkMeterProvider>,
    service_name: &str,
) -> Result<Option<PrometheusHandle>, String> {
    let prometheus = prometheus
        .then(|| prometheus_recorder(service_name))
        .transpose()?;
    let handle = prometheus.as_ref().map(|recorder| recorder.handle());
    let otel = meter.map(|provider| {
        let meter = provider.meter(env!("CARGO_PKG_NAME"));
        let mut recorder = OpenTelemetryRecorder::new(OpenTelemetryMetrics::new(meter));
        for (name, bounds) in HISTOGRAMS {
            recorder.set_histogram_bounds_mut(std::iter::once(name), bounds);
        }
        WithLabel {
            inner: recorder,
            label: Label::new(SERVICE_NAME_LABEL, service_name.to_owned()),
        }
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
    installed?;
    start_at_zero();
    Ok(handle)
}

/// Registers every counter and gauge of the catalogue with nothing added, so each is exposed at
/// 0 from start-up (a gauge already set keeps its value).
fn start_at_zero() {
    for (name, kind) in METRICS {
        match kind {
            Kind::Counter => metrics::counter!(name).increment(0),
            Kind::Gauge => metrics::gauge!(name).increment(0.0),
            Kind::Histogram => {}
        }
    }
}

/// A recorder that adds `label` to every series it registers. The Prometheus exporter adds its
/// global label at render time for free; the OpenTelemetry recorder has no such setting, so its
/// series get the label here (a key copy per registration, on the export path only).
struct WithLabel<R> {
    inner: R,
    label: Label,
}

impl<R> WithLabel<R> {
    fn labelled(&self, key: &Key) -> Key {
        key.with_extra_labels(vec![self.label.clone()])
    }
}

impl<R: Recorder> Recorder for WithLabel<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.inner.register_counter(&self.labelled(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(&self.labelled(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(&self.labelled(key), metadata)
    }
}

fn failed<R>(error: metrics::SetRecorderError<R>) -> String {
    format!("cannot install the metrics recorder: {error}")
}

fn prometheus_recorder(
    service_name: &str,
) -> Result<metrics_exporter_prometheus::PrometheusRecorder, String> {
    // Counters end in `_total`, as OpenMetrics recommends and as Grafana Cloud names them.
    let mut builder = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .add_global_label(SERVICE_NAME_LABEL, service_name);
    for (name, bounds) in HISTOGRAMS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), bounds)
            .map_err(|e| format!("Prometheus buckets of {name}: {e}"))?;
    }
    Ok(builder.build_recorder())
}
