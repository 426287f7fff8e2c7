//! `ReminderStore` in memory.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{MemoryStore, State};
use crate::storage::StorageError;
use crate::storage::reminders::{ReminderCandidate, ReminderStore};
use crate::storage::sessions::{ResultId, TestResult};
use crate::storage::users::{User, UserId};

/// The candidate for `user` about `result`, if the user can receive a push at all.
fn candidate(user: &User, result: &TestResult) -> Option<ReminderCandidate> {
    let token = user
        .apns_device_token
        .as_deref()
        .filter(|t| !t.is_empty())?;
    user.notification_enabled.then(|| ReminderCandidate {
        user_id: user.id,
        first_name: user.first_name.clone(),
        device_token: token.to_owned(),
        result_id: result.id,
        completed_at: result.completed_at,
    })
}

fn in_window(at: OffsetDateTime, from: OffsetDateTime, to: OffsetDateTime) -> bool {
    from <= at && at <= to
}

impl State {
    /// The user's latest result, as `ORDER BY completed_at DESC, id DESC LIMIT 1` picks it.
    fn latest_result(&self, user: UserId) -> Option<&TestResult> {
        self.tests
            .results_of(user)
            .max_by_key(|r| (r.completed_at, r.id))
    }
}

#[async_trait]
impl ReminderStore for MemoryStore {
    async fn test_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        let state = self.state();
        Ok(state
            .users
            .values()
            .filter(|user| !user.bypass_cooldown)
            .filter_map(|user| {
                let latest = state.latest_result(user.id)?;
                let already = state.test_reminder_sent_for.get(&user.id) == Some(&latest.id);
                (in_window(latest.completed_at, from, to) && !already)
                    .then(|| candidate(user, latest))
                    .flatten()
            })
            .collect())
    }

    async fn mark_test_reminder_sent(
        &self,
        user: UserId,
        result: ResultId,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        if !state.users.contains_key(&user) {
            return Ok(false);
        }
        state.test_reminder_sent_for.insert(user, result);
        Ok(true)
    }

    async fn day_30_reminder_candidates(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<ReminderCandidate>, StorageError> {
        let state = self.state();
        Ok(state
            .users
            .values()
            .filter(|user| user.day_30_reminder_sent_at.is_none())
            .filter_map(|user| {
                let mut results = state.tests.results_of(user.id);
                let only = results.next()?;
                (results.next().is_none() && in_window(only.completed_at, from, to))
                    .then(|| candidate(user, only))
                    .flatten()
            })
            .collect())
    }

    async fn mark_day_30_reminder_sent(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(match state.users.get_mut(&user) {
            Some(user) if user.day_30_reminder_sent_at.is_none() => {
                user.day_30_reminder_sent_at = Some(at);
                true
            }
            _ => false,
        })
    }
}
