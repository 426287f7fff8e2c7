//! The overview: the counts and the three charts.

use std::sync::Arc;

use askama::Template;
use axum::extract::State as Shared;
use axum::response::Response;
use time::Duration;

use super::{Nav, render};
use crate::charts;
use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;

/// Selectable items a domain x difficulty cell should hold (the admin API's `healthy_min`
/// default).
pub(crate) const HEALTHY_MIN: u64 = 50;

/// Days of the completions chart.
const DAYS: u16 = 90;

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    nav: Nav,
    notice: Option<&'static str>,
    counts: aiq_core::storage::OverviewCounts,
    estimate_from: u64,
    score_sample: u64,
    low_cells: usize,
    healthy_min: u64,
    iq_chart: String,
    days_chart: String,
    inventory_chart: String,
}

/// `GET /admin/`.
pub(crate) async fn show(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
) -> Result<Response, PageError> {
    let store = &state.storage;
    let today = state.now().date();
    let since = today - Duration::days(i64::from(DAYS) - 1);
    let (counts, scores, days, cells) = tokio::try_join!(
        store.overview_counts(),
        store.iq_score_counts(),
        store.completions_per_day(since),
        store.inventory(),
    )?;
    let cells_with_enough = cells.iter().filter(|c| c.selectable >= HEALTHY_MIN).count();
    let all_cells =
        aiq_core::questions::Domain::ALL.len() * aiq_core::questions::Difficulty::ALL.len();
    render(&OverviewPage {
        nav: Nav::new(&admin, "overview"),
        notice: None,
        counts,
        estimate_from: aiq_core::storage::ESTIMATE_FROM,
        score_sample: aiq_core::storage::SCORE_SAMPLE,
        low_cells: all_cells - cells_with_enough,
        healthy_min: HEALTHY_MIN,
        iq_chart: charts::iq_distribution(&scores),
        days_chart: charts::completions_per_day(&days, today, DAYS),
        inventory_chart: charts::inventory_heat_map(&cells, HEALTHY_MIN),
    })
}
