//! The PostgreSQL backend.
//!
//! A deadpool pool of tokio-postgres connections, with every timeout set (deadpool's defaults
//! wait forever). Queries are parameterized and prepared once per connection. Migrations are
//! embedded from the workspace's `migrations/` folder and run under an advisory lock, so several
//! replicas booting at once migrate exactly once and all come up.

mod adaptive;
mod admin;
mod analytics;
mod auth;
mod calibration;
mod groups;
mod guests;
mod migrate;
mod questions;
mod reliability;
mod reminders;
mod sessions;
mod tls;
mod users;
mod watchdog;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

pub use self::migrate::MigrationReport;
pub(crate) use self::tls::is_valid_url;
use self::users::{USER_COLUMNS, user_from_row};
use self::watchdog::{Silence, WatchedConnect};
use super::{
    Conflict, OpenError, Storage, StorageError, User, UserId, database_failure, error_chain,
};
use crate::config::DatabaseConfig;
use crate::questions::NewQuestion;

/// The PostgreSQL store.
///
/// ```no_run
/// use aiq_core::Config;
/// use aiq_core::storage::PgStore;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::from_env()?;
/// let store = PgStore::connect(&config.database)?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    pg_config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// Unix time of the last sweep of expired revocations.
    last_sweep: Arc<AtomicI64>,
    /// Set while the database is known not to answer: requests fail fast.
    silence: Arc<Silence>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio_postgres::Config's Debug redacts the password; the pool status is useful.
        f.debug_struct("PgStore")
            .field("hosts", &self.pg_config.get_hosts())
            .field("dbname", &self.pg_config.get_dbname())
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Builds the pool for `config.url`. No connection is opened until one is needed, so this
    /// only fails for a missing or malformed URL (or an unreadable `sslrootcert`).
    ///
    /// The URL's `sslmode` means what it means to `psql`: `disable`; `prefer` (the default) and
    /// `require` encrypt without checking the certificate; `verify-ca` and `verify-full` check
    /// it against `sslrootcert` or the Mozilla roots.
    pub fn connect(config: &DatabaseConfig) -> Result<Self, StorageError> {
        let url = config.url.as_ref().ok_or_else(|| {
            StorageError::Unavailable("DATABASE_URL is not set".to_owned().into())
        })?;
        let tls::Connection {
            config: mut pg_config,
            tls,
        } = tls::parse(url.expose_secret())?;
        pg_config.connect_timeout(config.connect_timeout);
        if pg_config.get_application_name().is_none() {
            pg_config.application_name("aiq");
        }
        let manager_config = ManagerConfig {
            // A dead connection is found by the watchdog (it closes it) or TCP keepalive, and
            // Fast recycling drops closed connections; checking each checkout would add a
            // round trip.
            recycling_method: RecyclingMethod::Fast,
        };
        let silence = Arc::new(Silence::default());
        let mut watched = None;
        let manager = match config.statement_timeout {
            Some(limit) => {
                let pooled = with_statement_timeout(&pg_config, limit);
                // The server ends a slow statement itself first; only silence lasts longer.
                let budget = limit + Duration::from_secs(1);
                let connect = Arc::new(WatchedConnect::new(
                    tls.clone(),
                    budget,
                    config.connect_timeout,
                    Arc::clone(&silence),
                ));
                watched = Some((Arc::clone(&connect), pooled.clone()));
                Manager::from_connect(pooled, (*connect).clone(), manager_config)
            }
            None => Manager::from_config(pg_config.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.connect_timeout))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StorageError::Backend(Box::new(e)))?;
        if let Some((connect, pooled)) = watched {
            silence.attach(pool.clone(), connect, pooled);
        }
        Ok(Self {
            pool,
            pg_config,
            tls,
            last_sweep: Arc::new(AtomicI64::new(0)),
            silence,
        })
    }

    /// Applies pending migrations (see [`MigrationReport`]).
    pub async fn migrate(&self) -> Result<MigrationReport, StorageError> {
        migrate::run(self, None).await
    }

    /// Applies pending migrations, then loads `bank` if the database holds no question. Both
    /// happen under the migration lock, so replicas booting together load the bank once.
    pub async fn migrate_and_seed(
        &self,
        bank: &[NewQuestion],
    ) -> Result<MigrationReport, StorageError> {
        migrate::run(self, Some(bank)).await
    }

    /// Builds the pool for `config` and migrates the database (loading the starter bank into an
    /// empty one when `config.seed_starter_bank`): what a server does at start-up. The error is
    /// one line for the operator: the address, the cause and the setting to check, never the
    /// password.
    pub async fn open(config: &DatabaseConfig) -> Result<(Self, MigrationReport), OpenError> {
        let store =
            Self::connect(config).map_err(|error| OpenError::Settings(error_chain(&error)))?;
        let migrated = if config.seed_starter_bank {
            store
                .migrate_and_seed(&crate::questions::starter_bank())
                .await
        } else {
            store.migrate().await
        };
        match migrated {
            Ok(report) => Ok((store, report)),
            Err(error) => {
                store.close();
                let url = config.url.as_ref().map_or("", |url| url.expose_secret());
                Err(OpenError::Database(database_failure(
                    "DATABASE_URL",
                    url,
                    &error,
                )))
            }
        }
    }

    /// Closes the pool: idle connections are dropped and no new ones are handed out.
    pub fn close(&self) {
        self.pool.close();
    }

    async fn conn(&self) -> Result<Object, StorageError> {
        if self.silence.is_silent() {
            return Err(StorageError::Unavailable(
                "the database is not answering (failing fast until a probe gets an answer)".into(),
            ));
        }
        self.pool
            .get()
            .await
            .map_err(|e| StorageError::Unavailable(Box::new(e)))
    }
}

