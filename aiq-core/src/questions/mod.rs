//! Questions: the two axes every item sits on ([`Domain`], [`Difficulty`]), the row format of a
//! question bank ([`NewQuestion`]) with the checks every row must pass, and the item generator
//! that produced the starter bank ([`generate`]).
//!
//! A bank file is JSON Lines: one [`NewQuestion`] per line. The starter bank ships with the crate
//! ([`starter_bank`]); the in-memory store loads it at start-up and `aiq-server questions import`
//! loads it (or any other bank file) into PostgreSQL.

mod bank;
mod import;
mod model;

pub mod generate;

pub use self::bank::{BankError, BankLine, STARTER_BANK_JSONL, parse_bank, starter_bank};
pub use self::import::{ImportLine, ImportOutcome, ImportReport, import_bank};
pub use self::model::{
    Difficulty, Domain, MAX_ANSWER_CHARS, MAX_TEXT_CHARS, NewQuestion, QuestionProblem,
    answers_match,
};
