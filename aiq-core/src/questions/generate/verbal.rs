//! Verbal items built from our own word lists ([`super::words`]): analogies, odd-one-out, and
//! vocabulary (synonyms and antonyms). Answers are recomputed by looking the words up again.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::words::{ANTONYMS, CATEGORIES, RELATIONS, SYNONYMS};
use super::{Difficulty, Draft, below, coin, params, pick, sample, shuffle, to_meta};

/// A verbal item's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum VerbalItem {
    /// `example[0]` is to `example[1]` as `cue` is to ?, in `relation`.
    Analogy {
        relation: String,
        example: [String; 2],
        cue: String,
    },
    /// The one of `words` whose category differs from all the others'.
    OddOneOut { words: Vec<String> },
    /// The word closest in meaning to `cue`.
    Synonym { cue: String },
    /// The word most nearly opposite in meaning to `cue`.
    Antonym { cue: String },
}

fn level(difficulty: Difficulty) -> u8 {
    match difficulty {
        Difficulty::Easy => 0,
        Difficulty::Medium => 1,
        Difficulty::Hard => 2,
    }
}

fn category_of(word: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.members().contains(&word))
}

/// The partner of `cue` in a list of pairs (either way round).
fn partner(list: &[(&'static str, &'static str, u8)], cue: &str) -> Option<&'static str> {
    list.iter().find_map(|(a, b, _)| match cue {
        c if c == *a => Some(*b),
        c if c == *b => Some(*a),
        _ => None,
    })
}

impl VerbalItem {
    fn answer(&self) -> Option<String> {
        match self {
            Self::Analogy {
                relation,
                example,
                cue,
            } => {
                let rel = RELATIONS.iter().find(|r| r.name == relation)?;
                rel.pairs
                    .iter()
                    .find(|p| p.0 == example[0] && p.1 == example[1])?;
                rel.pairs
                    .iter()
                    .find(|p| p.0 == cue)
                    .map(|p| p.1.to_owned())
            }
            Self::OddOneOut { words } => {
                let cats: Vec<usize> = words
                    .iter()
                    .map(|w| category_of(w))
                    .collect::<Option<_>>()?;
                let odd: Vec<usize> = (0..cats.len())
                    .filter(|i| cats.iter().filter(|c| **c == cats[*i]).count() == 1)
                    .collect();
                let [one] = odd.as_slice() else { return None };
                let rest: Vec<usize> = (0..cats.len())
                    .filter(|i| i != one)
                    .map(|i| cats[i])
                    .collect();
                match rest.as_slice() {
                    [first, ..] if rest.len() >= 3 && rest.iter().all(|c| c == first) => {
                        Some(words[*one].clone())
                    }
                    _ => None,
                }
            }
            Self::Synonym { cue } => partner(SYNONYMS, cue).map(str::to_owned),
            Self::Antonym { cue } => partner(ANTONYMS, cue).map(str::to_owned),
        }
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    params::<VerbalItem>(meta)?.answer()
}

pub(super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    match below(rng, 4) {
        0 => analogy(difficulty, rng),
        1 => odd_one_out(difficulty, rng),
        2 => vocabulary(difficulty, rng, true),
        _ => vocabulary(difficulty, rng, false),
    }
}

/// "a" before a vowel becomes "an" ("an eagle", "an astronomer").
fn articles(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let fixed: Vec<&str> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let vowel = words
                .get(i + 1)
                .is_some_and(|n| n.starts_with(['a', 'e', 'i', 'o', 'u']));
            match *w {
                "a" if vowel => "an",
                "A" if vowel => "An",
                other => other,
            }
        })
        .collect();
    fixed.join(" ")
}

