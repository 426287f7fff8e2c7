//! The `serve` command: storage, listener, signals.

use std::process::ExitCode;
use std::sync::Arc;

use aiq_core::config::RateLimitStorage;
use aiq_core::questions::starter_bank;
use aiq_core::ratelimit::{FallbackLimiter, Limiter, MemoryLimiter, RedisLimiter};
use aiq_core::storage::{
    GUEST_TOKENS_PREFIX, MemoryStore, PgStore, QuestionStore, RedisGuestTokens, Storage,
    ping_redis, redis_display_url,
};
use aiq_core::{Aiq, Config};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::revocations::cached_revocations;
use crate::telemetry::Telemetry;

/// Key prefix of the rate limiter's Redis keys.
const RATE_LIMIT_PREFIX: &str = "aiq:ratelimit:";

pub(crate) async fn run(config: Config, telemetry: &Telemetry) -> ExitCode {
    if config.security.secrets_generated {
        tracing::warn!(
            "SECRET_KEY / JWT_SECRET_KEY are not both set: using random secrets, so tokens stop working when the server restarts"
        );
    }
    if config.test_rules.disable_cadence {
        tracing::warn!("DISABLE_TEST_CADENCE is set: users can retake tests at any time");
    }

    for (setting, url) in redis_urls(&config) {
        if let Err(unreachable) = ping_redis(setting, url).await {
            tracing::error!("{unreachable}; not starting");
            return ExitCode::FAILURE;
        }
    }
    let (storage, pg): (Arc<dyn Storage>, Option<PgStore>) = match &config.database.url {
        Some(_) => {
            let store = match PgStore::open(&config.database).await {
                Ok((store, report)) => {
                    tracing::info!(applied = ?report.applied, "database migrated");
                    if report.seeded > 0 {
                        tracing::info!(
                            questions = report.seeded,
                            "the empty question bank was loaded with the starter bank (SEED_STARTER_BANK)"
                        );
                    }
                    store
                }
                Err(error) => {
                    tracing::error!("{error}; not starting");
                    return ExitCode::FAILURE;
                }
            };
            match store.question_count().await {
                Ok(0) => tracing::warn!(
                    "the question bank is empty: no test can start until it is loaded, with \
                     SEED_STARTER_BANK=true at the next start or \
                     `aiq-server questions import aiq-core/data/starter-bank.jsonl`"
                ),
                Ok(count) => tracing::info!(questions = count, "question bank loaded"),
                Err(error) => tracing::warn!(%error, "cannot count the questions"),
            }
            (Arc::new(store.clone()), Some(store))
        }
        None => {
            tracing::warn!(
                "DATABASE_URL is not set: using the in-memory store, data is not persisted and is lost when the server stops"
            );
            let bank = starter_bank();
            tracing::info!(
                questions = bank.len(),
                "in-memory store holds the starter question bank"
            );
            (Arc::new(MemoryStore::with_questions(&bank)), None)
        }
    };

    let push = match aiq_core::push::from_config(&config) {
        Ok(push) => push,
        Err(error) => {
            tracing::error!(%error, "cannot send push notifications");
            return ExitCode::from(2);
        }
    };
    tracing::info!(sender = ?push, "push notifications");
    let mut builder = Aiq::builder(config.clone())
        .storage(Arc::clone(&storage))
        .push(push);
    let record: Arc<dyn Storage> = Arc::clone(&storage);
    match cached_revocations(&config, record) {
        Ok(Some(revocations)) => {
            // The store stays the record, so a Redis that restarts empty is refilled from it
            // (without DATABASE_URL the record is this process's memory).
            if let Some(url) = config.security.revocations_redis_url(&config.rate_limit) {
                tracing::info!(
                    "token revocations in Redis at {}, recorded in the {} store, which refills Redis if it comes back empty",
                    redis_display_url(url.expose_secret()),
                    storage.backend()
                );
            }
            builder = builder.revocations(Arc::new(revocations));
        }
        Ok(None) => {}
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    }
    if let Some(url) = &config.guest.token_redis_url {
        let url = url.expose_secret();
        match RedisGuestTokens::new(url, GUEST_TOKENS_PREFIX) {
            Ok(tokens) => {
                tracing::info!("guest tokens in Redis at {}", redis_display_url(url));
                builder = builder.guest_tokens(Arc::new(tokens));
            }
            Err(error) => {
                tracing::error!(%error, "cannot use GUEST_TOKEN_REDIS_URL");
                return ExitCode::from(2);
            }
        }
    }
    let limits = &config.rate_limit;
    // The Redis limiter, when there is one, also counts the dashboard's login attempts, so the
    // limit holds across instances.
    let mut shared_limiter = None;
    if !limits.enabled {
        tracing::warn!("RATE_LIMIT_ENABLED is false: requests are not rate limited");
    } else if limits.storage == RateLimitStorage::Redis {
        let url = limits.redis_url.expose_secret();
        match RedisLimiter::new(url, RATE_LIMIT_PREFIX, limits.strategy) {
            Ok(redis) => {
                tracing::info!(
                    strategy = ?limits.strategy,
                    "Rate limiting using Redis storage at {}",
                    redis_display_url(url)
                );
                let fallback = MemoryLimiter::new(limits.strategy, limits.max_keys);
                let limiter: Arc<dyn Limiter> =
                    Arc::new(FallbackLimiter::new(Arc::new(redis), fallback));
                shared_limiter = Some(Arc::clone(&limiter));
                builder = builder.limiter(limiter);
            }
            Err(error) => {
                tracing::error!(%error, "cannot use RATE_LIMIT_REDIS_URL");
                return ExitCode::from(2);
            }
        }
    } else {
        tracing::info!(
            strategy = ?limits.strategy,
            max_keys = limits.max_keys,
            "Rate limiting using in-memory storage"
        );
    }
    // SIGTERM / SIGINT, told to every listener.
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    if let Some(handle) = telemetry.prometheus() {
        keep_histograms_drained(handle.clone());
        match config.otel.metrics_port {
            Some(port) => {
                let listener = match TcpListener::bind((config.app.host.as_str(), port)).await {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::error!(%error, port, "cannot listen on METRICS_PORT");
                        return ExitCode::FAILURE;
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
            }
            None => {
                tracing::info!("Prometheus metrics at {}/metrics", config.app.api_prefix);
                let handle = handle.clone();
                builder = builder.metrics_renderer(move || handle.render());
            }
        }
    }
    if config.admin.enabled {
        let mut dashboard =
            aiq_admin::Dashboard::builder(config.clone()).storage(Arc::clone(&storage));
        if let Some(limiter) = shared_limiter {
            dashboard = dashboard.login_limiter(limiter);
        }
        let dashboard = dashboard.build();
        match dashboard {
            Ok(dashboard) => {
                tracing::info!("Admin dashboard enabled at {}/", aiq_admin::BASE_PATH);
                builder = builder.merge(dashboard.router());
            }
            Err(error) => {
                tracing::error!(%error, "ADMIN_ENABLED is true but the dashboard cannot start");
                return ExitCode::from(2);
            }
        }
    }
    if telemetry.traces() {
        builder = builder.on_request_span(crate::telemetry::propagation::continue_trace);
    }
    let service = match builder.build() {
        Ok(service) => service,
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    // The gauge of sessions in progress is a fact about the database: read it at start-up and
    // every minute (so deletions, other instances and crashes cannot leave it drifting).
    let gauges = service.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            ticks.tick().await;
            if let Err(error) = gauges.sync_gauges().await {
                tracing::warn!(%error, "cannot read the active test sessions for the gauge");
            }
        }
    });
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
    if let Some(pg) = pg {
        pg.close();
    }
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

