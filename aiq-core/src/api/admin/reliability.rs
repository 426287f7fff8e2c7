//! `/v1/admin/reliability`: Cronbach's alpha and split-half reliability over the latest
//! completed sessions ([`crate::reliability::LATEST_SESSIONS`]), with what they were computed
//! from. At the default minimum the report is the one the instances share
//! ([`crate::reliability::latest_report`]; `last_calculated` says when it was computed).
//! Test-retest reliability is not computed here (it needs every user's result history) and is
//! reported as such.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::Operator;
use crate::error::ApiError;
use crate::extract::{ApiQuery, query_in_range};
use crate::scoring::{AlphaUnavailable, MIN_ALPHA_SESSIONS};
use crate::state::AppState;

/// Alpha and the Spearman-Brown split-half reliability are acceptable from here.
const ACCEPTABLE: f64 = 0.70;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReliabilityQuery {
    /// Completed sessions needed for alpha and split-half (10 or more; default 100).
    min_sessions: Option<i64>,
}

/// How good a reliability coefficient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Interpretation {
    /// 0.90 or more.
    Excellent,
    /// 0.80 or more.
    Good,
    /// 0.70 or more.
    Acceptable,
    /// 0.60 or more.
    Questionable,
    /// 0.50 or more.
    Poor,
    /// Below 0.50.
    Unacceptable,
}

impl Interpretation {
    fn of(value: f64) -> Self {
        [
            (0.90, Self::Excellent),
            (0.80, Self::Good),
            (ACCEPTABLE, Self::Acceptable),
            (0.60, Self::Questionable),
            (0.50, Self::Poor),
        ]
        .into_iter()
        .find(|(floor, _)| value >= *floor)
        .map_or(Self::Unacceptable, |(_, interpretation)| interpretation)
    }
}

/// Cronbach's alpha.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InternalConsistencyMetrics {
    /// Null when the data does not allow it (see `reason`).
    cronbachs_alpha: Option<f64>,
    interpretation: Option<Interpretation>,
    /// Alpha is 0.70 or more.
    meets_threshold: bool,
    /// Sessions behind alpha (completed sessions when it could not be computed).
    num_sessions: u64,
    /// Items behind alpha.
    num_items: Option<u64>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_calculated: Option<OffsetDateTime>,
    /// Why alpha is null.
    reason: Option<String>,
}

/// Test-retest reliability: not computed by this service.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestRetestMetrics {
    /// Always null.
    correlation: Option<f64>,
    /// Always null.
    interpretation: Option<Interpretation>,
    meets_threshold: bool,
    num_pairs: u64,
    /// Why it is null.
    reason: Option<String>,
}

/// Split-half reliability (odd against even items, Spearman-Brown corrected).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SplitHalfMetrics {
    raw_correlation: Option<f64>,
    spearman_brown: Option<f64>,
    /// The corrected value is 0.70 or more.
    meets_threshold: bool,
    num_sessions: u64,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_calculated: Option<OffsetDateTime>,
    /// Why it is null.
    reason: Option<String>,
}

/// The verdict over all the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OverallStatus {
    /// Alpha 0.90 or more.
    Excellent,
    /// Alpha 0.70 or more.
    Acceptable,
    /// Alpha below 0.70.
    NeedsAttention,
    /// No alpha yet.
    InsufficientData,
}

/// Something to do about reliability.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReliabilityRecommendation {
    /// `data_collection`, `item_review` or `threshold_warning`.
    category: &'static str,
    message: String,
    /// `high`, `medium` or `low`.
    priority: &'static str,
}

/// The reliability report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReliabilityReportResponse {
    internal_consistency: InternalConsistencyMetrics,
    test_retest: TestRetestMetrics,
    split_half: SplitHalfMetrics,
    overall_status: OverallStatus,
    recommendations: Vec<ReliabilityRecommendation>,
}

