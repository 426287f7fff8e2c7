//! What can go wrong on a page, and the one place where it becomes an HTTP answer.

use aiq_core::admin::AdminError;
use aiq_core::storage::StorageError;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

/// A page or action that could not be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// No such record.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The form or query was not acceptable; the message says why (it never echoes input).
    #[error("{0}")]
    BadRequest(String),
    /// The CSRF token is missing or not this session's.
    #[error("the form's security token is missing or expired")]
    Csrf,
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Something else failed on our side.
    #[error("{0}")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

impl From<AdminError> for PageError {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::NotFound(missing) => Self::NotFound(missing.noun()),
            AdminError::Reason(reason) => Self::BadRequest(reason.to_string()),
            AdminError::Storage(err) => Self::Storage(err),
        }
    }
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Storage(StorageError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Storage(StorageError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Storage(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message) = match &self {
            Self::NotFound(_) => ("Not found", self.to_string()),
            Self::BadRequest(message) => ("Not accepted", message.clone()),
            Self::Csrf => (
                "Form expired",
                "This form's security token is missing or no longer valid (or the form did not \
                 come from this dashboard). Go back, reload the page and try again."
                    .to_owned(),
            ),
            Self::Storage(StorageError::Conflict(_)) => (
                "Conflict",
                "The record changed meanwhile; reload the page and try again.".to_owned(),
            ),
            Self::Storage(_) | Self::Internal(_) => {
                let error_id = uuid_like();
                tracing::error!(error = %self, %error_id, "admin page failed");
                (
                    "Something went wrong",
                    format!(
                        "The request failed on the server (error id {error_id}); the logs have the details."
                    ),
                )
            }
        };
        let page = ErrorPage { title, message };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, "error page failed to render");
                status.into_response()
            }
        }
    }
}

/// A short random id that ties an error page to its log line.
fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return "unknown".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
