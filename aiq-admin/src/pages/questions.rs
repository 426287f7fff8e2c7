//! Questions: filters, quality badges, detail, activation, quality flag, anchors, import.

use std::collections::HashMap;
use std::sync::Arc;

use aiq_core::admin;
use aiq_core::questions::{Difficulty, Domain, ImportOutcome, import_bank};
use aiq_core::storage::{QualityFlag, Question, QuestionQuery, QuestionSort};
use aiq_core::text::{FreeText, storable};
use askama::Template;
use axum::extract::{Multipart, Path, Query, State as Shared};
use axum::response::Response;
use serde::Deserialize;

use super::{Nav, Pager, done, filled, notice, parse_id, render, when};
use super::{kept_filters, page_request};
use crate::audit::{self, Event};
use crate::error::PageError;
use crate::forms::{Action, Toggle};
use crate::quality::{self, Badge};
use crate::session::Admin;
use crate::state::State;

/// Largest bank file the upload accepts.
pub(crate) const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// A question as the list shows it.
struct QuestionLine {
    id: i64,
    domain: &'static str,
    difficulty: &'static str,
    text: String,
    quality: Badge,
    p_value: Badge,
    discrimination: Badge,
    responses: Badge,
    flag: &'static str,
    is_active: bool,
    is_anchor: bool,
}

impl From<&Question> for QuestionLine {
    fn from(q: &Question) -> Self {
        let text: String = q.content.question_text.chars().take(90).collect();
        Self {
            id: q.id,
            domain: q.domain().as_str(),
            difficulty: q.difficulty().as_str(),
            text,
            quality: quality::quality(q),
            p_value: quality::p_value(q),
            discrimination: quality::discrimination(q),
            responses: quality::responses(q),
            flag: q.quality_flag.as_str(),
            is_active: q.is_active,
            is_anchor: q.is_anchor(),
        }
    }
}

fn yes_no(value: Option<&str>, what: &str) -> Result<Option<bool>, PageError> {
    match value {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(_) => Err(PageError::BadRequest(format!(
            "The {what} filter is yes or no."
        ))),
    }
}

/// The list's filters, from the query string.
pub(crate) fn question_query(params: &HashMap<String, String>) -> Result<QuestionQuery, PageError> {
    let domain = filled(params.get("domain"))
        .map(|d| Domain::parse(d).ok_or_else(|| PageError::BadRequest("Unknown domain.".into())))
        .transpose()?;
    let difficulty = filled(params.get("difficulty"))
        .map(|d| {
            Difficulty::parse(d).ok_or_else(|| PageError::BadRequest("Unknown difficulty.".into()))
        })
        .transpose()?;
    let quality_flag = filled(params.get("flag"))
        .map(|f| {
            QualityFlag::parse(f)
                .ok_or_else(|| PageError::BadRequest("Unknown quality flag.".into()))
        })
        .transpose()?;
    let sort = match filled(params.get("sort")) {
        None | Some("id") => QuestionSort::Id,
        Some("response_count") => QuestionSort::ResponseCount,
        Some("empirical_difficulty") => QuestionSort::EmpiricalDifficulty,
        Some("discrimination") => QuestionSort::Discrimination,
        Some(_) => {
            return Err(PageError::BadRequest(
                "Sort questions by id, response_count, empirical_difficulty or discrimination."
                    .into(),
            ));
        }
    };
    Ok(QuestionQuery {
        domain,
        difficulty,
        active: yes_no(filled(params.get("active")), "active")?,
        quality_flag,
        anchor: yes_no(filled(params.get("anchor")), "anchor")?,
        // Searched as stored: free text keeps NUL as U+FFFD, which PostgreSQL can compare.
        search: filled(params.get("q")).map(|q| storable(q).into_owned()),
        sort,
        descending: filled(params.get("dir")) == Some("desc"),
    })
}

/// The filter names a list or export keeps in its links.
pub(crate) const FILTERS: [&str; 8] = [
    "domain",
    "difficulty",
    "active",
    "flag",
    "anchor",
    "q",
    "sort",
    "dir",
];

