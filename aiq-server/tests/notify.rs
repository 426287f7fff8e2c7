//! `aiq-server notify`, the reminder cron, run as a process against a real database.

mod support;

use aiq_testkit::TestDb;
use support::command;

fn notify(db: &TestDb, vars: &[(&str, &str)]) -> (Option<i32>, Option<serde_json::Value>) {
    let mut all = vec![("DATABASE_URL", db.url())];
    all.extend_from_slice(vars);
    let output = command(&all).arg("notify").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout
        .lines()
        .find(|line| line.starts_with('{') && line.contains("\"test_reminders\""))
        .map(|line| serde_json::from_str(line).unwrap());
    (output.status.code(), summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminds_an_eligible_user_once_and_prints_one_summary_line() {
    let db = TestDb::create().await;
    let migrated = command(&[("DATABASE_URL", db.url())])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "INSERT INTO users (id, email, password_hash, first_name, apns_device_token) \
             VALUES (7, 'due@example.com', 'h', 'Ada', '{token}'); \
             INSERT INTO test_sessions (id, user_id, started_at, completed_at, status) \
             VALUES (70, 7, now() - interval '91 days 1 hour', now() - interval '91 days', 'completed'); \
             INSERT INTO test_results (test_session_id, user_id, iq_score, total_questions, \
                                       correct_answers, completed_at) \
             VALUES (70, 7, 104, 25, 15, now() - interval '91 days');",
            token = "ab".repeat(32)
        ))
        .await
        .unwrap();

    // No APNs credentials: pushes go to the log, and count as delivered.
    let (code, summary) = notify(&db, &[]);
    assert_eq!(code, Some(0));
    let summary = summary.expect("one JSON summary line");
    assert_eq!(summary["test_reminders"]["total"], 1, "{summary}");
    assert_eq!(summary["test_reminders"]["success"], 1, "{summary}");
    assert_eq!(summary["total_failed"], 0, "{summary}");

    // The next day's run: the same window, no second reminder.
    let (code, summary) = notify(&db, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(summary.unwrap()["test_reminders"]["total"], 0);
}

#[test]
fn a_partial_apns_configuration_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::create());
    let output = command(&[("DATABASE_URL", db.url()), ("APNS_KEY_ID", "ABC123")])
        .arg("notify")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("APNS_TEAM_ID"), "{stderr}");
}

#[test]
fn production_without_apns_refuses_to_mark_reminders_sent() {
    let output = command(&[
        ("ENV", "production"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
        ("SECRET_KEY", "a-production-secret-of-at-least-32-bytes!"),
        ("JWT_SECRET_KEY", "another-production-secret-of-32-bytes!!"),
        ("CORS_ORIGINS", "https://app.example.com"),
    ])
    .arg("notify")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("APNS_KEY_ID"), "{stderr}");
}
