//! The operator's lists and exports of users, questions, test sessions and the audit log.
//!
//! Each list has one filter ([`Filtered`]), shared by its two statements:
//!
//! - a page ([`Filtered::page`]): the filtered rows (`m`, inlined where used so the page can use
//!   an index), their count (`t`), and the page joined laterally to the count, so the total and
//!   the page come from one snapshot and an empty page still answers the total (as one row of
//!   NULLs);
//! - an export step ([`Filtered::seek`]): the filtered rows whose id is above the last one
//!   seen, in id order (the primary key's index), without a count or an offset.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::count;
use crate::storage::StorageError;
use crate::storage::admin::{
    AuditEntry, NewAuditEntry, Page, PageRequest, QuestionQuery, QuestionSort, Seek, SessionQuery,
    SessionRow, UserQuery, UserRow, UserSort,
};
use crate::storage::postgres::questions::{QUESTION_COLUMNS, question_from_row};
use crate::storage::postgres::sessions::{SESSION_COLUMNS, session_from_row};
use crate::storage::postgres::users::{USER_COLUMNS, user_from_row};
use crate::storage::postgres::{PgStore, db_error, timed};
use crate::storage::questions::{QualityFlag, Question};
use crate::storage::users::GUEST_USER_ID;

/// A statement parameter, owned.
type Param = Box<dyn ToSql + Sync + Send>;

/// A statement with its parameters (`$1` is the first).
struct Statement {
    sql: String,
    params: Vec<Param>,
}

/// The rows of a list before ordering and paging.
struct Filtered {
    /// A query over the filtered rows, each with its `id`; `$1...` are `params`.
    sql: String,
    params: Vec<Param>,
    /// Columns computed for the returned rows only (`p`), after the query's own.
    extra: &'static str,
}

/// A case-insensitive substring pattern for `ILIKE`: `%`, `_` and `\` match themselves.
fn contains_pattern(search: Option<&str>) -> Option<String> {
    search.map(|text| {
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push('%');
        for c in text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    })
}

/// `ORDER BY` for a sort column, then the id, in one direction. Unknown values (`NULL`) sort
/// as the lowest.
fn order_by(column: Option<&str>, descending: bool) -> String {
    let (direction, nulls) = if descending {
        ("DESC", "LAST")
    } else {
        ("ASC", "FIRST")
    };
    match column {
        Some(column) => format!("{column} {direction} NULLS {nulls}, id {direction}"),
        None => format!("id {direction}"),
    }
}

