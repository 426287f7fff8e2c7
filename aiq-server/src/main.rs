//! `aiq-server`: runs the AIQ API.
//!
//! Reads the configuration from the environment (and a `.env` file in the working directory,
//! which the environment overrides), then:
//! - `aiq-server` / `aiq-server serve`: migrates the database (if `DATABASE_URL` is set), serves
//!   on `$HOST:$PORT`, and on SIGTERM/SIGINT drains in-flight requests and exits 0;
//! - `aiq-server migrate`: applies pending migrations and exits;
//! - `aiq-server check-config`: prints the effective configuration, secrets masked, and exits
//!   non-zero when it is invalid.

mod json_lines;
mod logging;
mod serve;

use std::process::ExitCode;

use aiq_core::Config;
use aiq_core::config::{ConfigError, EnvVars};
use aiq_core::storage::PgStore;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "aiq-server", version, about = "The AIQ API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Print the effective configuration with secrets masked; exit non-zero if it is invalid.
    CheckConfig,
}

/// The process environment over the `.env` file of the working directory, if there is one.
/// A `.env` line that does not parse is an error, not a silently missing setting.
fn environment() -> Result<EnvVars, String> {
    let dotenv = match dotenvy::from_path_iter(".env") {
        Ok(lines) => lines
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read .env: {e}"))?,
        Err(e) if e.not_found() => Vec::new(),
        Err(e) => return Err(format!("cannot read .env: {e}")),
    };
    Ok(EnvVars::from_process().with_defaults(dotenv))
}

fn load_config() -> Result<Config, ExitCode> {
    let vars = environment().map_err(|err| {
        eprintln!("aiq-server: {err}");
        ExitCode::from(2)
    })?;
    Config::from_env_vars(&vars).map_err(|err: ConfigError| {
        eprintln!("aiq-server: {err}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            println!("{config:#?}");
            println!("configuration is valid");
            ExitCode::SUCCESS
        }
        Command::Migrate => {
            logging::init(&config);
            runtime().block_on(migrate(&config))
        }
        Command::Serve => {
            logging::init(&config);
            runtime().block_on(serve::run(config))
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

async fn migrate(config: &Config) -> ExitCode {
    if config.database.url.is_none() {
        tracing::error!("DATABASE_URL is not set: there is no database to migrate");
        return ExitCode::FAILURE;
    }
    match PgStore::connect(&config.database) {
        Ok(store) => match store.migrate().await {
            Ok(report) => {
                tracing::info!(applied = ?report.applied, "migrations applied: {}", report.applied.len());
                ExitCode::SUCCESS
            }
            Err(error) => {
                tracing::error!(%error, "migration failed");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            tracing::error!(%error, "cannot use DATABASE_URL");
            ExitCode::FAILURE
        }
    }
}
