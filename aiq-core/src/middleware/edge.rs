//! The outermost layer: the request id on the way in; `X-Request-ID`, `X-Process-Time` and the
//! security headers on every response on the way out.

use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use tracing::Span;

use super::around::{Hooks, Proceed};
use super::request_id;
use super::security_headers::SecurityHeaders;

#[derive(Debug, Clone)]
pub(super) struct Edge {
    /// The security headers, unless the host sets its own.
    pub(super) security: Option<SecurityHeaders>,
    /// Whether requests get an id (and responses `X-Request-ID` / `X-Process-Time`).
    pub(super) request_id: bool,
    /// Whether CORS is on (the API surface): then every response varies by the origin and the
    /// preflight headers, as `tower_http`'s CORS layer would say (it is told not to, as it
    /// would build the value for every response).
    pub(super) cors_vary: bool,
}

/// The `Vary` of a CORS-enabled response.
const CORS_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// The id sent back, when the request started, and whether it is for a docs page.
#[derive(Debug)]
pub(super) struct Started {
    id: Option<HeaderValue>,
    at: Instant,
    docs: bool,
}

impl Hooks for Edge {
    type State = Started;

    fn before(&self, req: &mut Request) -> ControlFlow<Response, Proceed<Started>> {
        let at = Instant::now();
        let docs = self
            .security
            .as_ref()
            .is_some_and(|security| security.is_docs(req.uri().path()));
        let id = self.request_id.then(|| request_id::assign(req));
        ControlFlow::Continue(Proceed::with(Started { id, at, docs }))
    }

    fn after(
        &self,
        started: Option<Started>,
        _: Option<&Span>,
        mut response: Response,
    ) -> Response {
        let headers = response.headers_mut();
        // Room for the id, the timing, the security headers and `Vary` at once.
        headers.reserve(12);
        let docs = started.as_ref().is_some_and(|s| s.docs);
        if let Some(Started {
            id: Some(id), at, ..
        }) = started
        {
            request_id::answer(headers, id, at);
        }
        if let Some(security) = &self.security {
            security.apply(headers, docs);
        }
        if self.cors_vary {
            // Appended: a handler's own `Vary` stays.
            headers.append(header::VARY, CORS_VARY);
        }
        response
    }
}
