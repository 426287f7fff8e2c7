//! The outermost layer: the request id on the way in; `X-Request-ID`, `X-Process-Time` and the
//! security headers on every response on the way out.

use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;

use tracing::Span;

use super::around::{Hooks, Proceed};
use super::request_id;
use super::security_headers::SecurityHeaders;

#[derive(Debug, Clone)]
pub(super) struct Edge {
    pub(super) security: SecurityHeaders,
}

/// The id sent back, when the request started, and whether it is for a docs page.
#[derive(Debug)]
pub(super) struct Started {
    id: HeaderValue,
    at: Instant,
    docs: bool,
}

impl Hooks for Edge {
    type State = Started;

    fn before(&self, req: &mut Request) -> ControlFlow<Response, Proceed<Started>> {
        let at = Instant::now();
        let docs = self.security.is_docs(req.uri().path());
        let id = request_id::assign(req);
        ControlFlow::Continue(Proceed::with(Started { id, at, docs }))
    }

    fn after(
        &self,
        started: Option<Started>,
        _: Option<&Span>,
        mut response: Response,
    ) -> Response {
        let headers = response.headers_mut();
        // Room for the id, the timing and the security headers at once.
        headers.reserve(11);
        let docs = started.as_ref().is_some_and(|s| s.docs);
        if let Some(Started { id, at, .. }) = started {
            request_id::answer(headers, id, at);
        }
        self.security.apply(headers, docs);
        response
    }
}
