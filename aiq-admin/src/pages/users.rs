//! Users: search, sort, page, detail, flags and deletion.

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::storage::{
    PageRequest, SessionQuery, SessionStatus, User, UserQuery, UserRow, UserSort,
};
use aiq_core::text::storable;
use askama::Template;
use axum::extract::{Path, Query, State as Shared};
use axum::response::Response;

use super::{
    Confirm, Nav, PAGE_SIZE, Pager, confirm, done, filled, notice, parse_id, render, when, when_opt,
};
use super::{kept_filters, page_request};
use crate::audit::{self, Event};
use crate::error::PageError;
use crate::forms::{Action, Toggle};
use crate::session::Admin;
use crate::state::State;

/// A user as the list shows it.
struct UserLine {
    id: i64,
    email: String,
    name: String,
    created_at: String,
    last_login_at: String,
    completed_tests: u64,
    bypass_cooldown: bool,
    is_admin: bool,
}

fn full_name(user: &User) -> String {
    [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

impl From<UserRow> for UserLine {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.user.id,
            name: full_name(&row.user),
            email: row.user.email,
            created_at: when(row.user.created_at),
            last_login_at: when_opt(row.user.last_login_at),
            completed_tests: row.completed_tests,
            bypass_cooldown: row.user.bypass_cooldown,
            is_admin: row.user.is_admin,
        }
    }
}

/// The list's filters, from the query string.
pub(crate) fn user_query(params: &HashMap<String, String>) -> Result<UserQuery, PageError> {
    let sort = match filled(params.get("sort")) {
        None | Some("created_at") => UserSort::CreatedAt,
        Some("id") => UserSort::Id,
        Some("email") => UserSort::Email,
        Some("last_login_at") => UserSort::LastLoginAt,
        Some(_) => {
            return Err(PageError::BadRequest(
                "Sort users by id, email, created_at or last_login_at.".into(),
            ));
        }
    };
    Ok(UserQuery {
        // Searched as stored: free text keeps NUL as U+FFFD, which PostgreSQL can compare.
        search: filled(params.get("q")).map(|q| storable(q).into_owned()),
        sort,
        // Newest first unless asked otherwise.
        descending: filled(params.get("dir")) != Some("asc"),
    })
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    notice: Option<&'static str>,
    q: String,
    sort: String,
    dir: String,
    users: Vec<UserLine>,
    pager: Pager,
    export: String,
}

/// `GET /admin/users`.
pub(crate) async fn list(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = user_query(&params)?;
    let request = page_request(&params)?;
    let rows = state.storage.list_users(&query, request.clone()).await?;
    let filters = kept_filters(&params, &["q", "sort", "dir"]);
    render(&UsersPage {
        nav: Nav::new(&admin, "users"),
        notice: notice(params.get("done")),
        export: format!("/admin/users.csv?{}", super::query_string(&filters)),
        pager: Pager::new("/admin/users", &filters, &request, &rows),
        q: filters[0].1.clone(),
        sort: filters[1].1.clone(),
        dir: filters[2].1.clone(),
        users: rows.items.into_iter().map(UserLine::from).collect(),
    })
}

/// A test session of the user, as the detail page lists it.
struct HistoryLine {
    id: i64,
    status: &'static str,
    started_at: String,
    iq_score: String,
    validity: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    nav: Nav,
    notice: Option<&'static str>,
    user: UserLine,
    device_token: bool,
    birth_year: String,
    education: String,
    location: String,
    notifications: bool,
    history: Vec<HistoryLine>,
    history_total: String,
    /// More sessions than the page shows.
    more_history: bool,
}

