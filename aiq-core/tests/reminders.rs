//! The reminder run beyond what the storage conformance suite checks of it on every store
//! (`aiq_testkit::conformance`, group `reminders`): pushes in flight together, and a storage
//! failure in the middle of a run.

mod support;

use support::push::pushable_user;

use std::sync::Mutex;

use aiq_core::Config;
use aiq_core::push::reminders;
use aiq_core::push::{Notification, PushError, PushSender};
use aiq_core::storage::{Completion, NewResult, NewSession, Storage, UserId};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 UTC);

/// A push sender that counts what it sends.
#[derive(Debug, Default)]
struct RecordingPush {
    sent: Mutex<usize>,
}

#[async_trait::async_trait]
impl PushSender for RecordingPush {
    async fn send(&self, _: &str, _: &Notification) -> Result<(), PushError> {
        *self.sent.lock().unwrap() += 1;
        Ok(())
    }
}

impl RecordingPush {
    /// How many pushes were sent since the last call.
    fn take(&self) -> usize {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

fn device(user: i64) -> String {
    format!("{user:064x}")
}

/// Records a completed test for `user` at `completed_at`; returns the result id.
async fn take_test(store: &dyn Storage, user: UserId, completed_at: OffsetDateTime) -> i64 {
    let session = store
        .start_session(NewSession {
            user_id: user,
            started_at: completed_at - Duration::minutes(20),
            question_ids: Vec::new(),
            composition_metadata: json!({}),
            is_adaptive: false,
            record_seen: true,
        })
        .await
        .unwrap();
    let (_, result) = store
        .complete_session(Completion {
            session_id: session.id,
            completed_at,
            time_limit_exceeded: false,
            responses: Vec::new(),
            result: NewResult {
                iq_score: 100,
                percentile_rank: None,
                total_questions: 0,
                correct_answers: 0,
                completion_time_seconds: None,
                standard_error: None,
                ci_lower: None,
                ci_upper: None,
                response_time_flags: None,
                validity_status: "valid".into(),
                validity_flags: None,
                domain_scores: None,
                scoring_method: "ctt".into(),
            },
        })
        .await
        .unwrap();
    result.id
}

/// A user with a device whose only test was `days` days before [`NOW`].
async fn tested_user(store: &dyn Storage, days: i64) -> (UserId, i64) {
    let user = pushable_user(store, &format!("u{days}@example.com"), "").await;
    store
        .set_device_token(user, Some(&device(user)))
        .await
        .unwrap();
    let result = take_test(store, user, NOW - Duration::days(days)).await;
    (user, result)
}

/// Lets a push through only once `barrier`'s count of pushes are in flight together.
#[derive(Debug)]
struct TogetherPush {
    barrier: tokio::sync::Barrier,
}

#[async_trait::async_trait]
impl PushSender for TogetherPush {
    async fn send(&self, _: &str, _: &Notification) -> Result<(), PushError> {
        self.barrier.wait().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_sent_several_at_a_time() {
    let store = aiq_core::storage::MemoryStore::new();
    for days in 90..98 {
        tested_user(&store, days).await;
    }
    // One at a time, the first push would wait for the fourth forever.
    let push = TogetherPush {
        barrier: tokio::sync::Barrier::new(4),
    };
    let config = Config::default();
    let run = reminders::run(&store, &push, &config, NOW);
    let summary = tokio::time::timeout(support::PATIENCE, run)
        .await
        .expect("the pushes of a run are in flight together")
        .unwrap();
    assert_eq!(summary.test_reminders.success, 8);
    assert_eq!(summary.test_reminders.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_lets_the_sends_in_flight_finish_and_record() {
    use support::faulty::{Fault, FaultyStore};

    let store = FaultyStore::shared(Fault::FirstReminderRecord);
    for days in 90..98 {
        tested_user(store.as_ref(), days).await;
    }
    let push = RecordingPush::default();
    let config = Config::default();
    let failed = reminders::run(store.as_ref(), &push, &config, NOW).await;
    assert!(
        failed.is_err(),
        "the failed record ends the run with an error"
    );
    assert_eq!(push.take(), 8, "every push was handed over");

    // Only the push whose record failed is due again: the other seven were recorded.
    let again = reminders::run(store.as_ref(), &push, &config, NOW)
        .await
        .unwrap();
    assert_eq!(again.test_reminders.total, 1);
    assert_eq!(push.take(), 1);
}
