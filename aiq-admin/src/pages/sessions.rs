//! Test sessions and results: filters, detail with every response, validity override,
//! deletion.

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::admin;
use aiq_core::scoring::ValidityStatus;
use aiq_core::storage::{SessionQuery, SessionRow, SessionStatus};
use aiq_core::text::FreeText;
use askama::Template;
use axum::extract::{Path, Query, State as Shared};
use axum::response::Response;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use super::{Confirm, Nav, Pager, confirm, done, filled, notice, parse_id, render, when, when_opt};
use super::{kept_filters, page_request};
use crate::error::PageError;
use crate::forms::Action;
use crate::session::Admin;
use crate::state::State;

fn day(value: &str, what: &str) -> Result<OffsetDateTime, PageError> {
    Date::parse(value, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| PageError::BadRequest(format!("The {what} date is YYYY-MM-DD.")))
}

/// The list's filters, from the query string (`to` is inclusive: the whole day).
pub(crate) fn session_query(params: &HashMap<String, String>) -> Result<SessionQuery, PageError> {
    let status = filled(params.get("status"))
        .map(|s| {
            SessionStatus::parse(s).ok_or_else(|| {
                PageError::BadRequest("The status is in_progress, completed or abandoned.".into())
            })
        })
        .transpose()?;
    let user_id = filled(params.get("user"))
        .map(|u| {
            u.parse::<i64>()
                .map_err(|_| PageError::BadRequest("The user filter is a user id.".into()))
        })
        .transpose()?;
    Ok(SessionQuery {
        status,
        user_id,
        started_from: filled(params.get("from"))
            .map(|d| day(d, "from"))
            .transpose()?,
        started_before: filled(params.get("to"))
            .map(|d| day(d, "to").map(|t| t + Duration::days(1)))
            .transpose()?,
    })
}

/// The filter names a list or export keeps in its links.
pub(crate) const FILTERS: [&str; 4] = ["status", "user", "from", "to"];

/// A session as the list shows it.
struct SessionLine {
    id: i64,
    user_id: i64,
    user: String,
    status: &'static str,
    kind: &'static str,
    started_at: String,
    completed_at: String,
    responses: u64,
    iq_score: String,
    validity: String,
}

