//! The reminder run beyond what the storage conformance suite checks of it on every store
//! (`aiq_testkit::conformance`, group `reminders`): pushes in flight together, and a storage
//! failure in the middle of a run.

mod support;

use aiq_testkit::fixtures::push::tested_user;

use std::sync::Mutex;

use aiq_core::Config;
use aiq_core::push::reminders;
use aiq_core::push::{Notification, PushError, PushSender};
use time::OffsetDateTime;
use time::macros::datetime;

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
        tested_user(&store, days, NOW).await;
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
        tested_user(store.as_ref(), days, NOW).await;
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
