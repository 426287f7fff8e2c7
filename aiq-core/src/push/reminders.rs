//! The daily reminder run (`aiq-server notify`, a Railway cron at 09:00 UTC).
//!
//! Two kinds of reminder, as the old scheduler sent them (original-ops.md §8.3), with one fix:
//! - **test reminder**: the latest completed test is `TEST_CADENCE_DAYS` to
//!   `TEST_CADENCE_DAYS + NOTIFICATION_REMINDER_DAYS` days old (90–97 by default; shifted
//!   earlier by `NOTIFICATION_ADVANCE_DAYS`). Sent **once per window**: a successful send
//!   records the result it was about, and only a newer result makes the user due again (the
//!   old backend re-sent it on every daily run in the window);
//! - **day-30 reminder**: the user's only test was completed 29–31 days ago; sent once ever.
//!
//! A failed send is not recorded, so it is tried again on the next run while the user is still
//! in the window. An invalid device token is cleared (see [`deliver`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::{Delivery, Notification, PushSender, deliver};
use crate::Config;
use crate::storage::{ReminderCandidate, Storage, StorageError};

/// Sends of one kind in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Users selected.
    pub total: u64,
    /// Notifications APNs took.
    pub success: u64,
    /// Notifications not delivered (including invalid tokens, which are cleared).
    pub failed: u64,
}

