//! `aiq-load --data-set URL`: what a deployment's data costs each request.
//!
//! Starts `aiq-server` on an empty scratch database, then on the data set (a database written
//! by `aiq-server seed-synthetic`), and on each sends every request of a user's day one after
//! another: login, profile, history, a result, the group list and a leaderboard, the admin
//! reliability report, the admin dashboard's users and sessions lists (logged in through its
//! form), and tests started and submitted. Prints p50 and p99 of each next to each
//! other with the ratio of the medians, the server's peak memory, and how long each alpha
//! recomputation took (from the server's log).

use std::path::Path;
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;

use crate::drive::{self, Connection, Sample, Shot};
use crate::machine;
use crate::processes::{self, Databases};
use crate::scenario::{self, Account};

/// The password `seed-synthetic` gives every user.
const SYNTHETIC_PASSWORD: &str = "synthetic-Passw0rd";

/// What one database measured.
struct Measured {
    rows: Vec<(&'static str, Sample)>,
    /// Peak resident memory of the server, MiB.
    peak_mib: Option<f64>,
    /// `elapsed_ms` of each "reliability: report recomputed" line.
    alpha_ms: Vec<u64>,
}

/// Measures the empty database and the data set, and prints the table.
pub(crate) async fn run(
    bin_dir: &Path,
    work_dir: &Path,
    databases: &mut Databases,
    data_set: &str,
    requests: usize,
    test_seconds: u64,
) -> Result<(), String> {
    let empty_url = databases.create("empty").await?;
    // The leaderboard reads its group's members: the empty database's group gets as many as
    // the data set's, so the comparison is about the deployment's size only.
    let members = group_size(data_set).await?;
    eprintln!("aiq-load: empty database");
    let empty = measure(
        bin_dir,
        work_dir,
        &empty_url,
        Fixture::Fresh { members },
        requests,
        test_seconds,
    )
    .await?;
    eprintln!("aiq-load: data set");
    let large = measure(
        bin_dir,
        work_dir,
        data_set,
        Fixture::DataSet(data_set),
        requests,
        test_seconds,
    )
    .await?;
    let counts = data_set_counts(data_set).await?;
    println!("Data set: {counts}\n");
    println!(
        "| request | n | empty p50 ms | empty p99 ms | data set p50 ms | data set p99 ms | p50 ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for ((name, small), (_, big)) in empty.rows.iter().zip(&large.rows) {
        let ratio = big.quantile_ms(0.5) / small.quantile_ms(0.5).max(f64::EPSILON);
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {ratio:.2} |",
            big.micros.len(),
            small.quantile_ms(0.5),
            small.quantile_ms(0.99),
            big.quantile_ms(0.5),
            big.quantile_ms(0.99),
        );
        for (label, sample) in [("empty", small), ("data set", big)] {
            if sample.errors > 0 {
                failed = true;
                eprintln!(
                    "aiq-load: {name} on the {label}: {} errors, first: {}",
                    sample.errors,
                    sample.first_error.as_deref().unwrap_or("")
                );
            }
        }
    }
    let mib = |m: Option<f64>| m.map_or_else(|| "?".to_owned(), |m| format!("{m:.1} MiB"));
    println!(
        "\naiq-server peak memory (VmHWM): empty {}, data set {}",
        mib(empty.peak_mib),
        mib(large.peak_mib)
    );
    println!(
        "reliability report recomputations (ms): empty {:?}, data set {:?}",
        empty.alpha_ms, large.alpha_ms
    );
    if failed {
        return Err("some requests failed".to_owned());
    }
    Ok(())
}

