//! The legacy fixture builds the old schema and really holds the quirks it promises.

use std::time::Instant;

use aiq_testkit::TestDb;
use aiq_testkit::legacy::{
    self, Generated, LARGE_PASSWORD, LargeSpec, QUIRK_USERS, create_schema, fill_quirks, generate,
};
use tokio_postgres::{Client, NoTls};

async fn connect(db: &TestDb) -> Client {
    let (client, connection) = tokio_postgres::connect(db.url(), NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {sql}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count {sql}: {e}"))
        .get(0)
}

/// The 26 alembic tables of §1 plus `pipeline_runs` (§8).
const TABLES: &str = "\
    users oauth_identities test_sessions responses test_results user_questions groups \
    group_memberships group_invites feedback_submissions questions system_config \
    benchmark_sets benchmark_set_questions guest_device_limits shadow_cat_results \
    reliability_metrics llm_test_sessions llm_responses llm_test_results \
    client_analytics_events question_generation_runs irt_calibration_runs audit_runs \
    password_reset_tokens alembic_version pipeline_runs";

/// Every index the spec names (the primary keys and unique constraints included).
const INDEXES: &str = "\
    users_pkey ix_users_email ix_users_id ix_users_token_revoked_before \
    uq_oauth_provider_subject ix_oauth_identities_id ix_oauth_identities_user_id \
    ix_questions_id ix_questions_is_active ix_questions_type ix_questions_quality_flag \
    ix_questions_response_count ix_questions_discrimination ix_questions_difficulty_level \
    ix_questions_is_anchor ix_questions_irt_calibrated uq_user_question ix_user_questions_id \
    ix_user_questions_user_id ix_user_questions_test_session_id ix_test_sessions_id \
    ix_test_sessions_user_id ix_test_sessions_status ix_test_sessions_user_status \
    ix_test_sessions_completed_at ix_test_sessions_user_completed idx_test_sessions_adaptive \
    ix_test_sessions_user_active uq_response_session_question ix_responses_id \
    ix_responses_test_session_id ix_responses_question_id ix_responses_session_id_answered_at \
    test_results_test_session_id_key ix_test_results_id ix_test_results_user_id \
    ix_test_results_validity_status ix_test_results_user_completed idx_test_results_theta \
    shadow_cat_results_test_session_id_key idx_shadow_cat_results_executed_at \
    idx_shadow_cat_results_delta idx_shadow_cat_results_test_session_id \
    ix_shadow_cat_results_id groups_invite_code_key uq_group_membership_group_user \
    ix_group_memberships_user_id group_invites_invite_code_key ix_feedback_submissions_id \
    ix_feedback_submissions_user_id ix_feedback_submissions_email \
    ix_feedback_submissions_created_at ix_feedback_submissions_category_created \
    ix_feedback_submissions_status_created ix_cae_event_received ix_cae_user_received \
    ix_client_analytics_events_client_timestamp ix_client_analytics_events_event_name \
    ix_client_analytics_events_id ix_client_analytics_events_received_at \
    ix_client_analytics_events_user_id system_config_pkey ix_reliability_metrics_calculated_at \
    ix_reliability_metrics_id ix_reliability_metrics_metric_type \
    ix_reliability_metrics_type_date ix_password_reset_tokens_id \
    ix_password_reset_tokens_token ix_password_reset_tokens_user_id \
    ix_password_reset_tokens_expires_at ix_password_reset_tokens_user_expires \
    ix_password_reset_tokens_token_expires ix_password_reset_tokens_user_used \
    ix_guest_device_limits_device_id ix_qgr_environment ix_qgr_overall_success \
    ix_qgr_started_at ix_qgr_status ix_question_generation_runs_id ix_qgr_client_run_id_unique \
    irt_calibration_runs_job_id_key ix_irt_calibration_runs_started_at \
    ix_irt_calibration_runs_status ix_irt_calibration_runs_status_completed_at \
    ix_irt_calibration_runs_id ix_audit_runs_id ix_llm_test_sessions_vendor \
    ix_llm_test_sessions_model_id ix_llm_test_sessions_status \
    ix_llm_test_sessions_vendor_model uq_llm_response_session_question \
    ix_llm_responses_session_id ix_llm_responses_question_id ix_llm_responses_session_question \
    llm_test_results_session_id_key ix_llm_test_results_vendor ix_llm_test_results_model_id \
    ix_llm_test_results_vendor_model benchmark_sets_name_key ix_benchmark_sets_id \
    ix_benchmark_sets_is_active uq_benchmark_set_question ix_benchmark_set_questions_id \
    ix_benchmark_set_questions_benchmark_set_id ix_benchmark_set_questions_question_id \
    ix_benchmark_set_questions_set_position alembic_version_pkc ix_pipeline_runs_pipeline_type";

async fn assert_schema(client: &Client) {
    for table in TABLES.split_whitespace() {
        let found = count(
            client,
            &format!("pg_tables WHERE schemaname = 'public' AND tablename = '{table}'"),
        )
        .await;
        assert_eq!(found, 1, "table {table} exists");
    }
    for index in INDEXES.split_whitespace() {
        let found = count(client, &format!("pg_indexes WHERE indexname = '{index}'")).await;
        assert_eq!(found, 1, "index {index} exists");
    }
    let partial: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_test_sessions_user_active'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(partial.starts_with("CREATE UNIQUE INDEX"), "{partial}");
    assert!(
        partial.contains("'IN_PROGRESS'") && partial.contains("<> '-1'"),
        "{partial}"
    );

    // Column types as the old migrations made them.
    for (table, column, udt) in [
        ("questions", "answer_options", "json"),
        ("questions", "question_embedding", "_float8"),
        ("questions", "judge_score", "float8"),
        ("questions", "last_audited_at", "timestamp"),
        ("test_results", "validity_flags", "json"),
        ("test_sessions", "started_at", "timestamptz"),
        ("users", "education_level", "educationlevel"),
        ("audit_runs", "started_at", "timestamp"),
        ("audit_runs", "cost_by_provider", "jsonb"),
        ("pipeline_runs", "result_summary", "jsonb"),
        ("question_generation_runs", "status", "generationrunstatus"),
    ] {
        let found: String = client
            .query_one(
                "SELECT udt_name::text FROM information_schema.columns
                 WHERE table_name = $1 AND column_name = $2",
                &[&table, &column],
            )
            .await
            .unwrap_or_else(|e| panic!("{table}.{column}: {e}"))
            .get(0);
        assert_eq!(found, udt, "type of {table}.{column}");
    }
    let id_default: String = client
        .query_one(
            "SELECT column_default FROM information_schema.columns
             WHERE table_name = 'users' AND column_name = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id_default, "nextval('users_id_seq'::regclass)");

    // ON DELETE rules.
    for (constraint, rule) in [
        ("user_questions_test_session_id_fkey", "c"),
        ("groups_created_by_fkey", "c"),
        ("group_invites_accepted_by_fkey", "n"),
        ("feedback_submissions_user_id_fkey", "n"),
        ("client_analytics_events_user_id_fkey", "n"),
        ("responses_question_id_fkey", "c"),
    ] {
        let found: i8 = client
            .query_one(
                "SELECT confdeltype FROM pg_constraint WHERE conname = $1",
                &[&constraint],
            )
            .await
            .unwrap_or_else(|e| panic!("{constraint}: {e}"))
            .get(0);
        assert_eq!(
            found as u8 as char,
            rule.chars().next().unwrap(),
            "{constraint}"
        );
    }
    for check in [
        "ck_questions_quality_flag_valid",
        "ck_test_results_validity_overridden_by_non_negative",
    ] {
        assert_eq!(
            count(client, &format!("pg_constraint WHERE conname = '{check}'")).await,
            1
        );
    }

    // Enum labels: UPPERCASE, except generationrunstatus.
    let labels: Vec<(String, String)> = client
        .query(
            "SELECT t.typname::text, e.enumlabel::text FROM pg_enum e
             JOIN pg_type t ON t.oid = e.enumtypid ORDER BY t.typname, e.enumsortorder",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(labels.len(), 6 + 3 + 3 + 7 + 5 + 3 + 4);
    for (ty, label) in &labels {
        if ty == "generationrunstatus" {
            assert_eq!(label, &label.to_lowercase());
        } else {
            assert_eq!(label, &label.to_uppercase(), "{ty}");
        }
    }

    // The sentinel guest user and the alembic head.
    let sentinel = client
        .query_one(
            "SELECT email, password_hash, notification_enabled, bypass_cooldown, is_admin,
                    password_login_enabled, first_name IS NULL
             FROM users WHERE id = -1",
            &[],
        )
        .await
        .expect("sentinel user -1");
    assert_eq!(sentinel.get::<_, String>(0), "guest@aiq.internal");
    assert_eq!(
        sentinel.get::<_, String>(1),
        format!("$2b$12${}", "X".repeat(56))
    );
    assert!(!sentinel.get::<_, bool>(2));
    assert!(sentinel.get::<_, bool>(3));
    assert!(!sentinel.get::<_, bool>(4));
    assert!(sentinel.get::<_, bool>(5));
    assert!(sentinel.get::<_, bool>(6));
    let head: String = client
        .query_one("SELECT version_num FROM alembic_version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(head, "pwdlogin474a");
}

/// Every SERIAL sequence of a table with positive ids is strictly past its largest id.
async fn assert_sequences_ahead(client: &Client) {
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name = 'id'
               AND column_default LIKE 'nextval%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables.len(), 25, "SERIAL tables: {tables:?}");
    for table in tables {
        let row = client
            .query_one(
                &format!(
                    "SELECT (SELECT max(id) FROM {table})::int8,
                            (SELECT last_value FROM {table}_id_seq),
                            (SELECT is_called FROM {table}_id_seq)"
                ),
                &[],
            )
            .await
            .unwrap();
        let (max, last, called): (Option<i64>, i64, bool) = (row.get(0), row.get(1), row.get(2));
        if let Some(max) = max.filter(|max| *max > 0) {
            assert!(
                called && last > max,
                "{table}: sequence at {last}, max id {max}"
            );
        }
    }
}

/// How many rows a quirk query must find.
enum Count {
    Exactly(i64),
    AtLeast(i64),
}
use Count::{AtLeast, Exactly};

/// `SELECT count(*) FROM <query>` for each quirk of the data set.
const QUIRK_COUNTS: &[(&str, Count)] = &[
    // Double-encoded composition metadata; the legacy object options.
    (
        "test_sessions WHERE json_typeof(composition_metadata) = 'string'",
        AtLeast(1),
    ),
    (
        "questions WHERE json_typeof(answer_options) = 'object'",
        Exactly(1),
    ),
    (
        "question_generation_runs WHERE status::text <> lower(status::text)",
        Exactly(0),
    ),
    // Guests: two in progress at once, one abandoned by housekeeping, one unclaimed result
    // without seen rows; a claimed test with seen rows.
    (
        "test_sessions WHERE user_id = -1 AND status = 'IN_PROGRESS'",
        Exactly(2),
    ),
    (
        "test_sessions WHERE user_id = -1 AND status = 'ABANDONED' AND completed_at IS NULL",
        Exactly(1),
    ),
    ("test_results WHERE user_id = -1", Exactly(1)),
    ("user_questions WHERE user_id = -1", Exactly(0)),
    (
        "user_questions WHERE test_session_id = 235 AND user_id = 33",
        Exactly(6),
    ),
    // HTML-escaped text.
    ("responses WHERE user_answer LIKE '%&amp;%'", AtLeast(1)),
    ("responses WHERE user_answer = '&lt;b&gt;'", Exactly(1)),
    (
        "users WHERE last_name LIKE '%&#x27;%' OR last_name LIKE '%&amp;%'",
        AtLeast(2),
    ),
    ("feedback_submissions WHERE name LIKE '%&amp;%'", AtLeast(1)),
    // Fixed-form results agree with their responses; one stored grade disagrees with a
    // re-grade.
    (
        "test_results tr WHERE scoring_method = 'ctt' AND EXISTS (
            SELECT 1 FROM responses r WHERE r.test_session_id = tr.test_session_id)
         AND (tr.correct_answers, tr.total_questions) <> (
            SELECT count(*) FILTER (WHERE r.is_correct), count(*)
            FROM responses r WHERE r.test_session_id = tr.test_session_id)",
        Exactly(0),
    ),
    (
        "responses r JOIN questions q ON q.id = r.question_id
         WHERE r.is_correct <> (lower(trim(r.user_answer)) = lower(trim(q.correct_answer)))",
        AtLeast(1),
    ),
    // domain_scores: both shapes, pct null for an empty domain, a persisted percentile.
    (
        "test_results WHERE domain_scores->'memory'->>'total' = '0'
         AND json_typeof(domain_scores->'memory'->'pct') = 'null'",
        AtLeast(1),
    ),
    (
        "test_results WHERE scoring_method = 'irt'
         AND domain_scores->'pattern'->>'accuracy' IS NOT NULL",
        Exactly(2),
    ),
    (
        "test_results WHERE domain_scores->'pattern'->>'percentile' IS NOT NULL",
        Exactly(1),
    ),
    // CAT: fewer items scored than answered; a CAT in progress; is_adaptive without CAT.
    (
        "test_results tr WHERE scoring_method = 'irt' AND total_questions < (
            SELECT count(*) FROM responses r WHERE r.test_session_id = tr.test_session_id)",
        Exactly(1),
    ),
    (
        "test_sessions WHERE status = 'IN_PROGRESS' AND theta_history IS NOT NULL",
        Exactly(1),
    ),
    (
        "test_sessions WHERE is_adaptive AND theta_history IS NULL AND status = 'COMPLETED'",
        Exactly(1),
    ),
    // The demo session made by SQL: a result, nothing else.
    ("responses WHERE test_session_id = 223", Exactly(0)),
    ("user_questions WHERE test_session_id = 223", Exactly(0)),
    ("test_results WHERE test_session_id = 223", Exactly(1)),
    // Abandoned fixed-form: seen rows, no responses, completed_at set.
    (
        "test_sessions s WHERE status = 'ABANDONED' AND completed_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.test_session_id = s.id)
         AND EXISTS (SELECT 1 FROM user_questions u WHERE u.test_session_id = s.id)",
        Exactly(1),
    ),
    ("user_questions WHERE test_session_id IS NULL", AtLeast(1)),
    (
        "test_results WHERE validity_overridden_by = 0 AND validity_override_reason IS NOT NULL",
        Exactly(1),
    ),
    ("test_results WHERE validity_status = 'suspect'", Exactly(1)),
    // Accounts.
    ("users WHERE NOT password_login_enabled", Exactly(1)),
    ("oauth_identities WHERE user_id = 17", Exactly(2)),
    ("users WHERE email <> lower(email)", Exactly(1)),
    ("users WHERE token_revoked_before IS NOT NULL", Exactly(1)),
    (
        "users WHERE is_admin AND bypass_cooldown AND id > 0",
        Exactly(1),
    ),
    // Groups (one owner each) and invites: open, expired, accepted.
    (
        "groups g WHERE (SELECT count(*) FROM group_memberships m
            WHERE m.group_id = g.id AND m.role = 'owner') <> 1",
        Exactly(0),
    ),
    (
        "group_invites WHERE expires_at > now() AND accepted_by IS NULL",
        Exactly(1),
    ),
    (
        "group_invites WHERE expires_at < now() AND accepted_by IS NULL",
        Exactly(1),
    ),
    (
        "group_invites WHERE accepted_by IS NOT NULL AND accepted_at IS NOT NULL",
        Exactly(1),
    ),
    // Odds and ends.
    ("feedback_submissions WHERE status <> 'PENDING'", Exactly(0)),
    (
        "feedback_submissions WHERE ip_address IS NOT NULL",
        Exactly(1),
    ),
    ("feedback_submissions WHERE user_id IS NULL", Exactly(1)),
    ("system_config", Exactly(4)),
    ("guest_device_limits WHERE tests_taken = 0", Exactly(1)),
    ("questions WHERE last_audited_at IS NOT NULL", Exactly(1)),
    ("questions WHERE response_count IS NULL", AtLeast(1)),
];

