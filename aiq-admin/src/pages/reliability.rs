//! Reliability: Cronbach's alpha over completed fixed-form tests, and what it was computed
//! from.

use std::sync::Arc;

use aiq_core::reliability::{cronbach_alpha_from_appearances, sessions_considered};
use aiq_core::scoring::MIN_ALPHA_SESSIONS;
use askama::Template;
use axum::extract::State as Shared;
use axum::response::Response;

use super::{Nav, render};
use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;

#[derive(Template)]
#[template(path = "reliability.html")]
struct ReliabilityPage {
    nav: Nav,
    notice: Option<&'static str>,
    completed: u64,
    items_answered: usize,
    responses: u64,
    min_sessions: usize,
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
    let counts = state.storage.overview_counts().await?;
    let appearances = state
        .storage
        .item_appearances(sessions_considered(MIN_ALPHA_SESSIONS as u64))
        .await?;
    let alpha = cronbach_alpha_from_appearances(
        state.storage.as_ref(),
        &appearances,
        MIN_ALPHA_SESSIONS as u64,
    )
    .await?;
    let mut page = ReliabilityPage {
        nav: Nav::new(&admin, "reliability"),
        notice: None,
        completed: counts.completed,
        items_answered: appearances.items.len(),
        responses: appearances.items.iter().map(|(_, count)| count).sum(),
        min_sessions: MIN_ALPHA_SESSIONS,
        alpha: None,
        verdict: "",
        items_used: 0,
        sessions_used: 0,
        unavailable: None,
    };
    match alpha {
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
