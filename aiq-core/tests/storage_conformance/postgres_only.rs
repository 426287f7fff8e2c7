//! What only PostgreSQL can set up: states no trait operation produces.

use std::sync::Arc;

use aiq_core::storage::{GUEST_USER_ID, QuestionId, Storage};
use aiq_testkit::fixtures::admin::{at, bank, complete, start, user};

async fn store_and_client() -> (
    Arc<dyn Storage>,
    tokio_postgres::Client,
    aiq_testkit::TestDb,
) {
    let (store, db) = crate::support::pg_store().await;
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    (Arc::new(store), client, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_questions_are_never_served() {
    let (store, client, _db) = store_and_client().await;
    let ids = bank(&store, 3).await;
    client
        .execute(
            "UPDATE questions SET is_active = FALSE WHERE id = $1",
            &[&ids[1]],
        )
        .await
        .unwrap();
    let candidates: Vec<QuestionId> = store
        .selection_candidates(None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert!(!candidates.contains(&ids[1]));
    let unseen: Vec<QuestionId> = store
        .unseen_questions(1, 10)
        .await
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(unseen, vec![ids[0], ids[2]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandon_counts_once_it_has_enough_responses() {
    let (store, client, _db) = store_and_client().await;
    let ids = bank(&store, 3).await;
    let ada = user(&store, "threshold@example.com", None).await;
    let session = start(&store, ada, at(0), &ids).await;
    // Responses stored before the session was given up (as adaptive sessions will).
    for id in &ids[0..2] {
        client
            .execute(
                "INSERT INTO responses (test_session_id, user_id, question_id, user_answer, \
                 is_correct, answered_at) VALUES ($1, $2, $3, 'x', TRUE, $4)",
                &[&session, &ada, id, &at(10)],
            )
            .await
            .unwrap();
    }
    let (_, kept) = store
        .abandon_session(session, at(100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, 2);
    let context = store.start_context(ada, 2).await.unwrap();
    assert_eq!(context.last_substantive_abandon_at, Some(at(100)));
    let context = store.start_context(ada, 3).await.unwrap();
    assert_eq!(context.last_substantive_abandon_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_guest_completions_of_twenty_five_responses_go_through() {
    // How long a completion takes is measured by the `test_sessions` bench (submit with 25
    // answers, on PostgreSQL), not here: a test must not depend on the machine's speed.
    let (store, _client, _db) = store_and_client().await;
    let ids = bank(&store, 25).await;
    let answers: Vec<(QuestionId, bool)> = ids.iter().map(|id| (*id, true)).collect();
    for i in 0..30 {
        let session = start(&store, GUEST_USER_ID, at(i), &ids).await;
        complete(&store, session, at(i + 1), &answers, 100).await;
    }
}

/// On large tables the overview estimates users and finished sessions from the planner's
/// statistics (it reads no whole table), and still counts what is in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_estimates_large_tables() {
    let (store, client, _db) = store_and_client().await;
    let q = bank(&store, 1).await;
    let ada = user(&store, "ada@example.com", None).await;
    start(&store, ada, at(0), &q).await;
    // 60,000 users, each with a finished session: two completed for one abandoned.
    client
        .batch_execute(
            "INSERT INTO users (email, password_hash) \
             SELECT 'u' || n || '@example.com', 'x' FROM generate_series(1, 60000) n; \
             INSERT INTO test_sessions (user_id, started_at, status, completed_at) \
             SELECT id, now(), CASE WHEN id % 3 = 0 THEN 'abandoned' ELSE 'completed' END, now() \
             FROM users WHERE email LIKE 'u%'; \
             ANALYZE users; ANALYZE test_sessions;",
        )
        .await
        .unwrap();
    let counts = store.overview_counts().await.unwrap();
    assert!(counts.estimated, "{counts:?}");
    let near = |found: u64, expected: f64| (found as f64 - expected).abs() <= expected * 0.05;
    assert!(near(counts.users, 60_001.0), "{counts:?}");
    assert!(near(counts.completed, 40_000.0), "{counts:?}");
    assert!(near(counts.abandoned, 20_000.0), "{counts:?}");
    assert_eq!((counts.in_progress, counts.questions), (1, 1));
}
