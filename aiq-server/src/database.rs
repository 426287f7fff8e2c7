//! The database of the commands that work on it (`questions import`, `notify`, `calibrate`).

use std::process::ExitCode;

use aiq_core::Config;
use aiq_core::config::DatabaseConfig;
use aiq_core::storage::{OpenError, PgStore};

/// Connects to `DATABASE_URL` and applies pending migrations, so a command run before the API
/// was redeployed still finds the tables it needs. `why` says what the command needs the
/// database for when `DATABASE_URL` is unset. The error is the exit code, after the reason was
/// printed: 2 for configuration, 1 for a failed migration.
pub(crate) async fn migrated_store(config: &Config, why: &str) -> Result<PgStore, ExitCode> {
    if config.database.url.is_none() {
        eprintln!("aiq-server: DATABASE_URL is not set: {why}");
        return Err(ExitCode::from(2));
    }
    // A one-shot command never seeds: `questions import` into an empty bank loads its own file.
    // A one-shot command's statements may run long (calibration over every response).
    let database = DatabaseConfig {
        seed_starter_bank: false,
        statement_timeout: None,
        ..config.database.clone()
    };
    match PgStore::open(&database).await {
        Ok((store, _)) => Ok(store),
        Err(error @ OpenError::Settings(_)) => {
            eprintln!("aiq-server: {error}");
            Err(ExitCode::from(2))
        }
        Err(error) => {
            eprintln!("aiq-server: migration failed: {error}");
            Err(ExitCode::FAILURE)
        }
    }
}
