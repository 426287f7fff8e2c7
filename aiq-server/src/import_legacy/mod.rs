//! `aiq-server import-legacy`: moves a deployment of the old backend onto aiq.
//!
//! The old database is read in one read-only, repeatable-read transaction (a consistent
//! snapshot; nothing is ever written there). Everything is written to `DATABASE_URL` in one
//! transaction: an interrupted import leaves nothing, and running it again starts over. Ids are
//! kept, so tokens, links and the app's cached ids stay valid.
//!
//! A later pass mirrors what changed in the old database since the last one: new rows are
//! added, changed rows updated, deleted rows deleted; a pass over an unchanged database writes
//! nothing. Rows aiq wrote itself are never overwritten: the import refuses to run once the
//! target holds any (see `docs/switch-over.md`).

mod blacklist;
mod merge;
mod stage;
mod tables;
mod verify;
mod watermarks;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aiq_core::Config;
use aiq_core::storage::connect_client;
use secrecy::ExposeSecret;
use tokio_postgres::Client;

use crate::database::migrated_store;
use merge::Changes;
use stage::Refusal;

/// The command line of `import-legacy`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The old backend's PostgreSQL URL (only read, never written).
    #[arg(long, value_name = "OLD_DATABASE_URL")]
    from: Option<String>,
    /// The old backend's TOKEN_BLACKLIST_REDIS_URL: copies its logged-out tokens
    /// (`token_blacklist:<jti>`) with their remaining lifetime.
    #[arg(long, value_name = "OLD_TOKEN_BLACKLIST_REDIS_URL")]
    from_redis: Option<String>,
    /// Read and convert everything, report counts and every row that would be refused, write
    /// nothing.
    #[arg(long)]
    dry_run: bool,
    /// Compare the old database with DATABASE_URL (row counts, per-user tests, scores and
    /// groups) instead of importing; exit 1 on any difference.
    #[arg(long, conflicts_with_all = ["dry_run", "from_redis"])]
    verify: bool,
    /// Import the other rows when some cannot be (each is listed); without it a refused row
    /// stops the import and nothing is written.
    #[arg(long)]
    skip_refused: bool,
    /// Print a line per table on standard error even when it is not a terminal.
    #[arg(long)]
    progress: bool,
}

/// The old backend's last alembic revision: the schema this importer reads.
const LEGACY_REVISION: &str = "pwdlogin474a";

/// Serialises imports into one database ("AIQ" + 2; migrations use + 1).
const IMPORT_LOCK: i64 = 0x0041_4951_0002;

/// Why an import stopped.
#[derive(Debug)]
enum Failure {
    /// The operator must change something first; nothing was written.
    Refused(String),
    /// This many rows cannot be imported (each was printed as it was found); nothing was
    /// written.
    Rows(usize),
    /// The database failed.
    Database(String),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Database(aiq_core::storage::error_chain(&error))
    }
}

/// What one imported table saw and did.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct TableReport {
    read: u64,
    refused: u64,
    #[serde(flatten)]
    changes: Changes,
}

/// The summary printed as one JSON line at the end.
#[derive(Debug, serde::Serialize)]
struct Summary {
    event: &'static str,
    dry_run: bool,
    tables: BTreeMap<&'static str, TableReport>,
    system_config: Changes,
    rows_read: u64,
    refused: u64,
    duplicate_questions: u64,
    compositions_decoded: u64,
    device_tokens_released: u64,
    /// Tables filled empty, with their indexes and constraints built after loading.
    bulk_loaded: Vec<&'static str>,
    seconds: f64,
    rows_per_second: u64,
}

impl Summary {
    fn new(dry_run: bool) -> Self {
        Self {
            event: "import-legacy",
            dry_run,
            tables: BTreeMap::new(),
            system_config: Changes::default(),
            rows_read: 0,
            refused: 0,
            duplicate_questions: 0,
            compositions_decoded: 0,
            device_tokens_released: 0,
            bulk_loaded: Vec::new(),
            seconds: 0.0,
            rows_per_second: 0,
        }
    }
}

