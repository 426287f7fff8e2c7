//! Mounts the AIQ API under `/aiq` inside another axum application that has routes of its own.
//!
//! ```text
//! cargo run --example mount_under_prefix
//! curl http://127.0.0.1:3000/            # the host application's own route
//! curl http://127.0.0.1:3000/aiq/v1/health  # the AIQ API, in-memory store
//! ```
//!
//! `PORT` picks another port. Ctrl-C stops it.

use std::sync::Arc;

use aiq_core::storage::MemoryStore;
use aiq_core::{Aiq, Config};
use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In code, an embedding application starts from the defaults and changes what it needs.
    let mut config = Config::default();
    config.app.name = "AIQ (embedded)".into();
    let aiq = Aiq::builder(config)
        .storage(Arc::new(MemoryStore::new()))
        .build()?;

    let app = Router::new()
        .route(
            "/",
            get(|| async { "host application: the AIQ API is under /aiq/v1" }),
        )
        .route("/status", get(|| async { "ok" }))
        .nest_service("/aiq", aiq);

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("  own route: http://{}/", listener.local_addr()?);
    println!(
        "  AIQ API:   http://{}/aiq/v1/health",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
