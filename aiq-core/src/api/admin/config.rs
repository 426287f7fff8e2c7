//! `/v1/admin/config/*`: whether the weighted IQ variant is used, and its domain weights
//! (`system_config` keys `use_weighted_scoring` and `domain_weights`, read at each submit).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::Operator;
use crate::error::{ApiError, ValidationIssue};
use crate::extract::ApiJson;
use crate::questions::Domain;
use crate::state::AppState;
use crate::storage::{DOMAIN_WEIGHTS, USE_WEIGHTED_SCORING};

/// Whether weighted scoring is on, with the weights it would use.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WeightedScoringStatus {
    enabled: bool,
    /// `{domain: weight}`, when set.
    domain_weights: Option<BTreeMap<String, f64>>,
    /// When the switch was last set through this API.
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    updated_at: Option<OffsetDateTime>,
}

/// Switches weighted scoring on or off.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct WeightedScoringToggleRequest {
    enabled: bool,
}

/// The switch as set.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WeightedScoringToggleResponse {
    enabled: bool,
    message: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

/// New domain weights.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DomainWeightsRequest {
    /// A positive weight for each of the six domains (scoring normalises them).
    weights: BTreeMap<String, f64>,
}

/// The domain weights.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DomainWeightsResponse {
    weights: BTreeMap<String, f64>,
    message: String,
    /// When they were set (null when read back: the store keeps no time for them).
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    updated_at: Option<OffsetDateTime>,
}

/// The stored weights, if they are an object of numbers.
async fn stored_weights(state: &AppState) -> Result<Option<BTreeMap<String, f64>>, ApiError> {
    Ok(state
        .storage
        .system_config(DOMAIN_WEIGHTS)
        .await?
        .and_then(|value| serde_json::from_value(value).ok()))
}

/// Whether weighted scoring is on, and the domain weights.
#[utoipa::path(
    get,
    path = "/admin/config/weighted-scoring",
    tag = "admin",
    operation_id = "get_weighted_scoring_status_v1_admin_config_weighted_scoring_get",
    security(("AdminToken" = [])),
    responses(
        (status = 200, description = "The switch", body = WeightedScoringStatus),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn get_weighted_scoring(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<WeightedScoringStatus>, ApiError> {
    let switch = state.storage.system_config(USE_WEIGHTED_SCORING).await?;
    let field = |name: &str| switch.as_ref().and_then(|value| value.get(name));
    Ok(Json(WeightedScoringStatus {
        enabled: field("enabled")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        domain_weights: stored_weights(&state).await?,
        updated_at: field("updated_at")
            .and_then(|at| serde_json::from_value::<Stamp>(at.clone()).ok())
            .map(|Stamp(at)| at),
    }))
}

/// An RFC 3339 time inside a stored JSON value.
#[derive(Deserialize)]
struct Stamp(#[serde(with = "crate::time::rfc3339")] OffsetDateTime);

/// Switches weighted scoring on or off; submits from now on use it.
#[utoipa::path(
    post,
    path = "/admin/config/weighted-scoring",
    tag = "admin",
    operation_id = "toggle_weighted_scoring_v1_admin_config_weighted_scoring_post",
    security(("AdminToken" = [])),
    request_body = WeightedScoringToggleRequest,
    responses(
        (status = 200, description = "The switch as set", body = WeightedScoringToggleResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 422, description = "Invalid body"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_weighted_scoring(
    State(state): State<AppState>,
    operator: Operator,
    ApiJson(body): ApiJson<WeightedScoringToggleRequest>,
) -> Result<Json<WeightedScoringToggleResponse>, ApiError> {
    let now = crate::time::now();
    let value = json!({
        "enabled": body.enabled,
        "updated_at": crate::time::format_rfc3339(now),
    });
    state
        .storage
        .set_system_config(USE_WEIGHTED_SCORING, value, now)
        .await?;
    operator
        .audit(
            &state,
            "config.weighted_scoring.set",
            format!("config:{USE_WEIGHTED_SCORING}"),
            Some(format!("enabled: {}", body.enabled)),
        )
        .await?;
    let message = if body.enabled {
        "Weighted scoring enabled: new results use the domain weights."
    } else {
        "Weighted scoring disabled: new results weigh every domain equally."
    };
    Ok(Json(WeightedScoringToggleResponse {
        enabled: body.enabled,
        message: message.to_owned(),
        updated_at: now,
    }))
}

/// The domain weights; null when none are set.
#[utoipa::path(
    get,
    path = "/admin/config/domain-weights",
    tag = "admin",
    operation_id = "get_domain_weights_config_v1_admin_config_domain_weights_get",
    security(("AdminToken" = [])),
    responses(
        (status = 200, description = "The weights, or null", body = Option<DomainWeightsResponse>),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn get_domain_weights(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<Option<DomainWeightsResponse>>, ApiError> {
    Ok(Json(stored_weights(&state).await?.map(|weights| {
        DomainWeightsResponse {
            weights,
            message: "Domain weights are configured.".to_owned(),
            updated_at: None,
        }
    })))
}

/// Checks that `weights` has exactly the six domains, each positive and finite.
fn validate(weights: &BTreeMap<String, f64>) -> Result<(), ApiError> {
    let mut issues = Vec::new();
    for (key, weight) in weights {
        let loc = ["body", "weights", key.as_str()];
        if Domain::parse(key).is_none() {
            issues.push(ValidationIssue::new(
                loc,
                "Not a domain: use pattern, logic, spatial, math, verbal or memory",
                "value_error",
            ));
        } else if !(weight.is_finite() && *weight > 0.0) {
            issues.push(ValidationIssue::new(
                loc,
                "A weight must be a positive number",
                "value_error",
            ));
        }
    }
    for domain in Domain::ALL {
        if !weights.contains_key(domain.as_str()) {
            issues.push(ValidationIssue::new(
                ["body", "weights", domain.as_str()],
                "Field required",
                "missing",
            ));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(issues))
    }
}

/// Sets the domain weights of weighted scoring (one positive weight per domain).
#[utoipa::path(
    post,
    path = "/admin/config/domain-weights",
    tag = "admin",
    operation_id = "set_domain_weights_config_v1_admin_config_domain_weights_post",
    security(("AdminToken" = [])),
    request_body = DomainWeightsRequest,
    responses(
        (status = 200, description = "The weights as set", body = DomainWeightsResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 422, description = "A domain missing or unknown, or a weight not positive"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn set_domain_weights(
    State(state): State<AppState>,
    operator: Operator,
    ApiJson(body): ApiJson<DomainWeightsRequest>,
) -> Result<Json<DomainWeightsResponse>, ApiError> {
    validate(&body.weights)?;
    let now = crate::time::now();
    state
        .storage
        .set_system_config(DOMAIN_WEIGHTS, json!(body.weights), now)
        .await?;
    let detail = body
        .weights
        .iter()
        .map(|(domain, weight)| format!("{domain}={weight}"))
        .collect::<Vec<_>>()
        .join(" ");
    operator
        .audit(
            &state,
            "config.domain_weights.set",
            format!("config:{DOMAIN_WEIGHTS}"),
            Some(detail),
        )
        .await?;
    Ok(Json(DomainWeightsResponse {
        weights: body.weights,
        message: "Domain weights updated: new weighted results use them.".to_owned(),
        updated_at: Some(now),
    }))
}
