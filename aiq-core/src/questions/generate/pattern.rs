//! Pattern items: number series (arithmetic, geometric, alternating steps, second-order
//! differences, interleaved, multiply-and-add) and letter series.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Difficulty, Draft, between, coin, params, pick, to_meta};

/// A series rule and how many terms are shown; the answer is the next term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum Series {
    /// `start, start + step, ...`
    #[serde(rename = "arithmetic_series")]
    Arithmetic { start: i64, step: i64, shown: usize },
    /// `start, start * ratio, ...`
    #[serde(rename = "geometric_series")]
    Geometric {
        start: i64,
        ratio: i64,
        shown: usize,
    },
    /// The steps alternate: `+steps[0], +steps[1], +steps[0], ...`
    #[serde(rename = "alternating_series")]
    Alternating {
        start: i64,
        steps: [i64; 2],
        shown: usize,
    },
    /// The differences grow by `diff_step`: first difference `diff`.
    #[serde(rename = "second_order_series")]
    SecondOrder {
        start: i64,
        diff: i64,
        diff_step: i64,
        shown: usize,
    },
    /// Two arithmetic series taking turns.
    #[serde(rename = "interleaved_series")]
    Interleaved {
        starts: [i64; 2],
        steps: [i64; 2],
        shown: usize,
    },
    /// Each term is the previous one times `mul` plus `add`.
    #[serde(rename = "mul_add_series")]
    MulAdd {
        start: i64,
        mul: i64,
        add: i64,
        shown: usize,
    },
    /// Letters (A = 0) whose steps cycle through `steps`.
    #[serde(rename = "letter_series")]
    Letters {
        start: i64,
        steps: Vec<i64>,
        shown: usize,
    },
}

impl Series {
    fn shown(&self) -> usize {
        match self {
            Self::Arithmetic { shown, .. }
            | Self::Geometric { shown, .. }
            | Self::Alternating { shown, .. }
            | Self::SecondOrder { shown, .. }
            | Self::Interleaved { shown, .. }
            | Self::MulAdd { shown, .. }
            | Self::Letters { shown, .. } => *shown,
        }
    }

    /// The first `n` terms.
    fn values(&self, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let prev = out.last().copied().unwrap_or(0);
            let value = match self {
                // Parameters are bounded by `recompute_answer`; saturation keeps a wild ratio finite.
                Self::Arithmetic { start, step, .. } => start + i as i64 * step,
                Self::Geometric { start, ratio, .. } => {
                    start.saturating_mul(ratio.saturating_pow(i as u32))
                }
                Self::Alternating { start, steps, .. } => {
                    if i == 0 {
                        *start
                    } else {
                        prev + steps[(i - 1) % 2]
                    }
                }
                Self::SecondOrder {
                    start,
                    diff,
                    diff_step,
                    ..
                } => {
                    if i == 0 {
                        *start
                    } else {
                        prev + diff + (i as i64 - 1) * diff_step
                    }
                }
                Self::Interleaved { starts, steps, .. } => {
                    starts[i % 2] + (i / 2) as i64 * steps[i % 2]
                }
                Self::MulAdd {
                    start, mul, add, ..
                } => {
                    if i == 0 {
                        *start
                    } else {
                        prev.saturating_mul(*mul).saturating_add(*add)
                    }
                }
                Self::Letters { start, steps, .. } => {
                    if i == 0 || steps.is_empty() {
                        *start
                    } else {
                        prev + steps[(i - 1) % steps.len()]
                    }
                }
            };
            out.push(value);
        }
        out
    }

    fn is_letters(&self) -> bool {
        matches!(self, Self::Letters { .. })
    }

    fn show(&self, value: i64) -> String {
        if self.is_letters() {
            u8::try_from(value)
                .ok()
                .filter(|v| *v < 26)
                .map_or_else(|| "?".to_owned(), |v| char::from(b'A' + v).to_string())
        } else {
            value.to_string()
        }
    }

    fn answer(&self) -> String {
        let shown = self.shown();
        self.show(self.values(shown + 1)[shown])
    }

    fn explain(&self) -> String {
        let signed = |n: i64| {
            if n < 0 {
                format!("subtracts {}", -n)
            } else {
                format!("adds {n}")
            }
        };
        match self {
            Self::Arithmetic { step, .. } => {
                format!("Each term {} to the one before.", signed(*step))
            }
            Self::Geometric { ratio, .. } => {
                format!("Each term is the one before times {ratio}.")
            }
            Self::Alternating { steps, .. } => format!(
                "The steps alternate: the series {} then {}, again and again.",
                signed(steps[0]),
                signed(steps[1])
            ),
            Self::SecondOrder {
                diff, diff_step, ..
            } => format!(
                "The differences between terms start at {diff} and change by {diff_step} each time."
            ),
            Self::Interleaved { steps, .. } => format!(
                "Two series take turns: the 1st, 3rd, 5th... terms change by {} each time, the 2nd, 4th, 6th... by {}.",
                steps[0], steps[1]
            ),
            Self::MulAdd { mul, add, .. } => {
                let op = if *add < 0 {
                    format!("minus {}", -add)
                } else {
                    format!("plus {add}")
                };
                format!("Each term is the one before times {mul}, {op}.")
            }
            Self::Letters { steps, .. } => {
                let list: Vec<String> = steps.iter().map(|s| format!("{s:+}")).collect();
                format!(
                    "The letters move through the alphabet in steps of {}, repeating.",
                    list.join(", ")
                )
            }
        }
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    let series: Series = params(meta)?;
    let shown = series.shown();
    if !(3..=12).contains(&shown) || series.values(shown + 1).iter().any(|v| v.abs() > 1_000_000) {
        return None;
    }
    if series.is_letters()
        && series
            .values(shown + 1)
            .iter()
            .any(|v| !(0..26).contains(v))
    {
        return None;
    }
    Some(series.answer())
}

