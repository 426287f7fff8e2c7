//! The IRT calibration job (original-ops.md §8.4; `aiq-server calibrate`, a weekly cron):
//! re-estimates the 2PL parameters of the item bank from fixed-form responses and publishes
//! them only when the estimation converged. Every run is recorded in `irt_calibration_runs`.

use std::time::Instant;

use crate::cat::{CalibrationData, CalibrationOptions, MIN_NEW_RESPONSES, calibrate_data};
use crate::storage::{CalibrationRun, CalibrationStatus, Storage, StorageError};

/// Longest `reason` recorded for a failed run.
const MAX_REASON: usize = 2000;
/// A run estimates from the responses of at most about this many of the latest fixed-form
/// sessions (2.5 million answers of 25-question tests, 10 MB as [`CalibrationData`]): plenty
/// for 2PL estimates of a bank of a thousand items, and a bound on the job's memory and time
/// whatever the size of the history.
pub const MAX_SESSIONS: usize = 100_000;
/// Sessions read per page.
const PAGE_SESSIONS: u32 = 2_000;

/// Runs one calibration:
/// 1. fewer than [`MIN_NEW_RESPONSES`] responses of completed fixed-form sessions since the last
///    completed run → a `skipped` run;
/// 2. otherwise [`calibrate_data`] on the responses of the latest [`MAX_SESSIONS`] of them
///    (read page by page); an error, or a report that is not publishable
///    (EM did not converge, nothing calibratable) → a `failed` run and nothing published;
/// 3. otherwise the parameters are written and a `completed` run recorded, in one transaction.
///
/// Returns the recorded run; `Err` only when storage fails.
///
/// ```
/// use aiq_core::calibration;
/// use aiq_core::cat::CalibrationOptions;
/// use aiq_core::storage::{CalibrationStatus, MemoryStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let run = calibration::run(&store, &CalibrationOptions::default()).await.unwrap();
/// assert_eq!(run.status, CalibrationStatus::Skipped);
/// assert_eq!(run.reason.as_deref(), Some("insufficient_new_responses: 0 < 100"));
/// # });
/// ```
pub async fn run<S: Storage + ?Sized>(
    store: &S,
    options: &CalibrationOptions,
) -> Result<CalibrationRun, StorageError> {
    let started_at = crate::time::now();
    let new_responses = store.new_calibration_responses().await?;
    let mut run = CalibrationRun {
        started_at,
        finished_at: started_at,
        status: CalibrationStatus::Skipped,
        new_responses,
        questions_calibrated: 0,
        questions_skipped: 0,
        mean_difficulty: None,
        mean_discrimination: None,
        reason: None,
    };
    if new_responses < MIN_NEW_RESPONSES as u64 {
        run.reason = Some(format!(
            "insufficient_new_responses: {new_responses} < {MIN_NEW_RESPONSES}"
        ));
        run.finished_at = crate::time::now();
        store.record_calibration_run(&run).await?;
        return Ok(run);
    }
    let reading = Instant::now();
    let data = read_latest(store).await?;
    let read_ms = reading.elapsed().as_millis() as u64;
    let (sessions, responses) = (data.people(), data.responses());
    let options = *options;
    let estimating = Instant::now();
    // EM over the whole bank is CPU work; keep it off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        calibrate_data(&data, &options).and_then(|report| report.into_publishable())
    })
    .await
    .map_err(|err| StorageError::Backend(Box::new(err)))?;
    tracing::info!(
        sessions,
        responses,
        read_ms,
        estimate_ms = estimating.elapsed().as_millis() as u64,
        "calibration: responses read and estimated"
    );
    run.finished_at = crate::time::now();
    match outcome {
        Ok(report) => {
            run.status = CalibrationStatus::Completed;
            run.questions_calibrated = u32::try_from(report.items.len()).unwrap_or(u32::MAX);
            run.questions_skipped = u32::try_from(report.skipped.len()).unwrap_or(u32::MAX);
            run.mean_difficulty = Some(report.mean_difficulty());
            run.mean_discrimination = Some(report.mean_discrimination());
            store.publish_calibration(&report.items, &run).await?;
        }
        Err(error) => {
            run.status = CalibrationStatus::Failed;
            let mut reason = error.to_string();
            if reason.len() > MAX_REASON {
                let mut cut = MAX_REASON;
                while !reason.is_char_boundary(cut) {
                    cut -= 1;
                }
                reason.truncate(cut);
            }
            run.reason = Some(reason);
            store.record_calibration_run(&run).await?;
        }
    }
    Ok(run)
}

/// The responses of the latest [`MAX_SESSIONS`] fixed-form sessions, page by page.
async fn read_latest<S: Storage + ?Sized>(store: &S) -> Result<CalibrationData, StorageError> {
    let mut data = CalibrationData::default();
    let mut before = None;
    while data.people() < MAX_SESSIONS {
        let page = store.calibration_responses(before, PAGE_SESSIONS).await?;
        let Some(last) = page.last() else {
            break;
        };
        before = Some(last.person);
        for response in page {
            data.push(response);
        }
    }
    Ok(data)
}
