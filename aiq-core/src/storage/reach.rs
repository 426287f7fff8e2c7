//! Why a backend could not be reached, in one line an operator can act on.
//!
//! A driver's own message ("error connecting to server") hides the cause in its source chain and
//! names neither the address nor the setting. `Unreachable` says all three, and never the
//! password: which backend, at which `host:port` (and database), the cause read from the whole
//! chain (connection refused, host name not resolved, timed out, TLS, authentication, database
//! does not exist), and the environment variable to check.

use std::error::Error;
#[cfg(any(feature = "postgres", feature = "redis"))]
use std::fmt;
#[cfg(feature = "postgres")]
use std::str::FromStr;

#[cfg(feature = "postgres")]
use tokio_postgres::error::SqlState;

#[cfg(feature = "postgres")]
use super::StorageError;

/// A backend that could not be reached, described for the operator.
///
/// ```
/// use aiq_core::storage::Unreachable;
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let line = Unreachable::database("DATABASE_URL", "postgres://app:s3cret@db.internal:5433/aiq", &refused);
/// assert_eq!(
///     line.to_string(),
///     "cannot reach the database at db.internal:5433 (database \"aiq\", user \"app\"): \
///      connection refused (nothing listens there); check DATABASE_URL"
/// );
/// ```
#[cfg(any(feature = "postgres", feature = "redis"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    what: &'static str,
    target: String,
    cause: String,
    setting: String,
}

#[cfg(any(feature = "postgres", feature = "redis"))]
impl Unreachable {
    /// The PostgreSQL database at `url` (the value of `setting`) failed with `error`.
    #[cfg(feature = "postgres")]
    pub fn database(setting: &str, url: &str, error: &(dyn Error + 'static)) -> Self {
        let target = match tokio_postgres::Config::from_str(url) {
            Ok(config) => postgres_target(&config),
            Err(_) => "(an address that does not parse)".to_owned(),
        };
        Self {
            what: "the database",
            target,
            cause: cause(error),
            setting: setting.to_owned(),
        }
    }

    /// The Redis at `url` (the value of `setting`) failed with `error`.
    #[cfg(feature = "redis")]
    pub fn redis(setting: &str, url: &str, error: &(dyn Error + 'static)) -> Self {
        let target = match redis::Client::open(url) {
            Ok(client) => match client.get_connection_info().addr() {
                redis::ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
                redis::ConnectionAddr::TcpTls { host, port, .. } => {
                    format!("{host}:{port} (TLS)")
                }
                redis::ConnectionAddr::Unix(path) => path.display().to_string(),
                _ => "(an address of another kind)".to_owned(),
            },
            Err(_) => "(an address that does not parse)".to_owned(),
        };
        Self {
            what: "Redis",
            target,
            cause: cause(error),
            setting: setting.to_owned(),
        }
    }

    /// The cause alone (`connection refused (nothing listens there)`, ...).
    pub fn cause(&self) -> &str {
        &self.cause
    }
}

#[cfg(any(feature = "postgres", feature = "redis"))]
impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot reach {} at {}: {}; check {}",
            self.what, self.target, self.cause, self.setting
        )
    }
}

#[cfg(any(feature = "postgres", feature = "redis"))]
impl Error for Unreachable {}

/// `host:port (database "x", user "y")` of a PostgreSQL configuration; never the password.
#[cfg(feature = "postgres")]
fn postgres_target(config: &tokio_postgres::Config) -> String {
    let addresses: Vec<String> = super::postgres::host_ports(config)
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    let mut target = if addresses.is_empty() {
        "localhost:5432".to_owned()
    } else {
        addresses.join(", ")
    };
    let mut details = Vec::new();
    if let Some(db) = config.get_dbname() {
        details.push(format!("database \"{db}\""));
    }
    if let Some(user) = config.get_user() {
        details.push(format!("user \"{user}\""));
    }
    if !details.is_empty() {
        target = format!("{target} ({})", details.join(", "));
    }
    target
}

/// The errors of `error`'s source chain, outermost first.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&error| error.source())
}