impl Filtered {
    /// Users other than the guest sentinel, with their completed tests.
    fn users(query: &UserQuery) -> Self {
        Self {
            sql: format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id <> $1 AND ($2::text IS NULL \
                 OR email ILIKE $2 OR first_name ILIKE $2 OR last_name ILIKE $2)"
            ),
            params: vec![
                Box::new(GUEST_USER_ID),
                Box::new(contains_pattern(query.search.as_deref())),
            ],
            extra: ", (SELECT count(*) FROM test_sessions s \
                    WHERE s.user_id = p.id AND s.status = 'completed') AS completed_tests",
        }
    }

    fn questions(query: &QuestionQuery) -> Self {
        Self {
            sql: format!(
                "SELECT {QUESTION_COLUMNS} FROM questions \
                 WHERE ($1::text IS NULL OR question_type = $1) \
                 AND ($2::text IS NULL OR difficulty_level = $2) \
                 AND ($3::bool IS NULL OR is_active = $3) \
                 AND ($4::text IS NULL OR quality_flag = $4) \
                 AND ($5::bool IS NULL OR is_anchor = $5) \
                 AND ($6::text IS NULL OR question_text ILIKE $6)"
            ),
            params: vec![
                Box::new(query.domain.map(|d| d.as_str())),
                Box::new(query.difficulty.map(|d| d.as_str())),
                Box::new(query.active),
                Box::new(query.quality_flag.map(QualityFlag::as_str)),
                Box::new(query.anchor),
                Box::new(contains_pattern(query.search.as_deref())),
            ],
            extra: "",
        }
    }

    /// Sessions with their owner's email (none for guests), result and answer count.
    fn sessions(query: &SessionQuery) -> Self {
        let columns = SESSION_COLUMNS
            .split(',')
            .map(|column| format!("s.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            sql: format!(
                "SELECT {columns}, CASE WHEN s.user_id <> $1 THEN u.email END AS user_email, \
                 tr.iq_score, tr.validity_status \
                 FROM test_sessions s JOIN users u ON u.id = s.user_id \
                 LEFT JOIN test_results tr ON tr.test_session_id = s.id \
                 WHERE ($2::text IS NULL OR s.status = $2) \
                 AND ($3::bigint IS NULL OR s.user_id = $3) \
                 AND ($4::timestamptz IS NULL OR s.started_at >= $4) \
                 AND ($5::timestamptz IS NULL OR s.started_at < $5)"
            ),
            params: vec![
                Box::new(GUEST_USER_ID),
                Box::new(query.status.map(|s| s.as_str())),
                Box::new(query.user_id),
                Box::new(query.started_from),
                Box::new(query.started_before),
            ],
            extra: ", (SELECT count(*) FROM responses r WHERE r.test_session_id = p.id) \
                    AS response_count",
        }
    }

    /// The whole audit log.
    fn audit() -> Self {
        Self {
            sql: "SELECT id, at, actor, action, target, detail, ip FROM admin_audit_log".to_owned(),
            params: Vec::new(),
            extra: "",
        }
    }

    /// The page in `order`, each row with the total (see the module's doc); `LIMIT` and
    /// `OFFSET` are the next two parameters.
    fn page(self, order: &str, page: PageRequest) -> Statement {
        let Self {
            sql,
            mut params,
            extra,
        } = self;
        let (limit, offset) = (params.len() + 1, params.len() + 2);
        params.push(Box::new(i64::from(page.clamped_limit())));
        params.push(Box::new(i64::try_from(page.offset).unwrap_or(i64::MAX)));
        Statement {
            sql: format!(
                "WITH m AS NOT MATERIALIZED ({sql}), t AS (SELECT count(*) AS total FROM m) \
                 SELECT t.total, p.*{extra} FROM t LEFT JOIN LATERAL \
                 (SELECT * FROM m ORDER BY {order} LIMIT ${limit} OFFSET ${offset}) p ON true \
                 ORDER BY {order}"
            ),
            params,
        }
    }

    /// The export step: rows with an id above the next parameter, in id order, as many as the
    /// one after it.
    fn seek(self, seek: Seek) -> Statement {
        let Self {
            sql,
            mut params,
            extra,
        } = self;
        let (after, limit) = (params.len() + 1, params.len() + 2);
        // No id is below i64::MIN: a first step needs no `IS NULL` branch that would keep a
        // generic plan off the index.
        params.push(Box::new(seek.after.unwrap_or(i64::MIN)));
        params.push(Box::new(i64::from(seek.clamped_limit())));
        Statement {
            sql: format!(
                "SELECT p.*{extra} FROM ({sql}) p WHERE p.id > ${after} \
                 ORDER BY p.id LIMIT ${limit}"
            ),
            params,
        }
    }
}

/// Runs `statement`, timed as `operation` on `table`.
async fn fetch(
    store: &PgStore,
    operation: &'static str,
    table: &'static str,
    statement: Statement,
) -> Result<Vec<Row>, StorageError> {
    let _timed = timed(operation, table);
    let conn = store.conn().await?;
    let prepared = conn
        .prepare_cached(&statement.sql)
        .await
        .map_err(db_error)?;
    let params: Vec<&(dyn ToSql + Sync)> = statement
        .params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect();
    conn.query(&prepared, &params).await.map_err(db_error)
}

/// The rows of a page statement's answer: the total, and the rows (none when the one row is
/// the NULL row of an empty page).
fn page_rows<T>(
    rows: &[Row],
    read: impl Fn(&Row) -> Result<T, StorageError>,
) -> Result<Page<T>, StorageError> {
    let total = rows.first().map(|row| count(row, "total")).transpose()?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Option<i64> = row.try_get("id").map_err(db_error)?;
        if id.is_some() {
            items.push(read(row)?);
        }
    }
    Ok(Page {
        items,
        total: total.unwrap_or(0),
    })
}

fn user_row(row: &Row) -> Result<UserRow, StorageError> {
    Ok(UserRow {
        user: user_from_row(row)?,
        completed_tests: count(row, "completed_tests")?,
    })
}