/// The plural of an analogy cue ("wolves", "bees").
fn plural(word: &str) -> String {
    match word.strip_suffix('f') {
        Some(stem) => format!("{stem}ves"),
        None => format!("{word}s"),
    }
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn analogy(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let rels: Vec<_> = RELATIONS
        .iter()
        .filter(|r| r.level == level(difficulty))
        .collect();
    let rel = *pick(rng, &rels);
    let two = sample(rng, rel.pairs.len(), 2);
    let (example, cue) = (rel.pairs[two[0]], rel.pairs[two[1]]);
    // Near misses: what the cue is to other relations, then other answers of this relation.
    let mut near: Vec<String> = RELATIONS
        .iter()
        .filter(|r| r.name != rel.name)
        .filter_map(|r| {
            r.pairs
                .iter()
                .find(|p| p.0 == cue.0)
                .map(|p| p.1.to_owned())
        })
        .collect();
    shuffle(rng, &mut near);
    let mut others: Vec<String> = rel
        .pairs
        .iter()
        .filter(|p| p.0 != cue.0)
        .map(|p| p.1.to_owned())
        .collect();
    shuffle(rng, &mut others);
    near.extend(others);
    let item = VerbalItem::Analogy {
        relation: rel.name.to_owned(),
        example: [example.0.to_owned(), example.1.to_owned()],
        cue: cue.0.to_owned(),
    };
    let correct = item.answer()?;
    let phrase = |a: &str, b: &str| {
        articles(
            &rel.phrase
                .replace("{as}", &plural(a))
                .replace("{a}", a)
                .replace("{b}", b),
        )
    };
    Some(Draft {
        text: format!(
            "{} is to {} as {} is to what?",
            capital(example.0),
            example.1,
            cue.0
        ),
        stimulus: None,
        explanation: format!(
            "{}, just as {}.",
            capital(&phrase(cue.0, cue.1)),
            phrase(example.0, example.1)
        ),
        correct,
        distractors: near,
        metadata: to_meta(&item),
    })
}

fn odd_one_out(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let usable: Vec<usize> = (0..CATEGORIES.len())
        .filter(|i| CATEGORIES[*i].name != "colours")
        .collect();
    let major = *pick(rng, &usable);
    let same_family = difficulty != Difficulty::Easy;
    let minors: Vec<usize> = usable
        .iter()
        .copied()
        .filter(|i| {
            *i != major && (CATEGORIES[*i].family == CATEGORIES[major].family) == same_family
        })
        .collect();
    if minors.is_empty() {
        return None;
    }
    let minor = &CATEGORIES[*pick(rng, &minors)];
    let major = &CATEGORIES[major];
    let count = if difficulty == Difficulty::Easy { 3 } else { 4 };
    let (major_words, minor_words) = (major.members(), minor.members());
    let mut words: Vec<String> = sample(rng, major_words.len(), count)
        .into_iter()
        .map(|i| major_words[i].to_owned())
        .collect();
    let odd = minor_words[below(rng, minor_words.len())].to_owned();
    let distractors = words.clone();
    words.push(odd.clone());
    shuffle(rng, &mut words);
    let item = VerbalItem::OddOneOut {
        words: words.clone(),
    };
    let correct = item.answer()?;
    Some(Draft {
        text: format!(
            "Which word does not belong with the others: {}?",
            words.join(", ")
        ),
        stimulus: None,
        explanation: format!(
            "{} are all {}; {odd} is one of the {}.",
            capital(&distractors.join(", ")),
            major.name,
            minor.name
        ),
        correct,
        distractors,
        metadata: to_meta(&item),
    })
}

fn vocabulary(difficulty: Difficulty, rng: &mut StdRng, synonyms: bool) -> Option<Draft> {
    let (list, other) = if synonyms {
        (SYNONYMS, ANTONYMS)
    } else {
        (ANTONYMS, SYNONYMS)
    };
    let pool: Vec<&(&str, &str, u8)> = list.iter().filter(|p| p.2 == level(difficulty)).collect();
    let pair = *pick(rng, &pool);
    let (cue, answer) = if coin(rng) {
        (pair.0, pair.1)
    } else {
        (pair.1, pair.0)
    };
    // The tempting wrong answer first (the opposite when asked for a synonym and vice versa),
    // then words of the same level from other pairs.
    let mut near: Vec<String> = partner(other, cue).into_iter().map(str::to_owned).collect();
    let mut rest: Vec<String> = pool
        .iter()
        .filter(|p| p.0 != pair.0)
        .map(|p| if coin(rng) { p.0 } else { p.1 })
        .filter(|w| partner(other, cue) != Some(w) && partner(other, w) != Some(cue))
        .map(str::to_owned)
        .collect();
    shuffle(rng, &mut rest);
    near.extend(rest);
    let item = if synonyms {
        VerbalItem::Synonym {
            cue: cue.to_owned(),
        }
    } else {
        VerbalItem::Antonym {
            cue: cue.to_owned(),
        }
    };
    let correct = item.answer()?;
    let (text, explanation) = if synonyms {
        (
            format!("Which word is closest in meaning to \"{cue}\"?"),
            format!("\"{answer}\" means nearly the same as \"{cue}\"."),
        )
    } else {
        (
            format!("Which word is most nearly opposite in meaning to \"{cue}\"?"),
            format!("\"{answer}\" is the opposite of \"{cue}\"."),
        )
    };
    Some(Draft {
        text,
        stimulus: None,
        correct,
        distractors: near,
        explanation,
        metadata: to_meta(&item),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hand_checked_lookups() {
        let meta = json!({"family": "analogy", "relation": "young", "example": ["dog", "puppy"], "cue": "cat"});
        assert_eq!(recompute(&meta).as_deref(), Some("kitten"));
        let meta = json!({"family": "analogy", "relation": "sound", "example": ["dog", "bark"], "cue": "cat"});
        assert_eq!(recompute(&meta).as_deref(), Some("purr"));
        let meta = json!({"family": "odd_one_out", "words": ["apple", "pear", "carrot", "fig"]});
        assert_eq!(recompute(&meta).as_deref(), Some("carrot"));
        let meta = json!({"family": "odd_one_out", "words": ["apple", "pear", "carrot", "onion"]});
        assert_eq!(recompute(&meta), None); // two and two: no odd one
        assert_eq!(
            articles("a eagle lives in a eyrie"),
            "an eagle lives in an eyrie"
        );
        assert_eq!(plural("wolf"), "wolves");
        let meta = json!({"family": "synonym", "cue": "large"});
        assert_eq!(recompute(&meta).as_deref(), Some("big"));
        let meta = json!({"family": "antonym", "cue": "hot"});
        assert_eq!(recompute(&meta).as_deref(), Some("cold"));
    }
}
