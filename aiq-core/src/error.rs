//! The one error type of the HTTP layer, and how it becomes a response.
//!
//! Which error to use where:
//! - storage code returns [`StorageError`]; it knows nothing of HTTP;
//! - handlers and extractors return [`ApiError`]. A handler maps the storage errors it expects
//!   (a `Conflict` on register becomes 409 "Email already registered.") and lets `?` turn the rest
//!   into 500/503 through the `From` impl below;
//! - [`ApiError::into_response`] is the only place that picks a status and a body. 4xx bodies are
//!   `{"detail": "<message>"}` (422: a list of issues); a 500 body is
//!   `{"detail": "Internal server error", "error_id": "<uuid>"}`, and the cause is logged with that
//!   id inside the request's span, never sent to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::BoxError;
use crate::admin::{AdminError, ReasonError};
use crate::log_budget::{LogBudget, limited};
use crate::storage::StorageError;

/// One element of a 422 `loc` path: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LocPart {
    /// A field name (`"body"`, `"password"`).
    Field(String),
    /// A position in a list.
    Index(usize),
}

impl From<&str> for LocPart {
    fn from(field: &str) -> Self {
        Self::Field(field.to_owned())
    }
}

/// One problem with a request's input, in FastAPI's 422 shape. It never carries the input itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationIssue {
    /// Where the problem is, e.g. `["body", "password"]`.
    pub loc: Vec<LocPart>,
    /// What is wrong, for people.
    pub msg: String,
    /// What is wrong, for programs (`missing`, `json_invalid`, `value_error`, ...).
    #[serde(rename = "type")]
    pub kind: String,
}

impl ValidationIssue {
    /// An issue at `loc`.
    ///
    /// ```
    /// use aiq_core::error::ValidationIssue;
    /// let issue = ValidationIssue::new(["body", "email"], "Field required", "missing");
    /// assert_eq!(serde_json::to_value(&issue).unwrap()["loc"][1], "email");
    /// ```
    pub fn new<'a>(
        loc: impl IntoIterator<Item = &'a str>,
        msg: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            loc: loc.into_iter().map(LocPart::from).collect(),
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 with this message.
    #[error("{0}")]
    BadRequest(String),
    /// 401 with this message and `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 with this message.
    #[error("{0}")]
    Forbidden(String),
    /// 404 with this message.
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// 408: the request ran longer than `REQUEST_TIMEOUT_SECONDS`.
    #[error("Request timed out")]
    Timeout,
    /// 409 with this message.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the limit.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// 415 with this message.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429 for a device that used up its guest tests: this message, `Retry-After: 1` and
    /// `X-Tests-Remaining: 0`. The old backend sent `Retry-After: 0`; HTTP asks for a delay of at
    /// least a second. The limit never resets, so no wait would help: the smallest delay keeps a
    /// client that waits for `Retry-After` before retrying from holding its user's screen.
    #[error("{0}")]
    GuestLimitReached(String),
    /// 401 for a request to an admin-token route without the right `X-Admin-Token` (no
    /// `WWW-Authenticate`: it is not a bearer scheme).
    #[error("Invalid or missing admin token.")]
    AdminTokenRejected,
    /// 503 with this message: the feature needs a setting the operator has not made (the
    /// message names it; it never contains a secret).
    #[error("{0}")]
    NotConfigured(&'static str),
    /// 422 with these issues.
    #[error("invalid request")]
    Validation(Vec<ValidationIssue>),
    /// 503: a dependency (the database) is unreachable; the cause is logged.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// 500: a bug or an unexpected failure; the cause is logged with an error id.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct InternalDetail {
    detail: &'static str,
    error_id: String,
}

/// The 500 response for a failure already logged under `error_id`.
pub(crate) fn internal_error_response(error_id: Uuid) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(InternalDetail {
            detail: "Internal server error",
            error_id: error_id.to_string(),
        }),
    )
        .into_response()
}

/// A `{"detail": message}` response with `status`.
pub(crate) fn detail_response(status: StatusCode, message: &str) -> Response {
    (status, Json(Detail { detail: message })).into_response()
}

impl ApiError {
    /// The HTTP status this error answers with.
    ///
    /// ```
    /// use aiq_core::error::ApiError;
    /// assert_eq!(ApiError::Conflict("Email already registered.".into()).status().as_u16(), 409);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::AdminTokenRejected => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::GuestLimitReached(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::NotConfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            Self::Validation(issues) => {
                #[derive(Serialize)]
                struct Issues {
                    detail: Vec<ValidationIssue>,
                }
                (status, Json(Issues { detail: issues })).into_response()
            }
            Self::Internal(source) => {
                metrics::counter!(crate::telemetry::APP_ERRORS, "error.type" => "internal")
                    .increment(1);
                let error_id = Uuid::new_v4();
                tracing::error!(%error_id, error = %source, "internal error");
                internal_error_response(error_id)
            }
            Self::Unavailable(source) => {
                metrics::counter!(crate::telemetry::APP_ERRORS, "error.type" => "unavailable")
                    .increment(1);
                // Every request fails alike while a dependency is down.
                static UNAVAILABLE: LogBudget = LogBudget::new(5);
                limited!(UNAVAILABLE, error, error = %source, "dependency unavailable");
                detail_response(
                    status,
                    "Service temporarily unavailable. Please try again later.",
                )
            }
            Self::Unauthorized(message) => {
                let mut response = detail_response(status, &message);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Self::GuestLimitReached(message) => {
                let mut response = detail_response(status, &message);
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                headers.insert("x-tests-remaining", HeaderValue::from_static("0"));
                response
            }
            other => detail_response(status, &other.to_string()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(source) => Self::Unavailable(source),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::NotFound(missing) => Self::NotFound(missing.message().into()),
            AdminError::Reason(reason) => {
                let (field, kind) = match reason {
                    ReasonError::Missing => ("reason", "missing"),
                    ReasonError::TooLong => ("reason", "string_too_long"),
                    ReasonError::OverrideLength => ("override_reason", "string_length"),
                };
                Self::Validation(vec![ValidationIssue::new(
                    ["body", field],
                    reason.to_string(),
                    kind,
                )])
            }
            AdminError::Storage(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Conflict;

    #[test]
    fn storage_errors_map_to_5xx() {
        let unavailable = ApiError::from(StorageError::Unavailable("down".into()));
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        let conflict = ApiError::from(StorageError::Conflict(Conflict::UserEmail));
        assert_eq!(conflict.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn unauthorized_carries_the_bearer_challenge() {
        let response =
            ApiError::Unauthorized("Invalid authentication token.".into()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
