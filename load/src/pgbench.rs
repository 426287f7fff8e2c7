//! The database's own ceiling: `pgbench -S` (a primary-key SELECT per transaction) with the
//! same number of connections, timed from pgbench's per-transaction log.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use crate::drive::Sample;

/// Share of transactions pgbench writes to its log (enough for percentiles, little overhead).
const LOG_SAMPLING: f64 = 0.1;

/// Initialises pgbench's tables in `database_url`, then runs `pgbench -S` with `clients`
/// connections on two threads for `duration` (whole seconds, at least one). The sample's
/// rate is pgbench's own tps; its latencies are the logged transactions'.
pub(crate) async fn select_only(
    database_url: &str,
    work_dir: &Path,
    clients: usize,
    duration: Duration,
) -> Result<Sample, String> {
    run(&["-i", "-q", "-s", "10", database_url]).await?;
    let prefix = work_dir.join("pgbench");
    let seconds = duration.as_secs().max(1).to_string();
    let clients = clients.to_string();
    let sampling = LOG_SAMPLING.to_string();
    let prefix_arg = prefix.display().to_string();
    let output = run(&[
        "-S",
        "-n",
        "-c",
        &clients,
        "-j",
        "2",
        "-T",
        &seconds,
        "-l",
        "--sampling-rate",
        &sampling,
        "--log-prefix",
        &prefix_arg,
        database_url,
    ])
    .await?;
    let tps = output
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line["tps = ".len()..].split_whitespace().next())
        .and_then(|tps| tps.parse::<f64>().ok())
        .ok_or_else(|| format!("pgbench printed no tps:\n{output}"))?;
    let mut micros = logged_latencies(work_dir)?;
    micros.sort_unstable();
    // The log holds a sample of the transactions: the elapsed time is set so that the
    // sample's rate is pgbench's own tps.
    let elapsed = Duration::from_secs_f64(micros.len() as f64 / tps);
    Ok(Sample {
        micros,
        errors: 0,
        first_error: None,
        elapsed,
    })
}

/// The latency (third field, microseconds) of every transaction in pgbench's log files.
fn logged_latencies(work_dir: &Path) -> Result<Vec<u32>, String> {
    let mut micros = Vec::new();
    let entries = std::fs::read_dir(work_dir).map_err(|error| error.to_string())?;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("pgbench.") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|error| error.to_string())?;
        micros.extend(
            text.lines()
                .filter_map(|line| line.split_whitespace().nth(2)?.parse::<u32>().ok()),
        );
    }
    Ok(micros)
}

/// Runs pgbench with `args`, returning what it printed; its failure is an error with its output.
async fn run(args: &[&str]) -> Result<String, String> {
    let output = Command::new("pgbench")
        .args(args)
        .output()
        .await
        .map_err(|error| format!("cannot run pgbench (is it installed?): {error}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("pgbench {} failed:\n{text}", args.join(" ")))
    }
}
