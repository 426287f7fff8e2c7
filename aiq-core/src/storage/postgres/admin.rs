//! `AdminStore` on PostgreSQL.
//!
//! Each list is one statement: the filtered rows (`m`, inlined where used so the page can use
//! an index), their count (`t`), and the page joined laterally to the count, so the total and
//! the page come from one snapshot and an empty page still answers the total (as one row of
//! NULLs). Sort columns come from enums, never from
//! input; every value is a parameter.

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;

use super::questions::{QUESTION_COLUMNS, difficulty_from, domain_from, question_from_row};
use super::sessions::{SESSION_COLUMNS, session_from_row};
use super::users::{USER_COLUMNS, user_from_row};
use super::{PgStore, db_error, timed};
use crate::storage::StorageError;
use crate::storage::admin::{
    AdminSession, AdminStore, AuditEntry, InventoryCell, NewAuditEntry, OverviewCounts, Page,
    PageRequest, QuestionQuery, QuestionSort, SessionQuery, SessionRow, UserQuery, UserRow,
    UserSort, ValidityOverride, ValidityRecord,
};
use crate::storage::questions::{QualityFlag, Question, QuestionId};
use crate::storage::sessions::SessionId;
use crate::storage::users::{GUEST_USER_ID, UserId};

fn count(row: &Row, column: &str) -> Result<u64, StorageError> {
    let value: i64 = row.try_get(column).map_err(db_error)?;
    Ok(u64::try_from(value).unwrap_or_default())
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

/// `LIMIT` and `OFFSET` as parameters.
fn limits(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.clamped_limit()),
        i64::try_from(page.offset).unwrap_or(i64::MAX),
    )
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

