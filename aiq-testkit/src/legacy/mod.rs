//! The old Python backend's PostgreSQL database, rebuilt for testing an importer.
//!
//! Everything here follows `/work/shared/spec/original-schema.md` (the schema at alembic head
//! `pwdlogin474a`), the only description of the old database:
//!
//! - [`create_schema`] creates its tables, enum types, sequences, constraints and indexes, the
//!   sentinel guest user and the objects production has outside alembic;
//! - [`fill_quirks`] adds a small data set with one or more rows for every trap the spec lists
//!   (JSON `null` next to SQL NULL, UPPERCASE enum labels, HTML-escaped text, guest sessions,
//!   two `domain_scores` shapes, double-encoded JSON, ...), with fixed ids;
//! - [`generate`] adds a large, internally consistent data set built by the server itself.
//!
//! ```no_run
//! # async fn test() -> Result<(), tokio_postgres::Error> {
//! let db = aiq_testkit::TestDb::create().await;
//! let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls).await?;
//! tokio::spawn(connection);
//! aiq_testkit::legacy::create_schema(&client).await?;
//! aiq_testkit::legacy::fill_quirks(&client).await?;
//! // ... run the importer against db.url() and log in as aiq_testkit::legacy::QUIRK_USERS[0]
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod generate;

pub use generate::{Generated, LARGE_PASSWORD, LargeSpec, generate};

/// DDL of §1-§3 and §8, in two files so each stays readable.
const SCHEMA_SQL: &str = concat!(include_str!("schema.sql"), include_str!("schema_ops.sql"));

/// The quirk rows, in dependency order: accounts, then the item bank and operational logs, then
/// the tests.
const QUIRKS_SQL: &str = concat!(
    include_str!("quirks_people.sql"),
    include_str!("quirks_bank.sql"),
    include_str!("quirks_tests.sql"),
);

/// Moves every `<table>_id_seq` of a table holding positive ids to 7 past its largest id, as
/// in a live database whose sequences run ahead of the rows (rolled-back inserts, deletions).
/// Tables that are empty, or hold only the sentinel user, keep their untouched sequence.
const ADVANCE_SEQUENCES_SQL: &str = r#"
DO $advance$
DECLARE
    t record;
    top bigint;
BEGIN
    FOR t IN
        SELECT c.relname AS name, pg_get_serial_sequence(format('%I', c.relname), 'id') AS seq
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped
        WHERE n.nspname = current_schema() AND c.relkind = 'r'
    LOOP
        CONTINUE WHEN t.seq IS NULL;
        EXECUTE format('SELECT max(id) FROM %I', t.name) INTO top;
        IF top IS NOT NULL AND top > 0 THEN
            PERFORM setval(t.seq, top + 7);
        END IF;
    END LOOP;
END
$advance$;
"#;

/// Creates the old backend's schema in the connected (empty) database.
///
/// Creates every table, enum type, sequence, constraint and index of §1–§3 (all 26 alembic
/// tables, including `alembic_version` holding `'pwdlogin474a'`) with the old column types:
/// `json` (not `jsonb`), `timestamptz`, `float8`, a `float8[]` `question_embedding`, the
/// VARCHAR lengths, SERIAL integer ids, the constraint and index names listed by the spec,
/// the partial unique index `ix_test_sessions_user_active` and the foreign keys with their
/// ON DELETE rules. Inserts the sentinel guest user (id -1, `guest@aiq.internal`, a 63-char
/// hash that never verifies; §5.1), and the objects of §8 that production has outside alembic:
/// `audit_runs` in the question-service script variant (naive timestamps, `jsonb`),
/// `pipeline_runs` and `questions.last_audited_at`.
///
/// Runs as one transaction.
pub async fn create_schema(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(SCHEMA_SQL).await
}

