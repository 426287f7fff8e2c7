//! A host application that embeds aiq: it has its own CORS, its own tracing and its own small
//! user store (for its own pages, nothing to do with aiq's accounts), and mounts the AIQ API
//! under `/aiq` with aiq's CORS and tracing layers switched off, so that every response carries
//! one set of CORS headers and one request span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aiq_core::middleware::Layers;
use aiq_core::{Aiq, AiqService, Config, StartError};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

/// The host's own users: a name per id, in memory.
#[derive(Debug, Clone, Default)]
pub struct HostUsers(Arc<Mutex<BTreeMap<u32, String>>>);

impl HostUsers {
    /// Adds a user and returns its id.
    pub fn add(&self, name: &str) -> u32 {
        let mut users = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let id = users.keys().next_back().map_or(1, |last| last + 1);
        users.insert(id, name.to_owned());
        id
    }

    fn name(&self, id: u32) -> Option<String> {
        let users = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        users.get(&id).cloned()
    }
}

/// aiq as the documented variables describe it (`DATABASE_URL`, `RATE_LIMIT_STORAGE`, ...,
/// connected as `aiq-server` would), without the layers the host does itself.
pub async fn aiq_for_host(config: Config) -> Result<AiqService, StartError> {
    let layers = Layers {
        cors: false,
        tracing: false,
        ..Layers::ALL
    };
    Ok(Aiq::builder(config)
        .layers(layers)
        .connect()
        .await?
        .build()?)
}

/// The host application: its own routes and user store, aiq under `/aiq`, and the host's CORS
/// (for `allowed_origin`) and tracing around everything.
pub fn host_app(aiq: AiqService, users: HostUsers, allowed_origin: &str) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(
            HeaderValue::from_str(allowed_origin).unwrap_or(HeaderValue::from_static("null")),
        )
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
        ]);
    Router::new()
        .route(
            "/",
            get(|| async { "host application: the AIQ API is under /aiq/v1" }),
        )
        .route("/users/{id}", get(user))
        .with_state(users)
        .nest_service("/aiq", aiq)
        .layer(cors)
        .layer(TraceLayer::new_for_http())
}

async fn user(State(users): State<HostUsers>, Path(id): Path<u32>) -> Json<Option<String>> {
    Json(users.name(id))
}
