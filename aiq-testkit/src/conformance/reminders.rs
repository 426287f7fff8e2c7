//! `ReminderStore`, through the daily reminder run (`aiq_core::push::reminders::run`): test
//! reminders once per window, day-30 reminders, retries, and device tokens that move.

use std::sync::{Arc, Mutex};

use aiq_core::Config;
use aiq_core::push::reminders::{self, RunSummary};
use aiq_core::push::{Notification, PushError, PushSender};
use aiq_core::storage::{ProfileUpdate, Storage};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::cases;
use crate::fixtures::push::{device, pushable_user, store_token, take_test, tested_user};

/// A device token of the right shape (64 hex digits).
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

cases!(
    test_reminders_cover_days_90_to_97_once_per_window,
    day_30_reminders_cover_days_29_to_31_once,
    failed_sends_are_retried_and_invalid_tokens_cleared,
    only_enabled_users_with_a_token_are_selected,
    a_device_token_moves_to_the_account_that_registers_it,
);

const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 UTC);

/// A push sender that records what it sends; tokens starting with `dead` are unregistered,
/// and everything fails while `fail` is set.
#[derive(Debug, Default)]
struct RecordingPush {
    sent: Mutex<Vec<(String, Notification)>>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl PushSender for RecordingPush {
    async fn send(&self, token: &str, notification: &Notification) -> Result<(), PushError> {
        if token.starts_with("dead") {
            return Err(PushError::InvalidToken {
                reason: "Unregistered".into(),
            });
        }
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PushError::Unavailable("connection refused".into()));
        }
        self.sent
            .lock()
            .unwrap()
            .push((token.to_owned(), notification.clone()));
        Ok(())
    }
}

impl RecordingPush {
    /// What was sent so far, by user id (a run sends several at a time, in no fixed order).
    fn take(&self) -> Vec<(String, Notification)> {
        let mut sent = std::mem::take(&mut *self.sent.lock().unwrap());
        sent.sort_by_key(|(_, n)| {
            n.data["user_id"]
                .as_str()
                .and_then(|id| id.parse::<i64>().ok())
        });
        sent
    }
}

async fn run(store: &dyn Storage, push: &RecordingPush, now: OffsetDateTime) -> RunSummary {
    reminders::run(store, push, &Config::default(), now)
        .await
        .unwrap()
}

