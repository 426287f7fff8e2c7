//! The item generator: original multiple-choice items for all six domains at three levels of
//! difficulty, each with the generator's parameters in `metadata` so that the correct answer can
//! be recomputed ([`recompute_answer`]).
//!
//! The families, by domain (the `sub_type` of each item, and the `family` tag of its `metadata`):
//! - pattern: `arithmetic_series`, `geometric_series`, `alternating_series`,
//!   `second_order_series`, `interleaved_series`, `mul_add_series`, `letter_series`;
//! - math: `arithmetic`, `percent_of`, `what_percent`, `percent_change`, `distance`, `meeting`,
//!   `ages_sum`, `ages_ratio`, `mixture`, `dilution`, `work`;
//! - logic: `syllogism`, `ordering`, `truth_liar`, `conditional`;
//! - verbal: `analogy`, `odd_one_out`, `synonym`, `antonym` (from our own word lists);
//! - spatial: `grid_transform` (rotations and reflections of `#`/`.` grids), `grid_path`;
//! - memory: `digit_position`, `digit_sum`, `word_after`, `word_missing`, `pair_number`.
//!
//! Every family draws its parameters from a seeded [`StdRng`], computes the answer from those
//! parameters, and builds near-miss distractors (off by one step, wrong operation, wrong
//! direction, ...). Drafts that would be ambiguous (a series that fits two rules, a puzzle with
//! two solutions, fewer than three distinct distractors) are thrown away and drawn again.
//!
//! ```
//! use aiq_core::questions::generate::{generate_bank, recompute_answer};
//! let bank = generate_bank(7, 2);
//! assert_eq!(bank.len(), 36);
//! for q in &bank {
//!     assert!(q.validate().is_ok());
//!     assert_eq!(recompute_answer(q).as_deref().unwrap_or(&q.correct_answer), q.correct_answer);
//! }
//! ```

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::{Difficulty, Domain, NewQuestion, answers_match};

mod logic;
mod math;
mod memory;
mod pattern;
mod spatial;
mod verbal;
mod words;

/// The seed the shipped starter bank (`aiq-core/data/starter-bank.jsonl`) was generated with.
///
/// ```
/// use aiq_core::questions::generate::{STARTER_PER_CELL, STARTER_SEED, generate_bank};
/// let first = &generate_bank(STARTER_SEED, 1)[0];
/// assert_eq!(first, &aiq_core::questions::starter_bank()[0]);
/// # let _ = STARTER_PER_CELL;
/// ```
pub const STARTER_SEED: u64 = 20_260_101;

/// Items per (domain, difficulty) cell in the starter bank: 18 cells, 990 items.
///
/// ```
/// use aiq_core::questions::generate::STARTER_PER_CELL;
/// assert_eq!(aiq_core::questions::starter_bank().len(), 18 * STARTER_PER_CELL);
/// ```
pub const STARTER_PER_CELL: usize = 55;

/// The `source_model` of every generated item.
///
/// ```
/// use aiq_core::questions::generate::SOURCE_MODEL;
/// let bank = aiq_core::questions::starter_bank();
/// assert!(bank.iter().all(|q| q.source_model.as_deref() == Some(SOURCE_MODEL)));
/// ```
pub const SOURCE_MODEL: &str = "aiq-generator/1";

/// Anchors per domain in a generated bank, as (difficulty, how many).
const ANCHORS: [(Difficulty, usize); 3] = [
    (Difficulty::Easy, 2),
    (Difficulty::Medium, 2),
    (Difficulty::Hard, 1),
];

/// How many draws a bank cell may spend on colliding or rejected items before giving up.
const MAX_DRAWS_PER_ITEM: usize = 2_000;

/// An item before its options are shuffled and it is turned into a [`NewQuestion`].
struct Draft {
    text: String,
    stimulus: Option<String>,
    correct: String,
    /// Near misses first: the builder keeps the first distinct ones.
    distractors: Vec<String>,
    explanation: String,
    /// The family's parameters, tagged with `family` (which becomes the `sub_type`).
    metadata: Value,
}

