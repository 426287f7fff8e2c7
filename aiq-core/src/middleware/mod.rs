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
pub use self::request_id::RequestId;
use crate::Config;
use crate::config::CorsOrigins;

/// Which of aiq's own layers wrap the service. A host application that already does some of
/// this (its own CORS, request ids or tracing) switches aiq's off, so that responses do not
/// carry two of each; [`Layers::NONE`] leaves the bare API (rate limits, body limits, error
/// bodies and panic catching stay: they are part of how the API answers).
///
/// ```
/// use aiq_core::{Aiq, Config};
/// use aiq_core::middleware::Layers;
/// let service = Aiq::builder(Config::default())
///     .layers(Layers { cors: false, tracing: false, ..Layers::ALL })
///     .build()?;
/// # Ok::<(), aiq_core::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// `X-Request-ID` (the client's when sane, else a new one) on the request, its
    /// [`RequestId`] extension, and `X-Request-ID` / `X-Process-Time` on the response.
    pub request_id: bool,
    /// The deployment guide's security headers on every response.
    pub security_headers: bool,
    /// CORS from `CORS_ORIGINS` (preflights answered).
    pub cors: bool,
    /// A tracing span per request, its completion log line, and the HTTP request metrics.
    pub tracing: bool,
    /// The request timeout (`REQUEST_TIMEOUT_SECONDS`, a 408).
    pub timeout: bool,
}

impl Layers {
    /// Every layer (the default).
    pub const ALL: Self = Self {
        request_id: true,
        security_headers: true,
        cors: true,
        tracing: true,
        timeout: true,
    };

    /// None of the optional layers: the bare API, for a host that adds its own.
    pub const NONE: Self = Self {
        request_id: false,
        security_headers: false,
        cors: false,
        tracing: false,
        timeout: false,
    };
}

impl Default for Layers {
    fn default() -> Self {
        Self::ALL
    }
}

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

/// Wraps `router` in the stack described in the module documentation, with the optional
/// layers `layers` keeps.
pub(crate) fn stack(
    router: Router,
    config: &Config,
    rate_limits: Option<Arc<RateLimits>>,
    span_hook: Option<SpanHook>,
    surface: Surface,
    layers: Layers,
) -> Router {
    let api = surface == Surface::Api;
    let cors_on = api && layers.cors;
    let edge = (layers.request_id || layers.security_headers || cors_on).then(|| {
        AroundLayer(edge::Edge {
            security: layers
                .security_headers
                .then(|| security_headers::SecurityHeaders::new(config)),
            request_id: layers.request_id,
            cors_vary: cors_on,
        })
    });
    let layers = ServiceBuilder::new()
        .option_layer(edge)
        .option_layer(cors_on.then(|| cors(&config.http.cors_origins)))
        .option_layer(layers.tracing.then(|| {
            AroundLayer(observe::Observe {
                hook: span_hook,
                metrics: Arc::default(),
                successes: observe::success_budget(config.http.request_log_per_second),
            })
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
        .option_layer(layers.timeout.then(|| {
            TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.http.request_timeout)
        }))
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
