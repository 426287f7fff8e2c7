//! Embeds aiq in a host axum application that does its own CORS and tracing and has a user
//! store of its own: aiq is built from the environment as `aiq-server` would be
//! (`DATABASE_URL`, `RATE_LIMIT_STORAGE`, ... — without them, in memory), with its CORS and
//! tracing layers switched off so that responses carry the host's only.
//!
//! ```text
//! cargo run --example host_app
//! curl http://127.0.0.1:3000/users/1            # the host's own store
//! curl http://127.0.0.1:3000/aiq/v1/health      # the AIQ API
//! curl -i -H 'Origin: https://host.example' http://127.0.0.1:3000/aiq/v1/ping
//! ```

use aiq_examples::host::{HostUsers, aiq_for_host, host_app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let config = aiq_core::Config::from_env()?;
    let aiq = aiq_for_host(config).await?;
    let users = HostUsers::default();
    users.add("Ada");
    let app = host_app(aiq, users, "https://host.example");

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
