//! The OpenTelemetry providers (traces, metrics, logs) and their exporters.
//!
//! OTLP goes over HTTP with protobuf bodies to `OTEL_OTLP_ENDPOINT` + `/v1/traces`,
//! `/v1/metrics` and `/v1/logs` (a Grafana Cloud OTLP gateway URL works as it is), with the
//! `OTEL_EXPORTER_OTLP_HEADERS` on every request. Spans and log records are queued (bounded;
//! the overflow is dropped) and sent in batches by the SDK's own threads; metrics are collected
//! and sent every `OTEL_METRICS_EXPORT_INTERVAL_MILLIS`, cumulative (what Grafana Cloud's
//! Prometheus store expects). `console` prints them on standard output instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aiq_core::Config;
use aiq_core::config::{OtelConfig, OtelExporter};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SpanExporter,
};
use secrecy::ExposeSecret;

/// One export request may take this long (connecting included) before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// Spans or log records waiting for export; more are dropped (and counted by the SDK).
const MAX_QUEUE: usize = 2048;

/// A signal's flush-and-stop, run at exit.
pub(super) struct Shutdown {
    /// `traces`, `metrics` or `logs`.
    pub(super) signal: &'static str,
    pub(super) run: Box<dyn FnOnce() -> OTelSdkResult + Send>,
}

/// The providers the configuration asks for; all `None` unless `OTEL_ENABLED` with an
/// exporter other than `none`.
#[derive(Default)]
pub(crate) struct Providers {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
}

impl Providers {
    pub(super) fn new(config: &Config) -> Result<Self, String> {
        let otel = &config.otel;
        if !otel.enabled {
            return Ok(Self::default());
        }
        let resource = Resource::builder()
            .with_service_name(otel.service_name.clone())
            .with_attributes([
                KeyValue::new("service.version", config.app.version.clone()),
                KeyValue::new(
                    "deployment.environment.name",
                    config.app.environment.name().to_owned(),
                ),
            ])
            .build();
        match otel.exporter {
            OtelExporter::None => Ok(Self::default()),
            OtelExporter::Console => Ok(Self::with_exporters(
                otel,
                resource,
                opentelemetry_stdout::SpanExporter::default(),
                || {
                    Ok(opentelemetry_stdout::MetricExporter::builder()
                        .with_temporality(Temporality::Cumulative)
                        .build())
                },
                || Ok(opentelemetry_stdout::LogExporter::default()),
            )?),
            OtelExporter::Otlp => {
                let otlp = Otlp::new(otel)?;
                Ok(Self::with_exporters(
                    otel,
                    resource,
                    otlp.spans()?,
                    || otlp.metrics(),
                    || otlp.logs(),
                )?)
            }
        }
    }

    fn with_exporters<S, M, L>(
        otel: &OtelConfig,
        resource: Resource,
        spans: S,
        metrics: impl FnOnce() -> Result<M, String>,
        logs: impl FnOnce() -> Result<L, String>,
    ) -> Result<Self, String>
    where
        S: SpanExporter + 'static,
        M: PushMetricExporter,
        L: LogExporter + 'static,
    {
        let batches = opentelemetry_sdk::trace::BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUE)
            .build();
        let tracer = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                otel.traces_sample_rate,
            ))))
            .with_span_processor(
                BatchSpanProcessor::builder(spans)
                    .with_batch_config(batches)
                    .build(),
            )
            .build();
        let meter = if otel.metrics_enabled {
            let reader = PeriodicReader::builder(metrics()?)
                .with_interval(otel.metrics_export_interval)
                .build();
            Some(
                SdkMeterProvider::builder()
                    .with_resource(resource.clone())
                    .with_reader(reader)
                    .build(),
            )
        } else {
            None
        };
        let logger = if otel.logs_enabled {
            let batches = opentelemetry_sdk::logs::BatchConfigBuilder::default()
                .with_max_queue_size(MAX_QUEUE)
                .build();
            Some(
                SdkLoggerProvider::builder()
                    .with_resource(resource)
                    .with_log_processor(
                        BatchLogProcessor::builder(logs()?)
                            .with_batch_config(batches)
                            .build(),
                    )
                    .build(),
            )
        } else {
            None
        };
        Ok(Self {
            tracer: Some(tracer),
            meter,
            logger,
        })
    }

    /// The tracer the request spans go to, when traces are exported.
    pub(crate) fn tracer(&self) -> Option<SdkTracer> {
        self.tracer
            .as_ref()
            .map(|provider| provider.tracer(env!("CARGO_PKG_NAME")))
    }

    /// Where log records go, when `OTEL_LOGS_ENABLED`.
    pub(crate) fn logger(&self) -> Option<&SdkLoggerProvider> {
        self.logger.as_ref()
    }

    /// Where metric records go, when `OTEL_METRICS_ENABLED`.
    pub(super) fn meter(&self) -> Option<&SdkMeterProvider> {
        self.meter.as_ref()
    }

    pub(super) fn traces(&self) -> bool {
        self.tracer.is_some()
    }

    /// What is exported where, for the start-up log; `None` when nothing is.
    pub(super) fn summary(&self, otel: &OtelConfig) -> Option<String> {
        self.tracer.as_ref()?;
        let mut signals = vec!["traces"];
        if self.meter.is_some() {
            signals.push("metrics");
        }
        if self.logger.is_some() {
            signals.push("logs");
        }
        let destination = match otel.exporter {
            OtelExporter::Otlp => format!("OTLP/HTTP to {}", base_url(&otel.otlp_endpoint)),
            OtelExporter::Console | OtelExporter::None => "standard output".to_owned(),
        };
        Some(format!(
            "{} to {destination} as {}",
            signals.join(", "),
            otel.service_name
        ))
    }

    /// Each provider's flush-and-stop, named by signal: traces and metrics, then logs apart
    /// (to be stopped last, as the other two may still log).
    pub(super) fn shutdowns(&self, timeout: Duration) -> (Vec<Shutdown>, Option<Shutdown>) {
        let mut first = Vec::new();
        if let Some(tracer) = self.tracer.clone() {
            first.push(Shutdown {
                signal: "traces",
                run: Box::new(move || tracer.shutdown_with_timeout(timeout)),
            });
        }
        if let Some(meter) = self.meter.clone() {
            first.push(Shutdown {
                signal: "metrics",
                run: Box::new(move || meter.shutdown_with_timeout(timeout)),
            });
        }
        let logs = self.logger.clone().map(|logger| Shutdown {
            signal: "logs",
            run: Box::new(move || logger.shutdown_with_timeout(timeout)),
        });
        (first, logs)
    }
}

