//! The database of the commands that work on it (`questions import`, `notify`, `calibrate`).

use std::process::ExitCode;

use aiq_core::Config;
use aiq_core::storage::PgStore;

/// Connects to `DATABASE_URL` and applies pending migrations, so a command run before the API
/// was redeployed still finds the tables it needs. `why` says what the command needs the
/// database for when `DATABASE_URL` is unset. The error is the exit code, after the reason was
/// printed: 2 for configuration, 1 for a failed migration.
pub(crate) async fn migrated_store(config: &Config, why: &str) -> Result<PgStore, ExitCode> {
    if config.database.url.is_none() {
        eprintln!("aiq-server: DATABASE_URL is not set: {why}");
        return Err(ExitCode::from(2));
    }
    let store = PgStore::connect(&config.database).map_err(|error| {
        eprintln!("aiq-server: cannot use DATABASE_URL: {error}");
        ExitCode::from(2)
    })?;
    if let Err(error) = store.migrate().await {
        eprintln!("aiq-server: migration failed: {error}");
        store.close();
        return Err(ExitCode::FAILURE);
    }
    Ok(store)
}
