//! Loading a bank file into a store, with a report of what happened to each row: what the
//! `aiq-server questions import` command prints and the admin dashboard's upload shows.

use super::{NewQuestion, parse_bank};
use crate::storage::{QuestionStore, StorageError};

/// What happened to one row of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Added to the bank.
    Added,
    /// The bank already holds this question (same content key).
    Skipped,
    /// Not a valid question; the reason.
    Rejected(String),
}

/// One row of an import and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// The 1-based line (JSON Lines) or array position (JSON array).
    pub line: usize,
    /// What happened to it.
    pub outcome: ImportOutcome,
}

/// The outcome of importing a bank file, row by row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// Every row, in file order.
    pub lines: Vec<ImportLine>,
}

impl ImportReport {
    /// Rows with this outcome kind.
    fn count(&self, kind: fn(&ImportOutcome) -> bool) -> usize {
        self.lines.iter().filter(|line| kind(&line.outcome)).count()
    }

    /// Rows added.
    pub fn added(&self) -> usize {
        self.count(|o| *o == ImportOutcome::Added)
    }

    /// Rows already in the bank.
    pub fn skipped(&self) -> usize {
        self.count(|o| *o == ImportOutcome::Skipped)
    }

    /// Rows rejected.
    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, ImportOutcome::Rejected(_)))
    }
}

/// Checks every row of `text` (JSON Lines or a JSON array of questions) and adds the valid new
/// ones to `store` in one transaction; rows already in the bank are skipped, so importing a
/// file twice adds nothing the second time. Rejected rows do not stop the valid ones.
///
/// ```
/// use aiq_core::questions::{ImportOutcome, import_bank, starter_bank};
/// use aiq_core::storage::MemoryStore;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let row = serde_json::to_string(&starter_bank()[0]).unwrap();
/// let report = import_bank(&store, &format!("{row}\nnot json\n{row}\n")).await.unwrap();
/// assert_eq!((report.added(), report.skipped(), report.rejected()), (1, 1, 1));
/// assert!(matches!(report.lines[1].outcome, ImportOutcome::Rejected(_)));
/// # });
/// ```
///
/// # Errors
/// The store failed; nothing was added.
pub async fn import_bank(
    store: &(impl QuestionStore + ?Sized),
    text: &str,
) -> Result<ImportReport, StorageError> {
    let mut rows: Vec<NewQuestion> = Vec::new();
    let mut lines = Vec::new();
    let mut row_positions = Vec::new();
    for parsed in parse_bank(text) {
        match parsed.row {
            Ok(question) => {
                row_positions.push(lines.len());
                rows.push(question);
                lines.push(ImportLine {
                    line: parsed.line,
                    outcome: ImportOutcome::Added,
                });
            }
            Err(problem) => lines.push(ImportLine {
                line: parsed.line,
                outcome: ImportOutcome::Rejected(problem.to_string()),
            }),
        }
    }
    let added = store.import_questions(&rows).await?;
    for (position, was_added) in row_positions.into_iter().zip(added) {
        if !was_added {
            lines[position].outcome = ImportOutcome::Skipped;
        }
    }
    Ok(ImportReport { lines })
}