impl Counts {
    fn record(&mut self, delivery: &Delivery) {
        self.total += 1;
        if delivery.is_sent() {
            self.success += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// What a run did; logged as one JSON object.
///
/// ```
/// use aiq_core::push::reminders::RunSummary;
/// let summary = RunSummary::new(time::OffsetDateTime::UNIX_EPOCH);
/// let json = serde_json::to_value(&summary).unwrap();
/// assert_eq!(json["test_reminders"]["total"], 0);
/// assert_eq!(json["sent_at"], "1970-01-01T00:00:00Z");
/// assert!(summary.all_delivered());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Test reminders.
    pub test_reminders: Counts,
    /// Day-30 reminders.
    pub day_30_reminders: Counts,
    /// Notifications delivered, both kinds.
    pub total_sent: u64,
    /// Notifications not delivered, both kinds.
    pub total_failed: u64,
    /// When the run started.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

impl RunSummary {
    /// An empty summary of a run started at `sent_at`.
    pub fn new(sent_at: OffsetDateTime) -> Self {
        Self {
            test_reminders: Counts::default(),
            day_30_reminders: Counts::default(),
            total_sent: 0,
            total_failed: 0,
            sent_at,
        }
    }

    /// True when no send failed (the process exits 0).
    pub fn all_delivered(&self) -> bool {
        self.total_failed == 0
    }
}

fn greeting_name(candidate: &ReminderCandidate) -> &str {
    candidate
        .first_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or("there")
}

fn data(kind: &str, candidate: &ReminderCandidate) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("type".into(), kind.into());
    data.insert("user_id".into(), candidate.user_id.to_string().into());
    data
}

/// The test reminder for `candidate`.
pub fn test_reminder(candidate: &ReminderCandidate) -> Notification {
    let mut data = data("test_reminder", candidate);
    data.insert(
        "deep_link".into(),
        format!("aiq://test/results/{}", candidate.result_id).into(),
    );
    Notification {
        title: "Ready for Your Next AIQ Test?".into(),
        body: format!(
            "Hi {}, it's been 3 months! Ready to track your cognitive progress?",
            greeting_name(candidate)
        ),
        badge: Some(1),
        sound: Some("default".into()),
        data,
    }
}

/// The day-30 reminder for `candidate`.
pub fn day_30_reminder(candidate: &ReminderCandidate) -> Notification {
    let mut data = data("day_30_reminder", candidate);
    data.insert("days_since_first_test".into(), 30.into());
    data.insert("days_until_next_test".into(), 60.into());
    data.insert(
        "deep_link".into(),
        format!("aiq://test/results/{}", candidate.result_id).into(),
    );
    Notification {
        title: "Your Cognitive Journey Continues".into(),
        body: format!(
            "Hi {}! It's been 30 days since your first test. Your next test is in 60 days.",
            greeting_name(candidate)
        ),
        badge: None,
        sound: None,
        data,
    }
}

/// The completion times that make a test reminder due at `now`: `[from, to]`.
pub fn test_reminder_window(
    config: &Config,
    now: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime) {
    let cadence = i64::from(config.test_rules.cadence_days);
    let reminder = i64::from(config.notifications.reminder_days);
    let advance = i64::from(config.notifications.advance_days);
    (
        now - Duration::days(cadence + reminder),
        now - Duration::days(cadence - advance),
    )
}

/// The completion times that make a day-30 reminder due at `now`: `[from, to]`.
pub fn day_30_window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    (now - Duration::days(31), now - Duration::days(29))
}

/// Pushes in flight at once: APNs multiplexes them over one HTTP/2 connection, so a run over
/// many users takes the time of a few round trips per [`SENDS_AT_ONCE`] users, not one each.
pub const SENDS_AT_ONCE: usize = 16;

/// Sends the reminders due at `now`: test reminders first, then day-30 reminders, up to
/// [`SENDS_AT_ONCE`] pushes at a time.
///
/// # Errors
/// Only storage failures (selecting, recording, clearing tokens); failed sends are counted.
pub async fn run(
    storage: &dyn Storage,
    sender: &dyn PushSender,
    config: &Config,
    now: OffsetDateTime,
) -> Result<RunSummary, StorageError> {
    let mut summary = RunSummary::new(now);

    let (from, to) = test_reminder_window(config, now);
    let candidates = storage.test_reminder_candidates(from, to).await?;
    summary.test_reminders = send_all(candidates, |candidate| async move {
        let delivery = deliver(
            storage,
            sender,
            candidate.user_id,
            &candidate.device_token,
            &test_reminder(&candidate),
        )
        .await?;
        if delivery.is_sent() {
            storage
                .mark_test_reminder_sent(candidate.user_id, candidate.result_id)
                .await?;
        }
        Ok(delivery)
    })
    .await?;

    let (from, to) = day_30_window(now);
    let candidates = storage.day_30_reminder_candidates(from, to).await?;
    summary.day_30_reminders = send_all(candidates, |candidate| async move {
        let delivery = deliver(
            storage,
            sender,
            candidate.user_id,
            &candidate.device_token,
            &day_30_reminder(&candidate),
        )
        .await?;
        if delivery.is_sent() {
            storage
                .mark_day_30_reminder_sent(candidate.user_id, now)
                .await?;
        }
        Ok(delivery)
    })
    .await?;

    for counts in [summary.test_reminders, summary.day_30_reminders] {
        summary.total_sent += counts.success;
        summary.total_failed += counts.failed;
    }
    if !summary.all_delivered() {
        tracing::warn!(
            failed = summary.total_failed,
            sent = summary.total_sent,
            "reminder run had failures"
        );
    }
    Ok(summary)
}

/// Runs `send` for every candidate, [`SENDS_AT_ONCE`] at a time, and counts the deliveries.
/// After a storage failure no further candidate is started, but the sends in flight finish
/// (a push APNs took gets recorded, so it is not sent again next run); then the first failure
/// is returned.
async fn send_all<F, Fut>(
    candidates: Vec<ReminderCandidate>,
    send: F,
) -> Result<Counts, StorageError>
where
    F: Fn(ReminderCandidate) -> Fut,
    Fut: Future<Output = Result<Delivery, StorageError>>,
{
    let failed = AtomicBool::new(false);
    let mut deliveries = stream::iter(candidates)
        .take_while(|_| std::future::ready(!failed.load(Ordering::Relaxed)))
        .map(send)
        .buffer_unordered(SENDS_AT_ONCE);
    let mut counts = Counts::default();
    let mut first_failure = None;
    while let Some(delivery) = deliveries.next().await {
        match delivery {
            Ok(delivery) => counts.record(&delivery),
            Err(error) => {
                failed.store(true, Ordering::Relaxed);
                first_failure.get_or_insert(error);
            }
        }
    }
    first_failure.map_or(Ok(counts), Err)
}