/// Fills a freshly created schema with rows covering every quirk the spec lists (§0, §4, §5,
/// §7), at least one row per quirk, with explicit ids that leave gaps.
///
/// Every SERIAL sequence is left 7 past its table's largest id afterwards. The rows and their
/// ids are listed in `aiq-testkit/src/legacy/quirks_*.sql`; the users that can log in with a
/// password are [`QUIRK_USERS`]. Timestamps are relative to `now()`: completed tests lie
/// 100–400 days in the past, the open group invite expires 5 days in the future and the
/// in-progress sessions started minutes ago.
///
/// Runs as one transaction.
pub async fn fill_quirks(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!("{QUIRKS_SQL}\n{ADVANCE_SEQUENCES_SQL}"))
        .await
}

/// One user of the quirk data set whose password is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuirkUser {
    /// `users.id`.
    pub id: i32,
    /// `users.email`, exactly as stored (one of them is mixed-case).
    pub email: &'static str,
    /// The password whose bcrypt hash is stored in `users.password_hash`.
    pub password: &'static str,
    /// The quirk this user carries, also the local part of most emails.
    pub quirk: &'static str,
}

const fn user(
    id: i32,
    email: &'static str,
    password: &'static str,
    quirk: &'static str,
) -> QuirkUser {
    QuirkUser {
        id,
        email,
        password,
        quirk,
    }
}

/// The users [`fill_quirks`] creates that can log in with a password: every account except
/// the OAuth-only user 17 and the sentinel guest -1. All hashes are bcrypt cost 12 (`$2b$`,
/// user 13 `$2a$`).
pub const QUIRK_USERS: &[QuirkUser] = &[
    user(
        3,
        "html-escaped-name@example.com",
        "Quirk-Obrien-2024!",
        "html-escaped-name",
    ),
    user(
        5,
        "history-regrade-mismatch@example.com",
        "regrade mismatch pass 5",
        "history-regrade-mismatch",
    ),
    user(
        8,
        "history-validity-override@example.com",
        "Validity#Override#8",
        "history-validity-override",
    ),
    // 95 bytes; the stored hash was made from it and covers only its first 72 bytes.
    user(
        12,
        "long-password-over-72-bytes@example.com",
        "this-passphrase-is-deliberately-longer-than-seventy-two-bytes-so-bcrypt-truncates-it-0123456789",
        "long-password-over-72-bytes",
    ),
    user(
        13,
        "bcrypt-2a-prefix@example.com",
        "two-a-prefix-hash",
        "bcrypt-2a-prefix",
    ),
    user(
        18,
        "password-plus-google@example.com",
        "linked google but password too",
        "password-plus-google",
    ),
    user(
        21,
        "logout-all-token-revoked@example.com",
        "revoked-before-epoch",
        "logout-all-token-revoked",
    ),
    user(
        22,
        "apns-notifications-on@example.com",
        "push me please 22",
        "apns-notifications-on",
    ),
    user(
        23,
        "notifications-off@example.com",
        "silence is golden 23",
        "notifications-off",
    ),
    user(
        25,
        "admin-bypass-cooldown@example.com",
        "admin-bypass-25",
        "admin-bypass-cooldown",
    ),
    user(
        27,
        "Mixed.Case-Email@Example.COM",
        "Mixed Case 27",
        "mixed-case-email",
    ),
    user(
        30,
        "cat-completed@example.com",
        "adaptive irt 30",
        "cat-completed",
    ),
    user(
        31,
        "cat-in-progress@example.com",
        "adaptive running 31",
        "cat-in-progress",
    ),
    user(
        33,
        "guest-claimer@example.com",
        "claimed my guest test",
        "guest-claimer",
    ),
    user(
        35,
        "demo-account@example.com",
        "app store review demo",
        "demo-account",
    ),
    user(
        36,
        "adaptive-flag-fixed-form@example.com",
        "flag without cat 36",
        "adaptive-flag-fixed-form",
    ),
    user(
        40,
        "abandoned-fixed-form@example.com",
        "gave up halfway 40",
        "abandoned-fixed-form",
    ),
    user(
        44,
        "education-birth-year@example.com",
        "doctorate 1975",
        "education-birth-year",
    ),
    user(
        45,
        "in-progress-fixed-form@example.com",
        "still answering 45",
        "in-progress-fixed-form",
    ),
];
