//! The `notify` command: the daily push reminders (a Railway cron, `deploy/railway/notifications.json`).

use std::process::ExitCode;

use aiq_core::Config;

use crate::database::migrated_store;
use aiq_core::push::{self, reminders};

/// Sends the reminders due now, prints the run summary as one JSON line on standard output,
/// and exits 0 when every send succeeded, 1 when one failed or the database failed, 2 when the
/// configuration cannot work. The database is migrated first, as `serve` does, so a cron that
/// runs before the API was redeployed still finds the reminder columns.
pub async fn run(config: &Config) -> ExitCode {
    // A log-only sender would mark every due reminder as sent without sending it; in
    // production that loses the reminders for good.
    if config.app.environment.is_production() && config.apns.key_id.trim().is_empty() {
        eprintln!(
            "aiq-server: APNS_KEY_ID, APNS_TEAM_ID, APNS_BUNDLE_ID and APNS_KEY_PATH are not set: \
             in production `notify` sends real pushes only; set them (or do not schedule notify)"
        );
        return ExitCode::from(2);
    }
    let store = match migrated_store(config, "there are no users to remind").await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let sender = match push::from_config(config) {
        Ok(sender) => sender,
        Err(error) => {
            eprintln!("aiq-server: {error}");
            store.close();
            return ExitCode::from(2);
        }
    };
    let now = aiq_core::time::now();
    let started = std::time::Instant::now();
    let outcome = reminders::run(&store, sender.as_ref(), config, now).await;
    store.close();
    match outcome {
        Ok(summary) => {
            tracing::info!(
                sent = summary.total_sent,
                failed = summary.total_failed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "reminder run finished"
            );
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
