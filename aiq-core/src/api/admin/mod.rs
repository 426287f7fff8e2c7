//! `/v1/admin/*`: the operations scripts need (user flags, deleting test sessions, validity
//! overrides, question flags, inventory health, reliability, scoring configuration), behind
//! `X-Admin-Token`. Shapes follow the old backend's (original-ops.md §6.4).
//!
//! Every change is written to the admin audit log ([`Operator::audit`]) with the actor
//! `admin-token`, the action, its target and the client address; reads and dry runs are not.

mod config;
mod questions;
mod reliability;
mod sessions;
mod users;

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{self, Actor};
use crate::auth::AdminToken;
use crate::error::ApiError;
use crate::extract::value_issue;
use crate::input::LookupEmail;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            users::get_cooldown_bypass,
            users::set_cooldown_bypass
        ))
        .routes(routes!(users::set_cooldown_bypass_by_email))
        .routes(routes!(users::get_admin_status, users::set_admin_status))
        .routes(routes!(sessions::delete_session))
        .routes(routes!(sessions::delete_sessions_by_email))
        .routes(routes!(sessions::get_validity, sessions::override_validity))
        .routes(routes!(questions::set_quality_flag))
        .routes(routes!(questions::set_anchor))
        .routes(routes!(questions::inventory_health))
        .routes(routes!(reliability::reliability))
        .routes(routes!(
            config::get_weighted_scoring,
            config::set_weighted_scoring
        ))
        .routes(routes!(
            config::get_domain_weights,
            config::set_domain_weights
        ))
}

/// The `email` query or path parameter (`location`) of the by-email routes, checked in the
/// handler rather than by its type so that a 422 names it (`["query", "email"]`).
fn email_parameter(raw: String, location: &'static str) -> Result<LookupEmail, ApiError> {
    LookupEmail::try_from(raw).map_err(|message| {
        ApiError::Validation(vec![value_issue(
            vec![location.into(), "email".into()],
            &message,
        )])
    })
}

/// Who the audit log names for changes made through this API.
const ACTOR: &str = "admin-token";

/// A request that carried the right admin token (else the extractor answers 401, or 503 when
/// `ADMIN_TOKEN` is unset), with the client address the audit log records: the rate limiter's
/// (the trusted proxy header, else the socket's peer).
#[derive(Debug, Clone, Copy)]
pub(super) struct Operator {
    ip: Option<IpAddr>,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        AdminToken::from_request_parts(parts, state).await?;
        let trusted = HeaderName::try_from(state.config.rate_limit.trusted_ip_header.trim()).ok();
        Ok(Self {
            ip: crate::middleware::client_ip(&parts.headers, &parts.extensions, trusted.as_ref()),
        })
    }
}

impl Operator {
    /// The audit log's name for this request's operator.
    fn actor(&self) -> Actor {
        Actor::new(ACTOR, self.ip)
    }

    /// Appends `action` on `target` (`user:42`) to the audit log, now ([`admin::record`]).
    async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: String,
        detail: Option<String>,
    ) -> Result<(), ApiError> {
        let storage = state.storage.as_ref();
        admin::record(
            storage,
            &self.actor(),
            action,
            Some(target),
            detail,
            crate::time::now(),
        )
        .await?;
        Ok(())
    }
}