fn session_row(row: &Row) -> Result<SessionRow, StorageError> {
    Ok(SessionRow {
        session: session_from_row(row)?,
        user_email: row.try_get("user_email").map_err(db_error)?,
        response_count: count(row, "response_count")?,
        iq_score: row.try_get("iq_score").map_err(db_error)?,
        validity_status: row.try_get("validity_status").map_err(db_error)?,
    })
}

fn audit_from_row(row: &Row) -> Result<AuditEntry, StorageError> {
    Ok(AuditEntry {
        id: row.try_get("id").map_err(db_error)?,
        entry: NewAuditEntry {
            actor: row.try_get("actor").map_err(db_error)?,
            action: row.try_get("action").map_err(db_error)?,
            target: row.try_get("target").map_err(db_error)?,
            detail: row.try_get("detail").map_err(db_error)?,
            ip: row.try_get("ip").map_err(db_error)?,
            at: row.try_get("at").map_err(db_error)?,
        },
    })
}

pub(super) async fn users(
    store: &PgStore,
    query: &UserQuery,
    page: PageRequest,
) -> Result<Page<UserRow>, StorageError> {
    let column = match query.sort {
        UserSort::Id => None,
        // Byte order, as the in-memory store sorts, whatever the database's collation.
        UserSort::Email => Some("email COLLATE \"C\""),
        UserSort::CreatedAt => Some("created_at"),
        UserSort::LastLoginAt => Some("last_login_at"),
    };
    let statement = Filtered::users(query).page(&order_by(column, query.descending), page);
    let rows = fetch(store, "list_users", "users", statement).await?;
    page_rows(&rows, user_row)
}

pub(super) async fn export_users(
    store: &PgStore,
    query: &UserQuery,
    seek: Seek,
) -> Result<Vec<UserRow>, StorageError> {
    let statement = Filtered::users(query).seek(seek);
    let rows = fetch(store, "export_users", "users", statement).await?;
    rows.iter().map(user_row).collect()
}

pub(super) async fn questions(
    store: &PgStore,
    query: &QuestionQuery,
    page: PageRequest,
) -> Result<Page<Question>, StorageError> {
    let column = match query.sort {
        QuestionSort::Id => None,
        QuestionSort::ResponseCount => Some("response_count"),
        QuestionSort::EmpiricalDifficulty => Some("empirical_difficulty"),
        QuestionSort::Discrimination => Some("discrimination"),
    };
    let statement = Filtered::questions(query).page(&order_by(column, query.descending), page);
    let rows = fetch(store, "list_questions", "questions", statement).await?;
    page_rows(&rows, question_from_row)
}

pub(super) async fn export_questions(
    store: &PgStore,
    query: &QuestionQuery,
    seek: Seek,
) -> Result<Vec<Question>, StorageError> {
    let statement = Filtered::questions(query).seek(seek);
    let rows = fetch(store, "export_questions", "questions", statement).await?;
    rows.iter().map(question_from_row).collect()
}

pub(super) async fn sessions(
    store: &PgStore,
    query: &SessionQuery,
    page: PageRequest,
) -> Result<Page<SessionRow>, StorageError> {
    let statement = Filtered::sessions(query).page(&order_by(Some("started_at"), true), page);
    let rows = fetch(store, "list_sessions", "test_sessions", statement).await?;
    page_rows(&rows, session_row)
}

pub(super) async fn export_sessions(
    store: &PgStore,
    query: &SessionQuery,
    seek: Seek,
) -> Result<Vec<SessionRow>, StorageError> {
    let statement = Filtered::sessions(query).seek(seek);
    let rows = fetch(store, "export_sessions", "test_sessions", statement).await?;
    rows.iter().map(session_row).collect()
}

pub(super) async fn audit_log(
    store: &PgStore,
    page: PageRequest,
) -> Result<Page<AuditEntry>, StorageError> {
    let statement = Filtered::audit().page(&order_by(None, true), page);
    let rows = fetch(store, "audit_log", "admin_audit_log", statement).await?;
    page_rows(&rows, audit_from_row)
}

pub(super) async fn export_audit(
    store: &PgStore,
    seek: Seek,
) -> Result<Vec<AuditEntry>, StorageError> {
    let statement = Filtered::audit().seek(seek);
    let rows = fetch(store, "export_audit", "admin_audit_log", statement).await?;
    rows.iter().map(audit_from_row).collect()
}
