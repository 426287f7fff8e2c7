//! The requests the harness makes of aiq: accounts to read and log in with, and the test a
//! user starts and submits.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::json;

use crate::drive::{self, Connection, Sample, Shot};

/// The password of every account the harness registers.
const PASSWORD: &str = "load harness 42";

/// A registered account.
pub(crate) struct Account {
    pub(crate) email: String,
    pub(crate) token: String,
}

/// Numbers the accounts of one harness run.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);

/// Registers a new account and signs it in.
pub(crate) async fn register(connection: &mut Connection) -> Result<Account, String> {
    let n = REGISTERED.fetch_add(1, Ordering::Relaxed);
    let email = format!("load{n}@example.org");
    let shot = Shot {
        expect: StatusCode::CREATED,
        ..Shot::post(
            "/v1/auth/register",
            &json!({"email": email, "password": PASSWORD, "first_name": "Load", "last_name": "Harness"}),
        )
    };
    let answer = connection.json(&shot).await?;
    let token = answer["access_token"]
        .as_str()
        .ok_or_else(|| format!("register answered without a token: {answer}"))?
        .to_owned();
    Ok(Account { email, token })
}

/// `POST /v1/auth/login` for `account`.
pub(crate) fn login(account: &Account) -> Shot {
    Shot::post(
        "/v1/auth/login",
        &json!({"email": account.email, "password": PASSWORD}),
    )
}

/// Start and submit latencies of one user after another taking fixed-form tests.
pub(crate) struct TestTaking {
    pub(crate) start: Sample,
    pub(crate) submit: Sample,
    /// Accounts used: a new one each time a user has seen the whole bank.
    pub(crate) users: usize,
    /// The account that took the last test, to go on with.
    pub(crate) last: Account,
}

/// Takes 25-question tests one after another on one connection for `duration`: start, then
/// submit answering every question. `first` already has history; when a user has seen every
/// question (`404` on start), the next test is taken by a newly registered account (not timed).
pub(crate) async fn take_tests(
    address: SocketAddr,
    first: Account,
    duration: Duration,
) -> Result<TestTaking, String> {
    let mut connection = Connection::open(address).await?;
    let mut start = Sample::default();
    let mut submit = Sample::default();
    let mut account = first;
    let mut users = 1;
    let started = Instant::now();
    while started.elapsed() < duration {
        let begin = start_shot(&account);
        let sent = Instant::now();
        let (status, body) = connection.send(&begin).await?;
        if status == StatusCode::NOT_FOUND {
            account = register(&mut connection).await?;
            users += 1;
            continue;
        }
        if status != StatusCode::OK {
            start.record(
                sent.elapsed(),
                Err(format!(
                    "start answered {status}: {}",
                    String::from_utf8_lossy(&body)
                )),
            );
            break;
        }
        start.record(sent.elapsed(), Ok(()));
        let session: serde_json::Value =
            serde_json::from_slice(&body).map_err(|error| error.to_string())?;
        let answers = answer_all(&session)?;
        let shot = Shot::post("/v1/test/submit", &answers).bearer(&account.token);
        if drive::timed(&mut connection, &shot, &mut submit)
            .await
            .is_none()
        {
            break;
        }
    }
    Ok(TestTaking {
        start: drive::finish(start, started),
        submit: drive::finish(submit, started),
        users,
        last: account,
    })
}

/// Completes one test for `account` (so it has history before the timed runs).
pub(crate) async fn take_one_test(
    connection: &mut Connection,
    account: &Account,
) -> Result<(), String> {
    let session = connection.json(&start_shot(account)).await?;
    let answers = answer_all(&session)?;
    connection
        .json(&Shot::post("/v1/test/submit", &answers).bearer(&account.token))
        .await
        .map(drop)
}

/// `POST /v1/test/start` (a 25-question fixed-form test) for `account`.
fn start_shot(account: &Account) -> Shot {
    Shot {
        method: http::Method::POST,
        ..Shot::get("/v1/test/start")
    }
    .bearer(&account.token)
}

/// A submit body answering every question of a started session with its second option.
fn answer_all(started: &serde_json::Value) -> Result<serde_json::Value, String> {
    let questions = started["questions"]
        .as_array()
        .ok_or_else(|| format!("start answered without questions: {started}"))?;
    let responses: Vec<_> = questions
        .iter()
        .map(|question| {
            json!({
                "question_id": question["id"],
                "user_answer": question["answer_options"][1],
                "time_spent_seconds": 20,
            })
        })
        .collect();
    Ok(json!({"session_id": started["session"]["id"], "responses": responses}))
}