async fn measure(
    bin_dir: &Path,
    work_dir: &Path,
    url: &str,
    fixture: Fixture<'_>,
    requests: usize,
    test_seconds: u64,
) -> Result<Measured, String> {
    let server = processes::start_aiq(bin_dir, work_dir, url).await?;
    let mut connection = Connection::open(server.address).await?;
    let (account, login) = match fixture {
        Fixture::DataSet(url) => synthetic_account(&mut connection, url).await?,
        Fixture::Fresh { members } => fresh_account(&mut connection, members).await?,
    };
    let get = |path: &str| Shot::get(path).bearer(&account.token);
    let history = connection.json(&get("/v1/test/history")).await?;
    let result = history["results"][0]["id"]
        .as_i64()
        .ok_or_else(|| format!("no result in the history: {history}"))?;
    let groups = connection.json(&get("/v1/groups/")).await?;
    let group = groups[0]["id"]
        .as_i64()
        .or_else(|| groups["groups"][0]["id"].as_i64())
        .ok_or_else(|| format!("no group: {groups}"))?;
    let admin = Shot {
        admin_token: server.admin_token.clone(),
        ..Shot::get("/v1/admin/reliability")
    };
    let dashboard = dashboard_session(&mut connection).await?;
    let page = |path: &str| Shot::get(path).cookie(&dashboard);
    let shots: [(&'static str, Shot, usize); 12] = [
        ("login", login, requests.min(20)),
        ("profile", get("/v1/user/profile"), requests),
        ("history (first page)", get("/v1/test/history"), requests),
        (
            "result",
            get(&format!("/v1/test/results/{result}")),
            requests,
        ),
        ("group list", get("/v1/groups/"), requests),
        (
            "leaderboard",
            get(&format!("/v1/groups/{group}/leaderboard")),
            requests,
        ),
        ("admin reliability", admin, requests),
        ("admin overview", page("/admin/"), requests),
        (
            "admin reliability page",
            page("/admin/reliability"),
            requests,
        ),
        ("admin users list", page("/admin/users"), requests),
        (
            "admin users search",
            page("/admin/users?q=nobody-matches-this"),
            requests,
        ),
        ("admin sessions list", page("/admin/sessions"), requests),
    ];
    let mut rows = Vec::new();
    for (name, shot, count) in shots {
        let mut sample = Sample::default();
        let started = Instant::now();
        for _ in 0..count {
            drive::timed(&mut connection, &shot, &mut sample).await;
        }
        rows.push((name, drive::finish(sample, started)));
    }
    drop(connection);
    let taking =
        scenario::take_tests(server.address, account, Duration::from_secs(test_seconds)).await?;
    rows.push(("start", taking.start));
    rows.push(("submit", taking.submit));
    let peak_mib = server.pid().and_then(machine::peak_mib);
    let log = server.log.clone();
    server.stop().await;
    let alpha_ms = log
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|log| alpha_durations(&log))
        .unwrap_or_default();
    Ok(Measured {
        rows,
        peak_mib,
        alpha_ms,
    })
}

/// The `elapsed_ms` of each reliability report the server computed (from its log).
fn alpha_durations(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|line| line.contains("reliability: report recomputed"))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| {
            line["elapsed_ms"]
                .as_u64()
                .or_else(|| line["fields"]["elapsed_ms"].as_u64())
        })
        .collect()
}

/// Users (each with a test) on the empty database: a full page of the dashboard's lists (50
/// rows) and one more, so its pages hold as many rows as the data set's and the comparison is
/// about the deployment's size only.
const FULL_PAGE: usize = 51;

/// Who the requests are made as.
enum Fixture<'a> {
    /// A synthetic group owner of the data set at this URL.
    DataSet(&'a str),
    /// On the empty database, a new user with three tests who owns a group of `members` (the
    /// owner included), each with three tests, and other users with a test up to
    /// [`FULL_PAGE`].
    Fresh { members: usize },
}

