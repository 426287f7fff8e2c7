//! `/v1/admin/sessions/*`: deleting test sessions, and a result's validity with its override.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{Operator, email_parameter};
use crate::admin::{self, Missing};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::scoring::{ValidityFlag, ValidityStatus, round_dp, severity_score};
use crate::state::AppState;
use crate::storage::{
    GUEST_USER_ID, MAX_PAGE_SIZE, PageRequest, SessionQuery, SessionStatus, TestSession,
};
use crate::text::FreeText;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteQuery {
    /// Only report what would be deleted.
    #[serde(default)]
    dry_run: bool,
}

/// What deleting one session removes (the answer to a dry run).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionDeletionPreview {
    session_id: i64,
    user_id: i64,
    status: SessionStatus,
    /// Responses stored for it.
    responses: u64,
    /// Seen-question records it made.
    user_questions: u64,
    /// 1 when it has a result.
    test_results: u64,
    dry_run: bool,
}

/// What deleting a user's sessions removes (or removed).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BulkSessionDeletionPreview {
    email: String,
    user_id: i64,
    /// Sessions deleted (or that a dry run would delete).
    sessions_deleted: u64,
    total_responses: u64,
    total_user_questions: u64,
    total_test_results: u64,
    session_ids: Vec<i64>,
    dry_run: bool,
}

/// Deletes a test session with its responses, result and seen-question records; with
/// `dry_run`, answers what would be deleted instead.
#[utoipa::path(
    delete,
    path = "/admin/sessions/{session_id}",
    tag = "admin",
    operation_id = "delete_session_v1_admin_sessions__session_id__delete",
    security(("AdminToken" = [])),
    params(("session_id" = i64, Path, description = "The session"), DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 200, description = "Dry run: what would be deleted", body = SessionDeletionPreview),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such session"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn delete_session(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(session_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Response, ApiError> {
    let session = state
        .storage
        .session(session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(Missing::Session.message().into()))?;
    let rows = admin::session_rows(state.storage.as_ref(), session_id).await?;
    if query.dry_run {
        return Ok(Json(SessionDeletionPreview {
            session_id,
            user_id: session.user_id,
            status: session.status,
            responses: rows.responses,
            user_questions: rows.user_questions,
            test_results: rows.test_results,
            dry_run: true,
        })
        .into_response());
    }
    if !admin::delete_session(
        state.storage.as_ref(),
        &operator.actor(),
        &session,
        &rows,
        crate::time::now(),
    )
    .await?
    {
        return Err(ApiError::NotFound(Missing::Session.message().into()));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ByEmailQuery {
    /// Only this session of the user's.
    session_id: Option<i64>,
    /// Only report what would be deleted (the default: pass `false` to delete).
    #[serde(default = "dry_run_by_default")]
    dry_run: bool,
}

fn dry_run_by_default() -> bool {
    true
}

/// Every session of `user`, newest first.
async fn sessions_of(state: &AppState, user: i64) -> Result<Vec<TestSession>, ApiError> {
    let query = SessionQuery {
        user_id: Some(user),
        ..SessionQuery::default()
    };
    let mut sessions = Vec::new();
    let mut request = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let page = state.storage.list_sessions(&query, request.clone()).await?;
        let next = request.after_page(&page);
        sessions.extend(page.items.into_iter().map(|row| row.session));
        match next {
            Some(next) => request = next,
            None => return Ok(sessions),
        }
    }
}

