//! `import-legacy --verify`: compares the old database with aiq's after an import.
//!
//! Row counts per imported table, and per user: completed tests, best and latest IQ score, and
//! the groups they belong to. Each side is read with its own SQL, independently of how the
//! import converted the rows, so a row lost or changed on the way shows up here.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use aiq_core::storage::connect_client;
use tokio_postgres::Client;

use super::tables;

/// What one user's history looks like on one side.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct UserDigest {
    completed_tests: i64,
    best_iq: Option<i32>,
    latest_iq: Option<i32>,
    groups: Vec<i64>,
}

/// How many differences are printed (all are counted).
const SHOWN: usize = 50;

pub(super) async fn run(from: &str, target_url: &str, timeout: Duration) -> ExitCode {
    match compare(from, target_url, timeout).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("aiq-server: import-legacy --verify failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn compare(from: &str, target_url: &str, timeout: Duration) -> Result<usize, String> {
    let source = connect_client(from, timeout)
        .await
        .map_err(|e| format!("cannot reach the old database (--from): {e}"))?;
    let target = connect_client(target_url, timeout)
        .await
        .map_err(|e| format!("cannot reach DATABASE_URL: {e}"))?;
    let chain = |e: tokio_postgres::Error| aiq_core::storage::error_chain(&e);
    source
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(chain)?;
    target
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(chain)?;

    let mut differences = Vec::new();
    let mut counts = BTreeMap::new();
    for table in tables::all() {
        let old = row_count(&source, table.name).await.map_err(chain)?;
        let new = row_count(&target, table.name).await.map_err(chain)?;
        if old != new {
            differences.push(format!(
                "{}: {old} rows in the old database, {new} in aiq",
                table.name
            ));
        }
        counts.insert(table.name, serde_json::json!({ "old": old, "new": new }));
    }
    let old_users = digests(&source).await.map_err(chain)?;
    let new_users = digests(&target).await.map_err(chain)?;
    let empty = UserDigest::default();
    let ids: std::collections::BTreeSet<i64> =
        old_users.keys().chain(new_users.keys()).copied().collect();
    for id in &ids {
        let old = old_users.get(id).unwrap_or(&empty);
        let new = new_users.get(id).unwrap_or(&empty);
        if old != new {
            differences.push(format!("user {id}: old {old:?}, aiq {new:?}"));
        }
    }
    for line in differences.iter().take(SHOWN) {
        eprintln!("difference: {line}");
    }
    if differences.len() > SHOWN {
        eprintln!("... and {} more differences", differences.len() - SHOWN);
    }
    let summary = serde_json::json!({
        "event": "import-legacy-verify",
        "tables": counts,
        "users_compared": ids.len(),
        "differences": differences.len(),
    });
    println!("{summary}");
    Ok(differences.len())
}

/// Rows of `table`, the guest sentinel (a row of both schemas, never imported) left out.
async fn row_count(client: &Client, table: &str) -> Result<i64, tokio_postgres::Error> {
    let filter = if table == "users" {
        " WHERE id <> -1"
    } else {
        ""
    };
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {table}{filter}"), &[])
        .await?
        .get(0))
}

/// Per user: completed tests, best and latest score, groups. The same SQL reads both schemas
/// (enum labels are compared lower-cased).
async fn digests(client: &Client) -> Result<BTreeMap<i64, UserDigest>, tokio_postgres::Error> {
    let mut users: BTreeMap<i64, UserDigest> = BTreeMap::new();
    for row in client
        .query(
            "SELECT user_id::int8, count(*) FROM test_sessions \
             WHERE lower(status::text) = 'completed' GROUP BY user_id",
            &[],
        )
        .await?
    {
        users.entry(row.get(0)).or_default().completed_tests = row.get(1);
    }
    for row in client
        .query(
            "SELECT DISTINCT ON (user_id) user_id::int8, iq_score::int4, \
             (max(iq_score) OVER (PARTITION BY user_id))::int4 FROM test_results \
             ORDER BY user_id, completed_at DESC, id DESC",
            &[],
        )
        .await?
    {
        let digest = users.entry(row.get(0)).or_default();
        digest.latest_iq = row.get(1);
        digest.best_iq = row.get(2);
    }
    for row in client
        .query(
            "SELECT user_id::int8, array_agg(group_id::int8 ORDER BY group_id) \
             FROM group_memberships GROUP BY user_id",
            &[],
        )
        .await?
    {
        users.entry(row.get(0)).or_default().groups = row.get(1);
    }
    Ok(users)
}
