//! The HTTP API: one module per area, one router that lists them all.
//!
//! Each handler carries its OpenAPI description (`#[utoipa::path]`), and the router is built with
//! `utoipa_axum`, so a route cannot be served without appearing in `/v1/openapi.json`.

mod admin;
mod analytics;
mod auth;
mod docs;
mod feedback;
mod groups;
mod health;
mod metrics;
mod notifications;
mod root;
mod test_sessions;
mod user;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// Where the Swagger UI is served, under the API prefix.
pub(crate) fn docs_path(api_prefix: &str) -> String {
    format!("{api_prefix}/docs")
}

/// Where the OpenAPI document is served, under the API prefix.
pub(crate) fn openapi_path(api_prefix: &str) -> String {
    format!("{api_prefix}/openapi.json")
}

#[derive(OpenApi)]
#[openapi(
    info(description = "AIQ API: periodic cognitive tests for the AIQ iOS app."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "meta", description = "Welcome document and app association"),
        (name = "auth", description = "Accounts, sign-in and tokens"),
        (name = "user", description = "The signed-in user's profile"),
        (name = "questions", description = "The item bank as test takers see it"),
        (name = "test", description = "Fixed-form tests: start, answer, results, history"),
        (name = "guest", description = "Tests without an account"),
        (name = "groups", description = "Groups of users who compare scores"),
        (name = "notifications", description = "Push notification device and preference"),
        (name = "analytics", description = "App events in; accuracy and item statistics out"),
        (name = "benchmark", description = "How language models score on the test"),
        (name = "feedback", description = "Feedback from the app"),
        (name = "admin", description = "Operator actions behind X-Admin-Token"),
    )
)]
struct ApiDoc;

/// Declares the `HTTPBearer` scheme the iOS client's generated code expects, and the
/// `X-Admin-Token` header of operator-only routes.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "HTTPBearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "AdminToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Admin-Token"))),
        );
    }
}

/// The complete router with its state: `/`, the app association file, and the `/v1` API with
/// its OpenAPI document and docs page.
pub(crate) fn router(state: AppState) -> Router {
    let prefix = state.config.app.api_prefix.clone();
    let v1 = OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::ping))
        .merge(auth::router())
        .routes(routes!(user::get_profile, user::update_profile))
        .routes(routes!(user::delete_account))
        .merge(test_sessions::router())
        .merge(groups::router())
        .routes(routes!(
            notifications::register_device,
            notifications::unregister_device
        ))
        .routes(routes!(
            notifications::get_preferences,
            notifications::update_preferences
        ))
        .merge(analytics::router())
        .routes(routes!(feedback::submit))
        .merge(admin::router());
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(root::root))
        .routes(routes!(root::apple_app_site_association))
        .nest(&prefix, v1)
        .split_for_parts();
    openapi.info.title = state.config.app.name.clone();
    openapi.info.version = state.config.app.version.clone();

    router
        .route(
            &format!("{prefix}/metrics"),
            axum::routing::get(metrics::metrics),
        )
        .merge(docs::router(&prefix, openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