/// Logs in to the admin dashboard through its form (the pre-login cookie and the form's CSRF
/// token, then the credentials); the `Cookie` header of the session.
async fn dashboard_session(connection: &mut Connection) -> Result<String, String> {
    let (_, headers, form) = connection.exchange(&Shot::get("/admin/login")).await?;
    let login_cookie = set_cookie(&headers, "aiq_admin_login")?;
    let form = String::from_utf8_lossy(&form);
    let marker = "name=\"csrf\" value=\"";
    let csrf = form
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_owned())
        .ok_or("the dashboard's login form has no CSRF token")?;
    let submit = Shot {
        expect: StatusCode::SEE_OTHER,
        ..Shot::form(
            "/admin/login",
            &[
                ("username", processes::DASHBOARD_USER),
                ("password", processes::DASHBOARD_PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .cookie(&login_cookie)
    };
    let (status, headers, body) = connection.exchange(&submit).await?;
    if status != submit.expect {
        return Err(format!(
            "the dashboard's login answered {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    set_cookie(&headers, "aiq_admin_session")
}

/// `name=value` of the `Set-Cookie` header that sets cookie `name`.
fn set_cookie(headers: &http::HeaderMap, name: &str) -> Result<String, String> {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
        .ok_or_else(|| format!("no {name} cookie was set"))
}

/// A new account with three tests and a group of `members`, on the empty database, beside
/// users with a test up to [`FULL_PAGE`].
async fn fresh_account(
    connection: &mut Connection,
    members: usize,
) -> Result<(Account, Shot), String> {
    let account = scenario::register(connection).await?;
    for _ in 0..3 {
        scenario::take_one_test(connection, &account).await?;
    }
    let create = Shot {
        expect: StatusCode::CREATED,
        ..Shot::post("/v1/groups/", &json!({"name": "Load"})).bearer(&account.token)
    };
    let group = connection.json(&create).await?;
    let code = group["invite_code"]
        .as_str()
        .ok_or_else(|| format!("a group without an invite code: {group}"))?;
    for _ in 1..members {
        let member = scenario::register(connection).await?;
        let join = Shot::post("/v1/groups/join", &json!({"invite_code": code}));
        connection.json(&join.bearer(&member.token)).await?;
        for _ in 0..3 {
            scenario::take_one_test(connection, &member).await?;
        }
    }
    for _ in members..FULL_PAGE {
        let user = scenario::register(connection).await?;
        scenario::take_one_test(connection, &user).await?;
    }
    let login = scenario::login(&account);
    Ok((account, login))
}

/// A synthetic user who owns a group, signed in.
async fn synthetic_account(
    connection: &mut Connection,
    url: &str,
) -> Result<(Account, Shot), String> {
    let client = processes::connect(url).await?;
    let email: String = client
        .query_one(
            "SELECT u.email FROM users u JOIN group_memberships m ON m.user_id = u.id \
             WHERE m.role = 'owner' AND u.email LIKE 'synthetic.%' ORDER BY u.id LIMIT 1",
            &[],
        )
        .await
        .map_err(|error| format!("no synthetic group owner in the data set: {error}"))?
        .get(0);
    let login = Shot::post(
        "/v1/auth/login",
        &json!({"email": email, "password": SYNTHETIC_PASSWORD}),
    );
    let answer = connection.json(&login).await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or_else(|| format!("login answered without a token: {answer}"))?
        .to_owned();
    Ok((Account { email, token }, login))
}

/// Members (the owner included) of the group of the synthetic user the data set is read as.
async fn group_size(url: &str) -> Result<usize, String> {
    let client = processes::connect(url).await?;
    let row = client
        .query_one(
            "SELECT count(*) FROM group_memberships WHERE group_id = ( \
                 SELECT m.group_id FROM users u JOIN group_memberships m ON m.user_id = u.id \
                 WHERE m.role = 'owner' AND u.email LIKE 'synthetic.%' ORDER BY u.id LIMIT 1)",
            &[],
        )
        .await
        .map_err(|error| format!("no synthetic group in the data set: {error}"))?;
    Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(1).max(1))
}

/// Users, completed tests and responses of the data set.
async fn data_set_counts(url: &str) -> Result<String, String> {
    let client = processes::connect(url).await?;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM users), \
                    (SELECT count(*) FROM test_sessions WHERE status = 'completed'), \
                    (SELECT count(*) FROM responses)",
            &[],
        )
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!(
        "{} users, {} completed tests, {} responses",
        row.get::<_, i64>(0),
        row.get::<_, i64>(1),
        row.get::<_, i64>(2)
    ))
}