#[tokio::test]
async fn quirks_are_all_there() {
    let db = TestDb::create().await;
    let client = connect(&db).await;
    create_schema(&client).await.expect("create the old schema");
    assert_schema(&client).await;
    fill_quirks(&client).await.expect("fill the quirk rows");
    assert_sequences_ahead(&client).await;

    // JSON null next to SQL NULL, in every affected column.
    for (table, column) in [
        ("test_results", "validity_flags"),
        ("test_results", "response_time_flags"),
        ("test_sessions", "composition_metadata"),
        ("questions", "answer_options"),
        ("questions", "metadata"),
        ("client_analytics_events", "properties"),
        ("question_generation_runs", "provider_metrics"),
        ("question_generation_runs", "type_metrics"),
        ("question_generation_runs", "difficulty_metrics"),
        ("question_generation_runs", "error_summary"),
    ] {
        let json_null = count(
            &client,
            &format!("{table} WHERE json_typeof({column}) = 'null'"),
        )
        .await;
        let sql_null = count(&client, &format!("{table} WHERE {column} IS NULL")).await;
        assert!(
            json_null >= 1 && sql_null >= 1,
            "{table}.{column}: {json_null} / {sql_null}"
        );
    }
    // Enum values in the rows are UPPERCASE; generationrunstatus lowercase.
    for (table, column) in [
        ("questions", "question_type"),
        ("questions", "difficulty_level"),
        ("test_sessions", "status"),
        ("users", "education_level"),
        ("feedback_submissions", "category"),
        ("feedback_submissions", "status"),
    ] {
        let sql = format!("{table} WHERE {column}::text <> upper({column}::text)");
        assert_eq!(count(&client, &sql).await, 0, "{table}.{column}");
    }

    for (sql, expected) in QUIRK_COUNTS {
        let found = count(&client, sql).await;
        match expected {
            Count::Exactly(n) => assert_eq!(found, *n, "{sql}"),
            Count::AtLeast(n) => assert!(found >= *n, "{sql}: {found} < {n}"),
        }
    }
    // The partial unique index: a second test in progress for a real user is refused.
    let second = client
        .execute(
            "INSERT INTO test_sessions (user_id, started_at, status) \
             VALUES (45, now(), 'IN_PROGRESS')",
            &[],
        )
        .await;
    assert!(second.is_err(), "one in-progress session per real user");

    // Accounts.
    for user in QUIRK_USERS {
        let row = client
            .query_one(
                "SELECT password_hash, password_login_enabled FROM users \
                 WHERE id = $1 AND email = $2",
                &[&user.id, &user.email],
            )
            .await
            .unwrap_or_else(|e| panic!("quirk user {}: {e}", user.quirk));
        let hash: String = row.get(0);
        let bcrypt = hash.starts_with("$2b$12$") || hash.starts_with("$2a$12$");
        assert!(hash.len() == 60 && bcrypt, "{hash}");
        assert!(row.get::<_, bool>(1));
    }
    assert!(QUIRK_USERS.iter().any(|u| u.password.len() > 72));
    for table in TABLES.split_whitespace() {
        assert!(count(&client, table).await >= 1, "{table} has rows");
    }
}

