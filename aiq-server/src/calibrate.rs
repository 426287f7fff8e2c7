//! The `calibrate` command: the weekly IRT calibration (a Railway cron,
//! `deploy/railway/calibration.json`; original-ops.md §8.4).

use std::process::ExitCode;

use aiq_core::Config;

use crate::database::migrated_store;
use aiq_core::calibration;
use aiq_core::cat::CalibrationOptions;
use aiq_core::storage::CalibrationStatus;

/// Migrates, runs [`calibration::run`], prints the recorded run as one JSON line, and exits 0
/// when it completed or was skipped, 1 when it failed (EM did not converge: nothing published)
/// or the database failed, 2 when there is no database.
pub async fn run(config: &Config) -> ExitCode {
    let store = match migrated_store(config, "there is no item bank to calibrate").await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let outcome = calibration::run(&store, &CalibrationOptions::default()).await;
    store.close();
    match outcome {
        Ok(run) => {
            match serde_json::to_string(&run) {
                Ok(line) => println!("{line}"),
                Err(error) => tracing::error!(%error, "cannot print the run"),
            }
            if run.status == CalibrationStatus::Failed {
                tracing::error!(reason = ?run.reason, "calibration failed; nothing published");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            tracing::error!(%error, "calibration run failed");
            ExitCode::FAILURE
        }
    }
}
