//! Rate limiting of HTTP requests: who is asking, which quota applies, and the 429.
//!
//! The caller is the user of a valid access token (`user:<id>`, checked by signature and expiry
//! only, no database) except on the endpoints used before signing in, otherwise the client
//! address (IPv6 by its /64): the first entry of the trusted proxy header (`RATE_LIMIT_TRUSTED_IP_HEADER`, Railway's `X-Envoy-External-Address` by default;
//! `X-Forwarded-For` is never trusted), else the socket's peer, else `unknown` (a service
//! embedded without connection info still works). Endpoints in `RATE_LIMIT` config's `endpoints`
//! ([`EndpointQuota`](crate::config::EndpointQuota)) have a bucket
//! of their own per caller, keyed by route template; every other route shares the caller's
//! default bucket. Health, ping, docs, OpenAPI and metrics are never limited, and CORS
//! preflights never reach this layer.
//!
//! Every limited response carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`; a denial is a
//! 429 with `Retry-After` (at least 1) and the old backend's body.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::{Layer, Service};

use crate::auth::tokens::{DecodedAccess, TokenKind, Tokens};
use crate::config::KeyedBy;
use crate::log_budget::{LogBudget, limited};
use crate::ratelimit::{Decision, Limiter, Quota};

/// Routes (under the API prefix) that are never limited.
const EXEMPT: &[&str] = &["/health", "/ping", "/openapi.json", "/metrics"];

const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Everything the layer needs, shared by all requests.
#[derive(Debug)]
pub(crate) struct RateLimits {
    limiter: Arc<dyn Limiter>,
    api_prefix: String,
    default: Quota,
    /// The endpoints with a bucket of their own: route, quota, owner.
    endpoints: Vec<(String, Quota, KeyedBy)>,
    trusted_header: Option<HeaderName>,
    tokens: Tokens,
    /// Denial lines: at most one a second per service, with the count of the others.
    denials: LogBudget,
}

impl RateLimits {
    pub(crate) fn new(limiter: Arc<dyn Limiter>, config: &crate::Config, tokens: Tokens) -> Self {
        let header = config.rate_limit.trusted_ip_header.trim();
        Self {
            limiter,
            api_prefix: config.app.api_prefix.clone(),
            default: Quota::new(
                config.rate_limit.default_limit,
                config.rate_limit.default_window,
            ),
            endpoints: config
                .rate_limit
                .endpoints
                .iter()
                .map(|e| (e.route.clone(), Quota::new(e.limit, e.window), e.keyed_by))
                .collect(),
            trusted_header: HeaderName::try_from(header).ok(),
            tokens,
            denials: LogBudget::new(1),
        }
    }

    /// The route below the API prefix. An embedding application may mount the service under
    /// a path of its own (`/aiq/v1/...`), so the prefix is searched for, not stripped.
    fn relative<'r>(&self, route: &'r str) -> Option<&'r str> {
        let prefix = self.api_prefix.as_str();
        route
            .match_indices(prefix)
            .map(|(at, _)| &route[at + prefix.len()..])
            .find(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The quota, the bucket's route and who it belongs to, or `None` when the route is exempt.
    fn quota_for(&self, route: Option<&str>) -> Option<(Quota, Option<String>, KeyedBy)> {
        let Some(route) = route else {
            // Unknown paths share the default bucket, so scanning for routes is limited too.
            return Some((self.default, None, KeyedBy::Caller));
        };
        let Some(relative) = self.relative(route) else {
            // Outside the API (`/`, the app association file): static documents.
            return None;
        };
        if EXEMPT.contains(&relative) || relative == "/docs" || relative.starts_with("/docs/") {
            return None;
        }
        match self.endpoints.iter().find(|(path, ..)| path == relative) {
            Some((_, quota, keyed_by)) => Some((*quota, Some(route.to_owned()), *keyed_by)),
            None => Some((self.default, None, KeyedBy::Caller)),
        }
    }

    /// `user:<id>` for a valid access token (when `keyed_by` allows), else `ip:<address>`. The
    /// decoded token is left in the request's extensions for authentication to reuse.
    fn identify(&self, req: &mut Request, keyed_by: KeyedBy) -> String {
        if keyed_by == KeyedBy::Caller
            && let Some(decoded) = decode_bearer(req.headers(), &self.tokens)
        {
            let user_id = decoded.outcome.as_ref().ok().and_then(|c| c.user_id);
            req.extensions_mut().insert(decoded);
            if let Some(user_id) = user_id {
                return format!("user:{user_id}");
            }
        }
        let headers = req.headers();
        let address = super::client_ip(headers, req.extensions(), self.trusted_header.as_ref());
        match address {
            // One IPv6 client usually holds a whole /64: keying by address would hand it
            // billions of buckets.
            Some(IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_none() => {
                let network = u128::from(ip) & !((1u128 << 64) - 1);
                format!("ip:{}/64", std::net::Ipv6Addr::from(network))
            }
            Some(IpAddr::V6(ip)) => format!(
                "ip:{}",
                ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4)
            ),
            Some(ip) => format!("ip:{ip}"),
            None => "ip:unknown".to_owned(),
        }
    }
}

