//! Where the library's telemetry goes: log lines, OpenTelemetry export, metrics recorders.
//!
//! `aiq-core` only emits `tracing` spans and events and `metrics` records. This module installs
//! what receives them:
//! - logs on standard output, readable text in development and JSON lines in production
//!   ([`logging`](crate::logging)), and with `OTEL_LOGS_ENABLED` also OpenTelemetry log records;
//! - with `OTEL_ENABLED`, the request spans and their storage and Redis children as
//!   OpenTelemetry spans, sampled parent-based at `OTEL_TRACES_SAMPLE_RATE`, continuing the
//!   caller's W3C `traceparent` ([`propagation`]);
//! - one `metrics` recorder fanning out to Prometheus (`PROMETHEUS_METRICS_ENABLED`) and to an
//!   OpenTelemetry meter (`OTEL_METRICS_ENABLED`), so both carry the same metric names
//!   ([`recorder`]).
//!
//! `OTEL_EXPORTER` picks OTLP over HTTP (`otlp`), standard output (`console`) or nothing
//! (`none`) ([`export`]). Export runs on the SDK's own threads behind bounded queues: a slow or
//! unreachable collector loses telemetry, never delays a request. [`Telemetry::shutdown`]
//! flushes what is queued, within a bounded time.

mod export;
pub(crate) mod propagation;
mod recorder;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use aiq_core::Config;
use metrics_exporter_prometheus::PrometheusHandle;

pub(crate) use self::export::Providers;

/// The installed telemetry; [`shutdown`](Self::shutdown) it before the process exits.
pub struct Telemetry {
    providers: export::Providers,
    /// Flushes the log lines still queued for standard output when dropped, last (the server
    /// only; the one-shot commands write theirs at once).
    lines: Option<crate::line_writer::Flush>,
    prometheus: Option<PrometheusHandle>,
    /// The longest the final flush may hold the exit, all signals together:
    /// `SHUTDOWN_TIMEOUT_SECONDS`, the bound of the request drain too.
    flush_timeout: Duration,
}

impl Telemetry {
    /// Builds the exporters the configuration asks for and installs the process-wide log
    /// subscriber and metrics recorder; `serving` hands the log lines to a writer thread (see
    /// [`logging`](crate::logging)). Call it once, outside the async runtime (the OTLP client
    /// blocks on its own threads).
    pub fn init(config: &Config, serving: bool) -> Result<Self, String> {
        let providers = export::Providers::new(config)?;
        let lines = crate::logging::install(config, &providers, serving)?;
        let prometheus = recorder::install(
            config.otel.prometheus_enabled,
            providers.meter(),
            &config.otel.service_name,
        )?;
        if let Some(summary) = providers.summary(&config.otel) {
            tracing::info!("OpenTelemetry export: {summary}");
        }
        Ok(Self {
            providers,
            lines,
            prometheus,
            flush_timeout: config.http.shutdown_timeout,
        })
    }

    /// The Prometheus recorder's handle, when `PROMETHEUS_METRICS_ENABLED`.
    pub fn prometheus(&self) -> Option<&PrometheusHandle> {
        self.prometheus.as_ref()
    }

    /// Whether spans are exported, so requests should continue their caller's trace.
    pub fn traces(&self) -> bool {
        self.providers.traces()
    }

    /// Flushes and stops the exporters: traces and metrics first, each on a thread of its own,
    /// then the logs, so that what the first flushes report is exported too. Whatever has not
    /// finished within the flush timeout (a collector that does not answer) is left behind, so
    /// the exit is never held longer.
    pub fn shutdown(self) {
        let deadline = Instant::now() + self.flush_timeout;
        let (first, logs) = self.providers.shutdowns(self.flush_timeout);
        flush(first, deadline);
        flush(logs.into_iter().collect(), deadline);
        // The lines logged up to here, the flushes' own included, reach standard output.
        drop(self.lines);
    }
}

/// Runs `shutdowns` in parallel until they are done or `deadline` passes.
fn flush(shutdowns: Vec<export::Shutdown>, deadline: Instant) {
    let (done, finished) = mpsc::channel();
    let mut pending = 0;
    for export::Shutdown { signal, run } in shutdowns {
        let done = done.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("otel-shutdown-{signal}"))
            .spawn(move || {
                let _ = done.send((signal, run()));
            });
        match spawned {
            Ok(_) => pending += 1,
            Err(error) => tracing::warn!(%error, signal, "cannot flush telemetry"),
        }
    }
    while pending > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match finished.recv_timeout(left) {
            Ok((signal, Ok(()))) => {
                pending -= 1;
                tracing::debug!(signal, "telemetry flushed");
            }
            Ok((signal, Err(error))) => {
                pending -= 1;
                tracing::warn!(%error, signal, "telemetry not flushed");
            }
            Err(_) => {
                tracing::warn!(
                    pending,
                    "telemetry flush still running at exit; the rest is dropped"
                );
                break;
            }
        }
    }
}
