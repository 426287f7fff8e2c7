//! `aiq-server calibrate` as a process: the cron's exit codes, its JSON line, and the run it
//! records in the database.

mod support;

use aiq_testkit::TestDb;
use support::command;

#[test]
fn calibrate_without_a_database_exits_2() {
    let output = command(&[]).arg("calibrate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL is not set"));
}

#[test]
fn calibrate_on_a_fresh_database_records_a_skipped_run() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::create());
    let output = command(&[("DATABASE_URL", db.url())])
        .arg("calibrate")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|line| line.starts_with('{') && line.contains("\"status\""))
        .unwrap_or_else(|| panic!("no run line in {stdout}"));
    let run: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(run["status"], "skipped");
    assert_eq!(run["new_responses"], 0);
    assert_eq!(run["reason"], "insufficient_new_responses: 0 < 100");

    let rows = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query("SELECT status, reason FROM irt_calibration_runs", &[])
            .await
            .unwrap()
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "skipped");
    drop(db);
}
