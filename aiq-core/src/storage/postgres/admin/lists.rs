//! The operator's lists and exports of users, questions, test sessions and the audit log.
//!
//! Each list has one filter ([`Filtered`]), shared by its two statements:
//!
//! - a page ([`Filtered::page`]): the filtered rows (`m`, inlined where used so the page can use
//!   an index), the page (`p`), and their count up to the request's limit (`t`) joined to the
//!   page, so the total and the page come from one snapshot and an empty page still answers the
//!   total (as one row of NULLs). A first page that is not full is the whole list: its rows are
//!   the count, and the filter is not run a second time (a search reads its index once). The
//!   page seeks: it starts at a position in the list's order
//!   (`(key, id) > (cursor key, cursor id)`), which an index on `(key, id)` finds directly, so
//!   the last page costs what the first does;
//! - an export step ([`Filtered::seek`]): the filtered rows whose id is above the last one
//!   seen, in id order (the primary key's index), without a count or an offset.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::count;
use crate::storage::StorageError;
use crate::storage::admin::{
    AuditEntry, NewAuditEntry, QuestionQuery, QuestionSort, SessionQuery, SessionRow, UserQuery,
    UserRow, UserSort,
};
use crate::storage::paging::{Cursor, Page, PageRequest, PageStart, Seek, SortValue, Total};
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
    /// Planned for its parameters on each call (see [`Conditions::search`]).
    per_call: bool,
}

/// The rows of a list before ordering and paging.
struct Filtered {
    /// A query over the filtered rows, each with its `id`; `$1...` are `params`.
    sql: String,
    params: Vec<Param>,
    /// Columns computed for the returned rows only (`p`), after the query's own.
    extra: &'static str,
    /// Planned for its parameters on each call (see [`Conditions::search`]).
    per_call: bool,
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

/// The kind of a sort column's values, which a cursor's value is bound as.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Time,
    Int,
    Float,
}

/// A sort column of a list.
struct SortKey {
    /// The column (over the filtered rows' columns), as the index on it is written.
    column: &'static str,
    kind: Kind,
    /// What rows without a value sort as (the lowest value of the kind), for nullable columns.
    lowest: Option<&'static str>,
}

impl SortKey {
    const fn new(column: &'static str, kind: Kind) -> Self {
        Self {
            column,
            kind,
            lowest: None,
        }
    }

    /// A nullable column, whose rows without a value sort as `lowest`.
    const fn nullable(column: &'static str, kind: Kind, lowest: &'static str) -> Self {
        Self {
            column,
            kind,
            lowest: Some(lowest),
        }
    }

    /// The expression rows sort by.
    fn expression(&self) -> String {
        match self.lowest {
            Some(lowest) => format!("COALESCE({}, {lowest})", self.column),
            None => self.column.to_owned(),
        }
    }

    /// The cursor's value as parameter `$n`, on the expression's terms.
    fn parameter(&self, n: usize) -> String {
        let kind = match self.kind {
            Kind::Text => "text COLLATE \"C\"",
            Kind::Time => "timestamptz",
            Kind::Int => "bigint",
            Kind::Float => "float8",
        };
        match self.lowest {
            Some(lowest) => format!("COALESCE(${n}::{kind}, {lowest})"),
            None => format!("${n}::{kind}"),
        }
    }

    /// The cursor's value, bound as the column's kind (a value of another kind, from a link
    /// edited by hand, binds as none).
    fn bind(&self, key: Option<&SortValue>) -> Param {
        match self.kind {
            Kind::Text => Box::new(key.and_then(SortValue::as_text).map(str::to_owned)),
            Kind::Time => Box::new(key.and_then(SortValue::as_time)),
            Kind::Int => Box::new(key.and_then(SortValue::as_int)),
            Kind::Float => Box::new(key.and_then(SortValue::as_float)),
        }
    }
}

/// A list's order: by a sort column (`None`: by id alone), then by id, in one direction.
struct Order {
    key: Option<SortKey>,
    descending: bool,
}

impl Order {
    /// `ORDER BY`'s terms, or their reverse.
    fn terms(&self, reversed: bool) -> String {
        let direction = if self.descending != reversed {
            "DESC"
        } else {
            "ASC"
        };
        match &self.key {
            Some(key) => format!("{} {direction}, id {direction}", key.expression()),
            None => format!("id {direction}"),
        }
    }
}

/// The `WHERE` conditions of the filters a list was given, with their parameters. Only given
/// filters are written (no `$n IS NULL OR` branches): each combination is its own prepared
/// statement, whose plan can use the index that fits it.
struct Conditions {
    sql: Vec<String>,
    params: Vec<Param>,
    per_call: bool,
}

impl Conditions {
    /// No conditions yet, after the parameters the query's `SELECT` uses itself (`$1`...).
    fn after(params: Vec<Param>) -> Self {
        Self {
            sql: Vec::new(),
            params,
            per_call: false,
        }
    }