fn draw(difficulty: Difficulty, rng: &mut StdRng) -> Series {
    match (difficulty, between(rng, 0, 3)) {
        (Difficulty::Easy, 0 | 1) => Series::Arithmetic {
            start: between(rng, 1, 20),
            step: between(rng, 2, 9),
            shown: 5,
        },
        (Difficulty::Easy, 2) => Series::Geometric {
            start: between(rng, 1, 12),
            ratio: 2,
            shown: 5,
        },
        (Difficulty::Easy, _) => Series::Letters {
            start: between(rng, 0, 8),
            steps: vec![between(rng, 1, 3)],
            shown: 5,
        },
        (Difficulty::Medium, 0) => {
            let step = if coin(rng) {
                -between(rng, 3, 12)
            } else {
                between(rng, 11, 25)
            };
            Series::Arithmetic {
                start: between(rng, 40, 120),
                step,
                shown: 5,
            }
        }
        (Difficulty::Medium, 1) => {
            let (a, b) = (between(rng, 2, 9), -between(rng, 1, 6));
            Series::Alternating {
                start: between(rng, 1, 30),
                steps: if coin(rng) { [a, b] } else { [b, a] },
                shown: 7,
            }
        }
        (Difficulty::Medium, 2) => Series::SecondOrder {
            start: between(rng, 1, 20),
            diff: between(rng, 1, 5),
            diff_step: between(rng, 1, 3),
            shown: 6,
        },
        (Difficulty::Medium, _) => {
            if coin(rng) {
                Series::Geometric {
                    start: between(rng, 1, 4),
                    ratio: 3,
                    shown: 5,
                }
            } else {
                let a = between(rng, 1, 4);
                Series::Letters {
                    start: between(rng, 0, 6),
                    steps: vec![a, a + between(rng, 1, 2)],
                    shown: 6,
                }
            }
        }
        (Difficulty::Hard, 0) => Series::SecondOrder {
            start: between(rng, 2, 40),
            diff: between(rng, -6, 6),
            diff_step: *pick(rng, &[-3, -2, 2, 3, 4, 5]),
            shown: 6,
        },
        (Difficulty::Hard, 1) => {
            let s1 = between(rng, 2, 7);
            let s2 = if coin(rng) {
                -between(rng, 1, 5)
            } else {
                between(rng, 8, 12)
            };
            Series::Interleaved {
                starts: [between(rng, 1, 20), between(rng, 20, 60)],
                steps: [s1, s2],
                shown: 8,
            }
        }
        (Difficulty::Hard, 2) => Series::MulAdd {
            start: between(rng, 1, 6),
            mul: between(rng, 2, 3),
            add: *pick(rng, &[-3, -2, -1, 1, 2, 3]),
            shown: 5,
        },
        (Difficulty::Hard, _) => {
            let steps = vec![between(rng, 1, 3), between(rng, 2, 4), -between(rng, 1, 2)];
            Series::Letters {
                start: between(rng, 0, 5),
                steps,
                shown: 7,
            }
        }
    }
}

/// Next terms predicted by simple rules that fit every shown term.
fn alternative_fits(terms: &[i64]) -> Vec<i64> {
    let n = terms.len();
    let diffs: Vec<i64> = terms.windows(2).map(|w| w[1] - w[0]).collect();
    let last = terms[n - 1];
    let mut out = Vec::new();
    if diffs.windows(2).all(|w| w[0] == w[1]) {
        out.push(last + diffs[0]);
    }
    let second: Vec<i64> = diffs.windows(2).map(|w| w[1] - w[0]).collect();
    if second.len() >= 3 && second.windows(2).all(|w| w[0] == w[1]) {
        out.push(last + diffs[diffs.len() - 1] + second[0]);
    }
    if diffs.len() >= 4
        && diffs
            .iter()
            .enumerate()
            .skip(2)
            .all(|(i, d)| *d == diffs[i - 2])
    {
        out.push(last + diffs[diffs.len() - 2]);
    }
    if terms.iter().all(|t| *t != 0)
        && terms.windows(2).all(|w| w[1] % w[0] == 0)
        && terms.windows(3).all(|w| w[1] / w[0] == w[2] / w[1])
    {
        out.push(last * (terms[1] / terms[0]));
    }
    if n >= 6 {
        let evens: Vec<i64> = terms.iter().step_by(2).copied().collect();
        let odds: Vec<i64> = terms.iter().skip(1).step_by(2).copied().collect();
        let steady = |s: &[i64]| s.windows(3).all(|w| w[1] - w[0] == w[2] - w[1]);
        if steady(&evens) && steady(&odds) {
            let s = if n.is_multiple_of(2) { &evens } else { &odds };
            out.push(s[s.len() - 1] + s[1] - s[0]);
        }
    }
    out
}