#[derive(Template)]
#[template(path = "questions.html")]
struct QuestionsPage {
    nav: Nav,
    notice: Option<&'static str>,
    filters: HashMap<&'static str, String>,
    domains: [&'static str; 6],
    difficulties: [&'static str; 3],
    questions: Vec<QuestionLine>,
    pager: Pager,
    export: String,
}

impl QuestionsPage {
    /// Whether filter `name` currently has `value` (for `selected`).
    fn is(&self, name: &str, value: &str) -> bool {
        self.filters.get(name).is_some_and(|v| v == value)
    }
}

/// `GET /admin/questions`.
pub(crate) async fn list(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = question_query(&params)?;
    let request = page_request(&params)?;
    let rows = state
        .storage
        .list_questions(&query, request.clone())
        .await?;
    let kept = kept_filters(&params, &FILTERS);
    render(&QuestionsPage {
        nav: Nav::new(&admin, "questions"),
        notice: notice(params.get("done")),
        export: format!("/admin/questions.csv?{}", super::query_string(&kept)),
        pager: Pager::new("/admin/questions", &kept, &request, &rows),
        filters: kept.into_iter().collect(),
        domains: Domain::ALL.map(Domain::as_str),
        difficulties: Difficulty::ALL.map(Difficulty::as_str),
        questions: rows.items.iter().map(QuestionLine::from).collect(),
    })
}

#[derive(Template)]
#[template(path = "question.html")]
struct QuestionPage {
    nav: Nav,
    notice: Option<&'static str>,
    line: QuestionLine,
    full_text: String,
    stimulus: Option<String>,
    options: Vec<String>,
    correct_answer: String,
    explanation: Option<String>,
    flag_reason: Option<String>,
    source: String,
    created_at: String,
    irt_difficulty: String,
    irt_discrimination: String,
    flags: [&'static str; 3],
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

/// `GET /admin/questions/{id}`.
pub(crate) async fn detail(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "question")?;
    let question = state
        .storage
        .questions_by_ids(&[id])
        .await?
        .into_iter()
        .next()
        .ok_or(PageError::NotFound("question"))?;
    let source = [
        question.content.source_llm.as_deref(),
        question.content.source_model.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" / ");
    render(&QuestionPage {
        nav: Nav::new(&admin, "questions"),
        notice: notice(params.get("done")),
        line: QuestionLine::from(&question),
        full_text: question.content.question_text.clone(),
        stimulus: question.content.stimulus.clone(),
        options: question.content.answer_options.clone(),
        correct_answer: question.content.correct_answer.clone(),
        explanation: question.content.explanation.clone(),
        flag_reason: question.quality_flag_reason.clone(),
        source,
        created_at: when(question.created_at),
        irt_difficulty: number(question.irt_difficulty),
        irt_discrimination: number(question.irt_discrimination),
        flags: [
            QualityFlag::Normal.as_str(),
            QualityFlag::UnderReview.as_str(),
            QualityFlag::Deactivated.as_str(),
        ],
    })
}

async fn audit_question(
    state: &State,
    action: &Action<impl Sized>,
    what: &'static str,
    id: i64,
    detail: String,
) -> Result<(), PageError> {
    audit::record(
        state,
        Event {
            actor: &action.admin.username,
            action: what,
            target: Some(format!("question:{id}")),
            detail: Some(detail),
            ip: action.ip,
        },
    )
    .await
}

/// `POST /admin/questions/{id}/active`.
pub(crate) async fn set_active(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<Toggle>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "question")?;
    let value = action.form.value;
    if !state.storage.set_question_active(id, value).await? {
        return Err(PageError::NotFound("question"));
    }
    audit_question(
        &state,
        &action,
        "question.active.set",
        id,
        format!("is_active={value}"),
    )
    .await?;
    Ok(done(
        &format!("/admin/questions/{id}"),
        if value { "activated" } else { "deactivated" },
    ))
}

/// The quality flag form.
#[derive(Debug, Deserialize)]
pub(crate) struct FlagForm {
    flag: String,
    /// Free text: NUL is kept as U+FFFD.
    #[serde(default)]
    reason: FreeText,
}

/// `POST /admin/questions/{id}/quality-flag`.
pub(crate) async fn set_quality_flag(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<FlagForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "question")?;
    let flag = QualityFlag::parse(&action.form.flag).ok_or_else(|| {
        PageError::BadRequest("The flag is normal, under_review or deactivated.".into())
    })?;
    let storage = state.storage.as_ref();
    let reason = Some(action.form.reason.as_str());
    admin::set_quality_flag(storage, &action.actor(), id, flag, reason, state.now()).await?;
    Ok(done(&format!("/admin/questions/{id}"), "flag-set"))
}

/// `POST /admin/questions/{id}/anchor`.
pub(crate) async fn set_anchor(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
    action: Action<Toggle>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, "question")?;
    let value = action.form.value;
    if !state.storage.set_anchor(id, value, state.now()).await? {
        return Err(PageError::NotFound("question"));
    }
    audit_question(
        &state,
        &action,
        "question.anchor.set",
        id,
        format!("is_anchor={value}"),
    )
    .await?;
    Ok(done(
        &format!("/admin/questions/{id}"),
        if value { "anchor-on" } else { "anchor-off" },
    ))
}

