//! `aiq-server seed-synthetic` as a process: the counts it was asked for, data every part of
//! the API can use (log in, history, results, a new test from unseen questions), and its
//! refusal in production.

mod support;

use aiq_testkit::TestDb;
use reqwest::Method;
use support::{Server, call_json, client, command};

const PASSWORD: &str = "synthetic-Passw0rd";

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_data_set_has_the_counts_asked_and_works_through_the_api() {
    let test_db = TestDb::create().await;
    let output = command(&[("DATABASE_URL", test_db.url())])
        .args([
            "seed-synthetic",
            "--users",
            "200",
            "--tests-per-user",
            "3",
            "--seed",
            "5",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().find(|l| l.starts_with('{')).unwrap();
    let summary: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(summary["users"], 200);
    assert_eq!(summary["completed_tests"], 600);
    assert_eq!(summary["responses"], 600 * 25);
    assert_eq!(summary["client_analytics_events"], 800);
    assert_eq!(summary["password"], PASSWORD);

    let db = connect(test_db.url()).await;
    let sessions = count(&db, "SELECT count(*) FROM test_sessions").await;
    assert_eq!(summary["test_sessions"], sessions);
    assert!(sessions > 600, "some users abandoned a test");
    assert_eq!(summary["user_questions"], sessions * 25);
    for (sql, expected) in [
        ("SELECT count(*) FROM users WHERE id > 0", 200),
        (
            "SELECT count(*) FROM test_sessions WHERE status = 'completed'",
            600,
        ),
        ("SELECT count(*) FROM test_results", 600),
        ("SELECT count(*) FROM responses", 15_000),
        // Every completed test has its 25 answers and its result; abandoned ones neither.
        (
            "SELECT count(*) FROM test_sessions s WHERE s.status = 'completed' AND \
             (SELECT count(*) FROM responses r WHERE r.test_session_id = s.id) = 25 AND \
             EXISTS (SELECT 1 FROM test_results t WHERE t.test_session_id = s.id)",
            600,
        ),
        (
            "SELECT count(*) FROM responses r JOIN test_sessions s ON s.id = r.test_session_id \
             WHERE s.status <> 'completed'",
            0,
        ),
        // Each group has one owner; results agree with the answers they score.
        (
            "SELECT count(*) FROM groups g WHERE (SELECT count(*) FROM group_memberships m \
             WHERE m.group_id = g.id AND m.role = 'owner') <> 1",
            0,
        ),
        (
            "SELECT count(*) FROM test_results t WHERE t.correct_answers <> (SELECT count(*) \
             FROM responses r WHERE r.test_session_id = t.test_session_id AND r.is_correct)",
            0,
        ),
        (
            "SELECT count(DISTINCT password_hash) FROM users WHERE id > 0",
            1,
        ),
    ] {
        assert_eq!(count(&db, sql).await, expected, "{sql}");
    }
    assert!(count(&db, "SELECT count(*) FROM groups").await >= 4);
    assert!(
        count(
            &db,
            "SELECT count(*) FROM users WHERE apns_device_token IS NOT NULL"
        )
        .await
            > 100
    );
    assert!(count(&db, "SELECT count(*) FROM feedback_submissions").await >= 4);
    // The identity sequences continue after the explicit ids.
    let next_user: i64 = db
        .query_one(
            "INSERT INTO users (email, password_hash) VALUES ('after@example.com', 'x') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(next_user > 200);
    // Every user shares the one hash, made from the printed password.
    let hash: String = db
        .query_one("SELECT password_hash FROM users WHERE id > 0 LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(aiq_core::auth::password::verify_password_hash(
        PASSWORD, &hash
    ));

    // A user whose last test is old enough for another.
    let email: String = db
        .query_one(
            "SELECT u.email FROM users u JOIN test_results t ON t.user_id = u.id \
             WHERE u.id > 0 GROUP BY u.email HAVING max(t.completed_at) < now() - interval '100 days' \
             ORDER BY u.email LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let server = Server::start(&[("DATABASE_URL", test_db.url())]);
    let login: serde_json::Value = client()
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"));
    let history = call_json(&server, Method::GET, "/v1/test/history", token, None).await;
    let results = history["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"));
    assert_eq!(results.len(), 3, "{history}");
    let id = results[0]["id"].as_i64().unwrap();
    let result = call_json(
        &server,
        Method::GET,
        &format!("/v1/test/results/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!(result["total_questions"], 25, "{result}");
    let started = call_json(&server, Method::POST, "/v1/test/start", token, None).await;
    let questions = started["questions"]
        .as_array()
        .unwrap_or_else(|| panic!("{started}"));
    assert_eq!(questions.len(), 25);
    // None of them were shown to this user before.
    let ids: Vec<i64> = questions
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    let repeated = db
        .query_one(
            "SELECT count(*) FROM user_questions q JOIN users u ON u.id = q.user_id \
             WHERE u.email = $1 AND q.question_id = ANY($2) AND q.test_session_id <> $3",
            &[&email, &ids, &started["session"]["id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(repeated, 0);
    drop(server);
    drop(test_db);
}

#[tokio::test(flavor = "multi_thread")]
async fn production_is_refused_and_nothing_is_written() {
    let test_db = TestDb::create().await;
    // A configuration production accepts, so the refusal is the command's own.
    let secret = "0123456789abcdef".repeat(4);
    let output = command(&[
        ("DATABASE_URL", test_db.url()),
        ("ENV", "production"),
        ("SECRET_KEY", &secret),
        ("JWT_SECRET_KEY", &secret.replace('0', "f")),
    ])
    .args(["seed-synthetic", "--users", "5"])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("seed-synthetic") && stderr.contains("ENV=production"),
        "{stderr}"
    );
    let db = connect(test_db.url()).await;
    let users: i64 = db
        .query_one("SELECT count(*) FROM users WHERE id > 0", &[])
        .await
        .map_or(0, |row| row.get(0));
    assert_eq!(users, 0);
    drop(test_db);
}
