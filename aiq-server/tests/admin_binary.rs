//! The `aiq-admin` binary (built in this package, over the server's process plumbing):
//! `hash-password`, serving over TCP, refusing weak settings and slow clients, logging in the
//! server's shape, and the Railway service that runs it.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::PATIENCE;

const BIN: &str = env!("CARGO_BIN_EXE_aiq-admin");

fn command(vars: &[(&str, &str)]) -> Command {
    support::command_for(BIN, vars)
}

fn hash_password(input: &str) -> std::process::Output {
    let mut child = command(&[])
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn hash_password_reads_stdin_and_prints_a_hash_that_verifies() {
    let output = hash_password("correct horse battery staple\n");
    assert!(output.status.success(), "{output:?}");
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(aiq_core::auth::password::verify_password_hash(
        "correct horse battery staple",
        hash
    ));
    assert!(!aiq_core::auth::password::verify_password_hash(
        "correct horse battery staple\n",
        hash
    ));

    let short = hash_password("short\n");
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    assert!(short.stdout.is_empty());
}

#[test]
fn serve_refuses_a_missing_password_hash_with_the_fix() {
    let output = command(&[]).arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let logs = String::from_utf8_lossy(&output.stdout);
    assert!(logs.contains("ADMIN_PASSWORD_HASH is not set"), "{logs}");
    assert!(logs.contains("aiq-admin hash-password"), "{logs}");
}

/// A child process that is killed when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_answers_over_tcp() {
    let hash = aiq_core::auth::password::hash_password("a long admin password").unwrap();
    let (_child, addr, _) = start(&[("ADMIN_PASSWORD_HASH", &hash)]);

    let client = aiq_testkit::http_client(PATIENCE);
    // `/` leads to the overview, which sends a visitor without a session to the login form.
    let root = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(root.status(), 200);
    assert_eq!(root.url().path(), "/admin/login");
    assert!(
        root.text()
            .await
            .unwrap()
            .contains("/admin/static/admin.css")
    );
    let css = client
        .get(format!("http://{addr}/admin/static/admin.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[test]
fn railway_runs_the_dashboard_as_its_own_service() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let service: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/deploy/railway/admin.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(service["deploy"]["startCommand"], "aiq-admin serve");
    assert_eq!(service["deploy"]["healthcheckPath"], "/admin/login");
    let dockerfile = std::fs::read_to_string(format!(
        "{root}/{}",
        service["build"]["dockerfilePath"].as_str().unwrap()
    ))
    .unwrap();
    assert!(dockerfile.contains("--bin aiq-admin") && dockerfile.contains("release/aiq-admin"));
    for file in [
        "railway.json",
        "deploy/railway/admin.json",
        "deploy/railway/calibration.json",
        "deploy/railway/notifications.json",
    ] {
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{root}/{file}")).unwrap())
                .unwrap();
        let watched = config["build"]["watchPatterns"].as_array().unwrap();
        assert!(
            watched.iter().any(|p| p == "/aiq-admin/**"),
            "{file}: a dashboard change rebuilds the image"
        );
    }
}

/// Starts `aiq-admin serve` with `vars` and returns it, once it listens, with its address and
/// the line that said so.
fn start(vars: &[(&str, &str)]) -> (Running, String, String) {
    let mut child = Running(
        command(vars)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = "listening at http://";
    let line = loop {
        let line = lines
            .recv_timeout(PATIENCE)
            .expect("aiq-admin logs its address");
        if line.contains(marker) {
            break line;
        }
    };
    let addr = line
        .split(marker)
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ':'))
        .collect();
    (child, addr, line)
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hash = aiq_core::auth::password::hash_password("a long admin password").unwrap();
    let (_child, addr, _) = start(&[
        ("ADMIN_PASSWORD_HASH", &hash),
        ("REQUEST_TIMEOUT_SECONDS", "1"),
    ]);
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /admin/login HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The 10 s bound tells the configured 1 s apart from the 30 s default, with room for a
    // loaded machine; before it shared the API's serve loop the dashboard waited for ever.
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the dashboard closed the connection");
}

#[tokio::test]
async fn production_lines_are_the_servers_json_lines() {
    let hash = aiq_core::auth::password::hash_password("a long admin password").unwrap();
    let secret = "admin-binary-production-secret-0123456789";
    let jwt = "admin-binary-production-jwt-secret-0123456789";
    let db = aiq_testkit::TestDb::create().await;
    let (_child, _addr, listening) = start(&[
        ("ADMIN_PASSWORD_HASH", &hash),
        ("ENV", "production"),
        ("DATABASE_URL", db.url()),
        ("SECRET_KEY", secret),
        ("JWT_SECRET_KEY", jwt),
        ("CORS_ORIGINS", "https://app.example"),
    ]);
    let startup = std::process::Command::new(env!("CARGO_BIN_EXE_aiq-server"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("ENV", "production")
        .env("DATABASE_URL", db.url())
        .env("SECRET_KEY", secret)
        .env("JWT_SECRET_KEY", jwt)
        .env("CORS_ORIGINS", "https://app.example")
        .arg("migrate")
        .output()
        .unwrap();
    let server_line = String::from_utf8_lossy(&startup.stdout)
        .lines()
        .last()
        .map(str::to_owned)
        .expect("aiq-server migrate logs a line");
    let keys = |line: &str| -> Vec<String> {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let mut keys: Vec<String> = value
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| {
                ["timestamp", "level", "target", "message", "service"].contains(&k.as_str())
            })
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let expected = keys(&server_line);
    assert!(expected.len() >= 3, "{server_line}");
    assert_eq!(keys(&listening), expected, "{listening}\n{server_line}");
}
