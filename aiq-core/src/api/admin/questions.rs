//! `/v1/admin/questions/*` and `/v1/admin/inventory-health`: a question's quality flag and
//! anchor designation, and how many selectable items each domain and difficulty holds.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::Operator;
use crate::admin::{self, Missing};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, query_in_range};
use crate::questions::{Difficulty, Domain};
use crate::state::AppState;
use crate::storage::QualityFlag;
use crate::text::FreeText;

/// A new quality flag.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct QualityFlagUpdateRequest {
    quality_flag: QualityFlag,
    /// Why (required to deactivate; at most 255 characters). Free text: NUL is stored as
    /// U+FFFD.
    #[schema(value_type = Option<String>)]
    reason: Option<FreeText>,
}

/// The flag before and after.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QualityFlagUpdateResponse {
    question_id: i64,
    previous_flag: QualityFlag,
    new_flag: QualityFlag,
    reason: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

/// Sets a question's quality flag: `under_review` and `deactivated` keep it out of tests,
/// `normal` returns it.
#[utoipa::path(
    patch,
    path = "/admin/questions/{question_id}/quality-flag",
    tag = "admin",
    operation_id = "update_quality_flag_v1_admin_questions__question_id__quality_flag_patch",
    security(("AdminToken" = [])),
    params(("question_id" = i64, Path, description = "The question")),
    request_body = QualityFlagUpdateRequest,
    responses(
        (status = 200, description = "The flag before and after", body = QualityFlagUpdateResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such question"),
        (status = 422, description = "Unknown flag, or a missing or too long reason"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_quality_flag(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(question_id): ApiPath<i64>,
    ApiJson(body): ApiJson<QualityFlagUpdateRequest>,
) -> Result<Json<QualityFlagUpdateResponse>, ApiError> {
    let now = crate::time::now();
    let reason = body.reason.as_ref().map(FreeText::as_str);
    let storage = state.storage.as_ref();
    let set = admin::set_quality_flag(
        storage,
        &operator.actor(),
        question_id,
        body.quality_flag,
        reason,
        now,
    )
    .await?;
    Ok(Json(QualityFlagUpdateResponse {
        question_id,
        previous_flag: set.previous,
        new_flag: body.quality_flag,
        reason: set.reason,
        updated_at: now,
    }))
}

/// Whether to designate the question as an anchor item.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnchorToggleRequest {
    is_anchor: bool,
}

/// The designation before and after.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnchorToggleResponse {
    question_id: i64,
    previous_value: bool,
    new_value: bool,
    /// When it was designated (null when cleared).
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    anchor_designated_at: Option<OffsetDateTime>,
}

/// Sets or clears a question's anchor designation.
#[utoipa::path(
    patch,
    path = "/admin/questions/{question_id}/anchor",
    tag = "admin",
    operation_id = "toggle_anchor_v1_admin_questions__question_id__anchor_patch",
    security(("AdminToken" = [])),
    params(("question_id" = i64, Path, description = "The question")),
    request_body = AnchorToggleRequest,
    responses(
        (status = 200, description = "The designation before and after", body = AnchorToggleResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such question"),
        (status = 422, description = "Invalid body"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_anchor(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(question_id): ApiPath<i64>,
    ApiJson(body): ApiJson<AnchorToggleRequest>,
) -> Result<Json<AnchorToggleResponse>, ApiError> {
    let question = state
        .storage
        .questions_by_ids(&[question_id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::NotFound(Missing::Question.message().into()))?;
    let now = crate::time::now();
    if !state
        .storage
        .set_anchor(question_id, body.is_anchor, now)
        .await?
    {
        return Err(ApiError::NotFound(Missing::Question.message().into()));
    }
    let action = if body.is_anchor {
        "question.anchor.set"
    } else {
        "question.anchor.clear"
    };
    operator
        .audit(&state, action, format!("question:{question_id}"), None)
        .await?;
    Ok(Json(AnchorToggleResponse {
        question_id,
        previous_value: question.is_anchor(),
        new_value: body.is_anchor,
        anchor_designated_at: body.is_anchor.then_some(now),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct InventoryQuery {
    /// A stratum with at least this many selectable items is healthy (default 50).
    healthy_min: Option<i64>,
    /// Below this it is critical, between the two a warning (default 20).
    warning_min: Option<i64>,
}

/// A stratum's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InventoryStatus {
    /// At least `healthy_min` items.
    Healthy,
    /// At least `warning_min` items.
    Warning,
    /// Fewer.
    Critical,
}

/// One domain x difficulty stratum.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InventoryStratum {
    question_type: Domain,
    difficulty: Difficulty,
    /// Items tests may select (active, quality flag `normal`).
    count: u64,
    status: InventoryStatus,
}

/// A stratum below the healthy minimum.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InventoryAlert {
    question_type: Domain,
    difficulty: Difficulty,
    count: u64,
    /// The minimum it is below.
    threshold: u64,
    message: String,
    /// `warning` or `critical`.
    severity: InventoryStatus,
}

/// The thresholds applied.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InventoryThresholds {
    healthy_min: u64,
    warning_min: u64,
}

/// The item bank's health per stratum.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InventoryHealthResponse {
    /// Selectable items in all strata.
    total_active_questions: u64,
    /// Every domain x difficulty stratum, empty ones included, in domain then difficulty
    /// order.
    strata: Vec<InventoryStratum>,
    /// The strata below the healthy minimum, most critical first.
    alerts: Vec<InventoryAlert>,
    thresholds: InventoryThresholds,
    /// Strata per status (`healthy`, `warning`, `critical`).
    summary: BTreeMap<String, u64>,
}

/// How many selectable items each domain x difficulty stratum holds, against thresholds.
#[utoipa::path(
    get,
    path = "/admin/inventory-health",
    tag = "admin",
    operation_id = "get_inventory_health_v1_admin_inventory_health_get",
    security(("AdminToken" = [])),
    params(InventoryQuery),
    responses(
        (status = 200, description = "Inventory health", body = InventoryHealthResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 422, description = "A negative threshold, or warning_min above healthy_min"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn inventory_health(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<InventoryQuery>,
) -> Result<Json<InventoryHealthResponse>, ApiError> {
    let healthy_min = query_in_range("healthy_min", query.healthy_min.unwrap_or(50), 0, None)?;
    let warning_min = query_in_range(
        "warning_min",
        query.warning_min.unwrap_or(20),
        0,
        Some(healthy_min),
    )?;
    let (healthy_min, warning_min) = (healthy_min.unsigned_abs(), warning_min.unsigned_abs());
    let cells = state.storage.inventory().await?;
    let mut summary: BTreeMap<String, u64> = ["healthy", "warning", "critical"]
        .into_iter()
        .map(|status| (status.to_owned(), 0))
        .collect();
    let mut strata = Vec::new();
    let mut alerts = Vec::new();
    for domain in Domain::ALL {
        for difficulty in Difficulty::ALL {
            let count = cells
                .iter()
                .find(|c| c.domain == domain && c.difficulty == difficulty)
                .map_or(0, |c| c.selectable);
            let (status, name, threshold, minimum) = if count >= healthy_min {
                (InventoryStatus::Healthy, "healthy", healthy_min, "")
            } else if count >= warning_min {
                (InventoryStatus::Warning, "warning", healthy_min, "healthy")
            } else {
                (
                    InventoryStatus::Critical,
                    "critical",
                    warning_min,
                    "warning",
                )
            };
            *summary.entry(name.to_owned()).or_default() += 1;
            if status != InventoryStatus::Healthy {
                alerts.push(InventoryAlert {
                    question_type: domain,
                    difficulty,
                    count,
                    threshold,
                    message: format!(
                        "{} {}: {count} selectable questions, below the {minimum} minimum of \
                         {threshold}",
                        domain.as_str(),
                        difficulty.as_str()
                    ),
                    severity: status,
                });
            }
            strata.push(InventoryStratum {
                question_type: domain,
                difficulty,
                count,
                status,
            });
        }
    }
    alerts.sort_by_key(|alert| std::cmp::Reverse(alert.severity));
    Ok(Json(InventoryHealthResponse {
        total_active_questions: strata.iter().map(|s| s.count).sum(),
        strata,
        alerts,
        thresholds: InventoryThresholds {
            healthy_min,
            warning_min,
        },
        summary,
    }))
}