/// The page statement over the rows of `filtered` (a query), with `extra` columns computed for
/// the page's rows only (as `p`).
fn page_sql(filtered: &str, order: &str, extra: &str, limit: u8, offset: u8) -> String {
    format!(
        "WITH m AS NOT MATERIALIZED ({filtered}), t AS (SELECT count(*) AS total FROM m) \
         SELECT t.total, p.*{extra} FROM t LEFT JOIN LATERAL \
         (SELECT * FROM m ORDER BY {order} LIMIT ${limit} OFFSET ${offset}) p ON true \
         ORDER BY {order}"
    )
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

const VALIDITY_COLUMNS: &str = "test_session_id, validity_status, validity_flags, \
     validity_checked_at, validity_override_reason, validity_overridden_at";

fn validity_from_row(row: &Row) -> Result<ValidityRecord, StorageError> {
    Ok(ValidityRecord {
        session_id: row.try_get("test_session_id").map_err(db_error)?,
        validity_status: row.try_get("validity_status").map_err(db_error)?,
        validity_flags: row.try_get("validity_flags").map_err(db_error)?,
        validity_checked_at: row.try_get("validity_checked_at").map_err(db_error)?,
        override_reason: row.try_get("validity_override_reason").map_err(db_error)?,
        overridden_at: row.try_get("validity_overridden_at").map_err(db_error)?,
    })
}

fn admin_session_from_row(row: &Row) -> Result<AdminSession, StorageError> {
    Ok(AdminSession {
        id_hash: row.try_get("id_hash").map_err(db_error)?,
        username: row.try_get("username").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        expires_at: row.try_get("expires_at").map_err(db_error)?,
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

impl PgStore {
    /// Sets one boolean column of a user other than the guest sentinel.
    async fn set_user_flag(
        &self,
        operation: &'static str,
        sql: &str,
        id: UserId,
        value: bool,
    ) -> Result<bool, StorageError> {
        let _timed = timed(operation, "users");
        let conn = self.conn().await?;
        let statement = conn.prepare_cached(sql).await.map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&id, &value, &GUEST_USER_ID])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }
}

#[async_trait]
impl AdminStore for PgStore {
    async fn overview_counts(&self) -> Result<OverviewCounts, StorageError> {
        let _timed = timed("overview_counts", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM users WHERE id <> $1) AS users, \
                 count(*) FILTER (WHERE status = 'in_progress') AS in_progress, \
                 count(*) FILTER (WHERE status = 'completed') AS completed, \
                 count(*) FILTER (WHERE status = 'abandoned') AS abandoned, \
                 (SELECT count(*) FROM questions) AS questions, \
                 (SELECT count(*) FROM questions \
                  WHERE is_active AND quality_flag = 'normal') AS selectable \
                 FROM test_sessions",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_one(&statement, &[&GUEST_USER_ID])
            .await
            .map_err(db_error)?;
        Ok(OverviewCounts {
            users: count(&row, "users")?,
            in_progress: count(&row, "in_progress")?,
            completed: count(&row, "completed")?,
            abandoned: count(&row, "abandoned")?,
            questions: count(&row, "questions")?,
            selectable_questions: count(&row, "selectable")?,
        })
    }

    async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError> {
        let _timed = timed("iq_score_counts", "test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT iq_score, count(*) AS n FROM test_results \
                 GROUP BY iq_score ORDER BY iq_score",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| Ok((row.try_get("iq_score").map_err(db_error)?, count(row, "n")?)))
            .collect()
    }

    async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError> {
        let _timed = timed("completions_per_day", "test_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT (completed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n \
                 FROM test_sessions WHERE status = 'completed' AND completed_at >= $1 \
                 GROUP BY day ORDER BY day",
            )
            .await
            .map_err(db_error)?;
        let from = since.midnight().assume_utc();
        let rows = conn.query(&statement, &[&from]).await.map_err(db_error)?;
        rows.iter()
            .map(|row| Ok((row.try_get("day").map_err(db_error)?, count(row, "n")?)))
            .collect()
    }

    async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError> {
        let _timed = timed("inventory", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT question_type, difficulty_level, count(*) AS total, \
                 count(*) FILTER (WHERE is_active AND quality_flag = 'normal') AS selectable \
                 FROM questions GROUP BY question_type, difficulty_level",
            )
            .await
            .map_err(db_error)?;
        let rows = conn.query(&statement, &[]).await.map_err(db_error)?;
        let mut cells = rows
            .iter()
            .map(|row| {
                Ok(InventoryCell {
                    domain: domain_from(row, "question_type")?,
                    difficulty: difficulty_from(row, "difficulty_level")?,
                    selectable: count(row, "selectable")?,
                    total: count(row, "total")?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        cells.sort_by_key(|cell| (cell.domain, cell.difficulty));
        Ok(cells)
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<UserRow>, StorageError> {
        let _timed = timed("list_users", "users");
        let conn = self.conn().await?;
        let column = match query.sort {
            UserSort::Id => None,
            // Byte order, as the in-memory store sorts, whatever the database's collation.
            UserSort::Email => Some("email COLLATE \"C\""),
            UserSort::CreatedAt => Some("created_at"),
            UserSort::LastLoginAt => Some("last_login_at"),
        };
        let sql = page_sql(
            &format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id <> $1 AND ($2::text IS NULL \
                 OR email ILIKE $2 OR first_name ILIKE $2 OR last_name ILIKE $2)"
            ),
            &order_by(column, query.descending),
            ", (SELECT count(*) FROM test_sessions s \
               WHERE s.user_id = p.id AND s.status = 'completed') AS completed_tests",
            3,
            4,
        );
        let statement = conn.prepare_cached(&sql).await.map_err(db_error)?;
        let (limit, offset) = limits(page);
        let pattern = contains_pattern(query.search.as_deref());
        let rows = conn
            .query(&statement, &[&GUEST_USER_ID, &pattern, &limit, &offset])
            .await
            .map_err(db_error)?;
        page_rows(&rows, |row| {
            Ok(UserRow {
                user: user_from_row(row)?,
                completed_tests: count(row, "completed_tests")?,
            })
        })
    }

    async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        self.set_user_flag(
            "set_bypass_cooldown",
            "UPDATE users SET bypass_cooldown = $2 WHERE id = $1 AND id <> $3",
            id,
            value,
        )
        .await
    }

    async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        self.set_user_flag(
            "set_admin",
            "UPDATE users SET is_admin = $2 WHERE id = $1 AND id <> $3",
            id,
            value,
        )
        .await
    }

    async fn list_questions(
        &self,
        query: &QuestionQuery,
        page: PageRequest,
    ) -> Result<Page<Question>, StorageError> {
        let _timed = timed("list_questions", "questions");
        let conn = self.conn().await?;
        let column = match query.sort {
            QuestionSort::Id => None,
            QuestionSort::ResponseCount => Some("response_count"),
            QuestionSort::EmpiricalDifficulty => Some("empirical_difficulty"),
            QuestionSort::Discrimination => Some("discrimination"),
        };
        let sql = page_sql(
            &format!(
                "SELECT {QUESTION_COLUMNS} FROM questions \
                 WHERE ($1::text IS NULL OR question_type = $1) \
                 AND ($2::text IS NULL OR difficulty_level = $2) \
                 AND ($3::bool IS NULL OR is_active = $3) \
                 AND ($4::text IS NULL OR quality_flag = $4) \
                 AND ($5::bool IS NULL OR is_anchor = $5) \
                 AND ($6::text IS NULL OR question_text ILIKE $6)"
            ),
            &order_by(column, query.descending),
            "",
            7,
            8,
        );
        let statement = conn.prepare_cached(&sql).await.map_err(db_error)?;
        let (limit, offset) = limits(page);
        let rows = conn
            .query(
                &statement,
                &[
                    &query.domain.map(|d| d.as_str()),
                    &query.difficulty.map(|d| d.as_str()),
                    &query.active,
                    &query.quality_flag.map(QualityFlag::as_str),
                    &query.anchor,
                    &contains_pattern(query.search.as_deref()),
                    &limit,
                    &offset,
                ],
            )
            .await
            .map_err(db_error)?;
        page_rows(&rows, question_from_row)
    }

    async fn set_question_active(
        &self,
        id: QuestionId,
        active: bool,
    ) -> Result<bool, StorageError> {
        let _timed = timed("set_question_active", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("UPDATE questions SET is_active = $2 WHERE id = $1")
            .await
            .map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&id, &active])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }

    async fn set_quality_flag(
        &self,
        id: QuestionId,
        flag: QualityFlag,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Option<QualityFlag>, StorageError> {
        let _timed = timed("set_quality_flag", "questions");
        let conn = self.conn().await?;
        // The row lock of the inner SELECT makes the flag it reads the one being replaced.
        let statement = conn
            .prepare_cached(
                "UPDATE questions q SET quality_flag = $2, quality_flag_reason = $3, \
                 quality_flag_updated_at = $4 \
                 FROM (SELECT id, quality_flag FROM questions WHERE id = $1 FOR UPDATE) old \
                 WHERE q.id = old.id RETURNING old.quality_flag",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&id, &flag.as_str(), &reason, &at])
            .await
            .map_err(db_error)?;
        row.map(|row| {
            let previous: &str = row.try_get(0).map_err(db_error)?;
            QualityFlag::parse(previous).ok_or_else(|| {
                StorageError::Backend(format!("unknown quality_flag {previous:?}").into())
            })
        })
        .transpose()
    }

    async fn set_anchor(
        &self,
        id: QuestionId,
        anchor: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let _timed = timed("set_anchor", "questions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "UPDATE questions SET is_anchor = $2, \
                 anchor_designated_at = CASE WHEN $2 THEN $3::timestamptz END WHERE id = $1",
            )
            .await
            .map_err(db_error)?;
        let updated = conn
            .execute(&statement, &[&id, &anchor, &at])
            .await
            .map_err(db_error)?;
        Ok(updated == 1)
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionRow>, StorageError> {
        let _timed = timed("list_sessions", "test_sessions");
        let conn = self.conn().await?;
        let columns = SESSION_COLUMNS
            .split(',')
            .map(|column| format!("s.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = page_sql(
            &format!(
                "SELECT {columns}, CASE WHEN s.user_id <> $1 THEN u.email END AS user_email, \
                 tr.iq_score, tr.validity_status \
                 FROM test_sessions s JOIN users u ON u.id = s.user_id \
                 LEFT JOIN test_results tr ON tr.test_session_id = s.id \
                 WHERE ($2::text IS NULL OR s.status = $2) \
                 AND ($3::bigint IS NULL OR s.user_id = $3) \
                 AND ($4::timestamptz IS NULL OR s.started_at >= $4) \
                 AND ($5::timestamptz IS NULL OR s.started_at < $5)"
            ),
            &order_by(Some("started_at"), true),
            ", (SELECT count(*) FROM responses r WHERE r.test_session_id = p.id) \
               AS response_count",
            6,
            7,
        );
        let statement = conn.prepare_cached(&sql).await.map_err(db_error)?;
        let (limit, offset) = limits(page);
        let rows = conn
            .query(
                &statement,
                &[
                    &GUEST_USER_ID,
                    &query.status.map(|s| s.as_str()),
                    &query.user_id,
                    &query.started_from,
                    &query.started_before,
                    &limit,
                    &offset,
                ],
            )
            .await
            .map_err(db_error)?;
        page_rows(&rows, |row| {
            Ok(SessionRow {
                session: session_from_row(row)?,
                user_email: row.try_get("user_email").map_err(db_error)?,
                response_count: count(row, "response_count")?,
                iq_score: row.try_get("iq_score").map_err(db_error)?,
                validity_status: row.try_get("validity_status").map_err(db_error)?,
            })
        })
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError> {
        let _timed = timed("delete_session", "test_sessions");
        let conn = self.conn().await?;
        // One statement: the foreign keys cascade to the responses, the result and the
        // session's seen records (user_questions) atomically.
        let statement = conn
            .prepare_cached("DELETE FROM test_sessions WHERE id = $1")
            .await
            .map_err(db_error)?;
        let deleted = conn.execute(&statement, &[&id]).await.map_err(db_error)?;
        Ok(deleted == 1)
    }

    async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError> {
        let _timed = timed("validity", "test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "SELECT {VALIDITY_COLUMNS} FROM test_results WHERE test_session_id = $1"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&session])
            .await
            .map_err(db_error)?;
        row.as_ref().map(validity_from_row).transpose()
    }

    async fn override_validity(
        &self,
        session: SessionId,
        verdict: &ValidityOverride,
    ) -> Result<Option<ValidityRecord>, StorageError> {
        let _timed = timed("override_validity", "test_results");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(&format!(
                "UPDATE test_results SET validity_status = $2, validity_override_reason = $3, \
                 validity_overridden_at = $4 WHERE test_session_id = $1 \
                 RETURNING {VALIDITY_COLUMNS}"
            ))
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(
                &statement,
                &[&session, &verdict.status, &verdict.reason, &verdict.at],
            )
            .await
            .map_err(db_error)?;
        row.as_ref().map(validity_from_row).transpose()
    }

    async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError> {
        let _timed = timed("create_admin_session", "admin_sessions");
        let conn = self.conn().await?;
        // One statement: the sweep of expired sessions rides along with the insert.
        let statement = conn
            .prepare_cached(
                "WITH swept AS (DELETE FROM admin_sessions WHERE expires_at <= $3) \
                 INSERT INTO admin_sessions (id_hash, username, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .await
            .map_err(db_error)?;
        conn.execute(
            &statement,
            &[
                &session.id_hash,
                &session.username,
                &session.created_at,
                &session.expires_at,
            ],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn admin_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AdminSession>, StorageError> {
        let _timed = timed("admin_session", "admin_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT id_hash, username, created_at, expires_at FROM admin_sessions \
                 WHERE id_hash = $1 AND expires_at > $2",
            )
            .await
            .map_err(db_error)?;
        let row = conn
            .query_opt(&statement, &[&id_hash, &now])
            .await
            .map_err(db_error)?;
        row.as_ref().map(admin_session_from_row).transpose()
    }

    async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError> {
        let _timed = timed("revoke_admin_session", "admin_sessions");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached("DELETE FROM admin_sessions WHERE id_hash = $1")
            .await
            .map_err(db_error)?;
        let deleted = conn
            .execute(&statement, &[&id_hash])
            .await
            .map_err(db_error)?;
        Ok(deleted == 1)
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError> {
        let _timed = timed("record_audit", "admin_audit_log");
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "INSERT INTO admin_audit_log (at, actor, action, target, detail, ip) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await
            .map_err(db_error)?;
        conn.execute(
            &statement,
            &[
                &entry.at,
                &entry.actor,
                &entry.action,
                &entry.target,
                &entry.detail,
                &entry.ip,
            ],
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError> {
        let _timed = timed("audit_log", "admin_audit_log");
        let conn = self.conn().await?;
        let sql = page_sql(
            "SELECT id, at, actor, action, target, detail, ip FROM admin_audit_log",
            &order_by(None, true),
            "",
            1,
            2,
        );
        let statement = conn.prepare_cached(&sql).await.map_err(db_error)?;
        let (limit, offset) = limits(page);
        let rows = conn
            .query(&statement, &[&limit, &offset])
            .await
            .map_err(db_error)?;
        page_rows(&rows, audit_from_row)
    }
}
