//! `aiq-server questions import FILE` and `aiq-server questions generate`.

use std::io::Write;
use std::process::ExitCode;

use aiq_core::Config;

use crate::database::migrated_store;
use aiq_core::questions::{ImportOutcome, generate, import_bank};

/// Loads a bank file (JSON Lines or a JSON array) into the database: every row is checked,
/// valid new rows are added in one transaction, rows already in the bank are skipped, and each
/// rejected row is reported with its line. Exits 1 when a row was rejected (the valid ones are
/// still added; running the command again adds nothing twice).
pub async fn import(config: &Config, path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("aiq-server: cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let why = "the in-memory store loads the starter bank by itself; set DATABASE_URL to \
               import into PostgreSQL";
    let store = match migrated_store(config, why).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let report = match import_bank(&store, &text).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("aiq-server: import failed, nothing was added: {error}");
            return ExitCode::FAILURE;
        }
    };
    for line in &report.lines {
        match &line.outcome {
            ImportOutcome::Added => {}
            ImportOutcome::Skipped => println!("line {}: skipped: already in the bank", line.line),
            ImportOutcome::Rejected(problem) => println!("line {}: rejected: {problem}", line.line),
        }
    }
    let rejected = report.rejected();
    println!(
        "{path}: added {}, skipped {}, rejected {rejected}",
        report.added(),
        report.skipped()
    );
    store.close();
    if rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes a generated bank as JSON Lines to `out` (or stdout).
pub fn generate_bank(seed: u64, per_cell: usize, out: Option<&str>) -> ExitCode {
    let bank = generate::generate_bank(seed, per_cell);
    let mut text = String::new();
    for question in &bank {
        match serde_json::to_string(question) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
            }
            Err(error) => {
                eprintln!("aiq-server: cannot serialise a question: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let written = match out {
        Some(path) => std::fs::write(path, &text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => {
            eprintln!(
                "generated {} questions (seed {seed}, {per_cell} per cell)",
                bank.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("aiq-server: cannot write the bank: {error}");
            ExitCode::FAILURE
        }
    }
}
