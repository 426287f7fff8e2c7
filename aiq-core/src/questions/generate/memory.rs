//! Memory items: a `stimulus` to memorise (digits, words, word–number pairs) and a question
//! about it asked after it is hidden. Difficulty is the stimulus length.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::words::CATEGORIES;
use super::{Difficulty, Draft, below, between, ordinal, params, sample, shuffle, to_meta};

/// A memory item's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum MemoryItem {
    /// Which digit was at `position` (1-based)?
    DigitPosition { digits: Vec<u8>, position: usize },
    /// The sum of the first and the last digit.
    DigitSum { digits: Vec<u8> },
    /// Which word came right after `words[after]`?
    WordAfter { words: Vec<String>, after: usize },
    /// Which of `candidates` was not in `words`?
    WordMissing {
        words: Vec<String>,
        candidates: Vec<String>,
    },
    /// Which number was paired with `pairs[asked].0`?
    PairNumber {
        pairs: Vec<(String, u32)>,
        asked: usize,
    },
}

impl MemoryItem {
    fn answer(&self) -> Option<String> {
        match self {
            Self::DigitPosition { digits, position } => {
                digits.get(position.checked_sub(1)?).map(u8::to_string)
            }
            Self::DigitSum { digits } => {
                Some((u32::from(*digits.first()?) + u32::from(*digits.last()?)).to_string())
            }
            Self::WordAfter { words, after } => words.get(after + 1).cloned(),
            Self::WordMissing { words, candidates } => {
                let missing: Vec<&String> =
                    candidates.iter().filter(|c| !words.contains(c)).collect();
                match missing.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => None,
                }
            }
            Self::PairNumber { pairs, asked } => pairs.get(*asked).map(|p| p.1.to_string()),
        }
    }

    fn stimulus(&self) -> String {
        match self {
            Self::DigitPosition { digits, .. } | Self::DigitSum { digits } => {
                let shown: Vec<String> = digits.iter().map(u8::to_string).collect();
                shown.join(" ")
            }
            Self::WordAfter { words, .. } | Self::WordMissing { words, .. } => words.join(", "),
            Self::PairNumber { pairs, .. } => {
                let shown: Vec<String> = pairs.iter().map(|(w, n)| format!("{w} – {n}")).collect();
                shown.join(", ")
            }
        }
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    params::<MemoryItem>(meta)?.answer()
}

fn length(difficulty: Difficulty, easy: usize) -> usize {
    match difficulty {
        Difficulty::Easy => easy,
        Difficulty::Medium => easy + 2,
        Difficulty::Hard => easy + 4,
    }
}

/// `n` distinct words from several categories, and a few more for distractors.
fn words(rng: &mut StdRng, n: usize) -> Vec<String> {
    let cats = sample(rng, CATEGORIES.len(), 3);
    let mut pool: Vec<&str> = cats.iter().flat_map(|c| CATEGORIES[*c].members()).collect();
    shuffle(rng, &mut pool);
    pool.into_iter().take(n).map(str::to_owned).collect()
}

