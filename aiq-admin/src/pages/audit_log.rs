//! The audit log: every admin action, newest first.

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::storage::AuditEntry;
use askama::Template;
use axum::extract::{Query, State as Shared};
use axum::response::Response;

use super::page_request;
use super::{Nav, Pager, render, when};
use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;

struct AuditLine {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

impl From<AuditEntry> for AuditLine {
    fn from(line: AuditEntry) -> Self {
        let e = line.entry;
        Self {
            at: when(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    notice: Option<&'static str>,
    lines: Vec<AuditLine>,
    pager: Pager,
}

/// `GET /admin/audit`.
pub(crate) async fn list(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let request = page_request(&params)?;
    let rows = state.storage.audit_log(request.clone()).await?;
    render(&AuditPage {
        nav: Nav::new(&admin, "audit"),
        notice: None,
        pager: Pager::new("/admin/audit", &[], &request, &rows),
        lines: rows.items.into_iter().map(AuditLine::from).collect(),
    })
}
