//! The middleware stack, in one place.
//!
//! From the outside in, every request passes through:
//! 1. `request_id`: `X-Request-ID` (the client's if sane, else a new uuid) and `X-Process-Time`;
//! 2. `security_headers`: the headers of the deployment guide, on every response;
//! 3. CORS from `CORS_ORIGINS` (preflights are answered here);
//! 4. a tracing span per request, and one log line when it completes; the request counter and
//!    duration histogram, labelled by route template (`http_metrics`);
//! 5. `rate_limit` (when `RATE_LIMIT_ENABLED`): the caller's quota for this route, or a 429;
//! 6. `json_errors`: an error status with an empty body gets a `{"detail": ...}` body;
//! 7. panic catching: a panic becomes a logged 500 with an `error_id`;
//! 8. `body_limit`: a `Content-Length` over the limit is a 413 before any work is done;
//! 9. the request timeout (408), then the router, whose extractors also stop reading past the
//!    body limit (bodies without a length).
//!
//! Because the layers that add headers sit outside the ones that produce errors, 404, 405, 408,
//! 413, 429 and 500 responses carry the same headers as any other.

mod body_limit;
mod client_ip;
mod http_metrics;
mod json_errors;
mod panic;
mod rate_limit;
mod request_id;
mod security_headers;
mod trace;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

pub use self::client_ip::client_ip;
pub(crate) use self::rate_limit::RateLimits;
pub use self::rate_limit::{ENDPOINT_QUOTAS, KeyedBy};
pub use self::request_id::RequestId;
use crate::Config;
use crate::config::CorsOrigins;

/// Which routes a stack wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// The API: everything described in the module documentation.
    Api,
    /// Routes merged beside the API (`AiqBuilder::merge`, e.g. the admin dashboard): the same
    /// stack without CORS (no other origin may read them with credentials) and without the
    /// API's body limits (they set their own, e.g. for uploads).
    Embedded,
}

/// Wraps `router` in the whole stack described in the module documentation.
pub(crate) fn stack(
    router: Router,
    config: &Config,
    rate_limits: Option<Arc<RateLimits>>,
    surface: Surface,
) -> Router {
    let security = security_headers::SecurityHeaders::new(config);
    // `Router::layer` wraps each route, so the last layer added here is the outermost.
    let router = match surface {
        Surface::Api => router
            .layer(DefaultBodyLimit::max(config.http.max_body_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.http.request_timeout,
            ))
            .layer(from_fn_with_state(
                config.http.max_body_bytes,
                body_limit::body_limit,
            )),
        Surface::Embedded => router.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.http.request_timeout,
        )),
    };
    let router = router
        .layer(CatchPanicLayer::custom(panic::panic_response))
        .layer(from_fn(json_errors::json_errors));
    // Inside the headers, CORS and the trace span, so a 429 carries them and is logged.
    let router = match rate_limits {
        Some(limits) => router.layer(from_fn_with_state(limits, rate_limit::rate_limit)),
        None => router,
    };
    let router = router
        .layer(from_fn(http_metrics::http_metrics))
        .layer(trace::layer());
    let router = match surface {
        Surface::Api => router.layer(cors(&config.http.cors_origins)),
        Surface::Embedded => router,
    };
    router
        .layer(from_fn_with_state(
            security,
            security_headers::security_headers,
        ))
        .layer(from_fn(request_id::request_id))
}

/// CORS as the old backend set it: the configured origins with credentials, the usual methods,
/// the headers the iOS and web clients send, preflights cached for ten minutes.
fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-platform"),
            HeaderName::from_static("x-app-version"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    match origins {
        // A wildcard cannot be combined with credentials; production refuses it anyway.
        CorsOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        CorsOrigins::List(list) => layer
            .allow_origin(AllowOrigin::list(
                list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
            ))
            .allow_credentials(true),
    }
}