/// Opens one connection of its own to `url`, outside any pool and without a statement timeout,
/// with the same URL and TLS rules as [`PgStore::connect`]: for long bulk work such as
/// `aiq-server import-legacy`, which streams whole tables through `COPY`. The connection's task
/// runs on the current Tokio runtime until the client is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// let client = aiq_core::storage::connect_client(
///     "postgres://postgres@127.0.0.1:5432/test",
///     Duration::from_secs(5),
/// )
/// .await?;
/// let row = client.query_one("SELECT 1::int4", &[]).await?;
/// assert_eq!(row.get::<_, i32>(0), 1);
/// # Ok(()) }
/// ```
pub async fn connect_client(
    url: &str,
    connect_timeout: Duration,
) -> Result<tokio_postgres::Client, StorageError> {
    let tls::Connection {
        config: mut pg_config,
        tls,
    } = tls::parse(url)?;
    pg_config.connect_timeout(connect_timeout);
    if pg_config.get_application_name().is_none() {
        pg_config.application_name("aiq");
    }
    let (client, connection) = pg_config
        .connect(tls)
        .await
        .map_err(|e| StorageError::Unavailable(Box::new(e)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "dedicated PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Each host of `config` with its port, as libpq pairs them: the port at the same position, or
/// the only port given, or 5432.
pub(crate) fn host_ports(
    config: &tokio_postgres::Config,
) -> impl Iterator<Item = (&tokio_postgres::config::Host, u16)> {
    let ports = config.get_ports();
    config.get_hosts().iter().enumerate().map(move |(i, host)| {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        (host, port)
    })
}

/// `config` asking the server to end any statement that runs longer than `limit`.
fn with_statement_timeout(
    config: &tokio_postgres::Config,
    limit: Duration,
) -> tokio_postgres::Config {
    let mut pooled = config.clone();
    let setting = format!("-c statement_timeout={}", limit.as_millis());
    let options = match config.get_options() {
        Some(options) if !options.trim().is_empty() => format!("{options} {setting}"),
        _ => setting,
    };
    pooled.options(&options);
    pooled
}

/// Times one storage operation into `db.query.duration` (seconds) when dropped, and spans it
/// with a client span (child of the current span, e.g. the request's) for trace export.
pub(super) struct Timed {
    operation: &'static str,
    table: &'static str,
    started: std::time::Instant,
    /// Not entered: the guard lives across awaits. Its start and end are the operation's.
    _span: tracing::Span,
}

/// Starts timing `operation` on `table`; keep the guard alive for the whole operation.
pub(super) fn timed(operation: &'static str, table: &'static str) -> Timed {
    let span = tracing::info_span!(
        target: crate::telemetry::CLIENT_SPANS,
        "db.query",
        otel.name = %format_args!("{operation} {table}"),
        otel.kind = "client",
        db.system.name = "postgresql",
        db.operation.name = operation,
        db.collection.name = table,
    );
    Timed {
        operation,
        table,
        started: std::time::Instant::now(),
        _span: span,
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        metrics::histogram!(
            crate::telemetry::DB_QUERY_DURATION,
            "db.operation" => self.operation,
            "db.table" => self.table
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

/// Maps a driver error: unique violations become [`StorageError::Conflict`], lost connections
/// [`StorageError::Unavailable`], the rest [`StorageError::Backend`].
fn db_error(err: tokio_postgres::Error) -> StorageError {
    if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        let constraint = err.as_db_error().and_then(|db| db.constraint());
        if let Some(conflict) = match constraint {
            Some("users_email_key") => Some(Conflict::UserEmail),
            Some("oauth_identities_provider_subject_key") => Some(Conflict::OAuthIdentity),
            Some("password_reset_tokens_token_hash_key") => Some(Conflict::PasswordResetToken),
            Some("ix_test_sessions_user_active") => Some(Conflict::ActiveSession),
            Some("user_questions_user_id_question_id_key") => Some(Conflict::QuestionSeen),
            Some("responses_test_session_id_question_id_key") => Some(Conflict::Response),
            Some("groups_invite_code_key" | "group_invites_invite_code_key") => {
                Some(Conflict::InviteCode)
            }
            _ => None,
        } {
            return StorageError::Conflict(conflict);
        }
    }
    if err.is_closed() || err.as_db_error().is_none() {
        StorageError::Unavailable(Box::new(err))
    } else {
        StorageError::Backend(Box::new(err))
    }
}

#[async_trait]
impl Storage for PgStore {
    async fn ping(&self) -> Result<(), StorageError> {
        let _timed = timed("ping", "none");
        let conn = self.conn().await?;
        conn.simple_query("SELECT 1").await.map_err(db_error)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    /// One statement: the revocations of `keys` as two arrays (keys, times), next to the user
    /// row, which the outer join leaves empty when there is no such user.
    async fn user_with_revocations(
        &self,
        id: UserId,
        keys: &[&str],
        now: OffsetDateTime,
    ) -> Result<(Option<User>, Vec<Option<OffsetDateTime>>), StorageError> {
        let _timed = timed("user_with_revocations", "users");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "WITH revoked AS (SELECT key, revoked_at FROM revoked_tokens \
                                  WHERE key = ANY($2) AND expires_at > $3) \
                 SELECT ARRAY(SELECT key FROM revoked ORDER BY key) AS revoked_keys, \
                        ARRAY(SELECT revoked_at FROM revoked ORDER BY key) AS revoked_times, {USER_COLUMNS} \
                 FROM (SELECT $1::bigint AS wanted) AS one LEFT JOIN users ON users.id = one.wanted"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(&statement, &[&id, &keys, &now])
            .await
            .map_err(db_error)?;
        let revoked_keys: Vec<String> = row.try_get("revoked_keys").map_err(db_error)?;
        let revoked_times: Vec<OffsetDateTime> = row.try_get("revoked_times").map_err(db_error)?;
        let revoked = keys
            .iter()
            .map(|key| {
                let at = revoked_keys.iter().position(|revoked| revoked == key)?;
                revoked_times.get(at).copied()
            })
            .collect();
        let found: Option<UserId> = row.try_get("id").map_err(db_error)?;
        let user = found.map(|_| user_from_row(&row)).transpose()?;
        Ok((user, revoked))
    }
}
