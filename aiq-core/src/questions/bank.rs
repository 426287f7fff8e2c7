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
/// row is checked with [`NewQuestion::validate`]; a bad row does not stop the others. Text follows
/// the rule of request bodies (`text`): an unpaired surrogate escape reads as U+FFFD, and NUL in
/// a question's wording is kept as U+FFFD.
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
    // The repair rewrites hex digits of escapes only: still UTF-8, so this never copies.
    let repaired = crate::text::repair_surrogate_escapes(text.as_bytes());
    let text = &*String::from_utf8_lossy(&repaired);
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
    let question = parsed
        .map_err(|e| BankError::Malformed(e.to_string()))?
        .into_storable();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A math row with this wording, correct answer and sub-type, as JSON text.
    fn row(text: &str, answer: &str, sub_type: &str) -> String {
        format!(
            r#"{{"question_text": "{text}", "question_type": "math", "difficulty_level": "easy",
                "correct_answer": "{answer}", "answer_options": ["{answer}", "5", "6", "7"],
                "sub_type": "{sub_type}", "metadata": {{"k\u0000": "v\u0000"}}}}"#
        )
        .replace('\n', " ")
    }

    #[test]
    fn wording_keeps_nul_as_replacement_answers_and_labels_refuse_control_characters() {
        let file = [
            row(r"2+2\u0000?\ud800", "4", "sum"),
            row("2+2?", r"4\u0000", "sum"),
            row("2+2?", "4", r"sum\t"),
        ]
        .join("\n");
        let lines = parse_bank(&file);
        let first = lines[0].row.as_ref().unwrap();
        assert_eq!(first.question_text, "2+2\u{fffd}?\u{fffd}");
        assert_eq!(
            first.metadata,
            serde_json::json!({"k\u{fffd}": "v\u{fffd}"})
        );
        let refused = |field| Err(BankError::Invalid(QuestionProblem::ControlCharacter(field)));
        assert_eq!(lines[1].row, refused("correct_answer"));
        assert_eq!(lines[2].row, refused("sub_type"));
    }
}
