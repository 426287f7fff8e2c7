//! Rate limiting of HTTP requests: who is asking, which quota applies, and the 429.
//!
//! The caller is the user of a valid access token (`user:<id>`, checked by signature and expiry
//! only, no database) except on the endpoints used before signing in, otherwise the client
//! address (IPv6 by its /64): the first entry of the trusted proxy header (`RATE_LIMIT_TRUSTED_IP_HEADER`, Railway's `X-Envoy-External-Address` by default;
//! `X-Forwarded-For` is never trusted), else the socket's peer, else `unknown` (a service
//! embedded without connection info still works). Endpoints in [`ENDPOINT_QUOTAS`] have a bucket
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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::{Layer, Service};

use crate::auth::tokens::{TokenKind, Tokens};
use crate::ratelimit::{Decision, Limiter, Quota};

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedBy {
    /// The signed-in user when a valid access token comes along, else the client address.
    Caller,
    /// Always the client address: endpoints used before signing in (login, register, password
    /// reset, guest tests), where a token of some other account must not buy a fresh bucket.
    Address,
}

/// Per-endpoint quotas, from the deployment guide: route template under the API prefix,
/// requests, window in seconds, and who the bucket belongs to.
pub const ENDPOINT_QUOTAS: &[(&str, u32, u64, KeyedBy)] = &[
    ("/auth/login", 5, 300, KeyedBy::Address),
    ("/auth/register", 3, 3600, KeyedBy::Address),
    ("/auth/refresh", 10, 60, KeyedBy::Address),
    ("/auth/oauth/apple", 10, 60, KeyedBy::Address),
    ("/auth/oauth/google", 10, 60, KeyedBy::Address),
    ("/auth/logout-all", 3, 300, KeyedBy::Caller),
    ("/auth/request-password-reset", 3, 900, KeyedBy::Address),
    ("/auth/reset-password", 5, 3600, KeyedBy::Address),
    ("/test/guest/start", 5, 3600, KeyedBy::Address),
    ("/test/guest/submit", 5, 3600, KeyedBy::Address),
    // The old handler's own 5/hour per IP, now one more row of this table.
    ("/feedback/submit", 5, 3600, KeyedBy::Address),
    ("/admin/reliability", 10, 60, KeyedBy::Caller),
    ("/admin/analytics/factor-analysis", 10, 60, KeyedBy::Caller),
    (
        "/admin/questions/discrimination-report",
        10,
        60,
        KeyedBy::Caller,
    ),
    (
        "/admin/questions/distractor-summary",
        10,
        60,
        KeyedBy::Caller,
    ),
    (
        "/admin/questions/calibration-health",
        10,
        60,
        KeyedBy::Caller,
    ),
    ("/admin/calibration-status", 10, 60, KeyedBy::Caller),
    ("/admin/validity-report", 10, 60, KeyedBy::Caller),
    ("/admin/analytics/response-times", 10, 60, KeyedBy::Caller),
];

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
    trusted_header: Option<HeaderName>,
    tokens: Tokens,
    denials: DenialLog,
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
            trusted_header: HeaderName::try_from(header).ok(),
            tokens,
            denials: DenialLog::default(),
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
        match ENDPOINT_QUOTAS.iter().find(|(path, ..)| *path == relative) {
            Some((_, limit, window, keyed_by)) => Some((
                Quota::new(*limit, Duration::from_secs(*window)),
                Some(route.to_owned()),
                *keyed_by,
            )),
            None => Some((self.default, None, KeyedBy::Caller)),
        }
    }

    /// `user:<id>` for a valid access token (when `keyed_by` allows), else `ip:<address>`.
    fn identify(&self, req: &Request, keyed_by: KeyedBy) -> String {
        let headers = req.headers();
        if keyed_by == KeyedBy::Caller
            && let Some(user_id) = bearer_user(headers, &self.tokens)
        {
            return format!("user:{user_id}");
        }
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

/// The user id of a valid access token in `Authorization`, if there is one.
fn bearer_user(headers: &HeaderMap, tokens: &Tokens) -> Option<i64> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    tokens
        .decode(token.trim(), TokenKind::Access, crate::time::now())
        .ok()?
        .user_id
}

/// Logs denials at most once a second, so a flood cannot flood the log as well.
#[derive(Debug, Default)]
struct DenialLog {
    second: AtomicI64,
    suppressed: AtomicU64,
}

impl DenialLog {
    fn record(&self, identifier: &str, route: &str) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let last = self.second.load(Ordering::Relaxed);
        if last != now
            && self
                .second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(
                target: "security",
                event = "security.rate_limit_exceeded",
                route,
                suppressed,
                "Rate limit exceeded for {identifier}"
            );
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
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
    req: Request,
    (quota, bucket, keyed_by): (Quota, Option<String>, KeyedBy),
) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let identifier = limits.identify(&req, keyed_by);
    let key = match &bucket {
        Some(route) => format!("{identifier}::{route}"),
        None => identifier.clone(),
    };
    let decision = match limits.limiter.check(&key, quota).await {
        Ok(decision) => decision,
        Err(error) => {
            // Only a limiter without a fallback can fail; the request is not the client's fault.
            tracing::error!(%error, "rate limit check failed; request let through");
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
    limits.denials.record(&identifier, route);
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