/// Deletes the test sessions of the user with this email (or one of them, with `session_id`).
/// A dry run by default: pass `dry_run=false` to delete. Each session is deleted atomically
/// on its own.
#[utoipa::path(
    delete,
    path = "/admin/sessions/by-email/{email}",
    tag = "admin",
    operation_id = "delete_sessions_by_email_v1_admin_sessions_by_email__email__delete",
    security(("AdminToken" = [])),
    params(("email" = String, Path, description = "The user's email"), ByEmailQuery),
    responses(
        (status = 200, description = "What was (or would be) deleted", body = BulkSessionDeletionPreview),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such user, or the session is not theirs"),
        (status = 422, description = "Invalid email"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn delete_sessions_by_email(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(email): ApiPath<String>,
    ApiQuery(query): ApiQuery<ByEmailQuery>,
) -> Result<Json<BulkSessionDeletionPreview>, ApiError> {
    let email = email_parameter(email, "path")?;
    let user = state
        .storage
        .user_by_email(email.as_str())
        .await?
        .filter(|user| user.id != GUEST_USER_ID)
        .ok_or_else(|| ApiError::NotFound("User not found.".into()))?;
    let sessions = match query.session_id {
        Some(id) => vec![
            state
                .storage
                .session(id)
                .await?
                .filter(|session| session.user_id == user.id)
                .ok_or_else(|| ApiError::NotFound(Missing::Session.message().into()))?,
        ],
        None => sessions_of(&state, user.id).await?,
    };
    let (storage, actor) = (state.storage.as_ref(), operator.actor());
    let mut preview = BulkSessionDeletionPreview {
        email: user.email,
        user_id: user.id,
        sessions_deleted: 0,
        total_responses: 0,
        total_user_questions: 0,
        total_test_results: 0,
        session_ids: Vec::new(),
        dry_run: query.dry_run,
    };
    for session in &sessions {
        let rows = admin::session_rows(state.storage.as_ref(), session.id).await?;
        if !query.dry_run
            && !admin::delete_session(storage, &actor, session, &rows, crate::time::now()).await?
        {
            continue;
        }
        preview.sessions_deleted += 1;
        preview.total_responses += rows.responses;
        preview.total_user_questions += rows.user_questions;
        preview.total_test_results += rows.test_results;
        preview.session_ids.push(session.id);
    }
    Ok(Json(preview))
}

/// A result's validity: the stored verdict, the flags behind it and any override.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionValidityResponse {
    session_id: i64,
    user_id: i64,
    /// The status in force (an operator's override replaces the automatic one).
    #[schema(value_type = ValidityStatus)]
    validity_status: String,
    /// The severity score of the stored flags (see `scoring::severity_score`).
    severity_score: u32,
    /// `1 − 0.15 × severity`, at least 0.
    confidence: f64,
    /// The flags' types.
    flags: Vec<String>,
    /// The flags as stored (`type`, `severity`, `source`, `details`, `count` or `error_rate`).
    #[schema(value_type = Vec<Object>)]
    flag_details: Vec<Value>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    completed_at: Option<OffsetDateTime>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    validity_checked_at: Option<OffsetDateTime>,
    /// Why an operator overrode the automatic verdict.
    override_reason: Option<String>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    overridden_at: Option<OffsetDateTime>,
}

/// A session's result validity: status, severity, confidence and flags.
#[utoipa::path(
    get,
    path = "/admin/sessions/{session_id}/validity",
    tag = "admin",
    operation_id = "get_session_validity_v1_admin_sessions__session_id__validity_get",
    security(("AdminToken" = [])),
    params(("session_id" = i64, Path, description = "The session")),
    responses(
        (status = 200, description = "Its validity", body = SessionValidityResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such session, or it has no result"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn get_validity(
    State(state): State<AppState>,
    _operator: Operator,
    ApiPath(session_id): ApiPath<i64>,
) -> Result<Json<SessionValidityResponse>, ApiError> {
    let session = state
        .storage
        .session(session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(Missing::Session.message().into()))?;
    let record = state
        .storage
        .validity(session_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(Missing::Result.message().into()))?;
    let flag_details = match record.validity_flags {
        Some(Value::Array(flags)) => flags,
        _ => Vec::new(),
    };
    // Flags this version cannot read (from the old backend) count for nothing.
    let readable: Vec<ValidityFlag> = flag_details
        .iter()
        .filter_map(|flag| serde_json::from_value(flag.clone()).ok())
        .collect();
    let severity = severity_score(&readable);
    Ok(Json(SessionValidityResponse {
        session_id,
        user_id: session.user_id,
        validity_status: record.validity_status,
        severity_score: severity,
        confidence: round_dp((1.0 - 0.15 * f64::from(severity)).max(0.0), 2),
        flags: flag_details
            .iter()
            .filter_map(|flag| flag.get("type")?.as_str().map(str::to_owned))
            .collect(),
        flag_details,
        completed_at: session.completed_at,
        validity_checked_at: record.validity_checked_at,
        override_reason: record.override_reason,
        overridden_at: record.overridden_at,
    }))
}

/// An operator's verdict.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ValidityOverrideRequest {
    validity_status: ValidityStatus,
    /// Why (10 to 1000 characters). Free text: NUL is stored as U+FFFD.
    #[schema(value_type = String)]
    override_reason: FreeText,
}

/// The override as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidityOverrideResponse {
    session_id: i64,
    #[schema(value_type = ValidityStatus)]
    previous_status: String,
    new_status: ValidityStatus,
    override_reason: String,
    /// Always 0: overrides through this API are the admin token's, not a user's.
    overridden_by: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    overridden_at: OffsetDateTime,
}

/// Overrides the validity of a session's result after review.
#[utoipa::path(
    patch,
    path = "/admin/sessions/{session_id}/validity",
    tag = "admin",
    operation_id = "override_session_validity_v1_admin_sessions__session_id__validity_patch",
    security(("AdminToken" = [])),
    params(("session_id" = i64, Path, description = "The session")),
    request_body = ValidityOverrideRequest,
    responses(
        (status = 200, description = "The override", body = ValidityOverrideResponse),
        (status = 401, description = "Missing or wrong X-Admin-Token"),
        (status = 404, description = "No such session, or it has no result"),
        (status = 422, description = "Unknown status, or a reason shorter than 10 characters"),
        (status = 503, description = "ADMIN_TOKEN is not set"),
    )
)]
pub(super) async fn override_validity(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(session_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ValidityOverrideRequest>,
) -> Result<Json<ValidityOverrideResponse>, ApiError> {
    let change = admin::override_validity(
        state.storage.as_ref(),
        &operator.actor(),
        session_id,
        body.validity_status,
        body.override_reason.as_str(),
        crate::time::now(),
    )
    .await?;
    Ok(Json(ValidityOverrideResponse {
        session_id,
        previous_status: change.previous,
        new_status: body.validity_status,
        override_reason: change.verdict.reason,
        overridden_by: 0,
        overridden_at: change.verdict.at,
    }))
}
