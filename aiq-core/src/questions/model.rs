//! The question record as a bank file holds it, and the rules it must satisfy.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The cognitive domain a question measures (the old backend's `QuestionType`).
///
/// The declaration order is the old enum order, which decides ties (strongest/weakest domain,
/// anchor picking).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Number and letter series, matrices of symbols.
    Pattern,
    /// Syllogisms, orderings, truth puzzles.
    Logic,
    /// Rotations, reflections and paths on grids drawn in text.
    Spatial,
    /// Arithmetic and word problems.
    Math,
    /// Analogies, odd-one-out, vocabulary.
    Verbal,
    /// Content to memorise (the `stimulus`) and a question about it.
    Memory,
}

impl Domain {
    /// Every domain in the old enum order.
    pub const ALL: [Self; 6] = [
        Self::Pattern,
        Self::Logic,
        Self::Spatial,
        Self::Math,
        Self::Verbal,
        Self::Memory,
    ];

    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::questions::Domain;
    /// assert_eq!(Domain::Spatial.as_str(), "spatial");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pattern => "pattern",
            Self::Logic => "logic",
            Self::Spatial => "spatial",
            Self::Math => "math",
            Self::Verbal => "verbal",
            Self::Memory => "memory",
        }
    }

    /// Parses a wire value.
    ///
    /// ```
    /// use aiq_core::questions::Domain;
    /// assert_eq!(Domain::parse("math"), Some(Domain::Math));
    /// assert_eq!(Domain::parse("Math"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == value)
    }
}

/// How hard a question is meant to be.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// Easy.
    Easy,
    /// Medium.
    Medium,
    /// Hard.
    Hard,
}

impl Difficulty {
    /// Every level, easiest first.
    pub const ALL: [Self; 3] = [Self::Easy, Self::Medium, Self::Hard];

    /// The wire (and column) value.
    ///
    /// ```
    /// use aiq_core::questions::Difficulty;
    /// assert_eq!(Difficulty::Hard.as_str(), "hard");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Easy => "easy",
            Self::Medium => "medium",
            Self::Hard => "hard",
        }
    }

    /// Parses a wire value.
    ///
    /// ```
    /// use aiq_core::questions::Difficulty;
    /// assert_eq!(Difficulty::parse("easy"), Some(Difficulty::Easy));
    /// assert_eq!(Difficulty::parse("trivial"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == value)
    }
}