/// One row of the import report.
struct ReportLine {
    line: usize,
    outcome: &'static str,
    reason: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Nav,
    notice: Option<&'static str>,
    max_megabytes: usize,
    report: Option<(usize, usize, usize)>,
    lines: Vec<ReportLine>,
}

/// `GET /admin/questions/import`.
pub(crate) async fn import_form(admin: Admin) -> Result<Response, PageError> {
    render(&ImportPage {
        nav: Nav::new(&admin, "questions"),
        notice: None,
        max_megabytes: MAX_UPLOAD_BYTES / (1024 * 1024),
        report: None,
        lines: Vec::new(),
    })
}

/// `POST /admin/questions/import` (multipart: `csrf`, then `file`): the same checks and report
/// as `aiq-server questions import`.
pub(crate) async fn import(
    admin: Admin,
    Shared(state): Shared<Arc<State>>,
    parts: http::request::Parts,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let malformed = |_| PageError::BadRequest("The upload is not a readable form.".into());
    let mut csrf_ok = false;
    let mut text = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("csrf") => csrf_ok = admin.csrf_matches(&field.text().await.map_err(malformed)?),
            Some("file") if csrf_ok => {
                let bytes = field.bytes().await.map_err(|_| {
                    PageError::BadRequest(format!(
                        "The file could not be read (at most {} MiB).",
                        MAX_UPLOAD_BYTES / (1024 * 1024)
                    ))
                })?;
                text =
                    Some(String::from_utf8(bytes.to_vec()).map_err(|_| {
                        PageError::BadRequest("The file is not UTF-8 text.".into())
                    })?);
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(PageError::Csrf);
    }
    let text = text.ok_or_else(|| PageError::BadRequest("Choose a file to import.".into()))?;
    let report = import_bank(&*state.storage, &text).await?;
    let counts = (report.added(), report.skipped(), report.rejected());
    audit::record(
        &state,
        Event {
            actor: &admin.username,
            action: "questions.import",
            target: None,
            detail: Some(format!(
                "added={} skipped={} rejected={}",
                counts.0, counts.1, counts.2
            )),
            ip: state.client_ip(&parts),
        },
    )
    .await?;
    let lines = report
        .lines
        .into_iter()
        .filter(|line| line.outcome != ImportOutcome::Added)
        .map(|line| match line.outcome {
            ImportOutcome::Rejected(reason) => ReportLine {
                line: line.line,
                outcome: "rejected",
                reason,
            },
            _ => ReportLine {
                line: line.line,
                outcome: "skipped",
                reason: "already in the bank".into(),
            },
        })
        .collect();
    render(&ImportPage {
        nav: Nav::new(&admin, "questions"),
        notice: None,
        max_megabytes: MAX_UPLOAD_BYTES / (1024 * 1024),
        report: Some(counts),
        lines,
    })
}