    /// Adds `condition` (its `$` stands for `value`'s parameter) when there is a value.
    fn add<T: ToSql + Sync + Send + 'static>(&mut self, condition: &str, value: Option<T>) {
        if let Some(value) = value {
            self.params.push(Box::new(value));
            let n = self.params.len();
            self.sql.push(condition.replace('$', &format!("${n}")));
        }
    }

    /// Adds a substring search. A search is planned on each call, for its pattern: a plan made
    /// once for any pattern (a prepared statement's generic plan) guesses that a pattern matches
    /// many rows and scans the table for them, 300 ms on 100,000 users for a pattern matching
    /// none, where the trigram index finds them in milliseconds.
    fn search(&mut self, condition: &str, pattern: Option<String>) {
        self.per_call |= pattern.is_some();
        self.add(condition, pattern);
    }

    /// The rows of `select` that meet every condition.
    fn filter(self, select: &str, extra: &'static str) -> Filtered {
        let sql = if self.sql.is_empty() {
            select.to_owned()
        } else {
            format!("{select} WHERE {}", self.sql.join(" AND "))
        };
        Filtered {
            sql,
            params: self.params,
            extra,
            per_call: self.per_call,
        }
    }
}

impl Filtered {
    /// Users other than the guest sentinel, with their completed tests.
    fn users(query: &UserQuery) -> Self {
        let mut conditions = Conditions::after(Vec::new());
        conditions.add("id <> $", Some(GUEST_USER_ID));
        // One pattern, three columns: each `ILIKE` can use the trigram index (migration V13).
        conditions.search(
            "(email ILIKE $ OR first_name ILIKE $ OR last_name ILIKE $)",
            contains_pattern(query.search.as_deref()),
        );
        conditions.filter(
            &format!("SELECT {USER_COLUMNS} FROM users"),
            ", (SELECT count(*) FROM test_sessions s \
             WHERE s.user_id = p.id AND s.status = 'completed') AS completed_tests",
        )
    }

    fn questions(query: &QuestionQuery) -> Self {
        let mut conditions = Conditions::after(Vec::new());
        conditions.add("question_type = $", query.domain.map(|d| d.as_str()));
        conditions.add("difficulty_level = $", query.difficulty.map(|d| d.as_str()));
        conditions.add("is_active = $", query.active);
        conditions.add(
            "quality_flag = $",
            query.quality_flag.map(QualityFlag::as_str),
        );
        conditions.add("is_anchor = $", query.anchor);
        conditions.add(
            "question_text ILIKE $",
            contains_pattern(query.search.as_deref()),
        );
        conditions.filter(&format!("SELECT {QUESTION_COLUMNS} FROM questions"), "")
    }

