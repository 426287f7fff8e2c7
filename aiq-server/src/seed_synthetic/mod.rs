//! `aiq-server seed-synthetic`: a realistic data set of any size, for measuring aiq on the data
//! of a real deployment.
//!
//! Users (all with one password, hashed once), their completed tests over the past two years
//! with answers drawn from a 2PL model on the bank's items (`model`), an abandoned test for
//! some, results, the questions each was shown, groups with members, device tokens, feedback
//! and analytics events. Rows are bulk loaded with `COPY` in one transaction: an interrupted run
//! leaves nothing. The tables' foreign keys are dropped for the copy and added back (checked)
//! before the commit, so the run holds exclusive locks on those tables: seed a database no
//! server is using. Ids continue after the largest present, so a second run adds another set.
//! Refused when `ENV=production`.

mod copy;
mod model;

use std::process::ExitCode;
use std::time::Instant;

use aiq_core::Config;
use aiq_core::questions::{Difficulty, Domain, starter_bank};
use aiq_core::scoring::{ScoredItem, ctt_iq, domain_scores, percentile};
use aiq_core::storage::{QuestionStore, connect_client};
use secrecy::ExposeSecret;
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use crate::database::migrated_store;
use copy::CopyIn;
use model::{
    EVENTS_PER_USER, FirstIds, Item, QUESTIONS_PER_TEST, Shape, USERS_PER_FEEDBACK, UserPlan,
};

/// The password of every synthetic user.
pub const SYNTHETIC_PASSWORD: &str = "synthetic-Passw0rd";

/// The command line of `seed-synthetic`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Users to create.
    #[arg(long)]
    users: u64,
    /// Completed tests per user (25 answers each).
    #[arg(long, default_value_t = 3)]
    tests_per_user: u32,
    /// Seed of every random draw: the same seed gives the same users and answers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What a run wrote, printed as one JSON line.
#[derive(Debug, Default, Serialize)]
struct Summary {
    users: u64,
    test_sessions: u64,
    completed_tests: u64,
    responses: u64,
    user_questions: u64,
    test_results: u64,
    groups: u64,
    group_memberships: u64,
    feedback_submissions: u64,
    client_analytics_events: u64,
    password: &'static str,
    seconds: f64,
}