/// Generates one item of `domain` at `difficulty`.
///
/// ```
/// use aiq_core::questions::generate::generate_one;
/// use aiq_core::questions::{Difficulty, Domain};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let q = generate_one(Domain::Pattern, Difficulty::Easy, &mut rng);
/// assert!(q.validate().is_ok());
/// assert_eq!(q.source_model.as_deref(), Some("aiq-generator/1"));
/// ```
pub fn generate_one(domain: Domain, difficulty: Difficulty, rng: &mut StdRng) -> NewQuestion {
    loop {
        let draft = match domain {
            Domain::Pattern => pattern::generate(difficulty, rng),
            Domain::Logic => logic::generate(difficulty, rng),
            Domain::Spatial => spatial::generate(difficulty, rng),
            Domain::Math => math::generate(difficulty, rng),
            Domain::Verbal => verbal::generate(difficulty, rng),
            Domain::Memory => memory::generate(difficulty, rng),
        };
        if let Some(question) = draft.and_then(|d| finish(domain, difficulty, d, rng)) {
            return question;
        }
    }
}

/// Generates a bank: `per_cell` items for each of the 18 (domain, difficulty) cells, in domain
/// then difficulty order, no two with the same question text and stimulus; per domain the first
/// two easy, two medium and one hard item are anchors. The same seed gives the same bank.
///
/// # Panics
/// If a cell cannot find `per_cell` distinct items (far beyond [`STARTER_PER_CELL`]).
///
/// ```
/// use aiq_core::questions::generate::generate_bank;
/// let bank = generate_bank(42, 3);
/// assert_eq!(bank.len(), 54);
/// assert_eq!(bank, generate_bank(42, 3));
/// assert_eq!(bank.iter().filter(|q| q.is_anchor).count(), 6 * 5);
/// ```
pub fn generate_bank(seed: u64, per_cell: usize) -> Vec<NewQuestion> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen = HashSet::new();
    let mut bank = Vec::with_capacity(per_cell * 18);
    for domain in Domain::ALL {
        for difficulty in Difficulty::ALL {
            let anchors = ANCHORS
                .iter()
                .find(|(d, _)| *d == difficulty)
                .map_or(0, |(_, n)| *n);
            let mut made = 0;
            let mut draws = 0;
            while made < per_cell {
                draws += 1;
                assert!(
                    draws <= MAX_DRAWS_PER_ITEM * per_cell,
                    "{domain:?}/{difficulty:?}: only {made} distinct items"
                );
                let mut question = generate_one(domain, difficulty, &mut rng);
                if !seen.insert(identity(&question)) {
                    continue;
                }
                question.is_anchor = made < anchors;
                bank.push(question);
                made += 1;
            }
        }
    }
    bank
}

/// What makes two items the same item: the question text and the stimulus.
fn identity(question: &NewQuestion) -> (String, Option<String>) {
    (question.question_text.clone(), question.stimulus.clone())
}

/// Recomputes the correct answer of a generated item from its `metadata` (and, for verbal items,
/// the generator's word lists). `None` when the metadata is not the generator's or does not
/// determine an answer.
///
/// ```
/// use aiq_core::questions::generate::{generate_one, recompute_answer};
/// use aiq_core::questions::{Difficulty, Domain};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
/// let mut q = generate_one(Domain::Math, Difficulty::Medium, &mut rng);
/// assert_eq!(recompute_answer(&q), Some(q.correct_answer.clone()));
/// q.metadata = serde_json::json!({"family": "unknown"});
/// assert_eq!(recompute_answer(&q), None);
/// ```
pub fn recompute_answer(question: &NewQuestion) -> Option<String> {
    let meta = &question.metadata;
    if !numbers_within(meta, MAX_PARAMETER) {
        return None;
    }
    match question.question_type {
        Domain::Pattern => pattern::recompute(meta),
        Domain::Logic => logic::recompute(meta),
        Domain::Spatial => spatial::recompute(meta),
        Domain::Math => math::recompute(meta),
        Domain::Verbal => verbal::recompute(meta),
        Domain::Memory => memory::recompute(meta),
    }
}

/// The largest parameter magnitude [`recompute_answer`] accepts (so no arithmetic overflows).
const MAX_PARAMETER: i64 = 100_000;

/// Whether every number in `value` is an integer within `±limit`.
fn numbers_within(value: &Value, limit: i64) -> bool {
    match value {
        Value::Number(n) => n.as_i64().is_some_and(|i| i.abs() <= limit),
        Value::Array(items) => items.iter().all(|v| numbers_within(v, limit)),
        Value::Object(map) => map.values().all(|v| numbers_within(v, limit)),
        _ => true,
    }
}

