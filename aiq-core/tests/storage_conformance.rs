//! The storage conformance suite (`aiq_testkit::conformance`) on both stores aiq-core ships:
//! every case on the in-memory store and on PostgreSQL (a fresh database per case), through the
//! same function a third-party backend calls. Each case prints a line as it ends; set
//! `AIQ_CONFORMANCE_FILTER` to part of a case's name to run only those cases.
//!
//! States only PostgreSQL can set up (rows written behind the trait's back) are tested here
//! directly, in `storage_conformance/postgres_only.rs`.

mod support;

use aiq_core::storage::MemoryStore;
use aiq_testkit::conformance::{Guarded, storage_conformance};

// States only PostgreSQL can set up.
#[path = "storage_conformance/postgres_only.rs"]
mod postgres_only;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_conforms() {
    storage_conformance(|| async { MemoryStore::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms() {
    storage_conformance(|| async {
        // The database is dropped after the case, once the store is gone.
        let (store, db) = support::pg_store().await;
        Guarded::new(store, db)
    })
    .await;
}
