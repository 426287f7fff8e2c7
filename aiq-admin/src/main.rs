//! `aiq-admin`: the operator's dashboard as a service of its own (for a private deployment next
//! to the API), over the same database.
//!
//! - `aiq-admin` / `aiq-admin serve`: migrates the database at `DATABASE_URL` (the dashboard's
//!   tables are part of the schema), serves the dashboard on `$HOST:$PORT` under `/admin`, and
//!   on SIGTERM/SIGINT finishes in-flight requests and exits 0. Without `DATABASE_URL` it shows
//!   an in-memory store holding the starter question bank (to try it out).
//! - `aiq-admin hash-password`: reads a password from standard input and prints a hash for
//!   `ADMIN_PASSWORD_HASH` (argon2id; bcrypt hashes made elsewhere are accepted as well).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use aiq_admin::Dashboard;
use aiq_core::Config;
use aiq_core::config::EnvVars;
use aiq_core::questions::starter_bank;
use aiq_core::storage::{MemoryStore, PgStore, Storage};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "aiq-admin", version, about = "The AIQ admin dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, then serve the dashboard (the default).
    Serve,
    /// Read a password from standard input and print its hash for ADMIN_PASSWORD_HASH.
    HashPassword,
}

/// Shortest password `hash-password` accepts.
const MIN_PASSWORD_CHARS: usize = 12;

/// mimalloc, as `aiq-server`: the request path allocates many small, short-lived objects.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::HashPassword => hash_password(),
        Command::Serve => {
            let config = match load_config() {
                Ok(config) => config,
                Err(message) => {
                    eprintln!("aiq-admin: {message}");
                    return ExitCode::from(2);
                }
            };
            init_logging(&config);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("the tokio runtime starts")
                .block_on(serve(config))
        }
    }
}

fn hash_password() -> ExitCode {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Type the admin password and press Enter (it is shown as you type):");
    }
    let mut line = String::new();
    if let Err(error) = stdin.lock().read_line(&mut line) {
        eprintln!("aiq-admin: cannot read the password: {error}");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD_CHARS {
        eprintln!("aiq-admin: use a password of at least {MIN_PASSWORD_CHARS} characters");
        return ExitCode::from(2);
    }
    match aiq_core::auth::password::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("aiq-admin: hashing failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The process environment over the `.env` file of the working directory, if there is one.
fn load_config() -> Result<Config, String> {
    let dotenv = match dotenvy::from_path_iter(".env") {
        Ok(lines) => lines
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read .env: {e}"))?,
        Err(e) if e.not_found() => Vec::new(),
        Err(e) => return Err(format!("cannot read .env: {e}")),
    };
    let config = Config::from_env_vars(&EnvVars::from_process().with_defaults(dotenv))
        .map_err(|e| e.to_string())?;
    // The same checks as the API server: with ENV=production no in-memory store, no generated
    // or weak secrets.
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

fn init_logging(config: &Config) {
    use aiq_core::config::LogLevel;
    let level = match config.app.log_level {
        LogLevel::Trace => tracing::Level::TRACE,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Error => tracing::Level::ERROR,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false);
    if config.app.environment.is_production() {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: Config) -> ExitCode {
    let storage: Arc<dyn Storage> = match &config.database.url {
        Some(_) => match PgStore::open(&config.database).await {
            Ok((store, _)) => Arc::new(store),
            Err(error) => {
                tracing::error!("{error}; not starting");
                return ExitCode::FAILURE;
            }
        },
        None => {
            tracing::warn!(
                "DATABASE_URL is not set: showing an in-memory store with the starter question bank"
            );
            Arc::new(MemoryStore::with_questions(&starter_bank()))
        }
    };
    let dashboard = match Dashboard::builder(config.clone()).storage(storage).build() {
        Ok(dashboard) => dashboard,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(2);
        }
    };
    let address = format!("{}:{}", config.app.host, config.app.port);
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, %address, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(address);
    tracing::info!(address = %local, "admin dashboard listening at http://{local}/admin/");
    match dashboard.serve(listener, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("admin dashboard stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "serving failed");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
