//! The Prometheus exposition on a port of its own (`METRICS_PORT`), so the API port need not
//! serve it: `GET /metrics` on `HOST:METRICS_PORT`; anything else is a 404.

use std::future::Future;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the exposition on `listener` until `stop` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], text) }
        }),
    );
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(%error, "the metrics listener failed");
    }
}
