//! Test support shared by the workspace's test suites.
//!
//! - [`TestDb`]: a fresh PostgreSQL database per test, dropped when the test ends, so runs
//!   never see each other's rows;
//! - [`TcpProxy`]: a TCP relay in front of a real server that can add latency or cut every
//!   connection, to test slow and failing dependencies with the real thing behind it.
//!
//! PostgreSQL is reached through `AIQ_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the machine's local server). When it cannot be
//! reached the test fails with a message saying so: a storage test is never silently skipped.

mod proxy;
mod test_db;

pub use proxy::TcpProxy;
pub use test_db::{TEST_DB_PREFIX, TestDb};
