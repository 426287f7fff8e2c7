//! Reliability: Cronbach's alpha over the latest completed tests, and what it was computed
//! from: the report the service's instances share ([`latest_report`]).

use std::sync::Arc;

use aiq_core::reliability::{LATEST_SESSIONS, latest_report};
use aiq_core::scoring::MIN_ALPHA_SESSIONS;
use askama::Template;
use axum::extract::State as Shared;
use axum::response::Response;

use super::{Nav, render, when};
use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;

#[derive(Template)]
#[template(path = "reliability.html")]
struct ReliabilityPage {
    nav: Nav,
    notice: Option<&'static str>,
    completed: u64,
    latest: u64,
    items_answered: u64,
    responses: u64,
    min_sessions: usize,
    computed_at: String,
    alpha: Option<String>,
    verdict: &'static str,
    items_used: usize,
    sessions_used: usize,
    unavailable: Option<String>,
}

/// The usual reading of an alpha value.
fn verdict(alpha: f64) -> &'static str {
    match alpha {
        a if a >= 0.9 => "excellent",
        a if a >= 0.8 => "good",
        a if a >= 0.7 => "acceptable",
        a if a >= 0.6 => "questionable",
        a if a >= 0.5 => "poor",
        _ => "unacceptable",
    }
}

/// `GET /admin/reliability`.
pub(crate) async fn show(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
) -> Result<Response, PageError> {
    let report = latest_report(state.storage.as_ref(), state.now()).await?;
    let mut page = ReliabilityPage {
        nav: Nav::new(&admin, "reliability"),
        notice: None,
        completed: report.sessions,
        latest: LATEST_SESSIONS,
        items_answered: report.items_answered,
        responses: report.responses,
        min_sessions: MIN_ALPHA_SESSIONS,
        computed_at: when(report.computed_at),
        alpha: None,
        verdict: "",
        items_used: 0,
        sessions_used: 0,
        unavailable: None,
    };
    match report.alpha {
        Ok(report) => {
            page.alpha = Some(format!("{:.4}", report.alpha));
            page.verdict = verdict(report.alpha);
            page.items_used = report.items;
            page.sessions_used = report.sessions;
        }
        Err(why) => page.unavailable = Some(why.to_string()),
    }
    render(&page)
}
