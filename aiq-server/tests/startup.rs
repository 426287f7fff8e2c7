//! Start-up as an operator meets it: a database or Redis that cannot be reached stops the server
//! with one line naming the address, the cause and the variable to check (never the password);
//! `SEED_STARTER_BANK` loads an empty bank once, however many replicas boot together.

mod support;

use aiq_testkit::TestDb;
use support::{PATIENCE, Server, client, command};

const PASSWORD: &str = "hunter2-never-printed";

/// The admin URL's host and port (`AIQ_TEST_DATABASE_URL`), where a real server answers.
fn test_server() -> (String, u16) {
    let url = std::env::var("AIQ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// A port on which nothing listens: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `aiq-server` with `vars` and expects it to refuse to start with one line that holds
/// every needle.
fn refuses_to_start(vars: &[(&str, &str)], needles: &[&str]) {
    let output = command(vars).output().unwrap();
    assert!(!output.status.success(), "exit status {}", output.status);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    let line = text
        .lines()
        .find(|line| line.contains("ERROR"))
        .unwrap_or_else(|| panic!("an ERROR line in:\n{text}"));
    for needle in needles {
        assert!(line.contains(needle), "{needle:?} in {line:?}");
    }
}

#[test]
fn a_closed_database_port_is_named_with_its_cause() {
    let port = closed_port();
    let url = format!("postgres://aiq:{PASSWORD}@127.0.0.1:{port}/aiq");
    refuses_to_start(
        &[("DATABASE_URL", &url)],
        &[
            &format!("127.0.0.1:{port}"),
            "connection refused",
            "DATABASE_URL",
        ],
    );
}

#[test]
fn an_unknown_database_host_is_named_with_its_cause() {
    let url = format!("postgres://aiq:{PASSWORD}@no-such-host.invalid:5432/aiq");
    refuses_to_start(
        &[("DATABASE_URL", &url)],
        &[
            "no-such-host.invalid:5432",
            "host name not resolved",
            "DATABASE_URL",
        ],
    );
}

#[test]
fn a_missing_database_is_named_with_its_cause() {
    let (host, port) = test_server();
    let url = format!("postgres://postgres:{PASSWORD}@{host}:{port}/aiq_no_such_database");
    refuses_to_start(
        &[("DATABASE_URL", &url)],
        &[
            &format!("{host}:{port}"),
            "\"aiq_no_such_database\" does not exist",
            "DATABASE_URL",
        ],
    );
}

#[test]
fn an_unreachable_redis_is_named_with_its_variable() {
    let port = closed_port();
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{port}/0");
    refuses_to_start(
        &[("TOKEN_BLACKLIST_REDIS_URL", &url)],
        &[
            &format!("127.0.0.1:{port}"),
            "connection refused",
            "TOKEN_BLACKLIST_REDIS_URL",
        ],
    );
    refuses_to_start(
        &[
            ("RATE_LIMIT_STORAGE", "redis"),
            ("RATE_LIMIT_REDIS_URL", &url),
        ],
        &[&format!("127.0.0.1:{port}"), "RATE_LIMIT_REDIS_URL"],
    );
}

/// Two replicas boot at once on an empty database with `SEED_STARTER_BANK=true`: the bank is
/// loaded once, whole, without duplicates.
#[tokio::test]
async fn two_replicas_seed_an_empty_bank_once() {
    let db = TestDb::create().await;
    let vars = [
        ("DATABASE_URL", db.url()),
        ("SEED_STARTER_BANK", "true"),
        ("JWT_SECRET_KEY", "seed-test-signing-key-0123456789abcdef"),
    ];
    let (mut first, mut second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| Server::start(&vars));
        let second = scope.spawn(|| Server::start(&vars));
        (first.join().unwrap(), second.join().unwrap())
    });
    let (client_db, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client_db
        .query_one(
            "SELECT count(*), count(DISTINCT content_key) FROM questions",
            &[],
        )
        .await
        .unwrap();
    let (total, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((total, distinct), (990, 990));
    // One replica loaded it; the other found it loaded.
    let loaded = [&mut first, &mut second]
        .into_iter()
        .filter(|server| {
            server
                .seen
                .iter()
                .any(|line| line.contains("loaded with the starter bank"))
        })
        .count();
    assert_eq!(loaded, 1, "exactly one replica seeded");
    // A test can start at once.
    let token = support::register(&first, "seeded@example.com").await;
    let started = client()
        .post(first.url("/v1/test/start"))
        .bearer_auth(&token)
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    for server in [first, second] {
        server.terminate();
        assert!(server.wait().success());
    }
}

#[tokio::test]
async fn production_does_not_seed_unless_asked() {
    let db = TestDb::create().await;
    let mut server = Server::start(&[("DATABASE_URL", db.url())]);
    // Development seeds by default.
    server.wait_for_line("loaded with the starter bank");
    drop(server);

    let empty = TestDb::create().await;
    let secret = "production-like-secret-0123456789abcdef";
    let jwt = "production-like-jwt-key-0123456789abcdef";
    let mut server = Server::start(&[
        ("DATABASE_URL", empty.url()),
        ("ENV", "production"),
        ("SECRET_KEY", secret),
        ("JWT_SECRET_KEY", jwt),
        ("CORS_ORIGINS", "https://app.example"),
    ]);
    let warning = server.wait_for_line("question bank is empty");
    assert!(warning.contains("SEED_STARTER_BANK"), "{warning}");
}