impl From<SessionRow> for SessionLine {
    fn from(row: SessionRow) -> Self {
        Self {
            id: row.session.id,
            user_id: row.session.user_id,
            user: row.user_email.unwrap_or_else(|| "guest".into()),
            status: row.session.status.as_str(),
            kind: if row.session.is_adaptive {
                "adaptive"
            } else {
                "fixed"
            },
            started_at: when(row.session.started_at),
            completed_at: when_opt(row.session.completed_at),
            responses: row.response_count,
            iq_score: row.iq_score.map_or_else(|| "–".into(), |s| s.to_string()),
            validity: row.validity_status.unwrap_or_else(|| "–".into()),
        }
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    nav: Nav,
    notice: Option<&'static str>,
    filters: HashMap<&'static str, String>,
    sessions: Vec<SessionLine>,
    pager: Pager,
    export: String,
}

impl SessionsPage {
    fn value(&self, name: &str) -> &str {
        self.filters.get(name).map_or("", String::as_str)
    }
}

/// `GET /admin/sessions`.
pub(crate) async fn list(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = session_query(&params)?;
    let request = page_request(&params)?;
    let rows = state.storage.list_sessions(&query, request.clone()).await?;
    let kept = kept_filters(&params, &FILTERS);
    render(&SessionsPage {
        nav: Nav::new(&admin, "sessions"),
        notice: notice(params.get("done")),
        export: format!("/admin/sessions.csv?{}", super::query_string(&kept)),
        pager: Pager::new("/admin/sessions", &kept, &request, &rows),
        filters: kept.into_iter().collect(),
        sessions: rows.items.into_iter().map(SessionLine::from).collect(),
    })
}

/// A response as the detail page shows it.
struct ResponseLine {
    question_id: i64,
    answer: String,
    is_correct: bool,
    answered_at: String,
    seconds: String,
}

/// The result part of the detail page.
struct ResultView {
    iq_score: i32,
    correct: i32,
    total: i32,
    percentile: String,
    interval: String,
    scoring: String,
    validity_status: String,
    validity_flags: String,
    override_reason: Option<String>,
    overridden_at: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    nav: Nav,
    notice: Option<&'static str>,
    id: i64,
    user_id: i64,
    user: String,
    status: &'static str,
    kind: &'static str,
    started_at: String,
    completed_at: String,
    time_limit_exceeded: bool,
    result: Option<ResultView>,
    responses: Vec<ResponseLine>,
    statuses: [&'static str; 3],
}

/// `GET /admin/sessions/{id}`.
pub(crate) async fn detail(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "test session")?;
    let store = &state.storage;
    let session = store
        .session(id)
        .await?
        .ok_or(PageError::NotFound("test session"))?;
    let (responses, result, validity, user) = tokio::try_join!(
        store.session_responses(id),
        store.result_for_session(id),
        store.validity(id),
        store.user_by_id(session.user_id),
    )?;
    let result = result.map(|r| {
        let s = r.scores;
        ResultView {
            iq_score: s.iq_score,
            correct: s.correct_answers,
            total: s.total_questions,
            percentile: s
                .percentile_rank
                .map_or_else(|| "–".into(), |p| format!("{p:.1}")),
            interval: match (s.ci_lower, s.ci_upper) {
                (Some(low), Some(high)) => format!("{low}–{high}"),
                _ => "–".into(),
            },
            scoring: s.scoring_method,
            validity_status: validity
                .as_ref()
                .map_or(s.validity_status.clone(), |v| v.validity_status.clone()),
            validity_flags: validity
                .as_ref()
                .and_then(|v| v.validity_flags.as_ref())
                .map_or_else(|| "none".into(), ToString::to_string),
            override_reason: validity.as_ref().and_then(|v| v.override_reason.clone()),
            overridden_at: when_opt(validity.as_ref().and_then(|v| v.overridden_at)),
        }
    });
    render(&SessionPage {
        nav: Nav::new(&admin, "sessions"),
        notice: notice(params.get("done")),
        id,
        user_id: session.user_id,
        user: user.map_or_else(|| "guest".into(), |u| u.email),
        status: session.status.as_str(),
        kind: if session.is_adaptive {
            "adaptive"
        } else {
            "fixed"
        },
        started_at: when(session.started_at),
        completed_at: when_opt(session.completed_at),
        time_limit_exceeded: session.time_limit_exceeded,
        result,
        responses: responses
            .into_iter()
            .map(|r| ResponseLine {
                question_id: r.question_id,
                answer: r.user_answer,
                is_correct: r.is_correct,
                answered_at: when(r.answered_at),
                seconds: r
                    .time_spent_seconds
                    .map_or_else(|| "–".into(), |s| s.to_string()),
            })
            .collect(),
        statuses: ValidityStatus::ALL.map(ValidityStatus::as_str),
    })
}

/// The validity override form.
#[derive(Debug, Deserialize)]
pub(crate) struct ValidityForm {
    status: String,
    /// Free text: NUL is kept as U+FFFD.
    #[serde(default)]
    reason: FreeText,
}

/// `POST /admin/sessions/{id}/validity`.
pub(crate) async fn override_validity(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<ValidityForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "test session")?;
    let status = ValidityStatus::parse(&action.form.status).ok_or_else(|| {
        PageError::BadRequest("The validity is valid, suspect or invalid.".into())
    })?;
    let reason = action.form.reason.as_str();
    let storage = state.storage.as_ref();
    admin::override_validity(storage, &action.actor(), id, status, reason, state.now()).await?;
    Ok(done(&format!("/admin/sessions/{id}"), "validity-set"))
}

/// `GET /admin/sessions/{id}/delete`: the confirmation.
pub(crate) async fn confirm_delete(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "test session")?;
    let session = state
        .storage
        .session(id)
        .await?
        .ok_or(PageError::NotFound("test session"))?;
    confirm(Confirm {
        nav: Nav::new(&admin, "sessions"),
        notice: None,
        title: format!("Delete test session {id}?"),
        warning: format!(
            "This deletes the {} session of user {} with its answers and result. It cannot be \
             undone.",
            session.status.as_str(),
            session.user_id
        ),
        action: format!("/admin/sessions/{id}/delete"),
        back: format!("/admin/sessions/{id}"),
    })
}

/// `POST /admin/sessions/{id}/delete`.
pub(crate) async fn delete(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "test session")?;
    let session = state
        .storage
        .session(id)
        .await?
        .ok_or(PageError::NotFound("test session"))?;
    let storage = state.storage.as_ref();
    let rows = admin::session_rows(storage, id).await?;
    if !admin::delete_session(storage, &action.actor(), &session, &rows, state.now()).await? {
        return Err(PageError::NotFound(admin::Missing::Session.noun()));
    }
    Ok(done("/admin/sessions", "session-deleted"))
}
