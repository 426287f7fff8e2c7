//! A local OTLP/HTTP receiver: it answers every export as a collector would and keeps the
//! requests, whose protobuf bodies the tests decode with the OpenTelemetry proto types.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::net::TcpListener;

/// One export request as it arrived.
#[derive(Debug, Clone)]
pub struct Export {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

type Received = Arc<Mutex<Vec<Export>>>;

pub struct Receiver {
    pub addr: SocketAddr,
    received: Received,
}

async fn record(
    State(received): State<Received>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ([(header::HeaderName, &'static str); 1], Vec<u8>) {
    received.lock().unwrap().push(Export {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    // Every Export*ServiceResponse without a partial success encodes to no bytes.
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        Vec::new(),
    )
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Received::default();
        let app = Router::new()
            .route("/otlp/v1/traces", post(record))
            .route("/otlp/v1/metrics", post(record))
            .route("/otlp/v1/logs", post(record))
            .with_state(Arc::clone(&received));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, received }
    }

    /// The base URL to give as `OTEL_OTLP_ENDPOINT` (a path and a trailing slash, as a
    /// Grafana Cloud gateway URL may have).
    pub fn endpoint(&self) -> String {
        format!("http://{}/otlp/", self.addr)
    }

    pub fn exports(&self) -> Vec<Export> {
        self.received.lock().unwrap().clone()
    }

    fn bodies(&self, signal: &str) -> Vec<Bytes> {
        self.exports()
            .into_iter()
            .filter(|export| export.path == format!("/otlp/v1/{signal}"))
            .map(|export| export.body)
            .collect()
    }

    /// Every span received, with the resource it came from.
    pub fn spans(&self) -> Vec<(Resource, Span)> {
        let mut spans = Vec::new();
        for body in self.bodies("traces") {
            let request = ExportTraceServiceRequest::decode(body).expect("a trace export");
            for resource_spans in request.resource_spans {
                let resource = resource_spans.resource.unwrap_or_default();
                for scope in resource_spans.scope_spans {
                    for span in scope.spans {
                        spans.push((resource.clone(), span));
                    }
                }
            }
        }
        spans
    }

    /// Every metric export, decoded.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.bodies("metrics")
            .into_iter()
            .map(|body| ExportMetricsServiceRequest::decode(body).expect("a metrics export"))
            .collect()
    }

    /// The names of the metrics received, with the resources they came from.
    pub fn metric_names(&self) -> Vec<(Resource, String)> {
        let mut names = Vec::new();
        for request in self.metrics() {
            for resource_metrics in request.resource_metrics {
                let resource = resource_metrics.resource.unwrap_or_default();
                for scope in resource_metrics.scope_metrics {
                    for metric in scope.metrics {
                        names.push((resource.clone(), metric.name));
                    }
                }
            }
        }
        names
    }

    /// The attributes of every number data point of the sum (counter) `name`.
    pub fn counter_points(&self, name: &str) -> Vec<Vec<KeyValue>> {
        use opentelemetry_proto::tonic::metrics::v1::metric::Data;
        let mut points = Vec::new();
        for request in self.metrics() {
            for resource_metrics in request.resource_metrics {
                for scope in resource_metrics.scope_metrics {
                    for metric in scope.metrics.into_iter().filter(|m| m.name == name) {
                        if let Some(Data::Sum(sum)) = metric.data {
                            points.extend(sum.data_points.into_iter().map(|p| p.attributes));
                        }
                    }
                }
            }
        }
        points
    }

    /// Every log record received, with the resource it came from.
    pub fn logs(&self) -> Vec<(Resource, LogRecord)> {
        let mut records = Vec::new();
        for body in self.bodies("logs") {
            let request = ExportLogsServiceRequest::decode(body).expect("a logs export");
            for resource_logs in request.resource_logs {
                let resource = resource_logs.resource.unwrap_or_default();
                for scope in resource_logs.scope_logs {
                    for record in scope.log_records {
                        records.push((resource.clone(), record));
                    }
                }
            }
        }
        records
    }
}

/// The string value of attribute `key`.
pub fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?
    {
        any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}

/// The integer value of attribute `key`.
pub fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?
    {
        any_value::Value::IntValue(value) => Some(*value),
        _ => None,
    }
}

/// Lower-case hex, as trace and span ids are written in `traceparent` and log lines.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