/// Every constraint and index definition of the schema, sorted.
async fn catalog(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             UNION ALL
             SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
             JOIN pg_class c ON c.oid = i.indrelid
             WHERE c.relnamespace = 'public'::regnamespace
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

async fn assert_generated(client: &Client, written: &Generated) {
    let users = count(client, "users WHERE id > 0").await;
    assert_eq!(written.users, users as u64);
    for (table, n) in [
        ("test_sessions", written.sessions),
        ("responses", written.responses),
        ("test_results", written.results),
        ("user_questions", written.user_questions),
        ("groups", written.groups),
        ("group_memberships", written.memberships),
    ] {
        assert_eq!(count(client, table).await as u64, n, "{table}");
    }
    let inconsistent = count(
        client,
        "test_results tr WHERE (tr.correct_answers, tr.total_questions) <> (
            SELECT count(*) FILTER (WHERE r.is_correct), count(*)
            FROM responses r WHERE r.test_session_id = tr.test_session_id)",
    )
    .await;
    assert_eq!(inconsistent, 0, "correct_answers = correct responses");
    // The per-domain counts add up, and every answer is graded by the item's correct answer.
    let domains_off = count(
        client,
        "test_results tr WHERE tr.correct_answers <> (
            SELECT sum((v->>'correct')::int) FROM json_each(tr.domain_scores) AS d(k, v))",
    )
    .await;
    assert_eq!(domains_off, 0);
    let misgraded = count(
        client,
        "responses r JOIN questions q ON q.id = r.question_id
         WHERE r.is_correct <> (r.user_answer = q.correct_answer)",
    )
    .await;
    assert_eq!(misgraded, 0);
    let not_an_option = count(
        client,
        "questions q WHERE NOT EXISTS (
            SELECT 1 FROM json_array_elements_text(q.answer_options) o WHERE o = q.correct_answer)",
    )
    .await;
    assert_eq!(not_an_option, 0);
    assert_eq!(
        count(client, "test_sessions WHERE status = 'COMPLETED'").await as u64,
        written.results
    );
    assert_eq!(
        count(
            client,
            "users WHERE id > 0 AND password_hash NOT LIKE '$2b$12$%'"
        )
        .await,
        0
    );
    assert!(LARGE_PASSWORD.len() < 72);
    assert_sequences_ahead(client).await;
}