fn users_of(sent: &[(String, Notification)], kind: &str) -> Vec<String> {
    sent.iter()
        .filter(|(_, n)| n.kind() == kind)
        .map(|(_, n)| n.data["user_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn test_reminders_cover_days_90_to_97_once_per_window(store: Arc<dyn Storage>) {
    let store = store.as_ref();
    let mut users = Vec::new();
    for days in [89, 90, 97, 98] {
        users.push(tested_user(store, days, NOW).await);
    }
    // A user who tested 120 and 90 days ago: the latest test counts.
    let (again, _) = tested_user(store, 120, NOW).await;
    let latest = take_test(store, again, NOW - Duration::days(90)).await;
    let push = RecordingPush::default();

    let summary = run(store, &push, NOW).await;
    let sent = push.take();
    let (u90, r90) = users[1];
    let (u97, _) = users[2];
    assert_eq!(
        users_of(&sent, "test_reminder"),
        [u90.to_string(), u97.to_string(), again.to_string()]
    );
    assert_eq!(
        serde_json::to_value(&summary).unwrap(),
        json!({
            "test_reminders": {"total": 3, "success": 3, "failed": 0},
            "day_30_reminders": {"total": 0, "success": 0, "failed": 0},
            "total_sent": 3,
            "total_failed": 0,
            "sent_at": "2026-06-01T09:00:00Z",
        })
    );
    let (token, notification) = &sent[0];
    assert_eq!(token, &device(u90));
    assert_eq!(notification.title, "Ready for Your Next AIQ Test?");
    assert_eq!(
        notification.body,
        "Hi Ada, it's been 3 months! Ready to track your cognitive progress?"
    );
    assert_eq!(notification.badge, Some(1));
    assert_eq!(
        notification.apns_payload(),
        json!({
            "aps": {
                "alert": {"title": notification.title, "body": notification.body},
                "badge": 1,
                "sound": "default",
            },
            "type": "test_reminder",
            "user_id": u90.to_string(),
            "deep_link": format!("aiq://test/results/{r90}"),
        })
    );
    assert_eq!(
        sent[2].1.data["deep_link"],
        format!("aiq://test/results/{latest}")
    );

    // Later runs inside the same windows send nothing to those reminded; the user who tested
    // 89 days ago enters their window the next day, and is reminded once too.
    let (u89, _) = users[0];
    push.take();
    for day in 0..=8 {
        run(store, &push, NOW + Duration::days(day)).await;
    }
    assert_eq!(users_of(&push.take(), "test_reminder"), [u89.to_string()]);
    // A new test opens a new window, 90 days after it.
    let next = take_test(store, u90, NOW + Duration::days(1)).await;
    assert_eq!(
        run(store, &push, NOW + Duration::days(90))
            .await
            .test_reminders
            .total,
        0
    );
    push.take();
    let summary = run(store, &push, NOW + Duration::days(91)).await;
    assert_eq!(summary.test_reminders.success, 1);
    let sent = push.take();
    assert_eq!(users_of(&sent, "test_reminder"), [u90.to_string()]);
    assert_eq!(
        sent[0].1.data["deep_link"],
        format!("aiq://test/results/{next}")
    );
    assert_eq!(
        run(store, &push, NOW + Duration::days(92)).await.total_sent,
        0
    );
}

async fn day_30_reminders_cover_days_29_to_31_once(store: Arc<dyn Storage>) {
    let store = store.as_ref();
    let mut users = Vec::new();
    for days in [28, 29, 30, 31, 32] {
        users.push(tested_user(store, days, NOW).await.0);
    }
    // Two tests, the first 30 days ago: not a first test any more.
    let (twice, _) = tested_user(store, 30 + 100, NOW).await;
    take_test(store, twice, NOW - Duration::days(30)).await;
    // Just inside and just outside the edges.
    let (inside, _) = {
        let user = pushable_user(store, "inside@example.com", "").await;
        store
            .set_device_token(user, Some(&device(user)))
            .await
            .unwrap();
        (
            user,
            take_test(store, user, NOW - Duration::days(31) + Duration::seconds(1)).await,
        )
    };
    let (outside, _) = {
        let user = pushable_user(store, "outside@example.com", "").await;
        store
            .set_device_token(user, Some(&device(user)))
            .await
            .unwrap();
        (
            user,
            take_test(store, user, NOW - Duration::days(29) + Duration::seconds(1)).await,
        )
    };
    let push = RecordingPush::default();

    let summary = run(store, &push, NOW).await;
    let sent = push.take();
    assert_eq!(
        users_of(&sent, "day_30_reminder"),
        [users[1], users[2], users[3], inside].map(|u| u.to_string())
    );
    assert!(!users_of(&sent, "day_30_reminder").contains(&outside.to_string()));
    assert_eq!(summary.day_30_reminders.success, 4);
    let notification = &sent
        .iter()
        .find(|(_, n)| n.kind() == "day_30_reminder")
        .unwrap()
        .1;
    assert_eq!(notification.title, "Your Cognitive Journey Continues");
    assert_eq!(
        notification.body,
        "Hi Ada! It's been 30 days since your first test. Your next test is in 60 days."
    );
    let payload = notification.apns_payload();
    assert_eq!(payload["aps"].get("badge"), None);
    assert_eq!(payload["aps"].get("sound"), None);
    assert_eq!(payload["days_since_first_test"], 30);
    assert_eq!(payload["days_until_next_test"], 60);
    assert_eq!(payload["user_id"], users[1].to_string());
    let marked = store.user_by_id(users[1]).await.unwrap().unwrap();
    assert_eq!(marked.day_30_reminder_sent_at, Some(NOW));

    // Once: later runs send only to the user who entered the window meanwhile.
    let summary = run(store, &push, NOW + Duration::hours(12)).await;
    assert_eq!(summary.day_30_reminders.total, 1);
    assert_eq!(
        users_of(&push.take(), "day_30_reminder"),
        [outside.to_string()]
    );
    // The next day, the user who tested 28 days before NOW is at 29 days.
    run(store, &push, NOW + Duration::days(1)).await;
    assert_eq!(
        users_of(&push.take(), "day_30_reminder"),
        [users[0].to_string()]
    );
    let summary = run(store, &push, NOW + Duration::days(2)).await;
    assert_eq!(summary.day_30_reminders.total, 0);
}

async fn failed_sends_are_retried_and_invalid_tokens_cleared(store: Arc<dyn Storage>) {
    let store = store.as_ref();
    let (test_user, _) = tested_user(store, 92, NOW).await;
    let (day_30_user, _) = tested_user(store, 30, NOW).await;
    let dead = pushable_user(store, "dead@example.com", &format!("dead{}", &TOKEN[4..])).await;
    take_test(store, dead, NOW - Duration::days(93)).await;
    let push = RecordingPush::default();
    push.fail.store(true, std::sync::atomic::Ordering::SeqCst);

    let summary = run(store, &push, NOW).await;
    assert_eq!(
        summary.test_reminders,
        reminders::Counts {
            total: 2,
            success: 0,
            failed: 2
        }
    );
    assert_eq!(
        summary.day_30_reminders,
        reminders::Counts {
            total: 1,
            success: 0,
            failed: 1
        }
    );
    assert_eq!((summary.total_sent, summary.total_failed), (0, 3));
    assert!(!summary.all_delivered());
    assert_eq!(store_token(store, dead).await, None);
    assert!(
        store
            .user_by_id(day_30_user)
            .await
            .unwrap()
            .unwrap()
            .day_30_reminder_sent_at
            .is_none()
    );

    push.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let summary = run(store, &push, NOW + Duration::days(1)).await;
    assert_eq!((summary.total_sent, summary.total_failed), (2, 0));
    assert!(summary.all_delivered());
    let sent = push.take();
    assert_eq!(users_of(&sent, "test_reminder"), [test_user.to_string()]);
    assert_eq!(
        users_of(&sent, "day_30_reminder"),
        [day_30_user.to_string()]
    );
}

async fn only_enabled_users_with_a_token_are_selected(store: Arc<dyn Storage>) {
    let store = store.as_ref();
    let (muted, _) = tested_user(store, 91, NOW).await;
    store
        .update_profile(
            muted,
            ProfileUpdate {
                notification_enabled: Some(false),
                ..ProfileUpdate::default()
            },
        )
        .await
        .unwrap();
    let (no_device, _) = tested_user(store, 92, NOW).await;
    store.set_device_token(no_device, None).await.unwrap();
    let (empty, _) = tested_user(store, 30, NOW).await;
    store.set_device_token(empty, Some("")).await.unwrap();
    let (wanted, _) = tested_user(store, 93, NOW).await;

    let (from, to) = reminders::test_reminder_window(&Config::default(), NOW);
    let candidates = store.test_reminder_candidates(from, to).await.unwrap();
    assert_eq!(
        candidates.iter().map(|c| c.user_id).collect::<Vec<_>>(),
        [wanted]
    );
    assert_eq!(candidates[0].device_token, device(wanted));
    assert_eq!(candidates[0].first_name.as_deref(), Some("Ada"));
    let (from, to) = reminders::day_30_window(NOW);
    assert!(
        store
            .day_30_reminder_candidates(from, to)
            .await
            .unwrap()
            .is_empty()
    );

    // The stored token is only cleared while it is still the one that failed.
    assert!(!store.clear_device_token_if(wanted, "other").await.unwrap());
    assert!(
        store
            .clear_device_token_if(wanted, &device(wanted))
            .await
            .unwrap()
    );
    assert_eq!(store_token(store, wanted).await, None);
    assert!(!store.set_device_token(9_999_999, Some("ab")).await.unwrap());
    assert!(!store.mark_test_reminder_sent(9_999_999, 1).await.unwrap());
    assert!(
        !store
            .mark_day_30_reminder_sent(9_999_999, NOW)
            .await
            .unwrap()
    );
}

/// One phone, two accounts in turn: the reminders of the account that signed out must not
/// reach the phone of the one signed in now.
async fn a_device_token_moves_to_the_account_that_registers_it(store: Arc<dyn Storage>) {
    let store = store.as_ref();
    let (first, _) = tested_user(store, 94, NOW).await;
    let (second, _) = tested_user(store, 95, NOW).await;
    let phone = device(first);

    assert!(store.set_device_token(second, Some(&phone)).await.unwrap());
    assert_eq!(store_token(store, first).await, None);
    assert_eq!(store_token(store, second).await, Some(phone.clone()));
    let (from, to) = reminders::test_reminder_window(&Config::default(), NOW);
    let candidates = store.test_reminder_candidates(from, to).await.unwrap();
    assert_eq!(
        candidates
            .iter()
            .map(|c| (c.user_id, c.device_token.as_str()))
            .collect::<Vec<_>>(),
        [(second, phone.as_str())]
    );

    // An unknown account takes nothing; another token or a cleared one leaves others alone.
    assert!(
        !store
            .set_device_token(9_999_999, Some(&phone))
            .await
            .unwrap()
    );
    assert_eq!(store_token(store, second).await, Some(phone.clone()));
    assert!(
        store
            .set_device_token(first, Some(&device(first + 100)))
            .await
            .unwrap()
    );
    assert!(store.set_device_token(first, None).await.unwrap());
    assert_eq!(store_token(store, second).await, Some(phone));

    // Both accounts registering one token at once: it ends with exactly one of them.
    for round in 0..20 {
        let token = device(10_000 + round);
        let (a, b) = tokio::join!(
            store.set_device_token(first, Some(&token)),
            store.set_device_token(second, Some(&token)),
        );
        assert!(a.unwrap() && b.unwrap());
        let held = [
            store_token(store, first).await,
            store_token(store, second).await,
        ];
        let holders = held
            .iter()
            .filter(|held| held.as_deref() == Some(token.as_str()))
            .count();
        assert_eq!(holders, 1, "round {round}");
    }
}