/// `GET /admin/users/{id}`.
pub(crate) async fn detail(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "user")?;
    let user = state
        .storage
        .user_by_id(id)
        .await?
        .ok_or(PageError::NotFound("user"))?;
    let sessions = state
        .storage
        .list_sessions(
            &SessionQuery {
                user_id: Some(id),
                ..SessionQuery::default()
            },
            PageRequest::first(PAGE_SIZE),
        )
        .await?;
    let history = sessions
        .items
        .into_iter()
        .map(|row| HistoryLine {
            id: row.session.id,
            status: row.session.status.as_str(),
            started_at: when(row.session.started_at),
            iq_score: row.iq_score.map_or_else(|| "–".into(), |s| s.to_string()),
            validity: row.validity_status.unwrap_or_else(|| "–".into()),
        })
        .collect();
    let location = [user.region.as_deref(), user.country.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    render(&UserPage {
        nav: Nav::new(&admin, "users"),
        notice: notice(params.get("done")),
        device_token: user.apns_device_token.is_some(),
        birth_year: user
            .birth_year
            .map_or_else(|| "–".into(), |y| y.to_string()),
        education: user
            .education_level
            .map_or_else(|| "–".into(), |e| e.as_str().to_owned()),
        location,
        notifications: user.notification_enabled,
        history,
        history_total: sessions.total.to_string(),
        more_history: sessions.next.is_some(),
        user: UserLine::from(UserRow {
            user,
            completed_tests: 0,
        }),
    })
}

/// The flags an operator sets on a user.
#[derive(Debug, Clone, Copy)]
enum UserFlag {
    BypassCooldown,
    Admin,
}

/// Sets `flag` to the form's value, audits it and goes back to the user with a notice.
async fn set_flag(
    state: &State,
    id: &str,
    action: Action<Toggle>,
    flag: UserFlag,
) -> Result<Response, PageError> {
    let id = parse_id(id, "user")?;
    let value = action.form.value;
    let (found, audit_action, column, notice) = match flag {
        UserFlag::BypassCooldown => (
            state.storage.set_bypass_cooldown(id, value).await?,
            "user.bypass_cooldown.set",
            "bypass_cooldown",
            if value { "bypass-on" } else { "bypass-off" },
        ),
        UserFlag::Admin => (
            state.storage.set_admin(id, value).await?,
            "user.admin.set",
            "is_admin",
            if value { "admin-on" } else { "admin-off" },
        ),
    };
    if !found {
        return Err(PageError::NotFound("user"));
    }
    audit::record(
        state,
        Event {
            actor: &action.admin.username,
            action: audit_action,
            target: Some(format!("user:{id}")),
            detail: Some(format!("{column}={value}")),
            ip: action.ip,
        },
    )
    .await?;
    Ok(done(&format!("/admin/users/{id}"), notice))
}

/// `POST /admin/users/{id}/bypass-cooldown`.
pub(crate) async fn set_bypass_cooldown(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<Toggle>,
) -> Result<Response, PageError> {
    set_flag(&state, &id, action, UserFlag::BypassCooldown).await
}

/// `POST /admin/users/{id}/admin`.
pub(crate) async fn set_admin(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<Toggle>,
) -> Result<Response, PageError> {
    set_flag(&state, &id, action, UserFlag::Admin).await
}

/// `GET /admin/users/{id}/delete`: the confirmation.
pub(crate) async fn confirm_delete(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "user")?;
    let user = state
        .storage
        .user_by_id(id)
        .await?
        .ok_or(PageError::NotFound("user"))?;
    confirm(Confirm {
        nav: Nav::new(&admin, "users"),
        notice: None,
        title: format!("Delete user {id}?"),
        warning: format!(
            "This deletes the account {} with all its test sessions, answers and results. It \
             cannot be undone.",
            user.email
        ),
        action: format!("/admin/users/{id}/delete"),
        back: format!("/admin/users/{id}"),
    })
}

/// `POST /admin/users/{id}/delete`.
pub(crate) async fn delete(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "user")?;
    let in_progress = state
        .storage
        .list_sessions(
            &SessionQuery {
                status: Some(SessionStatus::InProgress),
                user_id: Some(id),
                ..SessionQuery::default()
            },
            // A user has at most one session in progress.
            PageRequest::first(1),
        )
        .await?
        .items
        .len();
    if !state.storage.delete_user(id).await? {
        return Err(PageError::NotFound("user"));
    }
    // Their sessions in progress went with them.
    metrics::gauge!(aiq_core::telemetry::TEST_SESSIONS_ACTIVE).decrement(in_progress as f64);
    audit::record(
        &state,
        Event {
            actor: &action.admin.username,
            action: "user.delete",
            target: Some(format!("user:{id}")),
            detail: None,
            ip: action.ip,
        },
    )
    .await?;
    Ok(done("/admin/users", "user-deleted"))
}
