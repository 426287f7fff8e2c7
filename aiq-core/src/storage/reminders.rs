//! Push reminders: who is due one, and remembering who got one.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageError;
use super::sessions::ResultId;
use super::users::UserId;

/// A user who is due a reminder, with what the notification needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderCandidate {
    /// The user.
    pub user_id: UserId,
    /// Given name, for the greeting.
    pub first_name: Option<String>,
    /// Where to send the push (never empty).
    pub device_token: String,
    /// The test result the reminder is about: the latest one (test reminder) or the only one
    /// (day-30 reminder).
    pub result_id: ResultId,
    /// When that test was completed.
    pub completed_at: OffsetDateTime,
}

/// The reminder queries of the daily `notify` run.
///
/// Only users with notifications enabled and a non-empty device token are ever selected.
#[async_trait]
pub trait ReminderStore {
    /// Users whose latest completed test was completed within `[from, to]` (inclusive), who
    /// do not bypass the cadence, and who have not yet been sent a test reminder for that very
    /// result (see [`mark_test_reminder_sent`](Self::mark_test_reminder_sent)). Ordered by id.
    async fn test_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError>;

    /// Records that `user` was reminded about `result`: they are not selected again until a
    /// newer result opens another window. False when there is no such user.
    async fn mark_test_reminder_sent(
        &self,
        user: UserId,
        result: ResultId,
    ) -> Result<bool, StorageError>;

    /// Users with exactly one test result, completed within `[from, to]` (inclusive), who have
    /// not been sent the day-30 reminder. Ordered by id.
    async fn day_30_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError>;

    /// Sets `day_30_reminder_sent_at` to `at` if it is not set yet; false when it was already
    /// set or there is no such user.
    async fn mark_day_30_reminder_sent(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError>;
}