/// `OTEL_OTLP_ENDPOINT` without a trailing slash, so the signal paths can be appended.
fn base_url(endpoint: &str) -> &str {
    endpoint.trim().trim_end_matches('/')
}

/// The parts every OTLP exporter shares.
struct Otlp {
    client: reqwest::blocking::Client,
    base: String,
    headers: HashMap<String, String>,
}

impl Otlp {
    fn new(otel: &OtelConfig) -> Result<Self, String> {
        let headers = match &otel.otlp_headers {
            Some(text) => parse_headers(text.expose_secret())?,
            None => HashMap::new(),
        };
        Ok(Self {
            client: http_client()?,
            base: base_url(&otel.otlp_endpoint).to_owned(),
            headers,
        })
    }

    fn url(&self, signal: &str) -> String {
        format!("{}/v1/{signal}", self.base)
    }

    fn spans(&self) -> Result<opentelemetry_otlp::SpanExporter, String> {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(self.client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.url("traces"))
            .with_headers(self.headers.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("OTEL_OTLP_ENDPOINT: cannot export traces: {e}"))
    }

    fn metrics(&self) -> Result<opentelemetry_otlp::MetricExporter, String> {
        opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(self.client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.url("metrics"))
            .with_headers(self.headers.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .with_temporality(Temporality::Cumulative)
            .build()
            .map_err(|e| format!("OTEL_OTLP_ENDPOINT: cannot export metrics: {e}"))
    }

    fn logs(&self) -> Result<opentelemetry_otlp::LogExporter, String> {
        opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_http_client(self.client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(self.url("logs"))
            .with_headers(self.headers.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("OTEL_OTLP_ENDPOINT: cannot export logs: {e}"))
    }
}

/// The exporters' HTTP client: reqwest's blocking client (the SDK exports from its own
/// threads, outside the tokio runtime), TLS through rustls with the ring provider and the
/// Mozilla roots, handed over ready-made as reqwest has no process-wide provider here.
fn http_client() -> Result<reqwest::blocking::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("OTLP TLS configuration: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(EXPORT_TIMEOUT)
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("OTLP HTTP client: {e}"))
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `Key=Value` pairs separated by commas, split at the first
/// `=`, both sides trimmed; a pair with an empty key or value is skipped. Values may be
/// URL-encoded (`Basic%20abc`); the exporter decodes them.
fn parse_headers(text: &str) -> Result<HashMap<String, String>, String> {
    let mut headers = HashMap::new();
    for pair in text.split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            if pair.trim().is_empty() {
                continue;
            }
            return Err(
                "OTEL_EXPORTER_OTLP_HEADERS: must be Key=Value pairs separated by commas".into(),
            );
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            continue;
        }
        if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_HEADERS: {key:?} is not a valid header name"
            ));
        }
        headers.insert(key.to_owned(), value.to_owned());
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::{base_url, parse_headers};

    #[test]
    fn headers_are_trimmed_pairs_split_at_the_first_equals_sign() {
        let headers =
            parse_headers(" Authorization = Basic%20dTpw== , X-Scope-OrgID=42,, empty= ,=x")
                .unwrap();
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert_eq!(headers["Authorization"], "Basic%20dTpw==");
        assert_eq!(headers["X-Scope-OrgID"], "42");
        assert!(parse_headers("").unwrap().is_empty());
    }

    #[test]
    fn a_malformed_header_is_an_error_naming_the_variable() {
        for bad in ["Authorization", "bad header=x"] {
            let err = parse_headers(bad).unwrap_err();
            assert!(err.starts_with("OTEL_EXPORTER_OTLP_HEADERS:"), "{err}");
        }
    }

    #[test]
    fn the_signal_paths_go_after_the_base_url() {
        assert_eq!(
            base_url(" https://otlp-gateway.example.net/otlp/ "),
            "https://otlp-gateway.example.net/otlp"
        );
    }
}