/// One question as a bank file holds it: everything but what the store assigns (id, statistics,
/// flags).
///
/// ```
/// use aiq_core::questions::{Difficulty, Domain, NewQuestion};
/// let q = NewQuestion {
///     question_text: "What comes next: 2, 4, 6, 8, ?".into(),
///     question_type: Domain::Pattern,
///     difficulty_level: Difficulty::Easy,
///     correct_answer: "10".into(),
///     answer_options: vec!["9".into(), "10".into(), "12".into(), "16".into()],
///     explanation: Some("Each term adds 2.".into()),
///     stimulus: None,
///     sub_type: Some("number_series".into()),
///     source_llm: None,
///     source_model: Some("aiq-generator/1".into()),
///     is_anchor: false,
///     metadata: serde_json::json!({"start": 2, "step": 2}),
/// };
/// assert!(q.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    /// The question as shown.
    pub question_text: String,
    /// The domain.
    pub question_type: Domain,
    /// The intended difficulty.
    pub difficulty_level: Difficulty,
    /// The text of the correct option.
    pub correct_answer: String,
    /// 4 to 6 options, exactly one of which matches `correct_answer`.
    pub answer_options: Vec<String>,
    /// Why the answer is right (never sent to test takers).
    #[serde(default)]
    pub explanation: Option<String>,
    /// Memory items: what to memorise before the question is shown.
    #[serde(default)]
    pub stimulus: Option<String>,
    /// The item family within the domain (`number_series`, `syllogism`, ...).
    #[serde(default)]
    pub sub_type: Option<String>,
    /// The vendor whose model produced the item (`anthropic`, `openai`, ...); the
    /// model-performance analytics group by it. `None` for the starter bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_llm: Option<String>,
    /// Who produced the item (`aiq-generator/1` for the starter bank); `model_scores` group by it.
    #[serde(default)]
    pub source_model: Option<String>,
    /// An anchor item: one per domain goes into every fixed-form test (for equating).
    #[serde(default)]
    pub is_anchor: bool,
    /// The generator's parameters, from which the answer can be recomputed.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// Why a bank row is not a usable question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionProblem {
    /// A required text is empty after trimming.
    #[error("{0} is blank")]
    Blank(&'static str),
    /// A text is longer than its column allows.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// Not 4 to 6 options.
    #[error("has {0} answer options; 4 to 6 are required")]
    OptionCount(usize),
    /// Two options read the same once trimmed and lower-cased.
    #[error("answer options repeat {0:?}")]
    DuplicateOption(String),
    /// The correct answer is not among the options (compared as answers are).
    #[error("correct_answer is not one of the answer options")]
    AnswerNotAnOption,
    /// Memory questions need something to memorise.
    #[error("a memory question needs a stimulus")]
    MissingStimulus,
    /// A control character in an answer or a label: submitted answers lose theirs, so such an
    /// option could never be chosen, and labels are identifiers (the rule in `text`).
    #[error("{0} contains a control character")]
    ControlCharacter(&'static str),
}

/// The longest `correct_answer` and option (the old `VARCHAR(500)`).
pub const MAX_ANSWER_CHARS: usize = 500;
/// The longest question text, explanation or stimulus.
pub const MAX_TEXT_CHARS: usize = 10_000;

impl NewQuestion {
    /// Checks the row: texts present and within bounds, 4-6 distinct options, exactly one of them
    /// the correct answer (compared trimmed and case-insensitively, as submitted answers are),
    /// a stimulus on memory items, no control character in the answers or the labels.
    ///
    /// # Errors
    /// The first [`QuestionProblem`] found.
    pub fn validate(&self) -> Result<(), QuestionProblem> {
        check_text("question_text", &self.question_text, MAX_TEXT_CHARS)?;
        check_text("correct_answer", &self.correct_answer, MAX_ANSWER_CHARS)?;
        check_identifier("correct_answer", &self.correct_answer)?;
        for (field, value) in [
            ("sub_type", &self.sub_type),
            ("source_llm", &self.source_llm),
            ("source_model", &self.source_model),
        ] {
            if let Some(value) = value {
                check_identifier(field, value)?;
            }
        }
        for (field, value) in [
            ("explanation", &self.explanation),
            ("stimulus", &self.stimulus),
        ] {
            if let Some(value) = value {
                check_text(field, value, MAX_TEXT_CHARS)?;
            }
        }
        let count = self.answer_options.len();
        if !(4..=6).contains(&count) {
            return Err(QuestionProblem::OptionCount(count));
        }
        let mut seen = HashSet::new();
        for option in &self.answer_options {
            check_text("answer option", option, MAX_ANSWER_CHARS)?;
            check_identifier("answer option", option)?;
            let key = answer_key(option);
            if !seen.insert(key.clone()) {
                return Err(QuestionProblem::DuplicateOption(key));
            }
        }
        if !seen.contains(&answer_key(&self.correct_answer)) {
            return Err(QuestionProblem::AnswerNotAnOption);
        }
        if self.question_type == Domain::Memory && self.stimulus.is_none() {
            return Err(QuestionProblem::MissingStimulus);
        }
        Ok(())
    }

    /// The row with NUL in its free text (the wording, explanation, stimulus and metadata)
    /// replaced by U+FFFD, the rule in `text`; answers and labels are refused by
    /// [`validate`](Self::validate) instead.
    pub(crate) fn into_storable(mut self) -> Self {
        for text in [
            Some(&mut self.question_text),
            self.explanation.as_mut(),
            self.stimulus.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let Cow::Owned(clean) = crate::text::storable(text) {
                *text = clean;
            }
        }
        crate::text::storable_json(&mut self.metadata);
        self
    }

    /// Whether `answer` is this question's correct answer (trimmed, case-insensitive).
    ///
    /// ```
    /// # use aiq_core::questions::*;
    /// # let mut q: NewQuestion = serde_json::from_str(r#"{"question_text":"q","question_type":"verbal",
    /// #   "difficulty_level":"easy","correct_answer":"Cat","answer_options":["Cat","Dog","Cow","Pig"]}"#).unwrap();
    /// assert!(q.is_correct("  cAT "));
    /// assert!(!q.is_correct("dog"));
    /// ```
    pub fn is_correct(&self, answer: &str) -> bool {
        answers_match(answer, &self.correct_answer)
    }
}

/// Compares a submitted answer with a correct one: trimmed, case-insensitive.
///
/// ```
/// assert!(aiq_core::questions::answers_match(" Paris\n", "paris"));
/// ```
pub fn answers_match(submitted: &str, correct: &str) -> bool {
    answer_key(submitted) == answer_key(correct)
}

fn answer_key(text: &str) -> String {
    text.trim().to_lowercase()
}

fn check_identifier(field: &'static str, value: &str) -> Result<(), QuestionProblem> {
    if crate::text::is_identifier(value) {
        Ok(())
    } else {
        Err(QuestionProblem::ControlCharacter(field))
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), QuestionProblem> {
    if value.trim().is_empty() {
        return Err(QuestionProblem::Blank(field));
    }
    if value.chars().count() > max {
        return Err(QuestionProblem::TooLong { field, max });
    }
    Ok(())
}
