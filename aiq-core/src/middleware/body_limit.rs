//! Refuses a declared body over the limit before any work is done on it.
//!
//! Bodies without a `Content-Length` (chunked) are limited while they are read, by
//! `DefaultBodyLimit` and [`ApiJson`](crate::extract::ApiJson), with the same 413.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub(super) async fn body_limit(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}