/// What went wrong, read from the most telling error of the chain.
#[cfg(any(feature = "postgres", feature = "redis"))]
fn cause(error: &(dyn Error + 'static)) -> String {
    for link in chain(error) {
        if let Some(found) = known_cause(link) {
            return found;
        }
    }
    // Nothing recognised: the innermost message is the most specific one.
    let innermost = chain(error).last().unwrap_or(error);
    innermost.to_string()
}

#[cfg(any(feature = "postgres", feature = "redis"))]
fn known_cause(error: &(dyn Error + 'static)) -> Option<String> {
    #[cfg(feature = "postgres")]
    if let Some(db) = error
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::as_db_error)
    {
        let code = db.code();
        let text = if *code == SqlState::INVALID_PASSWORD {
            "authentication failed (wrong user or password)".to_owned()
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            format!("authentication refused: {}", db.message())
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            db.message().to_owned()
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            format!("the server refuses more connections ({})", db.message())
        } else {
            format!("the server said: {} ({})", db.message(), code.code())
        };
        return Some(text);
    }
    #[cfg(feature = "redis")]
    if let Some(redis) = error.downcast_ref::<redis::RedisError>() {
        if redis.is_connection_refusal() {
            return Some(REFUSED.to_owned());
        }
        if redis.is_timeout() {
            return Some(TIMED_OUT.to_owned());
        }
        if redis.kind() == redis::ErrorKind::AuthenticationFailed {
            return Some("authentication failed (wrong user or password)".to_owned());
        }
        let message = redis.to_string();
        if is_name_lookup(&message) {
            return Some(NOT_RESOLVED.to_owned());
        }
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        let message = io.to_string();
        return Some(match io.kind() {
            std::io::ErrorKind::ConnectionRefused => REFUSED.to_owned(),
            std::io::ErrorKind::TimedOut => TIMED_OUT.to_owned(),
            _ if is_name_lookup(&message) => NOT_RESOLVED.to_owned(),
            _ if message.to_ascii_lowercase().contains("tls")
                || message.to_ascii_lowercase().contains("certificate") =>
            {
                format!("TLS failed: {message}")
            }
            _ => return None,
        });
    }
    #[cfg(feature = "postgres")]
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(format!("TLS failed: {tls}"));
    }
    None
}

/// Why the database could not be opened (`PgStore::open`), as one line for the operator.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// `DATABASE_URL` cannot be used as written (malformed, an unreadable `sslrootcert`).
    #[error("cannot use DATABASE_URL: {0}")]
    Settings(String),
    /// The database could not be reached, or a migration failed.
    #[error("{0}")]
    Database(String),
}

/// One line for a database failure at start-up: [`Unreachable`] when the database could not be
/// reached, otherwise the error with its whole source chain (a failed migration, say).
#[cfg(feature = "postgres")]
pub fn database_failure(setting: &str, url: &str, error: &StorageError) -> String {
    let refused_at_connect = chain(error).any(|link| {
        link.downcast_ref::<tokio_postgres::Error>()
            .and_then(tokio_postgres::Error::code)
            .is_some_and(|code| {
                let code = code.code();
                // Authentication (28...), no such database, too many connections.
                code.starts_with("28") || code == "3D000" || code == "53300"
            })
    });
    if matches!(error, StorageError::Unavailable(_)) || refused_at_connect {
        Unreachable::database(setting, url, error).to_string()
    } else {
        error_chain(error)
    }
}

/// `error` and each of its sources, joined with `: ` (a source whose message its parent already
/// ends with is left out).
///
/// ```
/// let io = std::io::Error::other("disk full");
/// let error = aiq_core::storage::StorageError::Backend(Box::new(io));
/// assert_eq!(aiq_core::storage::error_chain(&error), "storage failure: disk full");
/// ```
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    for link in chain(error) {
        let message = link.to_string();
        if !line.ends_with(&message) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&message);
        }
    }
    line
}

/// Opens a connection to the Redis at `url` (the value of `setting`) and sends `PING`, within
/// five seconds: at start-up, so a wrong URL stops the server with a line that says why.
#[cfg(feature = "redis")]
pub async fn ping_redis(setting: &str, url: &str) -> Result<(), Unreachable> {
    let unreachable = |error: &(dyn Error + 'static)| Unreachable::redis(setting, url, error);
    let client = redis::Client::open(url).map_err(|error| unreachable(&error))?;
    let ping = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<()>(&mut connection).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(unreachable(&error)),
        Err(_) => Err(unreachable(&std::io::Error::from(
            std::io::ErrorKind::TimedOut,
        ))),
    }
}

#[cfg(any(feature = "postgres", feature = "redis"))]
const REFUSED: &str = "connection refused (nothing listens there)";
#[cfg(any(feature = "postgres", feature = "redis"))]
const TIMED_OUT: &str = "timed out (a firewall, or a host that does not answer)";
#[cfg(any(feature = "postgres", feature = "redis"))]
const NOT_RESOLVED: &str = "host name not resolved";

#[cfg(any(feature = "postgres", feature = "redis"))]
fn is_name_lookup(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "lookup address",
        "name or service not known",
        "name resolution",
        "nodename nor servname",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[cfg(all(test, feature = "postgres", feature = "redis"))]
mod tests {
    use super::*;

    #[test]
    fn the_target_never_holds_the_password() {
        let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
        let line = Unreachable::database("DATABASE_URL", "postgres://u:hunter2@h:1/d", &io);
        assert!(!line.to_string().contains("hunter2"), "{line}");
        assert!(line.to_string().contains("h:1"), "{line}");
        assert_eq!(line.cause(), TIMED_OUT);
        let line = Unreachable::redis("RATE_LIMIT_REDIS_URL", "redis://:hunter2@cache:6380/0", &io);
        assert_eq!(
            line.to_string(),
            format!("cannot reach Redis at cache:6380: {TIMED_OUT}; check RATE_LIMIT_REDIS_URL")
        );
    }

    #[test]
    fn name_lookups_are_recognised_in_the_chain() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error connecting to server")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let lookup = Outer(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        assert_eq!(cause(&lookup), NOT_RESOLVED);
        let unknown = Outer(std::io::Error::other("something new"));
        assert_eq!(cause(&unknown), "something new");
    }
}
