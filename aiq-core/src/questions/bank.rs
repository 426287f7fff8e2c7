//! Bank files: JSON Lines of [`NewQuestion`], parsed with line numbers, and the starter bank.

use super::{NewQuestion, QuestionProblem};

/// The starter bank shipped with the crate: JSON Lines of
/// [`generate_bank`](super::generate::generate_bank)`(`[`STARTER_SEED`](super::generate::STARTER_SEED)`,
/// `[`STARTER_PER_CELL`](super::generate::STARTER_PER_CELL)`)`; `data/README.md` says how to
/// regenerate it and how it was reviewed.
pub const STARTER_BANK_JSONL: &str = include_str!("../../data/starter-bank.jsonl");

/// One row of a bank file: its 1-based line number and the question, or why it was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct BankLine {
    /// The 1-based line (JSONL) or array index + 1 (JSON array).
    pub line: usize,
    /// The question, or why this row is not one.
    pub row: Result<NewQuestion, BankError>,
}

/// Why a bank row was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    /// Not JSON, or not the shape of a [`NewQuestion`].
    #[error("not a question: {0}")]
    Malformed(String),
    /// A question that breaks a rule.
    #[error("{0}")]
    Invalid(#[from] QuestionProblem),
}

/// Parses a bank file: a JSON array of questions, or JSON Lines (blank lines skipped). Every
/// row is checked with [`NewQuestion::validate`]; a bad row does not stop the others.
///
/// ```
/// use aiq_core::questions::parse_bank;
/// let lines = parse_bank("{\"nope\":1}\n\n{\"question_text\":\"2+2?\",\"question_type\":\"math\",\
///     \"difficulty_level\":\"easy\",\"correct_answer\":\"4\",\"answer_options\":[\"3\",\"4\",\"5\",\"6\"]}\n");
/// assert_eq!(lines.len(), 2);
/// assert!(lines[0].row.is_err());
/// assert_eq!(lines[1].line, 3);
/// assert!(lines[1].row.is_ok());
/// ```
pub fn parse_bank(text: &str) -> Vec<BankLine> {
    if text.trim_start().starts_with('[') {
        return match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(values) => values
                .into_iter()
                .enumerate()
                .map(|(index, value)| BankLine {
                    line: index + 1,
                    row: check(serde_json::from_value(value)),
                })
                .collect(),
            Err(error) => vec![BankLine {
                line: error.line(),
                row: Err(BankError::Malformed(error.to_string())),
            }],
        };
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| BankLine {
            line: index + 1,
            row: check(serde_json::from_str(line)),
        })
        .collect()
}

fn check(parsed: Result<NewQuestion, serde_json::Error>) -> Result<NewQuestion, BankError> {
    let question = parsed.map_err(|e| BankError::Malformed(e.to_string()))?;
    question.validate()?;
    Ok(question)
}

/// The starter bank's questions, every one valid (a unit test holds the file to that).
///
/// ```
/// let bank = aiq_core::questions::starter_bank();
/// assert!(bank.len() >= 900);
/// ```
pub fn starter_bank() -> Vec<NewQuestion> {
    parse_bank(STARTER_BANK_JSONL)
        .into_iter()
        .filter_map(|line| line.row.ok())
        .collect()
}
