//! The `aiq-server` binary, run as a process and spoken to over real TCP.

mod support;

use std::time::Duration;

use aiq_core::storage::redis_display_url;
use aiq_testkit::{TcpProxy, TestDb};
use support::{BIN, Server, client, command, redis_url};

async fn health(server: &Server) -> (u16, serde_json::Value) {
    let response = client().get(server.url("/v1/health")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn serves_with_no_setup_on_the_memory_store() {
    let mut server = Server::start(&[]);
    let (status, body) = health(&server).await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "ok");
    let warning = server.wait_for_line("DATABASE_URL is not set");
    assert!(
        warning.contains("WARN") && warning.contains("not persisted"),
        "{warning}"
    );

    let response = client().get(server.url("/v1/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["x-frame-options"], "DENY");

    server.terminate();
    assert!(server.wait().success());
}

#[test]
fn production_refuses_to_start_and_names_each_variable() {
    let output = command(&[
        ("ENV", "production"),
        ("CORS_ORIGINS", "*"),
        ("SECRET_KEY", "short"),
    ])
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for variable in [
        "DATABASE_URL",
        "SECRET_KEY",
        "JWT_SECRET_KEY",
        "CORS_ORIGINS",
    ] {
        assert!(
            stderr.contains(&format!("{variable}:")),
            "{variable} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("ENV=production"), "{stderr}");
    assert!(
        !stderr.contains("short"),
        "secret values are never printed:\n{stderr}"
    );
}

#[test]
fn check_config_masks_secrets_and_fails_on_errors() {
    let secret = "s3cr3t-value-that-must-not-be-printed-anywhere";
    let output = command(&[
        ("SECRET_KEY", secret),
        ("JWT_SECRET_KEY", secret),
        ("PORT", "9001"),
    ])
    .arg("check-config")
    .output()
    .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("port: 9001"), "{stdout}");
    assert!(stdout.contains("REDACTED"), "{stdout}");
    assert!(!stdout.contains(secret), "{stdout}");
    // The refresh mode in force is shown: the default, then a chosen one.
    assert!(stdout.contains("refresh_token_rotation: Off"), "{stdout}");
    let output = command(&[("REFRESH_TOKEN_ROTATION", "rotate_detect_reuse")])
        .arg("check-config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("refresh_token_rotation: RotateDetectReuse"),
        "{stdout}"
    );
    let output = command(&[("REFRESH_TOKEN_ROTATION", "sometimes")])
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("REFRESH_TOKEN_ROTATION: must be one of off, rotate, rotate_detect_reuse"),
        "{stderr}"
    );

    let output = command(&[("PORT", "not-a-port")])
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("PORT:"));
}

#[test]
fn migrate_applies_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::create());
    let first = command(&[("DATABASE_URL", db.url())])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("V1__users"));
    let second = command(&[("DATABASE_URL", db.url())])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("migrations applied: 0"));
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(db.server_addr()).await;
    let url = db.url_at(proxy.addr());
    let mut server = Server::start(&[("DATABASE_URL", &url)]);
    // A first check opens the pooled connection while the database answers.
    assert_eq!(health(&server).await.0, 200);

    // The database's reply is held until the server has begun to drain, so the request is in
    // flight across the SIGTERM whatever the machine's speed.
    proxy.hold();
    let seen = proxy.upstream_chunks();
    let url = server.url("/v1/health");
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    proxy.wait_for_upstream_beyond(seen).await; // the ping query is on its way
    server.terminate();
    server.wait_for_line("draining in-flight requests");
    proxy.release();

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_longer_than_its_timeout() {
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(db.server_addr()).await;
    let url = db.url_at(proxy.addr());
    // Nothing but the drain timeout may end the request below: it could run for an hour.
    let server = Server::start(&[
        ("DATABASE_URL", &url),
        ("SHUTDOWN_TIMEOUT_SECONDS", "1"),
        ("REQUEST_TIMEOUT_SECONDS", "3600"),
    ]);
    assert_eq!(health(&server).await.0, 200);

    // The database's replies are held for good: a server that waited for the request would
    // not exit before `wait` gives up, so exiting at all shows that the drain timeout cut it.
    // A sign-in, not /v1/health, whose ping has a bound of its own that would answer it.
    proxy.hold();
    let seen = proxy.upstream_chunks();
    let url = server.url("/v1/auth/login");
    let in_flight = tokio::spawn(async move {
        // Patient for longer than `wait` below, so that only the server can end the request.
        let client = aiq_testkit::http_client(Duration::from_secs(3600));
        let body = serde_json::json!({"email": "held@example.com", "password": "not it 1"});
        client.post(url).json(&body).send().await
    });
    proxy.wait_for_upstream_beyond(seen).await; // the user lookup is on its way
    server.terminate();
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        in_flight.await.unwrap().is_err(),
        "the cut request gets no response"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_booting_at_once_on_an_empty_database_both_come_up() {
    let db = TestDb::create().await;
    let url = db.url().to_owned();
    let (a, b) = {
        let (url_a, url_b) = (url.clone(), url.clone());
        let a = std::thread::spawn(move || Server::start(&[("DATABASE_URL", &url_a)]));
        let b = std::thread::spawn(move || Server::start(&[("DATABASE_URL", &url_b)]));
        (a.join().unwrap(), b.join().unwrap())
    };
    assert_eq!(health(&a).await.0, 200);
    assert_eq!(health(&b).await.0, 200);

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT version FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let applied: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .count();
    let expected: Vec<i32> = (1..=i32::try_from(files).unwrap()).collect();
    assert_eq!(applied, expected, "each migration was applied exactly once");
    drop(client);
    drop((a, b));
}

#[test]
fn railway_deploys_this_binary_with_the_health_check() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let railway: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/railway.json")).unwrap())
            .unwrap();
    assert_eq!(railway["deploy"]["healthcheckPath"], "/v1/health");
    assert_eq!(railway["deploy"]["restartPolicyType"], "ON_FAILURE");
    let start = railway["deploy"]["startCommand"].as_str().unwrap();
    let binary = start.split_whitespace().next().unwrap();
    assert_eq!(
        binary,
        std::path::Path::new(BIN)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap(),
        "the start command runs this package's binary"
    );
    let dockerfile_path = railway["build"]["dockerfilePath"].as_str().unwrap();
    let dockerfile = std::fs::read_to_string(format!("{root}/{dockerfile_path}")).unwrap();
    assert!(
        dockerfile.contains(&format!("--bin {binary}"))
            && dockerfile.contains(&format!("release/{binary}")),
        "the Dockerfile builds and installs {binary}"
    );
}

