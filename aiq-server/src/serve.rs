//! The `serve` command: the service from the configuration, the listeners, signals.

use std::process::ExitCode;
use std::sync::Arc;

use aiq_core::config::RateLimitStorage;
use aiq_core::{Aiq, AiqBuilder, AiqService, Config};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::process::{stop_on_signal, until};
use crate::telemetry::Telemetry;

/// `aiq-server serve`: the service from the configuration, on `$HOST:$PORT` until SIGTERM or
/// SIGINT, then a drain of in-flight requests.
pub async fn run(config: Config, telemetry: &Telemetry) -> ExitCode {
    warn_about_development_settings(&config);
    let builder = match Aiq::builder(config.clone()).connect().await {
        Ok(builder) => builder,
        Err(error) => {
            tracing::error!("{error}; not starting");
            return ExitCode::FAILURE;
        }
    };
    let stopped = stop_on_signal();
    let builder = match with_metrics(builder, &config, telemetry, &stopped).await {
        Ok(builder) => builder,
        Err(code) => return code,
    };
    let builder = match with_dashboard(builder, &config) {
        Ok(builder) => builder,
        Err(code) => return code,
    };
    let builder = if telemetry.traces() {
        builder.on_request_span(crate::telemetry::propagation::continue_trace)
    } else {
        builder
    };
    let service = match builder.build() {
        Ok(service) => service,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    keep_gauges_synced(service.clone());
    let listener = match TcpListener::bind((config.app.host.as_str(), config.app.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, host = %config.app.host, port = config.app.port, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!(
            environment = config.app.environment.name(),
            "listening on http://{addr}"
        ),
        Err(error) => tracing::warn!(%error, "listening on an unknown address"),
    }
    let result = service.clone().serve(listener, until(stopped)).await;
    // Item statistics queued by the last submits; bounded so a stuck database cannot hold the
    // exit.
    if tokio::time::timeout(config.http.shutdown_timeout, service.settle())
        .await
        .is_err()
    {
        tracing::warn!("item statistics refresh still running at exit");
    }
    service.close();
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

fn warn_about_development_settings(config: &Config) {
    if config.security.secrets_generated {
        tracing::warn!(
            "SECRET_KEY / JWT_SECRET_KEY are not both set: using random secrets, so tokens stop working when the server restarts"
        );
    }
    if config.test_rules.disable_cadence {
        tracing::warn!("DISABLE_TEST_CADENCE is set: users can retake tests at any time");
    }
}

/// Prometheus metrics: on their own port (`METRICS_PORT`) or under the API prefix.
async fn with_metrics(
    builder: AiqBuilder,
    config: &Config,
    telemetry: &Telemetry,
    stopped: &watch::Receiver<bool>,
) -> Result<AiqBuilder, ExitCode> {
    let Some(handle) = telemetry.prometheus() else {
        return Ok(builder);
    };
    keep_histograms_drained(handle.clone());
    let Some(port) = config.otel.metrics_port else {
        tracing::info!("Prometheus metrics at {}/metrics", config.app.api_prefix);
        let handle = handle.clone();
        return Ok(builder.metrics_renderer(move || handle.render()));
    };
    let listener = match TcpListener::bind((config.app.host.as_str(), port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, port, "cannot listen on METRICS_PORT");
            return Err(ExitCode::FAILURE);
        }
    };
    match listener.local_addr() {
        Ok(addr) => tracing::info!("Prometheus metrics at http://{addr}/metrics"),
        Err(error) => tracing::warn!(%error, "metrics on an unknown address"),
    }
    tokio::spawn(crate::metrics_port::serve(
        listener,
        handle.clone(),
        until(stopped.clone()),
    ));
    Ok(builder)
}

/// The admin dashboard under `/admin` when `ADMIN_ENABLED`, over the service's store. A Redis
/// limiter also counts the dashboard's login attempts, so that limit holds across instances.
fn with_dashboard(builder: AiqBuilder, config: &Config) -> Result<AiqBuilder, ExitCode> {
    if !config.admin.enabled {
        return Ok(builder);
    }
    let Some(storage) = builder.storage_part() else {
        return Ok(builder);
    };
    let mut dashboard = aiq_admin::Dashboard::builder(config.clone()).storage(Arc::clone(storage));
    if config.rate_limit.storage == RateLimitStorage::Redis
        && let Some(limiter) = builder.limiter_part()
    {
        dashboard = dashboard.login_limiter(Arc::clone(limiter));
    }
    match dashboard.build() {
        Ok(dashboard) => {
            tracing::info!("Admin dashboard enabled at {}/", aiq_admin::BASE_PATH);
            Ok(builder.merge(dashboard.router()))
        }
        Err(error) => {
            tracing::error!(%error, "ADMIN_ENABLED is true but the dashboard cannot start");
            Err(ExitCode::from(2))
        }
    }
}

/// The gauge of sessions in progress is a fact about the database: read it at start-up and
/// every minute (so deletions, other instances and crashes cannot leave it drifting).
fn keep_gauges_synced(service: AiqService) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            ticks.tick().await;
            if let Err(error) = service.sync_gauges().await {
                tracing::warn!(%error, "cannot read the active test sessions for the gauge");
            }
        }
    });
}

/// Keeps the Prometheus histograms drained (their samples are folded in every few seconds).
fn keep_histograms_drained(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    });
}
