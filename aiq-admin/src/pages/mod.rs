//! The pages and actions, and what they share: the navigation bar, paging, notices.

mod audit_log;
mod overview;
mod questions;
mod reliability;
mod sessions;
mod users;

pub(crate) use self::questions::question_query;
pub(crate) use self::sessions::session_query;
pub(crate) use self::users::user_query;

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::storage::{Cursor, Page, PageRequest, PageStart};
use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::PageError;
use crate::session::Admin;
use crate::state::State;
use crate::{BASE_PATH, export, login};

/// Rows per page of every list.
pub(crate) const PAGE_SIZE: u32 = 50;

/// The stylesheet, compiled into the binary (no CDN).
const STYLESHEET: &str = include_str!("../../static/admin.css");

/// Every route of the dashboard.
pub(crate) fn router(state: Arc<State>) -> Router {
    let routes: Vec<(&str, MethodRouter<Arc<State>>)> = vec![
        ("", get(overview::show)),
        ("/", get(overview::show)),
        ("/login", get(login::show).post(login::submit)),
        ("/logout", post(login::logout)),
        ("/static/admin.css", get(stylesheet)),
        ("/users", get(users::list)),
        ("/users.csv", get(export::users)),
        ("/users/{id}", get(users::detail)),
        (
            "/users/{id}/bypass-cooldown",
            post(users::set_bypass_cooldown),
        ),
        ("/users/{id}/admin", post(users::set_admin)),
        (
            "/users/{id}/delete",
            get(users::confirm_delete).post(users::delete),
        ),
        ("/questions", get(questions::list)),
        ("/questions.csv", get(export::questions)),
        (
            "/questions/import",
            get(questions::import_form)
                .post(questions::import)
                .layer(DefaultBodyLimit::max(questions::MAX_UPLOAD_BYTES)),
        ),
        ("/questions/{id}", get(questions::detail)),
        ("/questions/{id}/active", post(questions::set_active)),
        (
            "/questions/{id}/quality-flag",
            post(questions::set_quality_flag),
        ),
        ("/questions/{id}/anchor", post(questions::set_anchor)),
        ("/sessions", get(sessions::list)),
        ("/sessions.csv", get(export::sessions)),
        ("/sessions/{id}", get(sessions::detail)),
        ("/sessions/{id}/validity", post(sessions::override_validity)),
        (
            "/sessions/{id}/delete",
            get(sessions::confirm_delete).post(sessions::delete),
        ),
        ("/reliability", get(reliability::show)),
        ("/audit", get(audit_log::list)),
        ("/audit.csv", get(export::audit)),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(&format!("{BASE_PATH}{path}"), handler)
        })
        .layer(axum::middleware::map_response(no_store))
        .with_state(state)
}

/// Pages show personal data: no cache may keep them.
async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        http::header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// What the navigation bar shows: who is logged in, the logout form's token, where we are.
#[derive(Debug)]
pub(crate) struct Nav {
    pub(crate) username: String,
    pub(crate) csrf: String,
    pub(crate) section: &'static str,
}

impl Nav {
    pub(crate) fn new(admin: &Admin, section: &'static str) -> Self {
        Self {
            username: admin.username.clone(),
            csrf: admin.csrf.clone(),
            section,
        }
    }
}

/// A page asking to confirm a destructive action, with the form that does it.
#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct Confirm {
    pub(crate) nav: Nav,
    pub(crate) notice: Option<&'static str>,
    pub(crate) title: String,
    pub(crate) warning: String,
    pub(crate) action: String,
    pub(crate) back: String,
}

/// Renders a confirmation page.
pub(crate) fn confirm(page: Confirm) -> Result<Response, PageError> {
    render(&page)
}

/// Renders a page.
pub(crate) fn render(page: &impl Template) -> Result<Response, PageError> {
    page.render()
        .map(|html| (StatusCode::OK, Html(html)).into_response())
        .map_err(|e| PageError::Internal(e.to_string()))
}