    /// Sessions with their owner's email (none for guests), result and answer count.
    fn sessions(query: &SessionQuery) -> Self {
        let columns = SESSION_COLUMNS
            .split(',')
            .map(|column| format!("s.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut conditions = Conditions::after(vec![Box::new(GUEST_USER_ID)]);
        conditions.add("s.status = $", query.status.map(|s| s.as_str()));
        conditions.add("s.user_id = $", query.user_id);
        conditions.add("s.started_at >= $", query.started_from);
        conditions.add("s.started_at < $", query.started_before);
        // Left joins on unique keys, which a count that reads no column of theirs leaves out.
        conditions.filter(
            &format!(
                "SELECT {columns}, CASE WHEN s.user_id <> $1 THEN u.email END AS user_email, \
                 tr.iq_score, tr.validity_status \
                 FROM test_sessions s LEFT JOIN users u ON u.id = s.user_id \
                 LEFT JOIN test_results tr ON tr.test_session_id = s.id"
            ),
            ", (SELECT count(*) FROM responses r WHERE r.test_session_id = p.id) \
             AS response_count",
        )
    }

    /// The whole audit log.
    fn audit() -> Self {
        Self {
            sql: "SELECT id, at, actor, action, target, detail, ip FROM admin_audit_log".to_owned(),
            params: Vec::new(),
            extra: "",
            per_call: false,
        }
    }

    /// The page `page` in `order`, with the count (see the module's doc): one row more than
    /// the limit, past the cursor, in the list's order ([`Page::from_window`]).
    fn page(self, order: &Order, page: &PageRequest) -> Statement {
        let Self {
            sql,
            mut params,
            extra,
            per_call,
        } = self;
        let mut param = |value: Param| {
            params.push(value);
            params.len()
        };
        let count = param(Box::new(
            i64::try_from(page.count_limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        let limit = param(Box::new(i64::from(page.clamped_limit()) + 1));
        let (cursor, before) = match &page.start {
            PageStart::First => (None, false),
            PageStart::After(cursor) => (Some(cursor), false),
            PageStart::Before(cursor) => (Some(cursor), true),
        };
        let seek = match cursor {
            None => String::new(),
            Some(cursor) => {
                let id = param(Box::new(cursor.id));
                // Past the cursor in the direction the window is read.
                let past = if order.descending != before { "<" } else { ">" };
                match &order.key {
                    Some(key) => {
                        let value = param(key.bind(cursor.key.as_ref()));
                        format!(
                            "WHERE ({}, id) {past} ({}, ${id})",
                            key.expression(),
                            key.parameter(value)
                        )
                    }
                    None => format!("WHERE id {past} ${id}"),
                }
            }
        };
        let first = param(Box::new(cursor.is_none()));
        Statement {
            sql: format!(
                "WITH m AS NOT MATERIALIZED ({sql}), \
                 p AS MATERIALIZED (SELECT * FROM m {seek} ORDER BY {} LIMIT ${limit}), \
                 t AS (SELECT CASE WHEN ${first} AND (SELECT count(*) FROM p) < ${limit} \
                 THEN (SELECT count(*) FROM p) \
                 ELSE (SELECT count(*) FROM (SELECT 1 FROM m LIMIT ${count}) c) END AS total) \
                 SELECT t.total, p.*{extra} FROM t LEFT JOIN p ON true \
                 ORDER BY {}",
                order.terms(before),
                order.terms(false)
            ),
            params,
            per_call,
        }
    }

    /// The export step: rows with an id above the next parameter, in id order, as many as the
    /// one after it.
    fn seek(self, seek: Seek) -> Statement {
        let Self {
            sql,
            mut params,
            extra,
            per_call,
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
            per_call,
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
    let params: Vec<&(dyn ToSql + Sync)> = statement
        .params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect();
    if statement.per_call {
        // An unnamed statement: PostgreSQL plans it for these parameters.
        return conn
            .query(statement.sql.as_str(), &params)
            .await
            .map_err(db_error);
    }
    let prepared = conn
        .prepare_cached(&statement.sql)
        .await
        .map_err(db_error)?;
    conn.query(&prepared, &params).await.map_err(db_error)
}

/// The page answering `request` from a page statement's rows: the count, and the window (none
/// when the one row is the NULL row of an empty page).
fn page_rows<T>(
    request: &PageRequest,
    rows: &[Row],
    read: impl Fn(&Row) -> Result<T, StorageError>,
    cursor: impl Fn(&T) -> Cursor,
) -> Result<Page<T>, StorageError> {
    let counted = rows.first().map(|row| count(row, "total")).transpose()?;
    let mut window = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Option<i64> = row.try_get("id").map_err(db_error)?;
        if id.is_some() {
            window.push(read(row)?);
        }
    }
    let total = Total::counted(counted.unwrap_or(0), request.count_limit);
    Ok(Page::from_window(request, window, total, cursor))
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
    // Each has an index on (key, id) (migration V13).
    let key = match query.sort {
        UserSort::Id => None,
        // Byte order, as the in-memory store sorts, whatever the database's collation.
        UserSort::Email => Some(SortKey::new("(email COLLATE \"C\")", Kind::Text)),
        UserSort::CreatedAt => Some(SortKey::new("created_at", Kind::Time)),
        // Accounts that never logged in sort as the oldest.
        UserSort::LastLoginAt => Some(SortKey::nullable(
            "last_login_at",
            Kind::Time,
            "'-infinity'::timestamptz",
        )),
    };
    let order = Order {
        key,
        descending: query.descending,
    };
    let statement = Filtered::users(query).page(&order, &page);
    let rows = fetch(store, "list_users", "users", statement).await?;
    page_rows(&page, &rows, user_row, |row| query.sort.cursor(&row.user))
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
    // Items without a statistic sort as the lowest. The bank is small: no index needed.
    let lowest = "'-Infinity'::float8";
    let key = match query.sort {
        QuestionSort::Id => None,
        QuestionSort::ResponseCount => Some(SortKey::new("response_count", Kind::Int)),
        QuestionSort::EmpiricalDifficulty => Some(SortKey::nullable(
            "empirical_difficulty",
            Kind::Float,
            lowest,
        )),
        QuestionSort::Discrimination => {
            Some(SortKey::nullable("discrimination", Kind::Float, lowest))
        }
    };
    let order = Order {
        key,
        descending: query.descending,
    };
    let statement = Filtered::questions(query).page(&order, &page);
    let rows = fetch(store, "list_questions", "questions", statement).await?;
    page_rows(&page, &rows, question_from_row, |q| query.sort.cursor(q))
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
    let order = Order {
        key: Some(SortKey::new("started_at", Kind::Time)),
        descending: true,
    };
    let statement = Filtered::sessions(query).page(&order, &page);
    let rows = fetch(store, "list_sessions", "test_sessions", statement).await?;
    page_rows(&page, &rows, session_row, SessionRow::cursor)
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
    let order = Order {
        key: None,
        descending: true,
    };
    let statement = Filtered::audit().page(&order, &page);
    let rows = fetch(store, "audit_log", "admin_audit_log", statement).await?;
    page_rows(&page, &rows, audit_from_row, AuditEntry::cursor)
}

pub(super) async fn export_audit(
    store: &PgStore,
    seek: Seek,
) -> Result<Vec<AuditEntry>, StorageError> {
    let statement = Filtered::audit().seek(seek);
    let rows = fetch(store, "export_audit", "admin_audit_log", statement).await?;
    rows.iter().map(audit_from_row).collect()
}
