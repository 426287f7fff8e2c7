//! Gives every error response a JSON body.
//!
//! Some errors are produced below our handlers with an empty body: the router's 405, the
//! timeout layer's 408, a 404 from a nested service. This layer fills in `{"detail": ...}` so a
//! client always gets the shape it parses, whatever produced the status.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use crate::error::ApiError;

pub(super) async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
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
