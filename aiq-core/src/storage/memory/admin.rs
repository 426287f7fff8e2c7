//! `AdminStore` in memory.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use async_trait::async_trait;
use time::{Date, OffsetDateTime, UtcOffset};

use super::{MemoryStore, State};
use crate::questions::{Difficulty, Domain};
use crate::storage::StorageError;
use crate::storage::admin::{
    AdminSession, AdminStore, AuditEntry, InventoryCell, NewAuditEntry, OverviewCounts,
    QuestionQuery, SCORE_SAMPLE, SessionQuery, SessionRow, UserQuery, UserRow, ValidityOverride,
    ValidityRecord, session_cursor,
};
use crate::storage::paging::{Cursor, Page, PageRequest, PageStart, Seek, Total};
use crate::storage::questions::{QualityFlag, Question, QuestionId};
use crate::storage::sessions::{SessionId, SessionStatus, TestResult, TestSession};
use crate::storage::users::{GUEST_USER_ID, User, UserId};

/// An operator's override of a result's validity: why and when (the status itself replaces
/// the result's).
#[derive(Debug, Clone)]
pub(super) struct OverrideNote {
    reason: String,
    at: OffsetDateTime,
}

/// The dashboard's login sessions and the audit log.
#[derive(Debug, Default)]
pub(super) struct AdminData {
    sessions: HashMap<String, AdminSession>,
    /// In id order; an entry's id is its position plus one.
    audit: Vec<AuditEntry>,
}

/// Whether `text` holds `needle` (already lowercased), ignoring case.
fn contains_folded(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(needle)
}

/// The page of `request` from `rows` in list order (by `cursor`, `descending` or not), counted
/// as a database would, up to the request's limit.
fn paginate<T>(
    rows: impl Iterator<Item = T>,
    cursor: impl Fn(&T) -> Cursor,
    request: &PageRequest,
    descending: bool,
) -> Page<T> {
    let mut rows: Vec<(Cursor, T)> = rows.map(|row| (cursor(&row), row)).collect();
    rows.sort_by(|a, b| a.0.list_order(&b.0, descending));
    let counted = (rows.len() as u64).min(request.count_limit.saturating_add(1));
    let total = Total::counted(counted, request.count_limit);
    let window_size = request.clamped_limit() as usize + 1;
    let order = |row: &(Cursor, T), at: &Cursor| row.0.list_order(at, descending);
    let window = match &request.start {
        PageStart::First => 0..rows.len().min(window_size),
        PageStart::After(at) => {
            let from = rows.partition_point(|row| order(row, at) != Ordering::Greater);
            from..rows.len().min(from + window_size)
        }
        PageStart::Before(at) => {
            let to = rows.partition_point(|row| order(row, at) == Ordering::Less);
            to.saturating_sub(window_size)..to
        }
    };
    let window: Vec<_> = rows
        .into_iter()
        .skip(window.start)
        .take(window.len())
        .collect();
    Page::from_window(request, window, total, |row| row.0.clone()).map(|(_, row)| row)
}

/// The rows of `seek` from `rows` (keyed by id) that `matches`, in id order.
fn seek_rows<T>(
    rows: &BTreeMap<i64, T>,
    seek: Seek,
    matches: impl Fn(&T) -> bool,
) -> impl Iterator<Item = &T> {
    let from = seek.after.map_or(Bound::Unbounded, Bound::Excluded);
    rows.range((from, Bound::Unbounded))
        .map(|(_, row)| row)
        .filter(move |row| matches(row))
        .take(seek.clamped_limit() as usize)
}

/// Whether a user is listed under `search` (already lowercased); never the guest sentinel.
fn user_matches(search: Option<&str>, user: &User) -> bool {
    user.id != GUEST_USER_ID
        && search.is_none_or(|s| {
            [
                Some(&user.email),
                user.first_name.as_ref(),
                user.last_name.as_ref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| contains_folded(field, s))
        })
}

/// Completed sessions per user.
fn completed_tests(state: &State) -> HashMap<UserId, u64> {
    let mut completed: HashMap<UserId, u64> = HashMap::new();
    for session in state.tests.sessions.values() {
        if session.status == SessionStatus::Completed {
            *completed.entry(session.user_id).or_default() += 1;
        }
    }
    completed
}

/// A user with their completed tests (from [`completed_tests`]).
fn user_row(completed: &HashMap<UserId, u64>, user: &User) -> UserRow {
    UserRow {
        completed_tests: completed.get(&user.id).copied().unwrap_or(0),
        user: user.clone(),
    }
}

/// Whether a question is listed under `query`'s filters (`search` already lowercased).
fn question_matches(query: &QuestionQuery, search: Option<&str>, question: &Question) -> bool {
    query.domain.is_none_or(|d| question.domain() == d)
        && query.difficulty.is_none_or(|d| question.difficulty() == d)
        && query.active.is_none_or(|a| question.is_active == a)
        && query
            .quality_flag
            .is_none_or(|f| question.quality_flag == f)
        && query.anchor.is_none_or(|a| question.is_anchor() == a)
        && search.is_none_or(|s| contains_folded(&question.content.question_text, s))
}

