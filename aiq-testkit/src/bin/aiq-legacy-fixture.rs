//! `aiq-legacy-fixture`: creates the old backend's schema in an existing, empty database and
//! fills it, for benches and by-hand trials of `aiq-server import-legacy`.
//!
//! ```text
//! aiq-legacy-fixture <database url> quirks
//! aiq-legacy-fixture <database url> large <users> <tests per user> <responses per test> [questions]
//! ```

use std::process::ExitCode;
use std::time::Instant;

use aiq_testkit::legacy::{LargeSpec, create_schema, fill_quirks, generate};

const USAGE: &str = "usage: aiq-legacy-fixture <database url> quirks\n       \
                     aiq-legacy-fixture <database url> large <users> <tests per user> \
                     <responses per test> [questions]";

fn number(arg: Option<&String>, what: &str) -> Result<u32, String> {
    arg.ok_or_else(|| format!("missing {what}\n{USAGE}"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

async fn run(args: &[String]) -> Result<(), String> {
    let url = args.first().ok_or(USAGE)?;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    tokio::spawn(connection);
    let started = Instant::now();
    create_schema(&client).await.map_err(|e| e.to_string())?;
    match args.get(1).map(String::as_str) {
        Some("quirks") => {
            fill_quirks(&client).await.map_err(|e| e.to_string())?;
            println!(
                "quirk rows written in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        Some("large") => {
            let users = number(args.get(2), "users")?;
            let tests_per_user = number(args.get(3), "tests per user")?;
            let responses_per_test = number(args.get(4), "responses per test")?;
            let minimum = (tests_per_user + 2) * responses_per_test;
            let questions = match args.get(5) {
                Some(_) => number(args.get(5), "questions")?,
                None => minimum.max(1000),
            };
            let spec = LargeSpec {
                users,
                tests_per_user,
                responses_per_test,
                questions,
                seed: 16,
            };
            let written = generate(&client, &spec).await.map_err(|e| e.to_string())?;
            println!(
                "{written:?} written in {:.1}s",
                started.elapsed().as_secs_f64()
            );
        }
        _ => return Err(USAGE.to_owned()),
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aiq-legacy-fixture: {error}");
            ExitCode::from(2)
        }
    }
}
