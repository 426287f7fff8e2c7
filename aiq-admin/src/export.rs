//! CSV exports of every list, with the list's filters, streamed page by page so that a large
//! table is never held in memory.
//!
//! Rows come in ascending id order, whatever the list's sort: each page is a keyset step
//! ([`Seek`]) after the last id sent, so rows written or deleted while the download runs make
//! no other row repeat or go missing (rows created after it started may or may not be in it).

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::storage::{Seek, StorageError};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State as Shared};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};

use crate::audit::{self, Event};
use crate::error::PageError;
use crate::pages::{question_query, session_query, user_query};
use crate::session::Admin;
use crate::state::State;

/// Rows fetched per chunk.
const EXPORT_PAGE: u32 = 500;

/// A text cell that a spreadsheet would read as a formula is prefixed with `'`.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn time(value: time::OffsetDateTime) -> String {
    aiq_core::time::format_rfc3339(value)
}

/// Encodes rows as CSV.
fn encode(rows: impl IntoIterator<Item = Vec<String>>) -> Result<Bytes, PageError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(&row)
            .map_err(|e| PageError::Internal(e.to_string()))?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| PageError::Internal(e.to_string()))
}

/// A streamed CSV download: the header, then one chunk per step that `fetch` returns (each
/// after the last `id` of the one before), until a step comes back shorter than the limit the
/// store applies. A store failure part-way ends the stream with an error, so the client sees a
/// failed download rather than a silently truncated file.
fn stream<T, F, Fut>(
    filename: &'static str,
    header: &'static [&'static str],
    fetch: F,
    id: fn(&T) -> i64,
    row: fn(T) -> Vec<String>,
) -> Result<Response, PageError>
where
    T: Send + 'static,
    F: Fn(Seek) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<T>, StorageError>> + Send + 'static,
{
    let head = encode([header.iter().map(|h| (*h).to_owned()).collect()])?;
    let fetch = Arc::new(fetch);
    let pages = futures_util::stream::unfold(Some(Seek::first(EXPORT_PAGE)), move |next| {
        let fetch = Arc::clone(&fetch);
        async move {
            let seek = next?;
            match fetch(seek).await {
                Ok(rows) => {
                    let full = rows.len() == seek.clamped_limit() as usize;
                    let after = rows.last().map(id).filter(|_| full);
                    let chunk = encode(rows.into_iter().map(row))
                        .map_err(|e| std::io::Error::other(e.to_string()));
                    Some((chunk, after.map(|last| seek.after(last))))
                }
                Err(error) => {
                    tracing::error!(%error, filename, "CSV export failed part-way");
                    Some((Err(std::io::Error::other("the export failed")), None))
                }
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok(head) }).chain(pages);
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

async fn audit_export(
    state: &State,
    admin: &Admin,
    parts: &http::request::Parts,
    what: &'static str,
) -> Result<(), PageError> {
    audit::record(
        state,
        Event {
            actor: &admin.username,
            action: what,
            target: None,
            detail: None,
            ip: state.client_ip(parts),
        },
    )
    .await
}

/// `GET /admin/users.csv`.
pub(crate) async fn users(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    parts: http::request::Parts,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = user_query(&params)?;
    audit_export(&state, &admin, &parts, "export.users").await?;
    stream(
        "users.csv",
        &[
            "id",
            "email",
            "first_name",
            "last_name",
            "created_at",
            "last_login_at",
            "completed_tests",
            "notification_enabled",
            "bypass_cooldown",
            "is_admin",
        ],
        move |seek| {
            let state = Arc::clone(&state);
            let query = query.clone();
            async move { state.storage.export_users(&query, seek).await }
        },
        |row| row.user.id,
        |row| {
            let u = row.user;
            vec![
                u.id.to_string(),
                text(&u.email),
                text(u.first_name.as_deref().unwrap_or("")),
                text(u.last_name.as_deref().unwrap_or("")),
                time(u.created_at),
                opt(u.last_login_at.map(time)),
                row.completed_tests.to_string(),
                u.notification_enabled.to_string(),
                u.bypass_cooldown.to_string(),
                u.is_admin.to_string(),
            ]
        },
    )
}

/// `GET /admin/questions.csv`.
pub(crate) async fn questions(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    parts: http::request::Parts,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = question_query(&params)?;
    audit_export(&state, &admin, &parts, "export.questions").await?;
    stream(
        "questions.csv",
        &[
            "id",
            "question_type",
            "difficulty_level",
            "question_text",
            "correct_answer",
            "is_active",
            "quality_flag",
            "is_anchor",
            "response_count",
            "empirical_difficulty",
            "discrimination",
            "irt_difficulty",
            "irt_discrimination",
            "source_llm",
            "source_model",
            "created_at",
        ],
        move |seek| {
            let state = Arc::clone(&state);
            let query = query.clone();
            async move { state.storage.export_questions(&query, seek).await }
        },
        |q| q.id,
        |q| {
            vec![
                q.id.to_string(),
                q.domain().as_str().to_owned(),
                q.difficulty().as_str().to_owned(),
                text(&q.content.question_text),
                text(&q.content.correct_answer),
                q.is_active.to_string(),
                q.quality_flag.as_str().to_owned(),
                q.is_anchor().to_string(),
                q.response_count.to_string(),
                opt(q.empirical_difficulty),
                opt(q.discrimination),
                opt(q.irt_difficulty),
                opt(q.irt_discrimination),
                text(q.content.source_llm.as_deref().unwrap_or("")),
                text(q.content.source_model.as_deref().unwrap_or("")),
                time(q.created_at),
            ]
        },
    )
}

/// `GET /admin/sessions.csv`.
pub(crate) async fn sessions(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    parts: http::request::Parts,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = session_query(&params)?;
    audit_export(&state, &admin, &parts, "export.sessions").await?;
    stream(
        "sessions.csv",
        &[
            "id",
            "user_id",
            "user_email",
            "status",
            "is_adaptive",
            "started_at",
            "completed_at",
            "responses",
            "iq_score",
            "validity_status",
        ],
        move |seek| {
            let state = Arc::clone(&state);
            let query = query.clone();
            async move { state.storage.export_sessions(&query, seek).await }
        },
        |row| row.session.id,
        |row| {
            let s = row.session;
            vec![
                s.id.to_string(),
                s.user_id.to_string(),
                text(row.user_email.as_deref().unwrap_or("")),
                s.status.as_str().to_owned(),
                s.is_adaptive.to_string(),
                time(s.started_at),
                opt(s.completed_at.map(time)),
                row.response_count.to_string(),
                opt(row.iq_score),
                opt(row.validity_status),
            ]
        },
    )
}

/// `GET /admin/audit.csv`.
pub(crate) async fn audit(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    parts: http::request::Parts,
) -> Result<Response, PageError> {
    audit_export(&state, &admin, &parts, "export.audit").await?;
    stream(
        "audit.csv",
        &["id", "at", "actor", "action", "target", "detail", "ip"],
        move |seek| {
            let state = Arc::clone(&state);
            async move { state.storage.export_audit(seek).await }
        },
        |line| line.id,
        |line| {
            let e = line.entry;
            vec![
                line.id.to_string(),
                time(e.at),
                text(&e.actor),
                e.action,
                opt(e.target),
                text(e.detail.as_deref().unwrap_or("")),
                opt(e.ip),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_escaped() {
        assert_eq!(text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(text("plain"), "plain");
        let bytes = encode([vec!["a,b".to_owned(), "say \"hi\"".to_owned()]]).unwrap();
        assert_eq!(&bytes[..], b"\"a,b\",\"say \"\"hi\"\"\"\n");
    }
}