/// Runs the command; the exit code is 0 on success, 1 when the import or verification failed
/// or found differences, 2 for a usage or configuration problem.
pub async fn run(config: &Config, args: ImportArgs) -> ExitCode {
    if args.from.is_none() && args.from_redis.is_none() {
        eprintln!(
            "aiq-server: import-legacy needs --from <old DATABASE_URL> and/or --from-redis <old TOKEN_BLACKLIST_REDIS_URL>"
        );
        return ExitCode::from(2);
    }
    let Some(target_url) = config
        .database
        .url
        .as_ref()
        .map(|u| u.expose_secret().to_owned())
    else {
        eprintln!("aiq-server: DATABASE_URL is not set: import-legacy writes into it");
        return ExitCode::from(2);
    };
    if args.verify {
        let Some(from) = &args.from else {
            eprintln!("aiq-server: --verify needs --from <old DATABASE_URL>");
            return ExitCode::from(2);
        };
        return verify::run(from, &target_url, config.database.connect_timeout).await;
    }
    // Migrations first, as the server would run them (never the starter bank: its ids would
    // collide with the old bank's).
    let store = match migrated_store(config, "import-legacy writes into it").await {
        Ok(store) => store,
        Err(code) => return code,
    };
    if let Some(from) = &args.from {
        let timeout = config.database.connect_timeout;
        let code = match import_database(from, &target_url, timeout, &args).await {
            Ok(summary) => {
                print_summary(&summary);
                // A dry run fails where the import would.
                if summary.refused > 0 && !args.skip_refused {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(failure) => report_failure(failure),
        };
        if code != ExitCode::SUCCESS {
            store.close();
            return code;
        }
    }
    let code = match &args.from_redis {
        Some(url) => blacklist::run(config, &store, url, args.dry_run).await,
        None => ExitCode::SUCCESS,
    };
    store.close();
    code
}

fn print_summary(summary: &Summary) {
    match serde_json::to_string(summary) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("aiq-server: cannot write the summary: {error}"),
    }
}

fn report_failure(failure: Failure) -> ExitCode {
    match failure {
        Failure::Refused(message) => {
            eprintln!("aiq-server: import-legacy: {message}; nothing was written");
            ExitCode::from(2)
        }
        Failure::Rows(refused) => {
            eprintln!(
                "aiq-server: import-legacy: {refused} rows cannot be imported (listed above); \
                 nothing was written. Fix them in the old database, or pass --skip-refused to \
                 import everything else"
            );
            ExitCode::FAILURE
        }
        Failure::Database(message) => {
            eprintln!("aiq-server: import-legacy failed, nothing was written: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a line per step on standard error when it is a terminal (or `--progress`).
struct Progress {
    enabled: bool,
    started: Instant,
}

impl Progress {
    fn line(&self, message: std::fmt::Arguments<'_>) {
        if self.enabled {
            eprintln!(
                "import-legacy [{:>6.1}s] {message}",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

async fn import_database(
    from: &str,
    target_url: &str,
    timeout: Duration,
    args: &ImportArgs,
) -> Result<Summary, Failure> {
    let progress = Progress {
        enabled: args.progress || std::io::stderr().is_terminal(),
        started: Instant::now(),
    };
    let (source, target) = open(from, target_url, timeout).await?;
    let tables = tables::all();
    let watermarks = watermarks::previous_watermarks(&target).await?;
    watermarks::check_target(&target, &tables, &watermarks).await?;

    let mut summary = Summary::new(args.dry_run);
    let refusals = stage_all(&source, &target, &tables, &progress, &mut summary).await?;
    if !refusals.is_empty() && !args.skip_refused && !args.dry_run {
        return Err(Failure::Rows(refusals.len()));
    }
    merge_all(
        &source,
        &target,
        &tables,
        &watermarks,
        &progress,
        &mut summary,
    )
    .await?;

    if args.dry_run {
        target.batch_execute("ROLLBACK").await?;
    } else {
        // Sequences are not transactional: they move only in a run that commits.
        for table in &tables {
            merge::advance_sequence(&source, &target, table.name).await?;
        }
        watermarks::record_run(&target, &tables, &watermarks, &summary).await?;
        target.batch_execute("COMMIT").await?;
    }
    source.batch_execute("COMMIT").await?;
    let elapsed = progress.started.elapsed().as_secs_f64();
    summary.seconds = (elapsed * 10.0).round() / 10.0;
    summary.rows_per_second = (summary.rows_read as f64 / elapsed.max(0.001)) as u64;
    progress.line(format_args!(
        "{} rows in {elapsed:.1}s{}",
        summary.rows_read,
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    ));
    Ok(summary)
}

/// Connects to both databases: the old one in a read-only, repeatable-read transaction (one
/// snapshot) after checking its revision, the target in a transaction holding the import lock.
async fn open(
    from: &str,
    target_url: &str,
    timeout: Duration,
) -> Result<(Client, Client), Failure> {
    let source = connect_client(from, timeout)
        .await
        .map_err(|e| Failure::Refused(format!("cannot reach the old database (--from): {e}")))?;
    let target = connect_client(target_url, timeout)
        .await
        .map_err(|e| Failure::Refused(format!("cannot reach DATABASE_URL: {e}")))?;
    source
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    check_revision(&source).await?;
    target.batch_execute("BEGIN").await?;
    let locked: bool = target
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&IMPORT_LOCK])
        .await?
        .get(0);
    if !locked {
        return Err(Failure::Refused(
            "another import-legacy is running on DATABASE_URL".to_owned(),
        ));
    }
    Ok((source, target))
}

/// Copies every table into its staging table and decides what is refused; each refused row is
/// printed, and all are returned.
async fn stage_all(
    source: &Client,
    target: &Client,
    tables: &[tables::Table],
    progress: &Progress,
    summary: &mut Summary,
) -> Result<Vec<Refusal>, Failure> {
    let mut refusals = Vec::new();
    for table in tables {
        let read = stage::copy_table(source, target, table).await?;
        match table.name {
            "questions" => summary.duplicate_questions = stage::fill_content_keys(target).await?,
            "test_sessions" => {
                summary.compositions_decoded = stage::decode_double_encoded(target).await?;
            }
            _ => {}
        }
        stage::refuse_orphans(target, table).await?;
        let refused = stage::refusals(target, table.name).await?;
        progress.line(format_args!(
            "{}: {read} rows read, {} refused",
            table.name,
            refused.len()
        ));
        summary.rows_read += read;
        summary.tables.insert(
            table.name,
            TableReport {
                read,
                refused: refused.len() as u64,
                changes: Changes::default(),
            },
        );
        refusals.extend(refused);
    }
    summary.refused = refusals.len() as u64;
    for refusal in &refusals {
        eprintln!(
            "refused {} id={}: {}",
            refusal.table, refusal.id, refusal.reason
        );
    }
    Ok(refusals)
}

/// Writes the staged rows: deletions first, children before parents, so that a value freed by
/// a deleted row (an email, an invite code) can be taken by a new one; then the upserts,
/// parents first; then `system_config` and the push-token rule.
async fn merge_all(
    source: &Client,
    target: &Client,
    tables: &[tables::Table],
    watermarks: &BTreeMap<String, i64>,
    progress: &Progress,
    summary: &mut Summary,
) -> Result<(), Failure> {
    for table in tables.iter().rev() {
        let watermark = watermarks.get(table.name).copied().unwrap_or(0);
        let deleted = merge::delete_missing(target, table, watermark).await?;
        if let Some(report) = summary.tables.get_mut(table.name) {
            report.changes.deleted = deleted;
        }
    }
    for table in tables {
        let upserted = merge::upsert(target, table).await?;
        if let Some(report) = summary.tables.get_mut(table.name) {
            report.changes.inserted = upserted.inserted;
            report.changes.updated = upserted.updated;
        }
        if upserted.bulk {
            summary.bulk_loaded.push(table.name);
        }
        progress.line(format_args!(
            "{}: {} inserted, {} updated{}",
            table.name,
            upserted.inserted,
            upserted.updated,
            if upserted.bulk {
                " (indexes built after loading)"
            } else {
                ""
            }
        ));
    }
    summary.system_config = merge::system_config(source, target).await?;
    summary.device_tokens_released = merge::one_account_per_device_token(target).await?;
    Ok(())
}

/// Refuses an old database at another revision: its columns are not the ones read here.
async fn check_revision(source: &Client) -> Result<(), Failure> {
    let revision = source
        .query_opt("SELECT version_num::text FROM alembic_version", &[])
        .await
        .map_err(|e| {
            Failure::Refused(format!(
                "--from is not the old backend's database (no alembic_version: {})",
                aiq_core::storage::error_chain(&e)
            ))
        })?;
    match revision.map(|row| row.get::<_, String>(0)) {
        Some(revision) if revision == LEGACY_REVISION => Ok(()),
        Some(revision) => Err(Failure::Refused(format!(
            "the old database is at alembic revision {revision}; import-legacy reads \
             {LEGACY_REVISION}: upgrade the old backend to its last release first"
        ))),
        None => Err(Failure::Refused(
            "the old database has no alembic revision".to_owned(),
        )),
    }
}
