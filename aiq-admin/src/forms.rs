//! The extractor of every action: a logged-in operator, a form whose CSRF token is theirs, and
//! where the request came from (for the audit log).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;

/// The largest form body accepted (uploads go through multipart, not here).
const FORM_LIMIT: usize = 64 * 1024;

/// A checked form submission.
#[derive(Debug)]
pub(crate) struct Action<T> {
    /// Who submitted it.
    pub(crate) admin: Admin,
    /// The fields.
    pub(crate) form: T,
    /// From where.
    pub(crate) ip: Option<IpAddr>,
}

impl<T> Action<T> {
    /// Who the audit log names for this action.
    pub(crate) fn actor(&self) -> aiq_core::admin::Actor {
        aiq_core::admin::Actor::new(self.admin.username.as_str(), self.ip)
    }
}

#[derive(Deserialize)]
struct Token {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<State>> for Action<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<State>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ip = state.client_ip(&parts);
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            PageError::BadRequest("The form is larger than this dashboard accepts.".into())
                .into_response()
        })?;
        let token: Token =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| PageError::Csrf.into_response())?;
        if !token.csrf.is_some_and(|token| admin.csrf_matches(&token)) {
            tracing::warn!(admin = %admin.username, "admin form rejected: bad CSRF token");
            return Err(PageError::Csrf.into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            PageError::BadRequest("The form's fields are not what this action expects.".into())
                .into_response()
        })?;
        Ok(Self { admin, form, ip })
    }
}

/// The form of an on/off action (`value=true` or `value=false`).
#[derive(Debug, Deserialize)]
pub(crate) struct Toggle {
    pub(crate) value: bool,
}