pub(super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let item = match below(rng, 5) {
        0 => {
            let digits: Vec<u8> = (0..length(difficulty, 5))
                .map(|_| between(rng, 0, 9) as u8)
                .collect();
            let position = 2 + below(rng, digits.len() - 2);
            MemoryItem::DigitPosition { digits, position }
        }
        1 => MemoryItem::DigitSum {
            digits: (0..length(difficulty, 5))
                .map(|_| between(rng, 1, 9) as u8)
                .collect(),
        },
        2 => {
            let words = words(rng, length(difficulty, 5));
            let after = below(rng, words.len() - 1);
            MemoryItem::WordAfter { words, after }
        }
        3 => {
            let mut all = words(rng, length(difficulty, 5) + 1);
            let absent = all.pop()?;
            let mut candidates: Vec<String> = sample(rng, all.len(), 3)
                .into_iter()
                .map(|i| all[i].clone())
                .collect();
            candidates.insert(0, absent);
            if difficulty != Difficulty::Easy {
                candidates.push(all.iter().find(|w| !candidates.contains(w))?.clone());
            }
            MemoryItem::WordMissing {
                words: all,
                candidates,
            }
        }
        _ => {
            let n = length(difficulty, 3);
            let cat = &CATEGORIES[below(rng, CATEGORIES.len())];
            let members = cat.members();
            let names = sample(rng, members.len(), n);
            let top = if difficulty == Difficulty::Hard {
                99
            } else {
                9
            };
            let numbers = sample(rng, top as usize, n);
            let pairs = names
                .iter()
                .zip(&numbers)
                .map(|(w, k)| (members[*w].to_owned(), *k as u32 + 1))
                .collect();
            MemoryItem::PairNumber {
                pairs,
                asked: below(rng, n),
            }
        }
    };
    let correct = item.answer()?;
    let (text, distractors, explanation) = match &item {
        MemoryItem::DigitPosition { digits, position } => {
            let mut near: Vec<String> = [position - 1, position + 1, position - 2, position + 2]
                .iter()
                .filter_map(|p| digits.get(p.checked_sub(1)?).map(u8::to_string))
                .collect();
            near.extend((0..10).map(|_| between(rng, 0, 9).to_string()));
            (
                format!("What was the {} digit in the sequence?", ordinal(*position)),
                near,
                format!(
                    "The digits were {}; the {} is {correct}.",
                    item.stimulus(),
                    ordinal(*position)
                ),
            )
        }
        MemoryItem::DigitSum { digits } => {
            let n = digits.len();
            let (f, l) = (u32::from(digits[0]), u32::from(digits[n - 1]));
            let near = [
                f + u32::from(digits[1]),
                u32::from(digits[n - 2]) + l,
                f + u32::from(digits[n - 2]),
                u32::from(digits[1]) + l,
                f + l + 1,
                f + l - 1,
                f + l + 2,
            ];
            (
                "What was the sum of the first and the last digit?".to_owned(),
                near.iter().map(u32::to_string).collect(),
                format!("The first digit was {f} and the last {l}: {f} + {l} = {correct}."),
            )
        }
        MemoryItem::WordAfter { words, after } => {
            let mut near: Vec<String> = [after + 2, after.wrapping_sub(1), after + 3]
                .iter()
                .filter_map(|i| words.get(*i).cloned())
                .collect();
            near.extend(words.iter().filter(|w| **w != words[*after]).cloned());
            (
                format!("Which word came right after \"{}\"?", words[*after]),
                near,
                format!("The list was: {}.", item.stimulus()),
            )
        }
        MemoryItem::WordMissing { candidates, .. } => (
            "Which of these words was NOT in the list?".to_owned(),
            candidates[1..].to_vec(),
            format!(
                "The list was: {}. \"{correct}\" was not in it.",
                item.stimulus()
            ),
        ),
        MemoryItem::PairNumber { pairs, asked } => {
            let mut near: Vec<String> = pairs.iter().map(|p| p.1.to_string()).collect();
            near.rotate_left((*asked + 1) % pairs.len());
            let k = pairs[*asked].1;
            near.extend(
                [k + 1, k.saturating_sub(1), k + 2, k + 10]
                    .iter()
                    .filter(|v| **v > 0)
                    .map(u32::to_string),
            );
            (
                format!("Which number was paired with \"{}\"?", pairs[*asked].0),
                near,
                format!("The pairs were: {}.", item.stimulus()),
            )
        }
    };
    Some(Draft {
        text,
        stimulus: Some(item.stimulus()),
        correct,
        distractors,
        explanation,
        metadata: to_meta(&item),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hand_checked_and_mutated() {
        let meta = json!({"family": "digit_position", "digits": [7, 3, 9, 1, 4], "position": 4});
        assert_eq!(recompute(&meta).as_deref(), Some("1"));
        let meta = json!({"family": "digit_position", "digits": [7, 3, 9, 1, 4], "position": 3});
        assert_eq!(recompute(&meta).as_deref(), Some("9"));
        let meta = json!({"family": "digit_sum", "digits": [7, 3, 9, 1, 4]});
        assert_eq!(recompute(&meta).as_deref(), Some("11"));
        let meta = json!({"family": "word_missing", "words": ["oak", "cod", "harp"], "candidates": ["elm", "oak", "cod", "harp"]});
        assert_eq!(recompute(&meta).as_deref(), Some("elm"));
        let meta = json!({"family": "word_missing", "words": ["oak", "cod", "harp"], "candidates": ["elm", "fig", "cod", "harp"]});
        assert_eq!(recompute(&meta), None);
        let meta = json!({"family": "pair_number", "pairs": [["red", 4], ["blue", 7]], "asked": 1});
        assert_eq!(recompute(&meta).as_deref(), Some("7"));
    }
}
