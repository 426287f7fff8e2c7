//! Log output: readable lines in development, one JSON object per line in production.

use aiq_core::Config;
use aiq_core::config::LogLevel;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn level(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

pub(crate) fn init(config: &Config) {
    let level = level(config.app.log_level);
    // Driver internals are noise unless someone asked for debug output.
    let quiet = if level >= LevelFilter::DEBUG {
        level
    } else {
        LevelFilter::WARN
    };
    let filter = Targets::new()
        .with_default(level)
        .with_target("tokio_postgres", quiet)
        .with_target("refinery_core", quiet)
        .with_target("hyper", quiet);
    let registry = tracing_subscriber::registry().with(filter);
    if config.app.environment.is_production() {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                    .event_format(crate::json_lines::JsonLines),
            )
            .init();
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_ansi(false))
            .init();
    }
}
