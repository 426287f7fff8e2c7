//! Test support shared by the workspace's test suites.
//!
//! - [`TestDb`]: a fresh PostgreSQL database per test, dropped when the test ends, so runs
//!   never see each other's rows;
//! - [`TcpProxy`]: a TCP relay in front of a real server that can hold its replies or cut every
//!   connection, to test slow and failing dependencies with the real thing behind it;
//! - [`legacy`]: the old Python backend's schema, with quirk rows or a large generated data set;
//! - [`PrivateRedis`]: a `redis-server` of a test's own, for tests that need a whole keyspace
//!   or stop their Redis;
//! - [`conformance`]: the storage conformance suite, which any `Storage` backend runs with one
//!   call to [`storage_conformance`](conformance::storage_conformance);
//! - [`fixtures`]: users, questions and finished tests written straight into a store.
//!
//! PostgreSQL is reached through `AIQ_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the machine's local server). When it cannot be
//! reached the test fails with a message saying so: a storage test is never silently skipped.

#![warn(missing_docs)]

pub mod conformance;
pub mod fixtures;
pub mod legacy;
mod private_redis;
mod proxy;
mod test_db;

/// A plain-HTTP client for talking to a server under test on loopback.
///
/// aiq-core switches on reqwest's rustls support without a process-wide crypto provider, so a
/// client built without a TLS configuration of its own panics; this one carries a ring-based
/// configuration that trusts nothing, which plain `http://` requests never use.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .build()
        .expect("the client configuration is valid")
}

pub use private_redis::PrivateRedis;
pub use proxy::TcpProxy;
pub use test_db::{TEST_DB_PREFIX, TestDb};