#[test]
fn a_dotenv_file_fills_in_what_the_environment_does_not_set() {
    let dir = std::env::temp_dir().join(format!("aiq-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), "APP_NAME=\"From Dotenv\"\nPORT=7001\n").unwrap();
    let output = command(&[("PORT", "7002")])
        .current_dir(&dir)
        .arg("check-config")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("name: \"From Dotenv\""), "{stdout}");
    assert!(
        stdout.contains("port: 7002"),
        "the environment wins: {stdout}"
    );
}

#[test]
fn a_broken_dotenv_file_stops_start_up() {
    let dir = std::env::temp_dir().join(format!("aiq-bad-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), "PORT=7001\nTHIS LINE IS BROKEN\n").unwrap();
    let output = command(&[])
        .current_dir(&dir)
        .arg("check-config")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".env"), "{stderr}");
}

/// register -> login -> profile -> refresh -> logout over TCP, checking each answer.
async fn auth_flow(server: &Server) {
    let client = client();
    let registered = client
        .post(server.url("/v1/auth/register"))
        .json(&serde_json::json!({
            "email": "tcp@example.com", "password": "correct horse 9",
            "first_name": "Ada", "last_name": "Lovelace"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let login: serde_json::Value = client
        .post(server.url("/v1/auth/login"))
        .json(&serde_json::json!({"email": "tcp@example.com", "password": "correct horse 9"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let profile = client
        .get(server.url("/v1/user/profile"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);
    let refreshed: serde_json::Value = client
        .post(server.url("/v1/auth/refresh"))
        .bearer_auth(refresh)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_access = refreshed["access_token"].as_str().unwrap();
    let logout = client
        .post(server.url("/v1/auth/logout"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let after = client
        .get(server.url("/v1/user/profile"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    assert_eq!(after.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn the_auth_flow_works_over_tcp_on_the_memory_store() {
    let server = Server::start(&[]);
    auth_flow(&server).await;
}

#[tokio::test]
async fn the_auth_flow_works_over_tcp_on_postgres_with_redis_revocations() {
    let db = TestDb::create().await;
    let redis = redis_url();
    let mut server = Server::start(&[
        ("DATABASE_URL", db.url()),
        ("TOKEN_BLACKLIST_REDIS_URL", &redis),
    ]);
    let line = server.wait_for_line("token revocations in Redis");
    assert!(line.contains(&redis_display_url(&redis)), "{line}");
    auth_flow(&server).await;
}

#[tokio::test]
async fn the_sixth_rapid_login_from_one_socket_address_is_refused() {
    let mut server = Server::start(&[]);
    server.wait_for_line("Rate limiting using in-memory storage");
    let client = client();
    let login = || {
        client
            .post(server.url("/v1/auth/login"))
            .json(&serde_json::json!({"email": "who@example.com", "password": "not it 1"}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(login().await.unwrap().status(), 401);
    }
    let refused = login().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(refused.headers()["x-ratelimit-limit"], "5");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "rate_limit_exceeded");
}

#[tokio::test]
async fn rate_limits_can_live_in_redis() {
    let redis = redis_url();
    let mut server = Server::start(&[
        ("RATE_LIMIT_STORAGE", "redis"),
        ("RATE_LIMIT_REDIS_URL", &redis),
    ]);
    let line = server.wait_for_line("Rate limiting using Redis storage at");
    assert!(line.contains(&redis_display_url(&redis)), "{line}");
    // A client address no earlier run used, so this run's bucket starts full (the keys of
    // earlier runs expire on their own).
    // IPv6 clients are keyed by their /64, so the randomness goes into the network part.
    let random = u128::from_be_bytes(*uuid::Uuid::new_v4().as_bytes()) & 0xffff_ffff;
    let network = 0x2001_0db8_0000_0000_0000_0000_0000_0001u128 | (random << 64);
    let address = std::net::Ipv6Addr::from(network).to_string();
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = client
            .post(server.url("/v1/auth/login"))
            .header("x-envoy-external-address", &address)
            .json(&serde_json::json!({"email": "who@example.com", "password": "not it 1"}))
            .send()
            .await
            .unwrap();
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
}

#[tokio::test]
async fn production_logs_are_json_lines_that_name_the_request() {
    let db = TestDb::create().await;
    let mut server = Server::start(&[
        ("ENV", "production"),
        ("DATABASE_URL", db.url()),
        ("SECRET_KEY", "5e0f7c1d9a2b4c6e8f1a3b5c7d9e0f2a4b6c8d0e"),
        ("JWT_SECRET_KEY", "a9c8e7d6f5b4a3c2e1d0f9a8b7c6d5e4f3a2b1c0"),
        ("CORS_ORIGINS", "https://a-iq-test.com"),
    ]);
    let response = client()
        .get(server.url("/v1/health"))
        .header("x-request-id", "trace-json-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-json-42");
    let line = server.wait_for_line("\"request_id\":\"trace-json-42\"");
    let record: serde_json::Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(record["message"], "request completed");
    assert_eq!(record["level"], "INFO");
    assert_eq!(record["method"], "GET");
    assert_eq!(record["route"], "/v1/health");
    assert_eq!(record["status"], 200);
    assert!(record["duration_ms"].as_f64().is_some());
    assert!(record["target"].as_str().is_some());
    assert!(record["timestamp"].as_str().unwrap().ends_with('Z'));
    // Every other line is JSON too.
    for seen in &server.seen {
        serde_json::from_str::<serde_json::Value>(seen).unwrap_or_else(|e| panic!("{e}: {seen}"));
    }
}

/// A reader of standard output that falls behind (a stalled log shipper) must not hold
/// requests: lines wait in the server's queue, and none is lost. (Every request's line is
/// written here: `REQUEST_LOG_PER_SECOND=0`.)
#[tokio::test]
async fn a_stalled_stdout_reader_holds_no_request_and_loses_no_line() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    /// Kills the server if the test fails before it exits.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let mut child = Running(
        command(&[("REQUEST_LOG_PER_SECOND", "0")])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("listening on http://") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "exited early");
    }
    let addr: String = line
        .split("listening on http://")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':'))
        .collect();

    // Nobody reads stdout now. A pipe holds 64 KiB: a few hundred lines; each request logs one.
    // A request held by the full pipe would be held for good: the client's bound (a minute)
    // turns that into a failure, and a slow machine into nothing worse than a slow test.
    let client = client();
    const REQUESTS: usize = 3_000;
    for i in 0..REQUESTS {
        let reply = client
            .get(format!("http://{addr}/v1/ping"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} was held: {e}"));
        assert_eq!(reply.status(), 200);
    }

    // Read everything once the server has been asked to stop: every line is there.
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        rest
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.0.wait().unwrap().success());
    let rest = reader.join().unwrap();
    let completed = rest
        .lines()
        .filter(|l| l.contains("request completed") && l.contains("/v1/ping"))
        .count();
    assert_eq!(completed, REQUESTS);
}
