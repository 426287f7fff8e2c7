//! The item bank: stored questions, importing bank rows, and what test composition reads.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::StorageError;
use super::users::UserId;
use crate::questions::{Difficulty, Domain, NewQuestion};
use crate::scoring::ItemStatistics;
use crate::selection::Candidate;

/// A question's id.
pub type QuestionId = i64;

/// An operator's (or the statistics job's) verdict on a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualityFlag {
    /// In use.
    #[default]
    Normal,
    /// Kept out of tests until someone looks at it.
    UnderReview,
    /// Retired.
    Deactivated,
}

impl QualityFlag {
    /// The column value.
    ///
    /// ```
    /// use aiq_core::storage::QualityFlag;
    /// assert_eq!(QualityFlag::UnderReview.as_str(), "under_review");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::UnderReview => "under_review",
            Self::Deactivated => "deactivated",
        }
    }

    /// Parses a column value.
    ///
    /// ```
    /// use aiq_core::storage::QualityFlag;
    /// assert_eq!(QualityFlag::parse("deactivated"), Some(QualityFlag::Deactivated));
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Normal, Self::UnderReview, Self::Deactivated]
            .into_iter()
            .find(|flag| flag.as_str() == value)
    }
}

/// A stored question with its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The id, assigned by the store.
    pub id: QuestionId,
    /// The content as imported.
    pub content: NewQuestion,
    /// Whether tests may use it.
    pub is_active: bool,
    /// Quality verdict; only `normal` items are selected.
    pub quality_flag: QualityFlag,
    /// Why the flag was set.
    pub quality_flag_reason: Option<String>,
    /// Share of correct responses.
    pub empirical_difficulty: Option<f64>,
    /// Point-biserial correlation of correctness with the test score.
    pub discrimination: Option<f64>,
    /// Responses counted in the statistics.
    pub response_count: i32,
    /// 2PL difficulty (b), once calibrated.
    pub irt_difficulty: Option<f64>,
    /// 2PL discrimination (a), once calibrated.
    pub irt_discrimination: Option<f64>,
    /// When it was imported.
    pub created_at: OffsetDateTime,
}

impl Question {
    /// The domain.
    pub fn domain(&self) -> Domain {
        self.content.question_type
    }

    /// The intended difficulty.
    pub fn difficulty(&self) -> Difficulty {
        self.content.difficulty_level
    }

    /// Whether it is an anchor item (answered by many users, for calibration; fixed-form tests
    /// take up to one per domain): as imported, or as set by
    /// [`AdminStore::set_anchor`](super::AdminStore::set_anchor).
    pub fn is_anchor(&self) -> bool {
        self.content.is_anchor
    }
}

/// The key that makes importing idempotent: a hex SHA-256 over the domain, the text and the
/// stimulus. Two rows with the same key are the same question.
///
/// ```
/// use aiq_core::questions::starter_bank;
/// use aiq_core::storage::content_key;
/// let bank = starter_bank();
/// assert_eq!(content_key(&bank[0]).len(), 64);
/// assert_ne!(content_key(&bank[0]), content_key(&bank[1]));
/// ```
pub fn content_key(question: &NewQuestion) -> String {
    content_key_of(
        question.question_type.as_str(),
        &question.question_text,
        question.stimulus.as_deref(),
    )
}

/// [`content_key`] from the parts themselves (`question_type` as its wire value, `pattern` ...):
/// for rows that arrive as columns rather than as a [`NewQuestion`], such as the old backend's.
///
/// ```
/// use aiq_core::questions::starter_bank;
/// use aiq_core::storage::{content_key, content_key_of};
/// let q = &starter_bank()[0];
/// let key = content_key_of(q.question_type.as_str(), &q.question_text, q.stimulus.as_deref());
/// assert_eq!(key, content_key(q));
/// ```
pub fn content_key_of(question_type: &str, question_text: &str, stimulus: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    for part in [
        question_type,
        question_text.trim(),
        stimulus.unwrap_or("").trim(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One question's statistics after a refresh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshedQuestion {
    /// The question.
    pub id: QuestionId,
    /// Share correct, discrimination and response count.
    pub statistics: ItemStatistics,
    /// Whether this refresh moved the item to `under_review`.
    pub flagged: bool,
}

/// Reading and maintaining the item bank.
#[async_trait]
pub trait QuestionStore {
    /// Adds the questions whose [`content_key`] is new, in one transaction; the result says,
    /// per row, whether it was added (false: it existed already). Running an import twice adds
    /// nothing the second time.
    async fn import_questions(&self, rows: &[NewQuestion]) -> Result<Vec<bool>, StorageError>;

    /// How many questions are stored (active or not).
    async fn question_count(&self) -> Result<u64, StorageError>;

    /// The questions with these ids, in no particular order; unknown ids are left out.
    async fn questions_by_ids(&self, ids: &[QuestionId]) -> Result<Vec<Question>, StorageError>;

    /// Up to `limit` active questions the user has never been shown (any quality flag), in id
    /// order.
    async fn unseen_questions(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Question>, StorageError>;

    /// Every question a fixed-form test may use: active, quality `normal`, discrimination not
    /// negative (or unknown), and, when `user` is given, never shown to that user.
    async fn selection_candidates(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<Candidate>, StorageError>;

    /// Recomputes the statistics of these questions: the share correct and the point-biserial
    /// against each session's correct count over the item's latest `latest` responses in
    /// completed sessions (newest response ids), and the count of all its responses; flags an
    /// item `under_review` when [`ItemStatistics::should_flag`] says so (only from `normal`),
    /// with [`ItemStatistics::flag_reason`]. Each id is answered once, in the order asked.
    async fn refresh_question_statistics(
        &self,
        ids: &[QuestionId],
        now: OffsetDateTime,
        latest: u32,
    ) -> Result<Vec<RefreshedQuestion>, StorageError>;
}
