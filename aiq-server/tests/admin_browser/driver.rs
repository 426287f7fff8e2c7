//! Chromedriver as a child process, waiting with a deadline, and the test's directories.

use super::*;

/// How often a condition is checked again while waiting for it.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Waits for `check` to give a value, checking every [`POLL`] until [`PATIENCE`] runs out; then
/// fails, saying what was awaited and what was last seen.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("gave up after {PATIENCE:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// A free TCP port on loopback: bound by the OS, then released for chromedriver to take.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port on 127.0.0.1")
        .port()
}

/// A chromedriver process, killed (with the browsers it started) when dropped.
pub(crate) struct ChromeDriver {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port and returns once its `/status` says it is ready.
    pub(crate) async fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // Its own process group, so the browsers it starts can be ended with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| match error.kind() {
                ErrorKind::NotFound => panic!(
                    "chromedriver is not on PATH: {MISSING_DRIVER}. This test drives a real \
                     browser and is not skipped without one."
                ),
                _ => panic!("cannot start chromedriver ({error}): {MISSING_DRIVER}"),
            });
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status_url = format!("{}/status", driver.url);
        let http = client();
        eventually("chromedriver to report ready on /status", || {
            let exited = driver.child.try_wait().expect("ask chromedriver's status");
            let request = http.get(&status_url).send();
            async move {
                if let Some(status) = exited {
                    panic!("chromedriver exited at start ({status}): {MISSING_DRIVER}");
                }
                let body: serde_json::Value = request
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                if body["value"]["ready"] == true {
                    Ok(())
                } else {
                    Err(body.to_string())
                }
            }
        })
        .await;
        driver
    }

    /// A new headless Chromium session whose downloads land in `downloads`.
    pub(crate) async fn session(&self, downloads: &Path) -> Client {
        let options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1400,1000",
            ],
            "prefs": {
                "download.default_directory": downloads.to_str().expect("a UTF-8 temp path"),
                "download.prompt_for_download": false,
            },
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        // Plain HTTP to chromedriver on loopback: no TLS connector is needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| {
                panic!("chromedriver cannot start Chromium ({error}): {MISSING_DRIVER}")
            })
    }
}

impl ChromeDriver {
    /// Asks chromedriver to quit (it ends its browsers first) and waits until it has; the
    /// guard's kill would leave Chromium's helpers for init to reap. Reports rather than panics,
    /// so that it cannot hide a failure of the test.
    pub(crate) async fn shutdown(&mut self) -> Result<(), String> {
        // It may close the connection before answering: the exit is what counts.
        let _ = client().get(format!("{}/shutdown", self.url)).send().await;
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Ok(None) => return Err(format!("still running after {PATIENCE:?}")),
                Err(error) => return Err(error.to_string()),
            }
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // The process group chromedriver leads: chromedriver and any browser it left behind.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of this test's own, removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(purpose: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("aiq-{purpose}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the screenshot goes: `$AIQ_ARTIFACT_DIR`, else `artifacts` in the target directory
/// (`$CARGO_TARGET_DIR`, else the one this test's binaries were built in).
pub(crate) fn artifact_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AIQ_ARTIFACT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // <target>/<profile>/aiq-server
            Path::new(BIN)
                .ancestors()
                .nth(2)
                .expect("the server binary lives in <target>/<profile>/")
                .to_path_buf()
        });
    target.join("artifacts")
}
