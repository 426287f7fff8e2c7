//! What operators change or look up one at a time: user and question flags, session deletion,
//! result validity, the dashboard's login sessions and audit log writes.

use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::storage::StorageError;
use crate::storage::admin::{AdminSession, NewAuditEntry, ValidityOverride, ValidityRecord};
use crate::storage::postgres::{PgStore, db_error, timed};
use crate::storage::questions::{QualityFlag, QuestionId};
use crate::storage::sessions::SessionId;
use crate::storage::users::{GUEST_USER_ID, UserId};

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

/// Sets one boolean column of a user other than the guest sentinel.
async fn set_user_flag(
    store: &PgStore,
    operation: &'static str,
    sql: &str,
    id: UserId,
    value: bool,
) -> Result<bool, StorageError> {
    let _timed = timed(operation, "users");
    let conn = store.conn().await?;
    let statement = conn.prepare_cached(sql).await.map_err(db_error)?;
    let updated = conn
        .execute(&statement, &[&id, &value, &GUEST_USER_ID])
        .await
        .map_err(db_error)?;
    Ok(updated == 1)
}

pub(super) async fn set_bypass_cooldown(
    store: &PgStore,
    id: UserId,
    value: bool,
) -> Result<bool, StorageError> {
    set_user_flag(
        store,
        "set_bypass_cooldown",
        "UPDATE users SET bypass_cooldown = $2 WHERE id = $1 AND id <> $3",
        id,
        value,
    )
    .await
}

pub(super) async fn set_admin(
    store: &PgStore,
    id: UserId,
    value: bool,
) -> Result<bool, StorageError> {
    set_user_flag(
        store,
        "set_admin",
        "UPDATE users SET is_admin = $2 WHERE id = $1 AND id <> $3",
        id,
        value,
    )
    .await
}

pub(super) async fn set_question_active(
    store: &PgStore,
    id: QuestionId,
    active: bool,
) -> Result<bool, StorageError> {
    let _timed = timed("set_question_active", "questions");
    let conn = store.conn().await?;
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

pub(super) async fn set_quality_flag(
    store: &PgStore,
    id: QuestionId,
    flag: QualityFlag,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> Result<Option<QualityFlag>, StorageError> {
    let _timed = timed("set_quality_flag", "questions");
    let conn = store.conn().await?;
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

pub(super) async fn set_anchor(
    store: &PgStore,
    id: QuestionId,
    anchor: bool,
    at: OffsetDateTime,
) -> Result<bool, StorageError> {
    let _timed = timed("set_anchor", "questions");
    let conn = store.conn().await?;
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

pub(super) async fn delete_session(store: &PgStore, id: SessionId) -> Result<bool, StorageError> {
    let _timed = timed("delete_session", "test_sessions");
    let conn = store.conn().await?;
    // One statement: the foreign keys cascade to the responses, the result and the
    // session's seen records (user_questions) atomically.
    let statement = conn
        .prepare_cached("DELETE FROM test_sessions WHERE id = $1")
        .await
        .map_err(db_error)?;
    let deleted = conn.execute(&statement, &[&id]).await.map_err(db_error)?;
    Ok(deleted == 1)
}

pub(super) async fn validity(
    store: &PgStore,
    session: SessionId,
) -> Result<Option<ValidityRecord>, StorageError> {
    let _timed = timed("validity", "test_results");
    let conn = store.conn().await?;
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

pub(super) async fn override_validity(
    store: &PgStore,
    session: SessionId,
    verdict: &ValidityOverride,
) -> Result<Option<ValidityRecord>, StorageError> {
    let _timed = timed("override_validity", "test_results");
    let conn = store.conn().await?;
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

pub(super) async fn create_admin_session(
    store: &PgStore,
    session: &AdminSession,
) -> Result<(), StorageError> {
    let _timed = timed("create_admin_session", "admin_sessions");
    let conn = store.conn().await?;
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

pub(super) async fn admin_session(
    store: &PgStore,
    id_hash: &str,
    now: OffsetDateTime,
) -> Result<Option<AdminSession>, StorageError> {
    let _timed = timed("admin_session", "admin_sessions");
    let conn = store.conn().await?;
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

pub(super) async fn revoke_admin_session(
    store: &PgStore,
    id_hash: &str,
) -> Result<bool, StorageError> {
    let _timed = timed("revoke_admin_session", "admin_sessions");
    let conn = store.conn().await?;
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

pub(super) async fn record_audit(
    store: &PgStore,
    entry: &NewAuditEntry,
) -> Result<(), StorageError> {
    let _timed = timed("record_audit", "admin_audit_log");
    let conn = store.conn().await?;
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