/// `2026-11-30 08:05 UTC`.
pub(crate) fn when(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// [`when`] for an optional time, `–` when absent.
pub(crate) fn when_opt(t: Option<OffsetDateTime>) -> String {
    t.map_or_else(|| "–".to_owned(), when)
}

/// A record id from the path; anything else is a missing record.
pub(crate) fn parse_id(raw: &str, what: &'static str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(PageError::NotFound(what))
}

/// The page a list query asks for: the first, or the one after (`after=`) or before
/// (`before=`) a position from a pager link; a link that does not parse is a bad request.
pub(crate) fn page_request(params: &HashMap<String, String>) -> Result<PageRequest, PageError> {
    let cursor = |raw: &String| {
        raw.parse::<Cursor>().map_err(|_| {
            PageError::BadRequest(
                "This page link is broken: start again from the first page.".into(),
            )
        })
    };
    let start = match (params.get("after"), params.get("before")) {
        (Some(after), _) => PageStart::After(cursor(after)?),
        (None, Some(before)) => PageStart::Before(cursor(before)?),
        (None, None) => PageStart::First,
    };
    Ok(PageRequest::first(PAGE_SIZE).starting(start))
}

/// The filters `names` as given in the query (blank when absent), for links that keep them.
pub(crate) fn kept_filters(
    params: &HashMap<String, String>,
    names: &[&'static str],
) -> Vec<(&'static str, String)> {
    names
        .iter()
        .map(|name| (*name, filled(params.get(*name)).unwrap_or("").to_owned()))
        .collect()
}

/// The filter value, `None` when absent or blank.
pub(crate) fn filled(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The links of a paged list: to its first page, and to the pages on either side.
#[derive(Debug)]
pub(crate) struct Pager {
    /// Rows matching the filters (`1000+` past the count's limit).
    pub(crate) total: String,
    pub(crate) first: Option<String>,
    pub(crate) previous: Option<String>,
    pub(crate) next: Option<String>,
}

impl Pager {
    /// The pager of `page`, which answered `request`, with links to `path` keeping `filters`.
    pub(crate) fn new<T>(
        path: &str,
        filters: &[(&str, String)],
        request: &PageRequest,
        page: &Page<T>,
    ) -> Self {
        let link = |extra: Option<(&'static str, &Cursor)>| {
            let mut pairs: Vec<(&str, String)> = filters.to_vec();
            pairs.extend(extra.map(|(name, cursor)| (name, cursor.to_string())));
            match query_string(&pairs) {
                query if query.is_empty() => path.to_owned(),
                query => format!("{path}?{query}"),
            }
        };
        Self {
            total: page.total.to_string(),
            first: (request.start != PageStart::First).then(|| link(None)),
            previous: page.previous.as_ref().map(|c| link(Some(("before", c)))),
            next: page.next.as_ref().map(|c| link(Some(("after", c)))),
        }
    }
}

/// `a=1&b=x%20y`, leaving out empty values.
pub(crate) fn query_string(pairs: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The message of a `?done=` notice after an action; unknown codes show nothing (the page
/// never reflects the parameter itself).
pub(crate) fn notice(code: Option<&String>) -> Option<&'static str> {
    Some(match code?.as_str() {
        "bypass-on" => "Cooldown bypass is on for this user.",
        "bypass-off" => "Cooldown bypass is off for this user.",
        "admin-on" => "This user is now an admin.",
        "admin-off" => "This user is no longer an admin.",
        "user-deleted" => "The user and all their data were deleted.",
        "activated" => "The question is active.",
        "deactivated" => "The question is inactive: tests no longer select it.",
        "flag-set" => "The quality flag was set.",
        "anchor-on" => "The question is an anchor item.",
        "anchor-off" => "The question is no longer an anchor item.",
        "validity-set" => "The validity was overridden.",
        "session-deleted" => "The test session was deleted.",
        _ => return None,
    })
}

/// The redirect after an action: back to `path` with a notice.
pub(crate) fn done(path: &str, code: &str) -> Response {
    Redirect::to(&format!("{path}?done={code}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_links_keep_filters_and_carry_positions() {
        use aiq_core::storage::Total;
        let filters = [("q", "a b&c".to_owned()), ("sort", String::new())];
        let cursor = |id| Cursor { key: None, id };
        let page = Page {
            items: vec![1, 2],
            total: Total::AtLeast(1_000),
            previous: None,
            next: Some(cursor(2)),
        };
        let first = Pager::new("/admin/users", &filters, &PageRequest::first(2), &page);
        assert_eq!((first.first, first.previous), (None, None));
        assert_eq!(
            first.next.as_deref(),
            Some("/admin/users?q=a+b%26c&after=2")
        );
        assert_eq!(first.total, "1000+");
        let later = PageRequest::first(2).starting(PageStart::After(cursor(2)));
        let last = Page {
            items: vec![3],
            total: Total::Exact(3),
            previous: Some(cursor(3)),
            next: None,
        };
        let pager = Pager::new("/x", &[], &later, &last);
        assert_eq!(pager.first.as_deref(), Some("/x"));
        assert_eq!(pager.previous.as_deref(), Some("/x?before=3"));
        assert_eq!(pager.next, None);
    }

    #[test]
    fn ids_and_page_links_are_parsed_strictly() {
        assert_eq!(parse_id("42", "user").unwrap(), 42);
        assert!(parse_id("-1", "user").is_err());
        assert!(parse_id("4x", "user").is_err());
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(page_request(&params(&[])).unwrap().start, PageStart::First);
        assert_eq!(
            page_request(&params(&[("before", "7")])).unwrap().start,
            PageStart::Before(Cursor { key: None, id: 7 })
        );
        assert!(matches!(
            page_request(&params(&[("after", "7.x")])),
            Err(PageError::BadRequest(_))
        ));
    }

    #[test]
    fn notices_come_from_a_fixed_list() {
        assert!(notice(Some(&"bypass-on".to_owned())).is_some());
        assert_eq!(notice(Some(&"<script>".to_owned())), None);
    }
}
