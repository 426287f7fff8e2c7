//! The servers under test, as child processes that die with the harness, and the scratch
//! databases they use.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::drive::{Connection, Shot};

/// How long a server may take to answer its first request.
const BOOT_LIMIT: Duration = Duration::from_secs(60);

/// The admin dashboard's login on the servers the harness starts; the hash is the password's
/// (argon2id, made with `aiq-admin hash-password`). A bench credential, not a secret.
pub(crate) const DASHBOARD_USER: &str = "load";
pub(crate) const DASHBOARD_PASSWORD: &str = "load-bench-password";
const DASHBOARD_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$/Vg3VKGblBHaY3x2z0z+lg$MfMl1CS+xdgTaNIajrdBo3jHHNq5ElFfztENRE4CGds";

/// A server process, killed when dropped.
pub(crate) struct Server {
    pub(crate) address: SocketAddr,
    child: Child,
    /// Where its standard output goes (its log lines), if kept.
    pub(crate) log: Option<PathBuf>,
    /// The `ADMIN_TOKEN` it was started with, if any.
    pub(crate) admin_token: Option<String>,
}

impl Server {
    /// The process id, to read its memory.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM) and waits up to ten seconds for it to exit, so the
    /// lines it buffered reach its log (a killed server loses them).
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// Lines and bytes the server has logged so far.
    pub(crate) fn logged(&self) -> (usize, u64) {
        let Some(path) = &self.log else {
            return (0, 0);
        };
        match std::fs::read(path) {
            Ok(text) => (
                text.iter().filter(|&&byte| byte == b'\n').count(),
                text.len() as u64,
            ),
            Err(_) => (0, 0),
        }
    }
}

/// Starts the bare hyper server built beside this binary; it prints its address.
pub(crate) async fn start_hello(bin_dir: &Path) -> Result<Server, String> {
    let program = bin_dir.join("hello-hyper");
    let mut child = Command::new(&program)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
    let stdout = child.stdout.take().ok_or("hello-hyper has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .map_err(|error| error.to_string())?;
    let address = line
        .trim()
        .parse()
        .map_err(|_| format!("hello-hyper printed {line:?}, not an address"))?;
    Ok(Server {
        address,
        child,
        log: None,
        admin_token: None,
    })
}

/// Starts `aiq-server` on `database_url` with the harness's settings: no rate limits and no
/// cadence (the load is one client), the starter bank seeded, the admin dashboard mounted
/// ([`DASHBOARD_USER`]), production logging, and this
/// process's `MIMALLOC_*` variables. Its log lines go to a file in `work_dir`, which is also
/// its working directory (so no `.env` of a developer's is read).
pub(crate) async fn start_aiq(
    bin_dir: &Path,
    work_dir: &Path,
    database_url: &str,
) -> Result<Server, String> {
    let program = bin_dir.join("aiq-server");
    let port = free_port()?;
    let log = work_dir.join("aiq-server.log");
    let log_file = std::fs::File::create(&log).map_err(|error| error.to_string())?;
    let admin_token = secret();
    let child = Command::new(&program)
        .current_dir(work_dir)
        .env_clear()
        .envs([
            ("ENV", "production"),
            ("HOST", "127.0.0.1"),
            ("PORT", &port.to_string()),
            ("DATABASE_URL", database_url),
            ("SEED_STARTER_BANK", "true"),
            ("SECRET_KEY", &secret()),
            ("JWT_SECRET_KEY", &secret()),
            ("CORS_ORIGINS", "https://load.invalid"),
            ("RATE_LIMIT_ENABLED", "false"),
            ("DISABLE_TEST_CADENCE", "true"),
            ("ADMIN_TOKEN", &admin_token),
            ("ADMIN_ENABLED", "true"),
            ("ADMIN_USERNAME", DASHBOARD_USER),
            ("ADMIN_PASSWORD_HASH", DASHBOARD_PASSWORD_HASH),
        ])
        // The allocator's settings of the deployment (the Dockerfile sets them), when given.
        .envs(std::env::vars().filter(|(name, _)| name.starts_with("MIMALLOC_")))
        .stdout(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
    let mut server = Server {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        child,
        log: Some(log),
        admin_token: Some(admin_token),
    };
    wait_until_serving(&mut server).await?;
    Ok(server)
}

/// Asks `GET /v1/ping` until the server answers, or gives up when it exits or after
/// [`BOOT_LIMIT`]. (The listener is the child's, so there is nothing to hold and wait on.)
async fn wait_until_serving(server: &mut Server) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(mut connection) = Connection::open(server.address).await
            && connection.json(&Shot::get("/v1/ping")).await.is_ok()
        {
            return Ok(());
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("aiq-server exited at start-up ({status})"));
        }
        if started.elapsed() > BOOT_LIMIT {
            return Err("aiq-server did not answer /v1/ping within a minute".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A port nobody listens on now (the server binds it a moment later).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// A secret the production configuration accepts: 64 hex digits from the kernel's randomness.
fn secret() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid")
        .into_iter()
        .chain(std::fs::read("/proc/sys/kernel/random/uuid"))
        .flatten()
        .filter(u8::is_ascii_hexdigit);
    String::from_utf8(bytes.collect()).unwrap_or_default()
}

/// Scratch databases on one PostgreSQL server, dropped by [`Databases::drop_all`].
pub(crate) struct Databases {
    admin: tokio_postgres::Client,
    base: String,
    names: Vec<String>,
}

impl Databases {
    /// Connects to `admin_url` (a database on the server where scratch ones may be created).
    pub(crate) async fn connect(admin_url: &str) -> Result<Self, String> {
        let admin = connect(admin_url).await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base)
            .to_owned();
        Ok(Self {
            admin,
            base,
            names: Vec::new(),
        })
    }

    /// Creates an empty database and returns its URL.
    pub(crate) async fn create(&mut self, purpose: &str) -> Result<String, String> {
        let name = format!("aiq_load_{}_{purpose}", std::process::id());
        // A name made of our own ASCII words and digits: safe to quote into DDL.
        self.admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .map_err(|error| format!("cannot create database {name}: {error}"))?;
        let url = format!("{}/{name}", self.base);
        self.names.push(name);
        Ok(url)
    }

    /// Drops every database this harness created.
    pub(crate) async fn drop_all(&mut self) {
        for name in self.names.drain(..) {
            if let Err(error) = self
                .admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
            {
                eprintln!("aiq-load: could not drop database {name}: {error}");
            }
        }
    }
}

/// A client of the PostgreSQL database at `url` (no TLS: the harness's databases are local).
pub(crate) async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|error| format!("cannot connect to {url}: {error}"))?;
    tokio::spawn(connection);
    Ok(client)
}