/// Runs the command: exit 0 when the data set was written, 1 when the database failed, 2 when
/// the configuration forbids it.
pub async fn run(config: &Config, args: SeedArgs) -> ExitCode {
    if config.app.environment.is_production() {
        eprintln!(
            "aiq-server: seed-synthetic writes made-up users and tests and is refused with \
             ENV=production; run it against a scratch database with ENV=development"
        );
        return ExitCode::from(2);
    }
    if args.users == 0 || args.tests_per_user == 0 {
        eprintln!("aiq-server: seed-synthetic needs --users and --tests-per-user of at least 1");
        return ExitCode::from(2);
    }
    let store = match migrated_store(config, "seed-synthetic writes into it").await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let started = Instant::now();
    let outcome: Result<Summary, BoxError> = async {
        if store.question_count().await? == 0 {
            store.import_questions(&starter_bank()).await?;
        }
        let url = config
            .database
            .url
            .as_ref()
            .map(|url| url.expose_secret().to_owned())
            .unwrap_or_default();
        let mut client = connect_client(&url, config.database.connect_timeout).await?;
        seed(&mut client, &args).await
    }
    .await;
    store.close();
    match outcome {
        Ok(mut summary) => {
            summary.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
            match serde_json::to_string(&summary) {
                Ok(line) => println!("{line}"),
                Err(error) => tracing::error!(%error, "cannot print the summary"),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "aiq-server: seed-synthetic failed, nothing was written: {}",
                aiq_core::storage::error_chain(error.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes the data set in one transaction.
async fn seed(client: &mut Client, args: &SeedArgs) -> Result<Summary, BoxError> {
    let items = read_items(client, args.seed).await?;
    if items.len() < QUESTIONS_PER_TEST * (args.tests_per_user as usize + 1) {
        return Err(format!(
            "the bank has {} active questions; {} tests of {QUESTIONS_PER_TEST} distinct \
             questions per user need at least {}",
            items.len(),
            args.tests_per_user,
            QUESTIONS_PER_TEST * (args.tests_per_user as usize + 1)
        )
        .into());
    }
    let password_hash =
        tokio::task::spawn_blocking(|| aiq_core::auth::password::hash_password(SYNTHETIC_PASSWORD))
            .await?
            .map_err(|e| -> BoxError { e.to_string().into() })?;
    let tx = client.transaction().await?;
    let shape = Shape {
        users: args.users,
        tests_per_user: args.tests_per_user,
        seed: args.seed,
        now: time::OffsetDateTime::now_utc(),
        first_ids: first_ids(&tx).await?,
    };
    // Checking every row's foreign keys one by one costs more than the copy itself; the
    // constraints are dropped here and added back (each checked in one pass) before the commit.
    let foreign_keys = ForeignKeys::drop(&tx).await?;
    let users = || (0..shape.users).map(|index| shape.user(index, &items));
    let mut summary = Summary {
        password: SYNTHETIC_PASSWORD,
        ..Summary::default()
    };
    summary.users = copy_users(&tx, users(), &password_hash).await?;
    summary.test_sessions = copy_sessions(&tx, users()).await?;
    summary.user_questions = copy_seen(&tx, users(), &items).await?;
    summary.responses = copy_responses(&tx, users(), &items).await?;
    summary.test_results = copy_results(&tx, users(), &items).await?;
    summary.completed_tests = summary.test_results;
    (summary.groups, summary.group_memberships) = copy_groups(&tx, &shape).await?;
    summary.feedback_submissions = copy_feedback(&tx, &shape, &items).await?;
    summary.client_analytics_events = copy_events(&tx, &shape, &items).await?;
    foreign_keys.restore(&tx).await?;
    for table in [
        "users",
        "test_sessions",
        "test_results",
        "responses",
        "user_questions",
        "groups",
    ] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT GREATEST(max(id), 1) FROM {table}))"
            ),
            &[],
        )
        .await?;
    }
    tx.commit().await?;
    // A deployment's tables have been vacuumed and analyzed by autovacuum long since; freshly
    // copied ones have neither statistics, nor a visibility map (index-only scans then read the
    // heap), nor a merged trigram index (searches scan its pending list: 18 ms against 2.4 ms
    // after this on 100,000 users). Plans and timings on the data set should be a deployment's.
    client
        .batch_execute(&format!("VACUUM (ANALYZE) {}", TABLES.join(", ")))
        .await?;
    Ok(summary)
}

/// The tables the data set is copied into.
const TABLES: [&str; 9] = [
    "users",
    "test_sessions",
    "user_questions",
    "responses",
    "test_results",
    "groups",
    "group_memberships",
    "feedback_submissions",
    "client_analytics_events",
];

/// The foreign keys of [`TABLES`], dropped for the copy.
struct ForeignKeys {
    /// `ALTER TABLE ... ADD CONSTRAINT ...` for each, as PostgreSQL describes it.
    restore: Vec<String>,
}

impl ForeignKeys {
    async fn drop(tx: &Transaction<'_>) -> Result<Self, tokio_postgres::Error> {
        let rows = tx
            .query(
                "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname), \
                        format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, \
                               pg_get_constraintdef(oid)) \
                 FROM pg_constraint \
                 WHERE contype = 'f' AND conrelid::regclass::text = ANY($1) ORDER BY oid",
                &[&TABLES.as_slice()],
            )
            .await?;
        let mut restore = Vec::with_capacity(rows.len());
        for row in rows {
            tx.batch_execute(row.get::<_, &str>(0)).await?;
            restore.push(row.get(1));
        }
        Ok(Self { restore })
    }

    async fn restore(self, tx: &Transaction<'_>) -> Result<(), tokio_postgres::Error> {
        for statement in &self.restore {
            tx.batch_execute(statement).await?;
        }
        Ok(())
    }
}

