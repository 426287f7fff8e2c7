//! `aiq-load`: measures the release `aiq-server` against the ceilings of the same machine.
//!
//! Starts a bare hyper server (`hello-hyper`) and `aiq-server` on a scratch PostgreSQL
//! database, runs `pgbench -S` on another, and drives each with the same closed-loop
//! generator for the same time. Prints one Markdown table (median of the rounds): req/s, p50,
//! p99, CPU use and aiq's log lines per target, with `ping` as a share of bare hyper and
//! `profile` as a share of `pgbench -S`; then the server's memory. Exits non-zero when a
//! request failed. `benches/load` builds and runs it; `--quick` is CI's short mode.
//!
//! ```text
//! benches/load              # release build, 10 s per target, 3 rounds
//! benches/load --quick      # debug build, 2 s per target, 1 round
//! benches/load --data-set postgres://.../synthetic   # request latency: data set vs empty
//! ```

mod data_size;
mod drive;
mod machine;
mod pgbench;
mod processes;
mod report;
mod scenario;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use drive::{Connection, Shot};
use machine::CpuTimes;
use processes::{Databases, Server};
use report::{Row, Table};

#[derive(Debug, Parser)]
#[command(
    name = "aiq-load",
    about = "Load harness: aiq-server against bare hyper and pgbench -S"
)]
struct Args {
    /// Short mode (CI): 2 seconds per target, one round.
    #[arg(long)]
    quick: bool,
    /// Seconds each target is driven (default 10, or 2 with --quick).
    #[arg(long)]
    seconds: Option<u64>,
    /// Rounds of every target; the table shows each target's median round (default 3, or 1
    /// with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Connections kept busy by the generator (and pgbench clients).
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// A PostgreSQL database from which scratch databases can be created (default:
    /// `$AIQ_TEST_DATABASE_URL`, else the local server's `postgres` database).
    #[arg(long)]
    admin_url: Option<String>,
    /// Where `aiq-server` and `hello-hyper` are (default: beside this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Drive only these targets (repeatable: `--only profile --only ping`); the limits a
    /// ratio needs are driven too.
    #[arg(long)]
    only: Vec<String>,
    /// Instead of the load targets: sequential request latency on this database (one written
    /// by `aiq-server seed-synthetic`) next to an empty one (`data_size.rs`).
    #[arg(long, value_name = "DATABASE_URL")]
    data_set: Option<String>,
    /// With --data-set: requests of each kind (login fewer: each costs a password hash).
    #[arg(long, default_value_t = 200)]
    requests: usize,
}

impl Args {
    /// Whether `target` is driven in this run.
    fn drives(&self, target: &str) -> bool {
        self.only.is_empty()
            || self.only.iter().any(|only| {
                only == target
                    || LIMITS
                        .iter()
                        .any(|(row, limit, _)| only == row && *limit == target)
                    || (only == "login" && target == "health during login")
            })
    }
}

