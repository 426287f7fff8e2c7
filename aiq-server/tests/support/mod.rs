//! Running the `aiq-server` binary as a process, shared by the binary's test files.

#![allow(dead_code, unreachable_pub)]

pub mod legacy;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_aiq-server");
/// Upper bound on how long any step may take before the test gives up (not a performance target).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running server process with its log lines.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

pub fn command(vars: &[(&str, &str)]) -> Command {
    command_for(BIN, vars)
}

/// `bin` (one of this package's binaries) with only `vars` in its environment.
pub fn command_for(bin: &str, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin);
    // A clean environment and an empty working directory: no developer's .env leaks in.
    command
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

impl Server {
    /// Starts `aiq-server` and returns once it logs the address it listens on.
    pub fn start(vars: &[(&str, &str)]) -> Self {
        let mut child = command(vars)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn aiq-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for_line("listening on http://");
        // Text or JSON log line: the address runs until the first character it cannot contain.
        let addr: String = line
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
            .collect();
        server.addr = addr.parse().unwrap();
        server
    }

    /// The first log line containing `needle`, reading further lines as they come.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no log line with {needle:?} ({e}); saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn wait(mut self) -> ExitStatus {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    aiq_testkit::http_client(PATIENCE)
}

/// The Redis the tests may use: `AIQ_TEST_REDIS_URL`, by default the machine's local server.
pub fn redis_url() -> String {
    std::env::var("AIQ_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// Registers `email` on the running server and returns the access token.
pub async fn register(server: &Server, email: &str) -> String {
    let body = serde_json::json!({
        "email": email, "password": "correct horse 9",
        "first_name": "New", "last_name": "Comer"
    });
    let registered: serde_json::Value = client()
        .post(server.url("/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    registered["access_token"].as_str().unwrap().to_owned()
}

/// `method path` with `token`, and `body` as JSON when given; the answer's body as text.
pub async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> String {
    let mut request = client()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().text().await.unwrap()
}

/// [`call`], with the answer parsed as JSON.
pub async fn call_json(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let text = call(server, method, path, token, body).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}
