//! `aiq-admin`: the operator's dashboard as a service of its own (for a private deployment next
//! to the API), over the same database.
//!
//! - `aiq-admin` / `aiq-admin serve`: migrates the database at `DATABASE_URL` (the dashboard's
//!   tables are part of the schema), serves the dashboard on `$HOST:$PORT` under `/admin`, and
//!   on SIGTERM/SIGINT finishes in-flight requests and exits 0. Without `DATABASE_URL` it shows
//!   an in-memory store holding the starter question bank (to try it out).
//! - `aiq-admin hash-password`: reads a password from standard input and prints a hash for
//!   `ADMIN_PASSWORD_HASH` (argon2id; bcrypt hashes made elsewhere are accepted as well).
//!
//! It shares `aiq-server`'s process plumbing: `.env` layering, the log format (JSON lines in
//! production), the telemetry export, signals, and the serve loop with its header timeout.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use aiq_admin::Dashboard;
use aiq_core::Config;
use aiq_server::process;
use aiq_server::telemetry::Telemetry;
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
            let config = match process::load_config("aiq-admin") {
                Ok(config) => config,
                Err(code) => return code,
            };
            let telemetry = match Telemetry::init(&config, true) {
                Ok(telemetry) => telemetry,
                Err(error) => {
                    eprintln!("aiq-admin: {error}");
                    return ExitCode::from(2);
                }
            };
            let code = process::runtime().block_on(serve(config));
            telemetry.shutdown();
            code
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

/// Serves the dashboard until SIGTERM or SIGINT. With `ENV=production` it refuses what the
/// API server refuses (an in-memory store, generated or weak secrets).
async fn serve(config: Config) -> ExitCode {
    if let Err(error) = config.validate() {
        tracing::error!("{error}");
        return ExitCode::from(2);
    }
    let (storage, connections) = match aiq_core::wiring::open_storage(&config).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!("{error}; not starting");
            return ExitCode::FAILURE;
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
    let stopped = process::stop_on_signal();
    let served = dashboard.serve(listener, process::until(stopped)).await;
    connections.close();
    match served {
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