/// The bearer token of `Authorization` decoded as an access token, if there is one.
fn decode_bearer(headers: &HeaderMap, tokens: &Tokens) -> Option<DecodedAccess> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    Some(DecodedAccess {
        token: token.to_owned(),
        outcome: tokens.decode(token, TokenKind::Access, crate::time::now()),
    })
}

/// The 429 body: the old backend's three members, and `detail` with the same message because the
/// iOS app shows a server message only from `detail` (`ios-client.md`).
#[derive(Serialize)]
struct Exceeded {
    error: &'static str,
    message: &'static str,
    retry_after: u64,
    detail: &'static str,
}

/// What a caller over its limit is told.
const EXCEEDED_MESSAGE: &str = "Too many requests. Please try again later.";

fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(decision.reset_at));
}

/// Applies [`RateLimits`] to the service below.
#[derive(Debug, Clone)]
pub(super) struct RateLimitLayer(pub(super) Arc<RateLimits>);

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            limits: Arc::clone(&self.0),
            inner,
        }
    }
}

/// The service made by [`RateLimitLayer`]. Exempt requests (preflights, health, docs...) go
/// straight through, with no allocation; the others wait for the limiter first.
#[derive(Debug, Clone)]
pub(super) struct RateLimit<S> {
    limits: Arc<RateLimits>,
    inner: S,
}

impl<S> Service<Request> for RateLimit<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RateLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let quota = match req.method() {
            &Method::OPTIONS => None,
            _ => self.limits.quota_for(route),
        };
        let Some(quota) = quota else {
            return RateLimitFuture::Exempt {
                inner: self.inner.call(req),
            };
        };
        // The service that was made ready is the one to call after the check.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        RateLimitFuture::Checked {
            future: Box::pin(enforce(Arc::clone(&self.limits), ready, req, quota)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RateLimit`].
    #[project = Projected]
    pub(super) enum RateLimitFuture<F> {
        Exempt {
            #[pin]
            inner: F,
        },
        Checked {
            future: Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>,
        },
    }
}

impl<F> Future for RateLimitFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Exempt { inner } => inner.poll(cx),
            Projected::Checked { future } => future.as_mut().poll(cx),
        }
    }
}

/// Checks the caller's quota, then calls `inner` or answers 429.
async fn enforce<S>(
    limits: Arc<RateLimits>,
    mut inner: S,
    mut req: Request,
    (quota, bucket, keyed_by): (Quota, Option<String>, KeyedBy),
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let identifier = limits.identify(&mut req, keyed_by);
    let key = match &bucket {
        Some(route) => format!("{identifier}::{route}"),
        None => identifier.clone(),
    };
    let decision = match limits.limiter.check(&key, quota).await {
        Ok(decision) => decision,
        Err(error) => {
            // Only a limiter without a fallback can fail; the request is not the client's fault.
            static FAILURES: LogBudget = LogBudget::new(5);
            limited!(FAILURES, error, %error, "rate limit check failed; request let through");
            return inner.call(req).await;
        }
    };
    if decision.allowed {
        let mut response = inner.call(req).await?;
        set_headers(response.headers_mut(), &decision);
        return Ok(response);
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    limited!(
        limits.denials,
        warn,
        target: "security",
        event = "security.rate_limit_exceeded",
        route,
        "Rate limit exceeded for {identifier}"
    );
    metrics::counter!(crate::telemetry::RATELIMIT_DENIED, "route" => route.to_owned()).increment(1);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(Exceeded {
            error: "rate_limit_exceeded",
            message: EXCEEDED_MESSAGE,
            retry_after: decision.retry_after.max(1),
            detail: EXCEEDED_MESSAGE,
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    set_headers(headers, &decision);
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(decision.retry_after.max(1)),
    );
    Ok(response)
}