/// The active items with their 2PL parameters.
async fn read_items(client: &Client, seed: u64) -> Result<Vec<Item>, BoxError> {
    let rows = client
        .query(
            "SELECT id, question_type, difficulty_level, correct_answer, answer_options, \
                    irt_discrimination, irt_difficulty \
             FROM questions WHERE is_active ORDER BY id",
            &[],
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.get(0);
        let (Some(domain), Some(difficulty)) =
            (Domain::parse(row.get(1)), Difficulty::parse(row.get(2)))
        else {
            continue;
        };
        let correct_answer: String = row.get(3);
        let options: Option<serde_json::Value> = row.get(4);
        let wrong_answer = options
            .as_ref()
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .find(|option| !aiq_core::questions::answers_match(option, &correct_answer))
            .map_or_else(|| format!("not {correct_answer}"), str::to_owned);
        let calibrated = match (row.get::<_, Option<f64>>(5), row.get::<_, Option<f64>>(6)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        let (a, b) = Item::parameters(id, difficulty, calibrated, seed);
        items.push(Item {
            id,
            domain,
            difficulty,
            a,
            b,
            correct_answer,
            wrong_answer,
        });
    }
    Ok(items)
}

async fn first_ids(tx: &Transaction<'_>) -> Result<FirstIds, tokio_postgres::Error> {
    let next = async |table: &str| -> Result<i64, tokio_postgres::Error> {
        let row = tx
            .query_one(
                &format!("SELECT COALESCE(GREATEST(max(id), 0), 0) + 1 FROM {table}"),
                &[],
            )
            .await?;
        Ok(row.get(0))
    };
    Ok(FirstIds {
        user: next("users").await?,
        session: next("test_sessions").await?,
        result: next("test_results").await?,
        response: next("responses").await?,
        seen: next("user_questions").await?,
        group: next("groups").await?,
    })
}

async fn copy_users(
    tx: &Transaction<'_>,
    users: impl Iterator<Item = UserPlan>,
    password_hash: &str,
) -> Result<u64, tokio_postgres::Error> {
    const EDUCATION: [&str; 6] = [
        "high_school",
        "some_college",
        "bachelors",
        "masters",
        "doctorate",
        "prefer_not_to_say",
    ];
    let mut copy = CopyIn::start(
        tx,
        "users",
        &[
            "id",
            "email",
            "password_hash",
            "first_name",
            "created_at",
            "last_login_at",
            "notification_enabled",
            "apns_device_token",
            "birth_year",
            "education_level",
            "country",
        ],
    )
    .await?;
    for user in users {
        let last_login = user
            .last_completed()
            .and_then(|s| s.completed_at)
            .unwrap_or(user.created_at);
        copy.plain(user.id)
            .text(&user.email())
            .text(password_hash)
            .text(user.first_name)
            .time(user.created_at)
            .time(last_login)
            .plain(user.device_token.is_some())
            .opt_text(user.device_token.as_deref())
            .plain(1950 + (user.index % 55))
            .text(EDUCATION[(user.index % 6) as usize])
            .text(if user.index % 3 == 0 { "US" } else { "GB" });
        copy.end_row().await?;
    }
    copy.finish().await
}

async fn copy_sessions(
    tx: &Transaction<'_>,
    users: impl Iterator<Item = UserPlan>,
) -> Result<u64, tokio_postgres::Error> {
    let mut copy = CopyIn::start(
        tx,
        "test_sessions",
        &["id", "user_id", "started_at", "completed_at", "status"],
    )
    .await?;
    for user in users {
        for session in &user.sessions {
            copy.plain(session.id)
                .plain(user.id)
                .time(session.started_at);
            match session.completed_at {
                Some(at) => copy.time(at).text("completed"),
                None => copy.null().text("abandoned"),
            };
            copy.end_row().await?;
        }
    }
    copy.finish().await
}

async fn copy_seen(
    tx: &Transaction<'_>,
    users: impl Iterator<Item = UserPlan>,
    items: &[Item],
) -> Result<u64, tokio_postgres::Error> {
    let mut copy = CopyIn::start(
        tx,
        "user_questions",
        &["id", "user_id", "question_id", "test_session_id", "seen_at"],
    )
    .await?;
    for user in users {
        for session in &user.sessions {
            for (k, answer) in session.answers.iter().enumerate() {
                copy.plain(session.first_seen_id + k as i64)
                    .plain(user.id)
                    .plain(items[answer.item].id)
                    .plain(session.id)
                    .time(session.started_at);
                copy.end_row().await?;
            }
        }
    }
    copy.finish().await
}

async fn copy_responses(
    tx: &Transaction<'_>,
    users: impl Iterator<Item = UserPlan>,
    items: &[Item],
) -> Result<u64, tokio_postgres::Error> {
    let mut copy = CopyIn::start(
        tx,
        "responses",
        &[
            "id",
            "test_session_id",
            "user_id",
            "question_id",
            "user_answer",
            "is_correct",
            "answered_at",
            "time_spent_seconds",
        ],
    )
    .await?;
    for user in users {
        for session in user.sessions.iter().filter(|s| s.completed_at.is_some()) {
            let mut at = session.started_at;
            for (k, answer) in session.answers.iter().enumerate() {
                let item = &items[answer.item];
                at += time::Duration::seconds(i64::from(answer.seconds));
                copy.plain(session.first_response_id + k as i64)
                    .plain(session.id)
                    .plain(user.id)
                    .plain(item.id)
                    .text(if answer.correct {
                        &item.correct_answer
                    } else {
                        &item.wrong_answer
                    })
                    .plain(answer.correct)
                    .time(at)
                    .plain(answer.seconds);
                copy.end_row().await?;
            }
        }
    }
    copy.finish().await
}

async fn copy_results(
    tx: &Transaction<'_>,
    users: impl Iterator<Item = UserPlan>,
    items: &[Item],
) -> Result<u64, BoxError> {
    let mut copy = CopyIn::start(
        tx,
        "test_results",
        &[
            "id",
            "test_session_id",
            "user_id",
            "iq_score",
            "percentile_rank",
            "total_questions",
            "correct_answers",
            "completion_time_seconds",
            "completed_at",
            "domain_scores",
        ],
    )
    .await?;
    for user in users {
        for session in &user.sessions {
            let Some(completed_at) = session.completed_at else {
                continue;
            };
            let correct = session.correct();
            let iq = ctt_iq(correct, QUESTIONS_PER_TEST);
            let scored: Vec<ScoredItem> = session
                .answers
                .iter()
                .map(|a| ScoredItem::new(items[a.item].domain, items[a.item].difficulty, a.correct))
                .collect();
            let domains = serde_json::to_string(&domain_scores(&scored))?;
            copy.plain(session.result_id)
                .plain(session.id)
                .plain(user.id)
                .plain(iq)
                .plain(percentile(iq))
                .plain(QUESTIONS_PER_TEST)
                .plain(correct)
                .plain((completed_at - session.started_at).whole_seconds())
                .time(completed_at)
                .text(&domains);
            copy.end_row().await?;
        }
    }
    Ok(copy.finish().await?)
}

async fn copy_groups(
    tx: &Transaction<'_>,
    shape: &Shape,
) -> Result<(u64, u64), tokio_postgres::Error> {
    let groups: Vec<(u64, i64, Vec<u64>)> = (0..shape.users)
        .filter_map(|index| {
            shape
                .group_of(index)
                .map(|(id, members)| (index, id, members))
        })
        .collect();
    let user_id = |index: u64| shape.first_ids.user + index as i64;
    let created = shape.now - time::Duration::days(300);
    let mut copy = CopyIn::start(
        tx,
        "groups",
        &["id", "name", "created_by", "created_at", "invite_code"],
    )
    .await?;
    for (owner, id, _) in &groups {
        copy.plain(id)
            .text(&format!("Synthetic {id}"))
            .plain(user_id(*owner))
            .time(created)
            .text(&invite_code(*id));
        copy.end_row().await?;
    }
    let group_count = copy.finish().await?;
    let mut copy = CopyIn::start(
        tx,
        "group_memberships",
        &["group_id", "user_id", "role", "joined_at"],
    )
    .await?;
    for (owner, id, members) in &groups {
        copy.plain(id)
            .plain(user_id(*owner))
            .text("owner")
            .time(created);
        copy.end_row().await?;
        for member in members {
            copy.plain(id)
                .plain(user_id(*member))
                .text("member")
                .time(created + time::Duration::days(1));
            copy.end_row().await?;
        }
    }
    Ok((group_count, copy.finish().await?))
}

/// An invite code unique to the group id, in the invite alphabet: `S` and the id in base 36,
/// the alphabet's first letter being the digit 0 (and the padding).
fn invite_code(group: i64) -> String {
    let alphabet = aiq_core::groups::INVITE_ALPHABET;
    let mut digits = Vec::new();
    let mut rest = group.unsigned_abs();
    while rest > 0 {
        digits.push(char::from(alphabet[(rest % 36) as usize]));
        rest /= 36;
    }
    let id: String = digits.into_iter().rev().collect();
    format!("S{id:A>7}")
}

async fn copy_feedback(
    tx: &Transaction<'_>,
    shape: &Shape,
    items: &[Item],
) -> Result<u64, tokio_postgres::Error> {
    const CATEGORIES: [&str; 5] = [
        "bug_report",
        "feature_request",
        "general_feedback",
        "question_help",
        "other",
    ];
    let mut copy = CopyIn::start(
        tx,
        "feedback_submissions",
        &[
            "user_id",
            "name",
            "email",
            "category",
            "description",
            "app_version",
            "ios_version",
            "created_at",
        ],
    )
    .await?;
    for index in (0..shape.users).filter(|i| i % USERS_PER_FEEDBACK == 7) {
        let user = shape.user(index, items);
        copy.plain(user.id)
            .text(user.first_name)
            .text(&user.email())
            .text(CATEGORIES[(index / USERS_PER_FEEDBACK % 5) as usize])
            .text("Synthetic feedback: the timer felt short on the spatial questions.")
            .text("2.4.0")
            .text("18.1")
            .time(user.sessions[0].started_at);
        copy.end_row().await?;
    }
    copy.finish().await
}

async fn copy_events(
    tx: &Transaction<'_>,
    shape: &Shape,
    items: &[Item],
) -> Result<u64, tokio_postgres::Error> {
    const EVENTS: [&str; EVENTS_PER_USER as usize] = [
        "app.launched",
        "test.started",
        "test.completed",
        "results.viewed",
    ];
    let mut copy = CopyIn::start(
        tx,
        "client_analytics_events",
        &[
            "event_name",
            "client_timestamp",
            "received_at",
            "user_id",
            "properties",
            "app_version",
            "device_id",
        ],
    )
    .await?;
    for user in (0..shape.users).map(|index| shape.user(index, items)) {
        let at = user.sessions[0].started_at;
        let device = format!("device-{}", user.id);
        for (k, event) in EVENTS.iter().enumerate() {
            let when = at + time::Duration::seconds(k as i64 * 300);
            copy.text(event)
                .time(when)
                .time(when + time::Duration::seconds(2))
                .plain(user.id)
                .text(r#"{"source":"synthetic"}"#)
                .text("2.4.0")
                .text(&device);
            copy.end_row().await?;
        }
    }
    copy.finish().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn invite_codes_are_eight_characters_of_the_invite_alphabet_and_unique() {
        let codes: std::collections::HashSet<String> = (1..5_000).map(super::invite_code).collect();
        assert_eq!(codes.len(), 4_999);
        for code in &codes {
            assert_eq!(code.len(), 8, "{code}");
            assert!(
                code.bytes()
                    .all(|b| aiq_core::groups::INVITE_ALPHABET.contains(&b))
            );
        }
    }
}
