//! The `notify` command: the daily push reminders (a Railway cron, `deploy/railway/notifications.json`).

use std::process::ExitCode;

use aiq_core::Config;
use aiq_core::push::{self, reminders};
use aiq_core::storage::PgStore;

/// Sends the reminders due now, prints the run summary as one JSON line on standard output,
/// and exits 0 when every send succeeded, 1 when one failed or the database failed, 2 when the
/// configuration cannot work. The database is migrated first, as `serve` does, so a cron that
/// runs before the API was redeployed still finds the reminder columns.
pub(crate) async fn run(config: &Config) -> ExitCode {
    if config.database.url.is_none() {
        eprintln!("aiq-server: DATABASE_URL is not set: there are no users to remind");
        return ExitCode::from(2);
    }
    let sender = match push::from_config(config) {
        Ok(sender) => sender,
        Err(error) => {
            eprintln!("aiq-server: {error}");
            return ExitCode::from(2);
        }
    };
    let store = match PgStore::connect(&config.database) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("aiq-server: cannot use DATABASE_URL: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = store.migrate().await {
        tracing::error!(%error, "migration failed; no reminders sent");
        store.close();
        return ExitCode::FAILURE;
    }
    let now = aiq_core::time::now();
    let outcome = reminders::run(&store, sender.as_ref(), config, now).await;
    store.close();
    match outcome {
        Ok(summary) => {
            match serde_json::to_string(&summary) {
                Ok(line) => println!("{line}"),
                Err(error) => tracing::error!(%error, "cannot print the run summary"),
            }
            if summary.all_delivered() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            tracing::error!(%error, "reminder run failed");
            ExitCode::FAILURE
        }
    }
}