/// Rows compared with a limit: (target, limit target, how the limit is named).
const LIMITS: [(&str, &str, &str); 2] = [
    ("ping", "bare hyper", "bare hyper"),
    ("profile", "pgbench -S", "pgbench -S"),
];

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let admin_url = args.admin_url.clone().unwrap_or_else(|| {
        std::env::var("AIQ_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    });
    let mut databases = match Databases::connect(&admin_url).await {
        Ok(databases) => databases,
        Err(error) => {
            eprintln!("aiq-load: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(&args, &mut databases).await;
    databases.drop_all().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aiq-load: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, databases: &mut Databases) -> Result<(), String> {
    let seconds = args.seconds.unwrap_or(if args.quick { 2 } else { 10 });
    let duration = Duration::from_secs(seconds);
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 });
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .map_err(|error| error.to_string())?
            .parent()
            .ok_or("this binary has no directory")?
            .to_path_buf(),
    };
    let work_dir = std::env::temp_dir().join(format!("aiq-load-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).map_err(|error| error.to_string())?;
    if let Some(data_set) = &args.data_set {
        return data_size::run(
            &bin_dir,
            &work_dir,
            databases,
            data_set,
            args.requests,
            seconds,
        )
        .await;
    }

    let machine = machine::idle_reading(Duration::from_secs(1)).await;
    let hello = processes::start_hello(&bin_dir).await?;
    let pgbench_url = databases.create("pgbench").await?;
    let aiq_url = databases.create("aiq").await?;
    let aiq = processes::start_aiq(&bin_dir, &work_dir, &aiq_url).await?;
    let idle_memory = aiq.pid().and_then(machine::resident_mib);

    let mut setup = Connection::open(aiq.address).await?;
    let reader = scenario::register(&mut setup).await?;
    scenario::take_one_test(&mut setup, &reader).await?;
    let taker = scenario::register(&mut setup).await?;
    scenario::take_one_test(&mut setup, &taker).await?;
    drop(setup);

    let mut table = Table::default();
    let mut taker = Some(taker);
    let mut users = 0;
    for round in 1..=rounds {
        eprintln!("aiq-load: round {round} of {rounds}");
        let targets = [
            ("bare hyper", &hello, Shot::get("/")),
            ("ping", &aiq, Shot::get("/v1/ping")),
            ("health", &aiq, Shot::get("/v1/health")),
            (
                "profile",
                &aiq,
                Shot::get("/v1/user/profile").bearer(&reader.token),
            ),
        ];
        for (target, server, shot) in targets {
            if !args.drives(target) {
                continue;
            }
            let row = measure(server, target, args.connections, async {
                drive::flood(server.address, shot, args.connections, duration).await
            })
            .await?;
            table.add(row);
        }
        if args.drives("pgbench -S") {
            let before = CpuTimes::now();
            let sample =
                pgbench::select_only(&pgbench_url, &work_dir, args.connections, duration).await?;
            table.add(Row {
                target: "pgbench -S",
                connections: args.connections,
                cpu: cpu_since(before),
                sample,
                log_lines: 0,
            });
        }
        if args.drives("login") {
            login_flood(&aiq, &reader, args.connections, duration, &mut table).await?;
        }
        if !(args.drives("start") || args.drives("submit")) {
            continue;
        }

        // The taker keeps its history from round to round (and hands over to new accounts
        // when it has seen the whole bank).
        let account = taker.take().ok_or("no test taker")?;
        let (lines_before, _) = aiq.logged();
        let before = CpuTimes::now();
        let taking = scenario::take_tests(aiq.address, account, duration).await?;
        let cpu = cpu_since(before);
        let log_lines = aiq.logged().0 - lines_before;
        users += taking.users;
        table.add(Row {
            target: "start",
            connections: 1,
            sample: taking.start,
            cpu,
            log_lines,
        });
        table.add(Row {
            target: "submit",
            connections: 1,
            sample: taking.submit,
            cpu,
            log_lines,
        });
        taker = Some(taking.last);
    }

    println!(
        "aiq-load: {seconds} s per target, {rounds} round(s), median round shown; {machine}\n"
    );
    println!("{}", table.markdown(&LIMITS));
    let end_memory = aiq.pid().and_then(machine::resident_mib);
    let (lines, bytes) = aiq.logged();
    println!(
        "aiq-server memory (VmRSS / of which anonymous): after start-up {}, at the end {}",
        mib(idle_memory),
        mib(end_memory)
    );
    println!("aiq-server logged {lines} lines ({bytes} bytes) in all; test takers used: {users}");
    let _ = std::fs::remove_dir_all(&work_dir);
    let failures = table.failures();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Logins on `connections` connections while one more connection asks for health, one
/// request after another: does hashing passwords stall everything else?
async fn login_flood(
    aiq: &Server,
    account: &scenario::Account,
    connections: usize,
    duration: Duration,
    table: &mut Table,
) -> Result<(), String> {
    let (lines_before, _) = aiq.logged();
    let before = CpuTimes::now();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let probe = tokio::spawn(drive::probe(aiq.address, Shot::get("/v1/health"), stopped));
    let logins = drive::flood(aiq.address, scenario::login(account), connections, duration).await;
    let _ = stop.send(());
    let health = probe.await.map_err(|error| error.to_string())??;
    let cpu = cpu_since(before);
    let log_lines = aiq.logged().0 - lines_before;
    table.add(Row {
        target: "login",
        connections,
        sample: logins?,
        cpu,
        log_lines,
    });
    table.add(Row {
        target: "health during login",
        connections: 1,
        sample: health,
        cpu,
        log_lines: 0,
    });
    Ok(())
}

/// Runs one flood and records it with the CPU use and the lines `server` logged meanwhile.
async fn measure(
    server: &Server,
    target: &'static str,
    connections: usize,
    run: impl Future<Output = Result<drive::Sample, String>>,
) -> Result<Row, String> {
    let (lines_before, _) = server.logged();
    let before = CpuTimes::now();
    let sample = run.await?;
    Ok(Row {
        target,
        connections,
        sample,
        cpu: cpu_since(before),
        log_lines: server.logged().0 - lines_before,
    })
}

fn cpu_since(before: Option<CpuTimes>) -> f64 {
    match (before, CpuTimes::now()) {
        (Some(before), Some(after)) => after.busy_since(before),
        _ => 0.0,
    }
}

fn mib(reading: Option<(f64, f64)>) -> String {
    reading.map_or_else(
        || "unknown".to_owned(),
        |(rss, anon)| format!("{rss:.1} / {anon:.1} MiB"),
    )
}
