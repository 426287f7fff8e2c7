//! An old backend's database beside a new aiq database, and `aiq-server import-legacy` between
//! them: shared by the import's test files.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use aiq_testkit::TestDb;
use tokio_postgres::{Client, NoTls};

use super::command;

/// The old backend's `JWT_SECRET_KEY` in these tests (aiq is started with the same).
pub const OLD_SECRET: &str = "old-backend-jwt-secret-0123456789abcdef0123456789";

/// The tables the import writes, in the order it writes them.
pub const IMPORTED: &[&str] = &[
    "users",
    "oauth_identities",
    "questions",
    "test_sessions",
    "responses",
    "test_results",
    "user_questions",
    "groups",
    "group_memberships",
    "group_invites",
    "feedback_submissions",
    "guest_device_limits",
    "benchmark_sets",
    "benchmark_set_questions",
    "system_config",
];

/// An old database (the quirk fixture, or a generated one) and an empty target.
pub struct Switch {
    pub old: TestDb,
    pub new: TestDb,
}

impl Switch {
    /// The old schema filled with the quirk rows, and an empty new database.
    pub async fn with_quirks() -> Self {
        let old = TestDb::create().await;
        let client = connect(old.url()).await;
        aiq_testkit::legacy::create_schema(&client).await.unwrap();
        aiq_testkit::legacy::fill_quirks(&client).await.unwrap();
        Self {
            old,
            new: TestDb::create().await,
        }
    }

    /// A client of the old database.
    pub async fn old_client(&self) -> Client {
        connect(self.old.url()).await
    }

    /// A client of the new database.
    pub async fn new_client(&self) -> Client {
        connect(self.new.url()).await
    }

    /// `aiq-server import-legacy --from <old> <args>` into the new database, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        import_command(self.new.url(), self.old.url(), args)
    }

    /// Runs the import to its end.
    pub fn import(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("run aiq-server import-legacy")
    }

    /// Runs the import and insists that it succeeded; its JSON summary.
    pub fn import_ok(&self, args: &[&str]) -> serde_json::Value {
        let output = self.import(args);
        assert!(
            output.status.success(),
            "import-legacy failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        summary(&output)
    }
}

/// `aiq-server import-legacy --from <from> <args>` writing into `target`.
pub fn import_command(target: &str, from: &str, args: &[&str]) -> Command {
    let mut command = command(&[("DATABASE_URL", target), ("SEED_STARTER_BANK", "false")]);
    command.args(["import-legacy", "--from", from]).args(args);
    command
}

/// The last line of standard output, as JSON.
pub fn summary(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| {
        panic!(
            "no summary; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// How many rows a summary says were inserted, updated and deleted, over every table.
pub fn written(summary: &serde_json::Value) -> (u64, u64, u64) {
    let mut totals = (0, 0, 0);
    let tables = summary["tables"].as_object().expect("tables");
    for report in tables.values().chain([&summary["system_config"]]) {
        totals.0 += report["inserted"].as_u64().unwrap();
        totals.1 += report["updated"].as_u64().unwrap();
        totals.2 += report["deleted"].as_u64().unwrap();
    }
    totals
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Every row of every imported table of `client`'s database, as JSON text in key order: two
/// databases with equal dumps hold the same data. aiq's own guest row (made by its migration,
/// not imported) is left out.
pub async fn dump(client: &Client) -> BTreeMap<&'static str, Vec<String>> {
    let mut tables = BTreeMap::new();
    for table in IMPORTED {
        let (filter, order) = match *table {
            "system_config" => ("", "key"),
            "users" => (" WHERE id <> -1", "id"),
            _ => ("", "id"),
        };
        let rows = client
            .query(
                &format!("SELECT to_jsonb(t)::text FROM {table} t{filter} ORDER BY {order}"),
                &[],
            )
            .await
            .unwrap();
        tables.insert(*table, rows.iter().map(|row| row.get(0)).collect());
    }
    tables
}

/// A token as the old backend signed it (HS256, no `sid`, no `gen`).
pub fn old_token(user_id: i32, email: &str, kind: &str, jti: &str, iat: i64, exp: i64) -> String {
    let mut claims = serde_json::json!({
        "user_id": user_id, "type": kind, "jti": jti, "iat": iat, "exp": exp,
    });
    if kind == "access" {
        claims["email"] = email.into();
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(OLD_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Asserts two dumps are equal, naming the first table that differs.
pub fn assert_same(
    left: &BTreeMap<&'static str, Vec<String>>,
    right: &BTreeMap<&'static str, Vec<String>>,
) {
    for table in IMPORTED {
        let (a, b) = (&left[table], &right[table]);
        if a != b {
            let first = a.iter().zip(b).find(|(x, y)| x != y);
            panic!(
                "{table} differs: {} rows vs {}; first different row:\n{first:#?}",
                a.len(),
                b.len()
            );
        }
    }
}
