//! IRT calibration: the responses it reads, the parameters it publishes and the record of
//! each run.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StorageError;
use super::sessions::SessionId;
use crate::cat::{CalibratedItem, ItemResponse};

/// How a calibration run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationStatus {
    /// Parameters were published.
    Completed,
    /// Too few new responses since the last completed run; nothing was calibrated.
    Skipped,
    /// Calibration failed (for instance EM did not converge); nothing was published.
    Failed,
}

impl CalibrationStatus {
    /// The column value.
    ///
    /// ```
    /// use aiq_core::storage::CalibrationStatus;
    /// assert_eq!(CalibrationStatus::Skipped.as_str(), "skipped");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// One run of the calibration job (`irt_calibration_runs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRun {
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// How it ended.
    pub status: CalibrationStatus,
    /// Responses of completed fixed-form sessions since the last completed run.
    pub new_responses: u64,
    /// Items whose parameters were published.
    pub questions_calibrated: u32,
    /// Items left out (too few responses, no variance).
    pub questions_skipped: u32,
    /// Mean `b` of the published items.
    pub mean_difficulty: Option<f64>,
    /// Mean `a` of the published items.
    pub mean_discrimination: Option<f64>,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
}

/// What the calibration job reads and writes.
#[async_trait]
pub trait CalibrationStore {
    /// A page of the responses of completed, non-adaptive sessions, with the session as the
    /// person (adaptive sessions select items by ability, which would bias the estimates): those
    /// of the latest `sessions` such sessions with an id below `before` (any id when `None`) and
    /// at least one response, newest session first, each session's responses together in
    /// question order. An empty page: there are no more.
    async fn calibration_responses(
        &self,
        before: Option<SessionId>,
        sessions: u32,
    ) -> Result<Vec<ItemResponse>, StorageError>;

    /// How many such responses were answered at or after the finish of the latest completed
    /// run (all of them when there is none).
    async fn new_calibration_responses(&self) -> Result<u64, StorageError>;

    /// Writes the items' `a`, `b`, their standard errors (NULL when not finite), `n` and
    /// `calibrated_at = run.finished_at`, and records the run, in one transaction.
    async fn publish_calibration(
        &self,
        items: &[CalibratedItem],
        run: &CalibrationRun,
    ) -> Result<(), StorageError>;

    /// Records a run that published nothing (skipped or failed).
    async fn record_calibration_run(&self, run: &CalibrationRun) -> Result<(), StorageError>;

    /// The latest runs, newest first.
    async fn calibration_runs(&self, limit: u32) -> Result<Vec<CalibrationRun>, StorageError>;
}