#[tokio::test]
async fn generate_small_set() {
    let db = TestDb::create().await;
    let client = connect(&db).await;
    create_schema(&client).await.unwrap();
    let before = catalog(&client).await;
    let spec = LargeSpec {
        users: 50,
        tests_per_user: 2,
        responses_per_test: 5,
        questions: 60,
        seed: 7,
    };
    let started = Instant::now();
    let written = generate(&client, &spec).await.expect("generate");
    eprintln!("generate {spec:?}: {written:?} in {:?}", started.elapsed());
    // 100 completed + 5 abandoned (n % 10 = 3) + 7 in progress (n % 7 = 0).
    assert_eq!(written.users, 50);
    assert_eq!(written.sessions, 112);
    assert_eq!(written.responses, 500);
    assert_eq!(written.results, 100);
    assert_eq!(written.user_questions, 560);
    assert_eq!(written.groups, 1);
    assert_generated(&client, &written).await;
    // The constraints and indexes dropped for the load are back exactly as they were.
    assert_eq!(catalog(&client).await, before);
    assert_schema(&client).await;
}

#[tokio::test]
async fn generate_next_to_the_quirks() {
    let db = TestDb::create().await;
    let client = connect(&db).await;
    create_schema(&client).await.unwrap();
    fill_quirks(&client).await.unwrap();
    let before = count(&client, "responses").await as u64;
    let spec = LargeSpec {
        users: 20,
        tests_per_user: 1,
        responses_per_test: 6,
        questions: 30,
        seed: 99,
    };
    let written = legacy::generate(&client, &spec).await.expect("generate");
    assert_eq!(
        count(&client, "responses").await as u64,
        before + written.responses
    );
    assert_sequences_ahead(&client).await;
}