/// Every Redis the configuration uses, with the variable that names it: each must answer at
/// start-up, so a wrong URL stops the server with a line that says which and why.
fn redis_urls(config: &Config) -> Vec<(&'static str, &str)> {
    let limits = &config.rate_limit;
    let blacklist = config.security.token_blacklist_redis_url.as_ref();
    // The limiter's Redis serves the limiter, and the revocations when no Redis of their own is
    // named (`SecurityConfig::revocations_redis_url`).
    let limiter_redis =
        limits.storage == RateLimitStorage::Redis && (limits.enabled || blacklist.is_none());
    let mut urls = Vec::new();
    if limiter_redis {
        urls.push(("RATE_LIMIT_REDIS_URL", limits.redis_url.expose_secret()));
    }
    if let Some(url) = blacklist {
        urls.push(("TOKEN_BLACKLIST_REDIS_URL", url.expose_secret()));
    }
    if let Some(url) = &config.guest.token_redis_url {
        urls.push(("GUEST_TOKEN_REDIS_URL", url.expose_secret()));
    }
    urls
}

/// Completes on SIGTERM (what Railway and Docker send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// Completes once `stop` has been told to.
async fn until(mut stop: watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens once it has sent.
    let _ = stop.wait_for(|stopped| *stopped).await;
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
