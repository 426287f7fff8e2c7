//! Refuses a declared body over the limit before any work is done on it, and gives every error
//! response a JSON body.
//!
//! Bodies without a `Content-Length` (chunked) are limited while they are read, by
//! `DefaultBodyLimit` and [`ApiJson`](crate::extract::ApiJson), with the same 413.
//!
//! Some errors are produced below our handlers with an empty body: the router's 405, the
//! timeout layer's 408, a 404 from a nested service. This layer fills in `{"detail": ...}` so a
//! client always gets the shape it parses, whatever produced the status.

use std::ops::ControlFlow;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use tracing::Span;

use super::around::{Hooks, Proceed};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub(super) struct Guard {
    /// The largest body accepted, in bytes.
    pub(super) max_body_bytes: usize,
}

impl Hooks for Guard {
    type State = ();

    fn before(&self, req: &mut Request) -> ControlFlow<Response, Proceed<()>> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_body_bytes as u64) {
            return ControlFlow::Break(ApiError::PayloadTooLarge.into_response());
        }
        ControlFlow::Continue(Proceed::with(()))
    }

    fn after(&self, _: Option<()>, _: Option<&Span>, response: Response) -> Response {
        json_errors(response)
    }
}

fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let has_content_type = response.headers().contains_key(header::CONTENT_TYPE);
    if !is_error || has_content_type || response.body().size_hint().exact() != Some(0) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound("Not Found".into()).into_response(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed.into_response(),
        StatusCode::REQUEST_TIMEOUT => ApiError::Timeout.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        other => crate::error::detail_response(other, other.canonical_reason().unwrap_or("Error")),
    };
    let (new_parts, body) = replacement.into_parts();
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, body)
}
