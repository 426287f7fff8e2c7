//! `AdminStore` on PostgreSQL, by concern: the lists and exports (`lists`), the overview's
//! counts (`counts`), and what operators change or look up one at a time (`records`): flags,
//! sessions, validity, the dashboard's logins and the audit log's writes.
//!
//! Sort columns come from enums, never from input; every value is a parameter.

mod counts;
mod lists;
mod records;

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use tokio_postgres::Row;

use super::{PgStore, db_error};
use crate::storage::StorageError;
use crate::storage::admin::{
    AdminSession, AdminStore, AuditEntry, InventoryCell, NewAuditEntry, OverviewCounts,
    QuestionQuery, SessionQuery, SessionRow, UserQuery, UserRow, ValidityOverride, ValidityRecord,
};
use crate::storage::paging::{Page, PageRequest, Seek};
use crate::storage::questions::{QualityFlag, Question, QuestionId};
use crate::storage::sessions::SessionId;
use crate::storage::users::UserId;

/// A `count(*)` column as a count.
fn count(row: &Row, column: &str) -> Result<u64, StorageError> {
    let value: i64 = row.try_get(column).map_err(db_error)?;
    Ok(u64::try_from(value).unwrap_or_default())
}

#[async_trait]
impl AdminStore for PgStore {
    async fn overview_counts(&self) -> Result<OverviewCounts, StorageError> {
        counts::overview(self).await
    }

    async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError> {
        counts::iq_scores(self).await
    }

    async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError> {
        counts::completions_per_day(self, since).await
    }

    async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError> {
        counts::inventory(self).await
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<UserRow>, StorageError> {
        lists::users(self, query, page).await
    }

    async fn export_users(
        &self,
        query: &UserQuery,
        seek: Seek,
    ) -> Result<Vec<UserRow>, StorageError> {
        lists::export_users(self, query, seek).await
    }

    async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        records::set_bypass_cooldown(self, id, value).await
    }

    async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        records::set_admin(self, id, value).await
    }

    async fn list_questions(
        &self,
        query: &QuestionQuery,
        page: PageRequest,
    ) -> Result<Page<Question>, StorageError> {
        lists::questions(self, query, page).await
    }

    async fn export_questions(
        &self,
        query: &QuestionQuery,
        seek: Seek,
    ) -> Result<Vec<Question>, StorageError> {
        lists::export_questions(self, query, seek).await
    }

    async fn set_question_active(
        &self,
        id: QuestionId,
        active: bool,
    ) -> Result<bool, StorageError> {
        records::set_question_active(self, id, active).await
    }

    async fn set_quality_flag(
        &self,
        id: QuestionId,
        flag: QualityFlag,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Option<QualityFlag>, StorageError> {
        records::set_quality_flag(self, id, flag, reason, at).await
    }

    async fn set_anchor(
        &self,
        id: QuestionId,
        anchor: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        records::set_anchor(self, id, anchor, at).await
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionRow>, StorageError> {
        lists::sessions(self, query, page).await
    }

    async fn export_sessions(
        &self,
        query: &SessionQuery,
        seek: Seek,
    ) -> Result<Vec<SessionRow>, StorageError> {
        lists::export_sessions(self, query, seek).await
    }

    async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError> {
        records::delete_session(self, id).await
    }

    async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError> {
        records::validity(self, session).await
    }

    async fn override_validity(
        &self,
        session: SessionId,
        verdict: &ValidityOverride,
    ) -> Result<Option<ValidityRecord>, StorageError> {
        records::override_validity(self, session, verdict).await
    }

    async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError> {
        records::create_admin_session(self, session).await
    }

    async fn admin_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AdminSession>, StorageError> {
        records::admin_session(self, id_hash, now).await
    }

    async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError> {
        records::revoke_admin_session(self, id_hash).await
    }

    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError> {
        records::record_audit(self, entry).await
    }

    async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError> {
        lists::audit_log(self, page).await
    }

    async fn export_audit(&self, seek: Seek) -> Result<Vec<AuditEntry>, StorageError> {
        lists::export_audit(self, seek).await
    }
}
