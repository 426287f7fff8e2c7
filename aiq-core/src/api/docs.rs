//! `GET /v1/openapi.json` and, with the `swagger-ui` feature, the Swagger UI at `GET /v1/docs`.
//!
//! The UI's files are compiled into the binary (`utoipa-swagger-ui`'s `vendored` feature), so
//! the page renders with no network access and loads nothing from a CDN. Without the feature
//! the document alone is served, and `/v1/docs` answers 404 like any unknown path.

use axum::Router;
use utoipa::openapi::OpenApi;

#[cfg(feature = "swagger-ui")]
use super::docs_path;
use super::openapi_path;
use crate::state::AppState;

#[cfg(feature = "swagger-ui")]
pub(super) fn router(prefix: &str, openapi: OpenApi) -> Router<AppState> {
    use utoipa_swagger_ui::{Config, SwaggerUi};
    let spec_url = openapi_path(prefix);
    // Relative to the page (`<prefix>/docs/`), so the UI still finds the document when the
    // service is mounted under another path by an embedding application.
    let config = Config::new(["../openapi.json"])
        // The public validator would be fetched from the internet; it is not needed.
        .validator_url("none")
        .try_it_out_enabled(true);
    SwaggerUi::new(docs_path(prefix))
        .url(spec_url, openapi)
        .config(config)
        .into()
}

#[cfg(not(feature = "swagger-ui"))]
pub(super) fn router(prefix: &str, openapi: OpenApi) -> Router<AppState> {
    Router::new().route(
        &openapi_path(prefix),
        axum::routing::get(move || std::future::ready(axum::Json(openapi.clone()))),
    )
}
