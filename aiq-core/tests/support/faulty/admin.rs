//! `AdminStore` on the faulty store: the memory store's.

use aiq_core::storage::{
    AdminSession, AdminStore, AuditEntry, InventoryCell, NewAuditEntry, OverviewCounts, Page,
    PageRequest, QualityFlag, Question, QuestionId, QuestionQuery, Seek, SessionId, SessionQuery,
    SessionRow, StorageError, UserId, UserQuery, UserRow, ValidityOverride, ValidityRecord,
};
use async_trait::async_trait;
use time::{Date, OffsetDateTime};

use super::FaultyStore;

#[async_trait]
impl AdminStore for FaultyStore {
    async fn overview_counts(&self) -> Result<OverviewCounts, StorageError> {
        self.inner.overview_counts().await
    }
    async fn iq_score_counts(&self) -> Result<Vec<(i32, u64)>, StorageError> {
        self.inner.iq_score_counts().await
    }
    async fn completions_per_day(&self, since: Date) -> Result<Vec<(Date, u64)>, StorageError> {
        self.inner.completions_per_day(since).await
    }
    async fn inventory(&self) -> Result<Vec<InventoryCell>, StorageError> {
        self.inner.inventory().await
    }
    async fn list_users(
        &self,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<UserRow>, StorageError> {
        self.inner.list_users(query, page).await
    }
    async fn export_users(
        &self,
        query: &UserQuery,
        seek: Seek,
    ) -> Result<Vec<UserRow>, StorageError> {
        self.inner.export_users(query, seek).await
    }
    async fn set_bypass_cooldown(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        self.inner.set_bypass_cooldown(id, value).await
    }
    async fn set_admin(&self, id: UserId, value: bool) -> Result<bool, StorageError> {
        self.inner.set_admin(id, value).await
    }
    async fn list_questions(
        &self,
        query: &QuestionQuery,
        page: PageRequest,
    ) -> Result<Page<Question>, StorageError> {
        self.inner.list_questions(query, page).await
    }
    async fn export_questions(
        &self,
        query: &QuestionQuery,
        seek: Seek,
    ) -> Result<Vec<Question>, StorageError> {
        self.inner.export_questions(query, seek).await
    }
    async fn set_question_active(
        &self,
        id: QuestionId,
        active: bool,
    ) -> Result<bool, StorageError> {
        self.inner.set_question_active(id, active).await
    }
    async fn set_quality_flag(
        &self,
        id: QuestionId,
        flag: QualityFlag,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Option<QualityFlag>, StorageError> {
        self.inner.set_quality_flag(id, flag, reason, at).await
    }
    async fn set_anchor(
        &self,
        id: QuestionId,
        anchor: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        self.inner.set_anchor(id, anchor, at).await
    }
    async fn list_sessions(
        &self,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionRow>, StorageError> {
        self.inner.list_sessions(query, page).await
    }
    async fn export_sessions(
        &self,
        query: &SessionQuery,
        seek: Seek,
    ) -> Result<Vec<SessionRow>, StorageError> {
        self.inner.export_sessions(query, seek).await
    }
    async fn delete_session(&self, id: SessionId) -> Result<bool, StorageError> {
        self.inner.delete_session(id).await
    }
    async fn validity(&self, session: SessionId) -> Result<Option<ValidityRecord>, StorageError> {
        self.inner.validity(session).await
    }
    async fn override_validity(
        &self,
        session: SessionId,
        verdict: &ValidityOverride,
    ) -> Result<Option<ValidityRecord>, StorageError> {
        self.inner.override_validity(session, verdict).await
    }
    async fn create_admin_session(&self, session: &AdminSession) -> Result<(), StorageError> {
        self.inner.create_admin_session(session).await
    }
    async fn admin_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<AdminSession>, StorageError> {
        self.inner.admin_session(id_hash, now).await
    }
    async fn revoke_admin_session(&self, id_hash: &str) -> Result<bool, StorageError> {
        self.inner.revoke_admin_session(id_hash).await
    }
    async fn record_audit(&self, entry: &NewAuditEntry) -> Result<(), StorageError> {
        self.inner.record_audit(entry).await
    }
    async fn audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>, StorageError> {
        self.inner.audit_log(page).await
    }
    async fn export_audit(&self, seek: Seek) -> Result<Vec<AuditEntry>, StorageError> {
        self.inner.export_audit(seek).await
    }
}