/// Cronbach's alpha and split-half reliability over the latest completed sessions.
#[utoipa::path(
    get,
    path = "/admin/reliability",
    tag = "admin",
    operation_id = "get_reliability_report_endpoint_v1_admin_reliability_get",
    security(("AdminToken" = [])),
    params(ReliabilityQuery),
    responses(
        (status = 200, description = "The report", body = ReliabilityReportResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 422, description = "min_sessions below 10"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn reliability(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<ReliabilityQuery>,
) -> Result<Json<ReliabilityReportResponse>, ApiError> {
    let min_sessions = query_in_range(
        "min_sessions",
        query.min_sessions.unwrap_or(100),
        10,
        Some(1_000_000),
    )?
    .unsigned_abs();
    let now = crate::time::now();
    let storage = state.storage.as_ref();
    // The default minimum is the confidence interval's: its report is shared by the instances.
    let report = if min_sessions == MIN_ALPHA_SESSIONS as u64 {
        crate::reliability::latest_report(storage, now).await?
    } else {
        crate::reliability::report(storage, min_sessions, now).await?
    };
    // The completed sessions the report looked at (the latest ones, at most
    // `sessions_considered`). Split-half over the same population as before: nothing until
    // `min_sessions` sessions are completed.
    let completed = report.sessions;
    let enough = report.enough_sessions();
    let split = report.split_half;
    let computed_at = report.computed_at;
    let mut recommendations = Vec::new();
    let (internal_consistency, overall_status) = match report.alpha {
        Ok(report) => {
            let status = if report.alpha >= 0.90 {
                OverallStatus::Excellent
            } else if report.alpha >= ACCEPTABLE {
                OverallStatus::Acceptable
            } else {
                recommendations.push(ReliabilityRecommendation {
                    category: "item_review",
                    message: format!(
                        "Cronbach's alpha is {:.2}, below {ACCEPTABLE:.2}: review the items \
                         with low or negative discrimination.",
                        report.alpha
                    ),
                    priority: "high",
                });
                OverallStatus::NeedsAttention
            };
            let metrics = InternalConsistencyMetrics {
                cronbachs_alpha: Some(report.alpha),
                interpretation: Some(Interpretation::of(report.alpha)),
                meets_threshold: report.alpha >= ACCEPTABLE,
                num_sessions: report.sessions as u64,
                num_items: Some(report.items as u64),
                last_calculated: Some(computed_at),
                reason: None,
            };
            (metrics, status)
        }
        Err(unavailable) => {
            recommendations.push(ReliabilityRecommendation {
                category: "data_collection",
                message: format!("Cronbach's alpha needs more data: {unavailable}."),
                priority: "high",
            });
            let found = match unavailable {
                AlphaUnavailable::TooFewSessions { found, .. } => found as u64,
                _ => completed,
            };
            let metrics = InternalConsistencyMetrics {
                cronbachs_alpha: None,
                interpretation: None,
                meets_threshold: false,
                num_sessions: found,
                num_items: None,
                last_calculated: None,
                reason: Some(unavailable.to_string()),
            };
            (metrics, OverallStatus::InsufficientData)
        }
    };
    let split_half = SplitHalfMetrics {
        raw_correlation: split.map(|s| s.raw_correlation),
        spearman_brown: split.map(|s| s.spearman_brown),
        meets_threshold: split.is_some_and(|s| s.spearman_brown >= ACCEPTABLE),
        num_sessions: split.map_or(if enough { completed } else { 0 }, |s| s.sessions as u64),
        last_calculated: split.map(|_| computed_at),
        reason: match (&split, enough) {
            (Some(_), _) => None,
            (None, false) => Some(format!("fewer than {min_sessions} completed sessions")),
            (None, true) => Some("the odd and even halves have no variance".to_owned()),
        },
    };
    Ok(Json(ReliabilityReportResponse {
        internal_consistency,
        test_retest: TestRetestMetrics {
            correlation: None,
            interpretation: None,
            meets_threshold: false,
            num_pairs: 0,
            reason: Some(
                "not computed by this service: it needs every user's result history".to_owned(),
            ),
        },
        split_half,
        overall_status,
        recommendations,
    }))
}