/// Options per item: easy items have 4, the others 5 (fewer if a family has fewer distractors,
/// never below 4).
fn option_count(difficulty: Difficulty) -> usize {
    match difficulty {
        Difficulty::Easy => 4,
        Difficulty::Medium | Difficulty::Hard => 5,
    }
}

/// Picks distinct distractors, shuffles the options and fills in the row; `None` when fewer
/// than three distinct distractors are left.
fn finish(
    domain: Domain,
    difficulty: Difficulty,
    draft: Draft,
    rng: &mut StdRng,
) -> Option<NewQuestion> {
    let mut options = vec![draft.correct.clone()];
    for distractor in draft.distractors {
        if options.len() == option_count(difficulty) {
            break;
        }
        if distractor.trim().is_empty() || options.iter().any(|o| answers_match(o, &distractor)) {
            continue;
        }
        options.push(distractor);
    }
    if options.len() < 4 {
        return None;
    }
    shuffle(rng, &mut options);
    let sub_type = draft.metadata.get("family")?.as_str()?.to_owned();
    let question = NewQuestion {
        question_text: draft.text,
        question_type: domain,
        difficulty_level: difficulty,
        correct_answer: draft.correct,
        answer_options: options,
        explanation: Some(draft.explanation),
        stimulus: draft.stimulus,
        sub_type: Some(sub_type),
        source_llm: None,
        source_model: Some(SOURCE_MODEL.to_owned()),
        is_anchor: false,
        metadata: draft.metadata,
    };
    question.validate().ok()?;
    Some(question)
}

/// A uniform index below `n` (`n > 0`); the modulo bias is negligible for the small `n` used.
fn below(rng: &mut StdRng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A uniform integer in `lo..=hi`.
fn between(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    lo + (rng.next_u64() % (hi - lo + 1) as u64) as i64
}

/// A coin flip.
fn coin(rng: &mut StdRng) -> bool {
    rng.next_u64() & 1 == 1
}

/// One element of a non-empty slice.
fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[below(rng, items.len())]
}

/// Fisher-Yates.
fn shuffle<T>(rng: &mut StdRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

/// `k` distinct indices below `n`, in random order.
fn sample(rng: &mut StdRng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut all);
    all.truncate(k);
    all
}

/// The metadata as a family's parameter type.
fn params<T: serde::de::DeserializeOwned>(meta: &Value) -> Option<T> {
    serde_json::from_value(meta.clone()).ok()
}

/// The metadata of a family's parameters.
fn to_meta<T: serde::Serialize>(params: &T) -> Value {
    serde_json::to_value(params).unwrap_or(Value::Null)
}

/// `num / den` written with at most two decimals (`"2.5"`, `"12"`, `"-0.25"`), or `None` when
/// it does not terminate there.
fn decimal(num: i64, den: i64) -> Option<String> {
    if den == 0 || (num * 100) % den != 0 {
        return None;
    }
    let hundredths = num * 100 / den;
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.abs();
    let (whole, frac) = (abs / 100, abs % 100);
    Some(match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    })
}

/// Ordinal words for positions 1 to 12.
fn ordinal(n: usize) -> String {
    const WORDS: [&str; 12] = [
        "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th",
    ];
    WORDS
        .get(n.wrapping_sub(1))
        .map_or_else(|| format!("{n}th"), |w| (*w).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_plainly() {
        assert_eq!(decimal(5, 2).as_deref(), Some("2.5"));
        assert_eq!(decimal(12, 1).as_deref(), Some("12"));
        assert_eq!(decimal(-1, 4).as_deref(), Some("-0.25"));
        assert_eq!(decimal(1, 3), None);
    }

    #[test]
    fn every_cell_recomputes() {
        let mut rng = StdRng::seed_from_u64(99);
        for domain in Domain::ALL {
            for difficulty in Difficulty::ALL {
                for _ in 0..20 {
                    let q = generate_one(domain, difficulty, &mut rng);
                    assert!(q.validate().is_ok(), "{q:?}");
                    let again = recompute_answer(&q);
                    if domain != Domain::Verbal {
                        assert!(again.is_some(), "{q:?}");
                    }
                    if let Some(answer) = again {
                        assert_eq!(answer, q.correct_answer, "{q:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn banks_are_deterministic_and_distinct() {
        let bank = generate_bank(5, 4);
        assert_eq!(bank, generate_bank(5, 4));
        assert_ne!(bank, generate_bank(6, 4));
        let ids: HashSet<_> = bank.iter().map(identity).collect();
        assert_eq!(ids.len(), bank.len());
    }
}
