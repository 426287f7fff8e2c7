//! `aiq-server import-legacy` run more than once, interrupted, dry, and checked: a second pass
//! writes nothing, a pass after new activity mirrors only what changed, a killed import leaves
//! nothing and its rerun ends where a clean one does, `--dry-run` writes nothing, refused rows
//! stop the import unless skipped, and `--verify` finds a lost row.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::legacy::{Switch, assert_same, dump, summary, written};

#[tokio::test(flavor = "multi_thread")]
async fn a_second_pass_over_an_unchanged_database_writes_nothing() {
    let switch = Switch::with_quirks().await;
    let first = switch.import_ok(&[]);
    assert!(written(&first).0 > 200, "{first}");
    let new = switch.new_client().await;
    let before = dump(&new).await;

    let second = switch.import_ok(&[]);
    assert_eq!(written(&second), (0, 0, 0), "{second}");
    assert_same(&dump(&new).await, &before);
    assert_eq!(
        new.query_one("SELECT count(*) FROM legacy_imports", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_pass_adds_updates_and_deletes_what_changed_in_the_old_database() {
    let switch = Switch::with_quirks().await;
    switch.import_ok(&[]);
    let old = switch.old_client().await;
    // Activity in the old backend between the two passes: a new user who takes a test, a
    // logout-all, a deleted account (its sessions and results cascade).
    let new_user: i32 = old
        .query_one(
            "INSERT INTO users (email, password_hash, first_name, created_at, notification_enabled, \
             bypass_cooldown, is_admin, password_login_enabled) \
             SELECT 'late-' || id || '@example.com', password_hash, 'Late', now(), true, false, \
             false, true FROM users WHERE id = $1 RETURNING id",
            &[&aiq_testkit::legacy::QUIRK_USERS[0].id],
        )
        .await
        .unwrap()
        .get(0);
    let session: i32 = old
        .query_one(
            "INSERT INTO test_sessions (user_id, started_at, completed_at, status) \
             VALUES ($1, now() - interval '20 minutes', now(), 'COMPLETED') RETURNING id",
            &[&new_user],
        )
        .await
        .unwrap()
        .get(0);
    old.execute(
        "INSERT INTO test_results (test_session_id, user_id, iq_score, total_questions, \
         correct_answers, completed_at, percentile_rank) VALUES ($1, $2, 117, 20, 14, now(), 87.1)",
        &[&session, &new_user],
    )
    .await
    .unwrap();
    let logout_all = aiq_testkit::legacy::QUIRK_USERS[1].id;
    let deleted: i32 = old
        .query_one(
            "SELECT u.id FROM users u WHERE u.id > 0 AND u.id <> $1 AND u.id <> $2 AND EXISTS \
             (SELECT 1 FROM test_results r WHERE r.user_id = u.id) \
             AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.created_by = u.id) \
             ORDER BY u.id DESC LIMIT 1",
            &[&logout_all, &new_user],
        )
        .await
        .unwrap()
        .get(0);
    let deleted_results: i64 = old
        .query_one(
            "SELECT count(*) FROM test_results WHERE user_id = $1",
            &[&deleted],
        )
        .await
        .unwrap()
        .get(0);
    old.execute("DELETE FROM users WHERE id = $1", &[&deleted])
        .await
        .unwrap();
    old.execute(
        "UPDATE users SET token_revoked_before = now() WHERE id = $1",
        &[&logout_all],
    )
    .await
    .unwrap();

    let second = switch.import_ok(&[]);
    let tables = &second["tables"];
    assert_eq!(tables["users"]["inserted"], 1, "{second}");
    assert_eq!(tables["users"]["updated"], 1, "{second}");
    assert_eq!(tables["users"]["deleted"], 1, "{second}");
    assert_eq!(tables["test_sessions"]["inserted"], 1, "{second}");
    assert_eq!(tables["test_results"]["inserted"], 1, "{second}");
    // The deleted account's results went with it (children are deleted first).
    assert!(deleted_results > 0);
    assert_eq!(
        tables["test_results"]["deleted"], deleted_results,
        "{second}"
    );

    let new = switch.new_client().await;
    let gone: i64 = new
        .query_one(
            "SELECT (SELECT count(*) FROM users WHERE id = $1) + \
                    (SELECT count(*) FROM test_results WHERE user_id = $1)",
            &[&i64::from(deleted)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(gone, 0, "the deleted account left nothing behind");
    let revoked: bool = new
        .query_one(
            "SELECT token_revoked_before IS NOT NULL FROM users WHERE id = $1",
            &[&i64::from(logout_all)],
        )
        .await
        .unwrap()
        .get(0);
    assert!(revoked, "the logout-all made between passes holds");
    // And the ids the old backend handed out are never handed out again.
    let next: i64 = new
        .query_one("SELECT nextval(pg_get_serial_sequence('users', 'id'))", &[])
        .await
        .unwrap()
        .get(0);
    assert!(next > i64::from(new_user), "{next} must be past {new_user}");

    let verify = switch.import(&["--verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_import_leaves_nothing_and_its_rerun_ends_like_a_clean_one() {
    let switch = Switch::with_quirks().await;
    // Hold the import at its very last write: the bookkeeping row it inserts just before it
    // commits. Reading that table (which the import does at its start) is not blocked.
    let holder = switch.new_client().await;
    let migrated = switch.import(&["--dry-run"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    holder
        .batch_execute("BEGIN; LOCK TABLE legacy_imports IN SHARE MODE")
        .await
        .unwrap();
    let mut child = switch
        .command(&["--progress"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines().map_while(Result::ok) {
        seen.push(line.clone());
        // The last table's merge is done: every row is written, nothing is committed.
        if line.contains("benchmark_set_questions:") && line.contains("inserted") {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("benchmark_set_questions:") && l.contains("inserted")),
        "the import never reached its last table:\n{}",
        seen.join("\n")
    );
    child.kill().unwrap();
    child.wait().unwrap();
    holder.batch_execute("ROLLBACK").await.unwrap();

    let new = switch.new_client().await;
    let counts = new
        .query_one(
            "SELECT (SELECT count(*) FROM users WHERE id > 0), (SELECT count(*) FROM questions), \
                    (SELECT count(*) FROM legacy_imports)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            counts.get::<_, i64>(0),
            counts.get::<_, i64>(1),
            counts.get::<_, i64>(2)
        ),
        (0, 0, 0),
        "a killed import wrote nothing"
    );

    switch.import_ok(&[]);
    let rerun = dump(&new).await;
    // The same old database imported cleanly elsewhere.
    let clean = aiq_testkit::TestDb::create().await;
    let output = support::legacy::import_command(clean.url(), switch.old.url(), &[])
        .output()
        .unwrap();
    assert!(output.status.success());
    let clean_client = support::legacy::connect(clean.url()).await;
    assert_same(&rerun, &dump(&clean_client).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_counts_everything_and_writes_nothing() {
    let switch = Switch::with_quirks().await;
    let dry = switch.import_ok(&["--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    let new = switch.new_client().await;
    assert_eq!(
        dump(&new).await.values().map(Vec::len).sum::<usize>(),
        0,
        "nothing written"
    );

    let real = switch.import_ok(&[]);
    assert_eq!(
        dry["tables"], real["tables"],
        "the dry run counted what the import did"
    );
    assert_eq!(dry["rows_read"], real["rows_read"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_that_cannot_be_imported_is_named_and_stops_the_import_unless_skipped() {
    let switch = Switch::with_quirks().await;
    let old = switch.old_client().await;
    // The old schema has no CHECK on validity_status: a hand edit can leave anything there.
    let result: i32 = old
        .query_one(
            "UPDATE test_results SET validity_status = 'bogus' \
             WHERE id = (SELECT min(id) FROM test_results) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let reason = format!("refused test_results id={result}: validity_status 'bogus'");

    let dry = switch.import(&["--dry-run"]);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(stderr.contains(&reason), "{stderr}");
    assert_eq!(dry.status.code(), Some(1), "the real import would fail");
    assert_eq!(summary(&dry)["refused"], 1);

    let refused = switch.import(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&reason) && stderr.contains("--skip-refused"),
        "{stderr}"
    );
    let new = switch.new_client().await;
    let users: i64 = new
        .query_one("SELECT count(*) FROM users WHERE id > 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0, "nothing was written");

    let skipped = switch.import_ok(&["--skip-refused"]);
    assert_eq!(skipped["refused"], 1);
    let present: i64 = new
        .query_one(
            "SELECT count(*) FROM test_results WHERE id = $1",
            &[&i64::from(result)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(present, 0);
    assert!(written(&skipped).0 > 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_after_an_import_and_catches_a_lost_row() {
    let switch = Switch::with_quirks().await;
    switch.import_ok(&[]);
    let verified = switch.import(&["--verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(summary(&verified)["differences"], 0);

    let new = switch.new_client().await;
    let lost: i64 = new
        .query_one(
            "DELETE FROM test_results WHERE id = (SELECT max(id) FROM test_results \
             WHERE user_id > 0) RETURNING user_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let verified = switch.import(&["--verify"]);
    assert_eq!(verified.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&verified.stderr);
    assert!(stderr.contains("test_results:"), "{stderr}");
    assert!(stderr.contains(&format!("user {lost}:")), "{stderr}");
}

/// Every constraint and index of `table`, as definitions.
async fn structure(client: &tokio_postgres::Client, table: &str) -> Vec<String> {
    let mut definitions: Vec<String> = client
        .query(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = $1::text::regclass \
             UNION ALL SELECT pg_get_indexdef(indexrelid) FROM pg_index \
             WHERE indrelid = $1::text::regclass",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    definitions.sort();
    definitions
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_first_import_builds_the_same_constraints_and_indexes() {
    // Enough responses and seen rows (over 50,000) for the bulk path, next to the quirks.
    let switch = Switch::with_quirks().await;
    let old = switch.old_client().await;
    let spec = aiq_testkit::legacy::LargeSpec {
        users: 800,
        tests_per_user: 3,
        responses_per_test: 25,
        questions: 200,
        seed: 7,
    };
    let generated = aiq_testkit::legacy::generate(&old, &spec).await.unwrap();
    assert!(generated.responses >= 60_000);

    let summary = switch.import_ok(&[]);
    assert_eq!(summary["refused"], 0, "{summary}");
    assert_eq!(
        summary["bulk_loaded"],
        serde_json::json!(["responses", "user_questions"]),
        "{summary}"
    );
    let verified = switch.import(&["--verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let migrated_only = aiq_testkit::TestDb::create().await;
    let output = support::command(&[("DATABASE_URL", migrated_only.url())])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(output.status.success());
    let reference = support::legacy::connect(migrated_only.url()).await;
    let new = switch.new_client().await;
    for table in support::legacy::IMPORTED {
        assert_eq!(
            structure(&new, table).await,
            structure(&reference, table).await,
            "{table}"
        );
    }
    // The rebuilt constraints hold: a duplicate answer is refused.
    let duplicate = new
        .execute(
            "INSERT INTO responses (test_session_id, user_id, question_id, user_answer, \
             is_correct, answered_at) SELECT test_session_id, user_id, question_id, 'x', false, \
             now() FROM responses ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await;
    assert!(duplicate.is_err());
    let second = switch.import_ok(&[]);
    assert_eq!(written(&second), (0, 0, 0), "{second}");
}