/// Whether a session is listed under `query`'s filters.
fn session_matches(query: &SessionQuery, session: &TestSession) -> bool {
    query.status.is_none_or(|status| session.status == status)
        && query.user_id.is_none_or(|user| session.user_id == user)
        && query
            .started_from
            .is_none_or(|from| session.started_at >= from)
        && query
            .started_before
            .is_none_or(|before| session.started_at < before)
}

/// `session` with its owner's email, its answer count and its result's score and validity.
fn session_row(state: &State, session: &TestSession) -> SessionRow {
    let tests = &state.tests;
    let result = tests.result_of_session(session.id);
    SessionRow {
        user_email: (session.user_id != GUEST_USER_ID)
            .then(|| state.users.get(&session.user_id))
            .flatten()
            .map(|u| u.email.clone()),
        response_count: tests.responses.get(&session.id).map_or(0, Vec::len) as u64,
        iq_score: result.map(|r| r.scores.iq_score),
        validity_status: result.map(|r| r.scores.validity_status.clone()),
        session: session.clone(),
    }
}

fn validity_record(result: &TestResult, note: Option<&OverrideNote>) -> ValidityRecord {
    ValidityRecord {
        session_id: result.test_session_id,
        validity_status: result.scores.validity_status.clone(),
        validity_flags: result.scores.validity_flags.clone(),
        validity_checked_at: result.validity_checked_at,
        override_reason: note.map(|n| n.reason.clone()),
        overridden_at: note.map(|n| n.at),
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn overview_counts(&self) -> Result<OverviewCounts, StorageError> {
        let state = self.state();
        let mut counts = OverviewCounts {
            users: state
                .users
                .keys()
                .filter(|id| **id != GUEST_USER_ID)
                .count() as u64,
            questions: state.bank.questions.len() as u64,
            selectable_questions: state
                .bank
                .questions
                .values()
                .filter(|q| q.is_active && q.quality_flag == QualityFlag::Normal)
                .count() as u64,
            ..OverviewCounts::default()
        };
        for session in state.tests.sessions.values() {
            match session.status {
                SessionStatus::InProgress => counts.in_progress += 1,
                SessionStatus::Completed => counts.completed += 1,
                SessionStatus::Abandoned => counts.abandoned += 1,
            }
        }
        Ok(counts)
    }

    async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError> {
        let state = self.state();
        let mut latest: Vec<_> = state.tests.results.values().collect();
        latest.sort_unstable_by_key(|result| std::cmp::Reverse((result.completed_at, result.id)));
        latest.truncate(usize::try_from(SCORE_SAMPLE).unwrap_or(usize::MAX));
        let mut counts: BTreeMap<i32, u64> = BTreeMap::new();
        for result in latest {
            *counts.entry(result.scores.iq_score).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }

    async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError> {
        let state = self.state();
        let mut days: BTreeMap<Date, u64> = BTreeMap::new();
        for session in state.tests.sessions.values() {
            let Some(at) = session.completed_at else {
                continue;
            };
            let day = at.to_offset(UtcOffset::UTC).date();
            if session.status == SessionStatus::Completed && day >= since {
                *days.entry(day).or_default() += 1;
            }
        }
        Ok(days.into_iter().collect())
    }

    async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError> {
        let state = self.state();
        let mut cells: BTreeMap<(Domain, Difficulty), InventoryCell> = BTreeMap::new();
        for question in state.bank.questions.values() {
            let cell = cells
                .entry((question.domain(), question.difficulty()))
                .or_insert(InventoryCell {
                    domain: question.domain(),
                    difficulty: question.difficulty(),
                    selectable: 0,
                    total: 0,
                });
            cell.total += 1;
            if question.is_active && question.quality_flag == QualityFlag::Normal {
                cell.selectable += 1;
            }
        }
        Ok(cells.into_values().collect())
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<UserRow>, StorageError> {
        let state = self.state();
        let search = query.search.as_deref().map(str::to_lowercase);
        let users = state
            .users
            .values()
            .filter(|u| user_matches(search.as_deref(), u));
        let completed = completed_tests(&state);
        Ok(
            paginate(users, |u| query.sort.cursor(u), &page, query.descending)
                .map(|user| user_row(&completed, user)),
        )
    }

    async fn export_users(
        &self,
        query: &UserQuery,
        seek: Seek,
    ) -> Result<Vec<UserRow>, StorageError> {
        let state = self.state();
        let search = query.search.as_deref().map(str::to_lowercase);
        let completed = completed_tests(&state);
        let users = seek_rows(&state.users, seek, |u| user_matches(search.as_deref(), u));
        Ok(users.map(|user| user_row(&completed, user)).collect())
    }

    async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(match state.users.get_mut(&id) {
            Some(user) if id != GUEST_USER_ID => {
                user.bypass_cooldown = value;
                true
            }
            _ => false,
        })
    }

    async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(match state.users.get_mut(&id) {
            Some(user) if id != GUEST_USER_ID => {
                user.is_admin = value;
                true
            }
            _ => false,
        })
    }

    async fn list_questions(
        &self,
        query: &QuestionQuery,
        page: PageRequest,
    ) -> Result<Page<Question>, StorageError> {
        let state = self.state();
        let search = query.search.as_deref().map(str::to_lowercase);
        let questions = state
            .bank
            .questions
            .values()
            .filter(|q| question_matches(query, search.as_deref(), q))
            .cloned();
        Ok(paginate(
            questions,
            |q| query.sort.cursor(q),
            &page,
            query.descending,
        ))
    }

    async fn export_questions(
        &self,
        query: &QuestionQuery,
        seek: Seek,
    ) -> Result<Vec<Question>, StorageError> {
        let state = self.state();
        let search = query.search.as_deref().map(str::to_lowercase);
        Ok(seek_rows(&state.bank.questions, seek, |q| {
            question_matches(query, search.as_deref(), q)
        })
        .cloned()
        .collect())
    }

    async fn set_question_active(
        &self,
        id: QuestionId,
        active: bool,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(state
            .bank
            .questions
            .get_mut(&id)
            .map(|q| q.is_active = active)
            .is_some())
    }

    async fn set_quality_flag(
        &self,
        id: QuestionId,
        flag: QualityFlag,
        reason: Option<&str>,
        _at: OffsetDateTime,
    ) -> Result<Option<QualityFlag>, StorageError> {
        let mut state = self.state();
        Ok(state.bank.questions.get_mut(&id).map(|q| {
            q.quality_flag_reason = reason.map(str::to_owned);
            std::mem::replace(&mut q.quality_flag, flag)
        }))
    }

    async fn set_anchor(
        &self,
        id: QuestionId,
        anchor: bool,
        _at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        Ok(state
            .bank
            .questions
            .get_mut(&id)
            .map(|q| q.content.is_anchor = anchor)
            .is_some())
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionRow>, StorageError> {
        let state = self.state();
        let sessions = state
            .tests
            .sessions
            .values()
            .filter(|s| session_matches(query, s));
        // Rows (answer counts, results) only for the page's sessions.
        Ok(paginate(sessions, |s| session_cursor(s), &page, true)
            .map(|session| session_row(&state, session)))
    }

    async fn export_sessions(
        &self,
        query: &SessionQuery,
        seek: Seek,
    ) -> Result<Vec<SessionRow>, StorageError> {
        let state = self.state();
        Ok(
            seek_rows(&state.tests.sessions, seek, |s| session_matches(query, s))
                .map(|session| session_row(&state, session))
                .collect(),
        )
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError> {
        Ok(self.state().tests.remove_session(id).is_some())
    }

    async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError> {
        let state = self.state();
        let tests = &state.tests;
        Ok(tests
            .result_of_session(session)
            .map(|result| validity_record(result, tests.validity_overrides.get(&result.id))))
    }

    async fn override_validity(
        &self,
        session: SessionId,
        verdict: &ValidityOverride,
    ) -> Result<Option<ValidityRecord>, StorageError> {
        let mut state = self.state();
        let tests = &mut state.tests;
        let Some(result) = tests
            .result_by_session
            .get(&session)
            .and_then(|id| tests.results.get_mut(id))
        else {
            return Ok(None);
        };
        result.scores.validity_status = verdict.status.clone();
        let note = OverrideNote {
            reason: verdict.reason.clone(),
            at: verdict.at,
        };
        let record = validity_record(result, Some(&note));
        tests.validity_overrides.insert(result.id, note);
        Ok(Some(record))
    }

    async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError> {
        let mut state = self.state();
        let sessions = &mut state.admin.sessions;
        sessions.retain(|_, s| s.expires_at > session.created_at);
        sessions.insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    async fn admin_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AdminSession>, StorageError> {
        Ok(self
            .state()
            .admin
            .sessions
            .get(id_hash)
            .filter(|s| s.expires_at > now)
            .cloned())
    }

    async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError> {
        Ok(self.state().admin.sessions.remove(id_hash).is_some())
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError> {
        let mut state = self.state();
        let audit = &mut state.admin.audit;
        audit.push(AuditEntry {
            id: audit.len() as i64 + 1,
            entry: entry.clone(),
        });
        Ok(())
    }

    async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError> {
        let state = self.state();
        let entries = state.admin.audit.iter().cloned();
        Ok(paginate(entries, AuditEntry::cursor, &page, true))
    }

    async fn export_audit(&self, seek: Seek) -> Result<Vec<AuditEntry>, StorageError> {
        let state = self.state();
        let audit = &state.admin.audit;
        // In id order: the step starts at the first entry past `after`.
        let start = audit.partition_point(|e| seek.after.is_some_and(|after| e.id <= after));
        Ok(audit[start..]
            .iter()
            .take(seek.clamped_limit() as usize)
            .cloned()
            .collect())
    }
}