pub(super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let series = draw(difficulty, rng);
    let shown = series.shown();
    let all = series.values(shown + 1);
    let answer = all[shown];
    let terms = &all[..shown];
    if series.is_letters() && all.iter().any(|v| !(0..26).contains(v)) {
        return None;
    }
    let fits = alternative_fits(terms);
    if fits.iter().any(|f| *f != answer) {
        return None; // another simple rule fits the shown terms: ambiguous
    }
    let steady = terms.windows(3).all(|w| w[1] - w[0] == w[2] - w[1]);
    if steady && !matches!(series, Series::Arithmetic { .. } | Series::Letters { .. }) {
        return None; // e.g. 3, 3, 3 from "times 2 minus 3": not the family it claims
    }
    let last = terms[shown - 1];
    let d = last - terms[shown - 2];
    let mut near = vec![last + d];
    match &series {
        Series::Geometric { ratio, .. } => near.extend([last * ratio + ratio, last * (ratio + 1)]),
        Series::Alternating { steps, .. } => near.extend([last + steps[shown % 2], last - d]),
        Series::SecondOrder { diff_step, .. } => {
            near.extend([answer + diff_step, answer - diff_step])
        }
        Series::Interleaved { steps, .. } => {
            let other = terms[shown - 1] + steps[(shown - 1) % 2];
            near.extend([other, answer + steps[(shown - 1) % 2] - steps[shown % 2]]);
        }
        Series::MulAdd { mul, add, .. } => near.extend([last * mul, last * mul - add, answer + 1]),
        Series::Letters { steps, .. } => near.extend(steps.iter().map(|s| last + s)),
        Series::Arithmetic { step, .. } => near.extend([answer + step, answer + 2 * step]),
    }
    near.extend([answer + 1, answer - 1, answer + 2, answer - 2, answer + 3]);
    let distractors = near
        .into_iter()
        .filter(|v| *v != answer && !fits.contains(v))
        .filter(|v| !series.is_letters() || (0..26).contains(v))
        .map(|v| series.show(v))
        .collect();
    let shown_terms: Vec<String> = terms.iter().map(|t| series.show(*t)).collect();
    let what = if series.is_letters() {
        "letter"
    } else {
        "number"
    };
    Some(Draft {
        text: format!(
            "Which {what} comes next in the series: {}, ?",
            shown_terms.join(", ")
        ),
        stimulus: None,
        correct: series.show(answer),
        distractors,
        explanation: format!(
            "{} The next term is {}.",
            series.explain(),
            series.show(answer)
        ),
        metadata: to_meta(&series),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hand_checked_series() {
        let meta = json!({"family": "arithmetic_series", "start": 3, "step": 4, "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("23")); // 3 7 11 15 19 -> 23
        let meta = json!({"family": "second_order_series", "start": 1, "diff": 1, "diff_step": 1, "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("16")); // 1 2 4 7 11 -> 16
        let meta = json!({"family": "interleaved_series", "starts": [1, 50], "steps": [2, -5], "shown": 6});
        assert_eq!(recompute(&meta).as_deref(), Some("7")); // 1 50 3 45 5 40 -> 7
        let meta = json!({"family": "mul_add_series", "start": 1, "mul": 2, "add": 1, "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("63")); // 1 3 7 15 31 -> 63
        let meta = json!({"family": "letter_series", "start": 1, "steps": [2], "shown": 4});
        assert_eq!(recompute(&meta).as_deref(), Some("J")); // B D F H -> J
        let meta =
            json!({"family": "alternating_series", "start": 10, "steps": [5, -2], "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("21")); // 10 15 13 18 16 -> 21
    }

    #[test]
    fn changing_a_parameter_changes_the_answer() {
        let meta = json!({"family": "geometric_series", "start": 3, "ratio": 2, "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("96"));
        let meta = json!({"family": "geometric_series", "start": 3, "ratio": 3, "shown": 5});
        assert_eq!(recompute(&meta).as_deref(), Some("729"));
    }

    #[test]
    fn an_ambiguous_series_is_detected() {
        // 1 2 4: doubling or +1, +2 ... too short to tell; with 1 2 4 8 16 only doubling fits.
        assert_eq!(alternative_fits(&[1, 2, 4, 8, 16]), vec![32]);
        assert!(alternative_fits(&[2, 4, 6, 8, 10]).contains(&12));
    }
}
