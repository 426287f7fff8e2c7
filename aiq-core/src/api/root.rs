//! `GET /` and `GET /.well-known/apple-app-site-association`, outside the API prefix.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::state::AppState;

/// The welcome document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Welcome {
    /// `Welcome to <APP_NAME>`.
    message: String,
    /// `APP_VERSION`.
    version: String,
    /// Where the API documentation is: the Swagger UI, or the OpenAPI document in a build
    /// without the `swagger-ui` feature.
    docs: String,
}

/// Welcome message with the version and where the docs are.
#[utoipa::path(
    get,
    path = "/",
    tag = "meta",
    operation_id = "root__get",
    responses((status = 200, description = "Welcome document", body = Welcome))
)]
pub(super) async fn root(State(state): State<AppState>) -> Json<Welcome> {
    let app = &state.config.app;
    Json(Welcome {
        message: format!("Welcome to {}", app.name),
        version: app.version.clone(),
        docs: documentation_path(&app.api_prefix),
    })
}

/// Where a reader finds the documentation: the Swagger UI when this build serves it, else the
/// OpenAPI document (served by every build).
fn documentation_path(api_prefix: &str) -> String {
    if cfg!(feature = "swagger-ui") {
        super::docs_path(api_prefix)
    } else {
        super::openapi_path(api_prefix)
    }
}

/// The iOS app's identifier, which links open in the app.
const APP_ID: &str = "4HDNC3V5Q6.com.aiq.app";

/// Apple App Site Association file for Universal Links.
#[utoipa::path(
    get,
    path = "/.well-known/apple-app-site-association",
    tag = "meta",
    operation_id = "apple_app_site_association__well_known_apple_app_site_association_get",
    responses((status = 200, description = "Universal links served by the app", body = Object))
)]
pub(super) async fn apple_app_site_association() -> Json<Value> {
    Json(json!({
        "applinks": {
            "apps": [],
            "details": [{
                "appIDs": [APP_ID],
                "components": [
                    { "/": "/groups/join", "?": { "code": "?*" } },
                    { "/": "/test/start" },
                    { "/": "/settings/*" }
                ]
            }]
        }
    }))
}
