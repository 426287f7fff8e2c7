//! The middleware stack, in one place.
//!
//! From the outside in, every request passes through:
//! 1. `edge`: the request id (`X-Request-ID`: the client's if sane, else a new uuid), and on the
//!    way out `X-Request-ID`, `X-Process-Time` and the security headers of the deployment guide,
//!    on every response;
//! 2. CORS from `CORS_ORIGINS` (preflights are answered here);
//! 3. `observe`: a tracing span per request and one log line when it completes; the request
//!    counter and duration histogram, labelled by route template;
//! 4. `rate_limit` (when `RATE_LIMIT_ENABLED`): the caller's quota for this route, or a 429;
//! 5. `guard`: a `Content-Length` over the body limit is a 413 before any work is done, and an
//!    error status with an empty body gets a `{"detail": ...}` body;
//! 6. panic catching: a panic becomes a logged 500 with an `error_id`;
//! 7. the request timeout (408), then the router, whose extractors also stop reading past the
//!    body limit (bodies without a length).
//!
//! Because the layers that add headers sit outside the ones that produce errors, 404, 405, 408,
//! 413, 429 and 500 responses carry the same headers as any other.
//!
//! The stack is applied with one `Router::layer` call (each call wraps every route in one more
//! boxed service), and our own layers are `around::Hooks` run in the inner service's future:
//! no per-request allocation or clone of the stack beneath, which axum's `from_fn` would cost.

mod around;
mod client_ip;
mod edge;
mod guard;
mod observe;
mod panic;
mod rate_limit;
mod request_id;
mod request_metrics;
mod security_headers;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer, Vary};
use tower_http::timeout::TimeoutLayer;

use self::around::AroundLayer;
pub use self::client_ip::client_ip;
pub(crate) use self::observe::SpanHook;
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
    span_hook: Option<SpanHook>,
    surface: Surface,
) -> Router {
    let api = surface == Surface::Api;
    let layers = ServiceBuilder::new()
        .layer(AroundLayer(edge::Edge {
            security: security_headers::SecurityHeaders::new(config),
            cors_vary: api,
        }))
        .option_layer(api.then(|| cors(&config.http.cors_origins)))
        .layer(AroundLayer(observe::Observe {
            hook: span_hook,
            metrics: Arc::default(),
        }))
        // Inside the headers, CORS and the span, so a 429 carries them and is logged.
        .option_layer(rate_limits.map(rate_limit::RateLimitLayer))
        .layer(AroundLayer(guard::Guard {
            max_body_bytes: if api {
                config.http.max_body_bytes
            } else {
                usize::MAX
            },
        }))
        .map_response(into_response)
        .layer(CatchPanicLayer::custom(panic::panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.http.request_timeout,
        ))
        .option_layer(api.then(|| DefaultBodyLimit::max(config.http.max_body_bytes)));
    router.layer(layers)
}

/// Gives a layer's response the body type of the layers around it.
fn into_response<B>(response: http::Response<B>) -> Response
where
    http::Response<B>: IntoResponse,
{
    response.into_response()
}

/// CORS as the old backend set it: the configured origins with credentials, the usual methods,
/// the headers the iOS and web clients send, preflights cached for ten minutes.
///
/// The layer is cloned for every request (axum clones a route's service per call), so what it
/// holds is cheap to clone: the origins sit behind one `Arc`. Its `Vary` header, which it would
/// build anew for every response, is set by `edge` from a constant instead.
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
        .max_age(std::time::Duration::from_secs(600))
        .vary(Vary::list([]));
    match origins {
        // A wildcard cannot be combined with credentials; production refuses it anyway.
        CorsOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        CorsOrigins::List(list) => {
            let allowed: Arc<[HeaderValue]> = list
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect();
            layer
                .allow_origin(AllowOrigin::predicate(move |origin, _| {
                    allowed.contains(origin)
                }))
                .allow_credentials(true)
        }
    }
}
