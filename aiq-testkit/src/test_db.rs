//! Throw-away PostgreSQL databases.

use std::net::{SocketAddr, ToSocketAddrs};

use tokio_postgres::NoTls;

/// The server every test database is created on.
fn admin_url() -> String {
    std::env::var("AIQ_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Names of test databases start with this, so a clean-up can find leftovers of killed runs.
pub const TEST_DB_PREFIX: &str = "aiq_test_";

async fn admin_client() -> tokio_postgres::Client {
    let url = admin_url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for this test but {url} cannot be reached ({e}). \
             Start it (.ci/run does) or point AIQ_TEST_DATABASE_URL at a server where \
             this user may create databases."
            )
        });
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// An empty database created for one test and dropped when this value is dropped.
///
/// ```no_run
/// # async fn test() {
/// let db = aiq_testkit::TestDb::create().await;
/// let url = db.url(); // postgres://.../aiq_test_<uuid>
/// # }
/// ```
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    /// The admin URL's settings with this database's name.
    config: tokio_postgres::Config,
}

impl TestDb {
    /// Creates a database with a unique name (no migrations applied).
    pub async fn create() -> Self {
        let name = format!("{TEST_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let client = admin_client().await;
        // The name is generated above from hex digits only, so quoting it is enough.
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let mut config: tokio_postgres::Config = admin_url()
            .parse()
            .expect("AIQ_TEST_DATABASE_URL is a valid PostgreSQL URL");
        config.dbname(&name);
        Self {
            url: url_for(&config, &server_authority(&config)),
            name,
            config,
        }
    }

    /// A `postgres://` URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the server of this database listens (the host and port of
    /// `AIQ_TEST_DATABASE_URL`), e.g. to put a [`TcpProxy`](crate::TcpProxy) in front of it.
    ///
    /// ```no_run
    /// # async fn test() {
    /// let db = aiq_testkit::TestDb::create().await;
    /// let proxy = aiq_testkit::TcpProxy::start(db.server_addr()).await;
    /// let url = db.url_at(proxy.addr()); // this database, through the proxy
    /// # }
    /// ```
    pub fn server_addr(&self) -> SocketAddr {
        let authority = server_authority(&self.config);
        authority
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("cannot resolve the test database server {authority}"))
    }

    /// A `postgres://` URL of this database at `addr` instead of its server's own address.
    pub fn url_at(&self, addr: SocketAddr) -> String {
        url_for(&self.config, &addr.to_string())
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// `host:port` of the server `config` names.
fn server_authority(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    if host.contains(':') {
        format!("[{host}]:{port}") // an IPv6 address
    } else {
        format!("{host}:{port}")
    }
}

/// Rebuilds a URL of `config`'s database, user and password at `authority` (`host:port`).
fn url_for(config: &tokio_postgres::Config, authority: &str) -> String {
    let dbname = config.get_dbname().unwrap_or("postgres");
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    format!("postgres://{user}{password}@{authority}/{dbname}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee, so the clean-up gets a small runtime of
        // its own on a separate thread.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for dropping the test database")
                .block_on(async move {
                    let client = admin_client().await;
                    client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await
                })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}
