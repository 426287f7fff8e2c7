//! Math items: arithmetic with the order of operations, percentages, and word problems (rates,
//! ages, mixtures, work), with numbers chosen so that every answer is an integer or a decimal
//! with at most two places.

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::words::NAMES;
use super::{Difficulty, Draft, below, between, coin, decimal, params, pick, sample, to_meta};

/// The shape of an arithmetic expression over `nums` (a, b, c, d in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Form {
    /// a + b
    Sum,
    /// a − b
    Difference,
    /// a × b
    Product,
    /// a + b × c
    SumProduct,
    /// a × b − c
    ProductDifference,
    /// (a + b) × c
    GroupedProduct,
    /// a ÷ b + c
    QuotientSum,
    /// a × b + c × d
    TwoProducts,
    /// (a − b) × (c + d)
    GroupedBoth,
}

/// A math item's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum MathItem {
    /// Evaluate an expression.
    Arithmetic { form: Form, nums: Vec<i64> },
    /// `percent`% of `of`.
    PercentOf { percent: i64, of: i64 },
    /// A price raised by `up`% and then lowered by `down`%.
    PercentChange { start: i64, up: i64, down: i64 },
    /// `part` is what percent of `whole`?
    WhatPercent { part: i64, whole: i64 },
    /// Distance at a constant speed.
    Distance {
        speed: i64,
        hours: i64,
        name: String,
    },
    /// Two travellers `distance` km apart head towards each other: hours until they meet.
    Meeting { distance: i64, speeds: [i64; 2] },
    /// One is `older_by` years older; in `years` years their ages add up to `total`: the younger's age now.
    AgesSum {
        older_by: i64,
        years: i64,
        total: i64,
        names: [String; 2],
    },
    /// The elder is `now` times the younger's age; in `years` years `later` times: the elder's age now.
    AgesRatio {
        now: i64,
        later: i64,
        years: i64,
        names: [String; 2],
    },
    /// `litres` of solutions at `percents` mixed: the strength of the mix, in percent.
    Mixture {
        litres: [i64; 2],
        percents: [i64; 2],
    },
    /// Litres of water to add to `litres` of a `from`% solution to get `to`%.
    Dilution { litres: i64, from: i64, to: i64 },
    /// Two workers take `hours` alone: hours together.
    Work { hours: [i64; 2], names: [String; 2] },
}

/// A rational number.
type Q = (i64, i64);

fn eval(form: Form, n: &[i64]) -> Option<Q> {
    let g = |i: usize| n.get(i).copied();
    Some(match form {
        Form::Sum => (g(0)? + g(1)?, 1),
        Form::Difference => (g(0)? - g(1)?, 1),
        Form::Product => (g(0)? * g(1)?, 1),
        Form::SumProduct => (g(0)? + g(1)? * g(2)?, 1),
        Form::ProductDifference => (g(0)? * g(1)? - g(2)?, 1),
        Form::GroupedProduct => ((g(0)? + g(1)?) * g(2)?, 1),
        Form::QuotientSum => (g(0)? + g(1)? * g(2)?, g(1)?),
        Form::TwoProducts => (g(0)? * g(1)? + g(2)? * g(3)?, 1),
        Form::GroupedBoth => ((g(0)? - g(1)?) * (g(2)? + g(3)?), 1),
    })
}

fn render(form: Form, n: &[i64]) -> String {
    match form {
        Form::Sum => format!("{} + {}", n[0], n[1]),
        Form::Difference => format!("{} − {}", n[0], n[1]),
        Form::Product => format!("{} × {}", n[0], n[1]),
        Form::SumProduct => format!("{} + {} × {}", n[0], n[1], n[2]),
        Form::ProductDifference => format!("{} × {} − {}", n[0], n[1], n[2]),
        Form::GroupedProduct => format!("({} + {}) × {}", n[0], n[1], n[2]),
        Form::QuotientSum => format!("{} ÷ {} + {}", n[0], n[1], n[2]),
        Form::TwoProducts => format!("{} × {} + {} × {}", n[0], n[1], n[2], n[3]),
        Form::GroupedBoth => format!("({} − {}) × ({} + {})", n[0], n[1], n[2], n[3]),
    }
}

impl MathItem {
    /// The exact answer, and the unit suffix it is written with.
    fn value(&self) -> Option<(Q, &'static str)> {
        Some(match self {
            Self::Arithmetic { form, nums } => (eval(*form, nums)?, ""),
            Self::PercentOf { percent, of } => ((percent * of, 100), ""),
            Self::PercentChange { start, up, down } => {
                ((start * (100 + up) * (100 - down), 10_000), "")
            }
            Self::WhatPercent { part, whole } => ((part * 100, *whole), "%"),
            Self::Distance { speed, hours, .. } => ((speed * hours, 1), ""),
            Self::Meeting { distance, speeds } => ((*distance, speeds[0] + speeds[1]), ""),
            Self::AgesSum {
                older_by,
                years,
                total,
                ..
            } => ((total - 2 * years - older_by, 2), ""),
            Self::AgesRatio {
                now, later, years, ..
            } => {
                if now <= later || *later < 2 {
                    return None;
                }
                ((now * years * (later - 1), now - later), "")
            }
            Self::Mixture { litres, percents } => (
                (
                    litres[0] * percents[0] + litres[1] * percents[1],
                    litres[0] + litres[1],
                ),
                "%",
            ),
            Self::Dilution { litres, from, to } => ((litres * from - litres * to, *to), ""),
            Self::Work { hours, .. } => ((hours[0] * hours[1], hours[0] + hours[1]), ""),
        })
    }

    fn answer(&self) -> Option<String> {
        let ((num, den), unit) = self.value()?;
        Some(format!("{}{unit}", decimal(num, den)?))
    }

    /// Answers from typical mistakes, most tempting first.
    fn mistakes(&self) -> Vec<Q> {
        match self {
            Self::Arithmetic { form, nums: n } => {
                let left_to_right = match form {
                    Form::SumProduct => Some(((n[0] + n[1]) * n[2], 1)),
                    Form::GroupedProduct => Some((n[0] + n[1] * n[2], 1)),
                    Form::QuotientSum => Some((n[0], n[1] + n[2])),
                    Form::TwoProducts => Some(((n[0] * n[1] + n[2]) * n[3], 1)),
                    Form::GroupedBoth => Some((n[0] - n[1] * n[2] + n[3], 1)),
                    Form::ProductDifference => Some((n[0] * (n[1] - n[2]), 1)),
                    _ => None,
                };
                left_to_right.into_iter().collect()
            }
            Self::PercentOf { percent, of } => {
                vec![
                    (of * percent, 10),
                    (of * (percent + 10), 100),
                    (of * (100 - percent), 100),
                ]
            }
            Self::PercentChange { start, up, down } => vec![
                (start * (100 + up - down), 100),
                (start * (100 + down) * (100 - up), 10_000),
            ],
            Self::WhatPercent { part, whole } => {
                vec![(whole * 100, *part), ((whole - part) * 100, *whole)]
            }
            Self::Distance { speed, hours, .. } => {
                vec![(speed + hours, 1), (speed * (hours + 1), 1)]
            }
            Self::Meeting { distance, speeds } => vec![
                (*distance, (speeds[0] - speeds[1]).abs()),
                (*distance, speeds[0]),
                (*distance, speeds[1]),
                (2 * distance, speeds[0] + speeds[1]),
            ],
            Self::AgesSum {
                older_by,
                years,
                total,
                ..
            } => vec![
                (total - 2 * years + older_by, 2),
                (total - older_by, 2),
                (total - years - older_by, 2),
            ],
            Self::AgesRatio {
                now, later, years, ..
            } => {
                let young = years * (later - 1) / (now - later).max(1);
                vec![(young, 1), (young + years, 1), (now * (young + years), 1)]
            }
            Self::Mixture { litres, percents } => vec![
                (percents[0] + percents[1], 2),
                (percents[0] * litres[0] + percents[1], litres[0] + 1),
            ],
            Self::Dilution { litres, from, to } => vec![
                (litres * from, *to),
                (litres * (from - to), 100),
                ((from - to), 1),
            ],
            Self::Work { hours, .. } => vec![
                (hours[0] + hours[1], 2),
                (hours[0] + hours[1], 1),
                ((hours[1] - hours[0]).abs(), 1),
            ],
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Arithmetic { form, nums } => format!("What is {}?", render(*form, nums)),
            Self::PercentOf { percent, of } => format!("What is {percent}% of {of}?"),
            Self::PercentChange { start, up, down } => format!(
                "A jacket costs {start} dollars. Its price is raised by {up}%, and the new price is then lowered by {down}%. What does it cost now, in dollars?"
            ),
            Self::WhatPercent { part, whole } => format!("What percentage of {whole} is {part}?"),
            Self::Distance { speed, hours, name } => format!(
                "{name} cycles at a steady {speed} km per hour for {hours} hours. How many kilometres does {name} cover?"
            ),
            Self::Meeting { distance, speeds } => format!(
                "Two towns are {distance} km apart. A car leaves one town at {} km per hour, and at the same moment a van leaves the other town towards it at {} km per hour. After how many hours do they meet?",
                speeds[0], speeds[1]
            ),
            Self::AgesSum {
                older_by,
                years,
                total,
                names,
            } => format!(
                "{} is {older_by} years older than {}. In {years} years, their ages will add up to {total}. How old is {} now?",
                names[0], names[1], names[1]
            ),
            Self::AgesRatio {
                now,
                later,
                years,
                names,
            } => format!(
                "{} is {} as old as {}. In {years} years, {} will be {} as old as {}. How old is {} now?",
                names[0],
                times(*now),
                names[1],
                names[0],
                times(*later),
                names[1],
                names[0]
            ),
            Self::Mixture { litres, percents } => format!(
                "You mix {} of a {}% salt solution with {} of a {}% salt solution. What is the salt percentage of the mixture?",
                volume(litres[0]),
                percents[0],
                volume(litres[1]),
                percents[1]
            ),
            Self::Dilution { litres, from, to } => format!(
                "How many litres of water must be added to {litres} litres of a {from}% juice drink to make it a {to}% juice drink?"
            ),
            Self::Work { hours, names } => format!(
                "{} can paint a fence alone in {} hours; {} can paint it alone in {} hours. Working together at those rates, how many hours do they take?",
                names[0], hours[0], names[1], hours[1]
            ),
        }
    }

    fn explain(&self, answer: &str) -> String {
        let how = match self {
            Self::Arithmetic { .. } => "Multiplication and division come before addition and subtraction; brackets first.".to_owned(),
            Self::PercentOf { percent, of } => format!("{percent}% of {of} is {of} × {percent} ÷ 100."),
            Self::PercentChange { start, up, down } => format!("{start} × {} × {}; the second change applies to the raised price.", decimal(100 + up, 100).unwrap_or_default(), decimal(100 - down, 100).unwrap_or_default()),
            Self::WhatPercent { part, whole } => format!("{part} ÷ {whole} × 100."),
            Self::Distance { .. } => "Distance = speed × time.".to_owned(),
            Self::Meeting { .. } => "They close the gap at the sum of their speeds: distance ÷ (speed 1 + speed 2).".to_owned(),
            Self::AgesSum { older_by, years, total, .. } => format!("If the younger is x now, x + {years} + x + {older_by} + {years} = {total}."),
            Self::AgesRatio { now, later, years, .. } => format!("With the younger x: {now}x + {years} = {later}(x + {years}); solve for x and multiply by {now}."),
            Self::Mixture { .. } => "Total salt ÷ total volume: (litres × percent + litres × percent) ÷ (sum of litres).".to_owned(),
            Self::Dilution { litres, from, to } => format!("The juice content ({litres} × {from}%) stays the same, so the drink must total {litres} × {from} ÷ {to} litres; subtract the {litres} litres already there."),
            Self::Work { hours, .. } => format!("Together they do 1/{} + 1/{} of the job per hour; invert.", hours[0], hours[1]),
        };
        format!("{how} The answer is {answer}.")
    }
}

fn volume(litres: i64) -> String {
    if litres == 1 {
        "1 litre".to_owned()
    } else {
        format!("{litres} litres")
    }
}

fn times(n: i64) -> &'static str {
    match n {
        2 => "twice",
        3 => "three times",
        4 => "four times",
        5 => "five times",
        _ => "six times",
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    params::<MathItem>(meta)?.answer()
}

fn two_names(rng: &mut StdRng) -> [String; 2] {
    let i = sample(rng, NAMES.len(), 2);
    [NAMES[i[0]].to_owned(), NAMES[i[1]].to_owned()]
}

fn arithmetic(difficulty: Difficulty, rng: &mut StdRng) -> MathItem {
    let (form, nums) = match difficulty {
        Difficulty::Easy => {
            let form = *pick(
                rng,
                &[Form::Sum, Form::Difference, Form::Product, Form::SumProduct],
            );
            let nums = match form {
                Form::Sum | Form::Difference => vec![between(rng, 25, 99), between(rng, 11, 24)],
                Form::Product => vec![between(rng, 3, 12), between(rng, 3, 12)],
                _ => vec![between(rng, 2, 20), between(rng, 2, 9), between(rng, 2, 9)],
            };
            (form, nums)
        }
        Difficulty::Medium => {
            let form = *pick(
                rng,
                &[
                    Form::ProductDifference,
                    Form::GroupedProduct,
                    Form::QuotientSum,
                ],
            );
            let nums = match form {
                Form::QuotientSum => {
                    let b = between(rng, 3, 12);
                    vec![b * between(rng, 3, 15), b, between(rng, 5, 40)]
                }
                _ => vec![
                    between(rng, 6, 25),
                    between(rng, 3, 15),
                    between(rng, 3, 12),
                ],
            };
            (form, nums)
        }
        Difficulty::Hard => {
            let form = *pick(rng, &[Form::TwoProducts, Form::GroupedBoth]);
            let nums = match form {
                Form::TwoProducts => vec![
                    between(rng, 12, 35),
                    between(rng, 4, 15),
                    between(rng, 6, 25),
                    between(rng, 3, 12),
                ],
                _ => {
                    let a = between(rng, 20, 60);
                    vec![
                        a,
                        between(rng, 3, a - 5),
                        between(rng, 3, 15),
                        between(rng, 2, 12),
                    ]
                }
            };
            (form, nums)
        }
    };
    MathItem::Arithmetic { form, nums }
}

fn draw(difficulty: Difficulty, rng: &mut StdRng) -> MathItem {
    match (difficulty, below(rng, 4)) {
        (_, 0) => arithmetic(difficulty, rng),
        (Difficulty::Easy, 1 | 2) => {
            let percent = *pick(rng, &[10, 20, 25, 50, 75]);
            MathItem::PercentOf {
                percent,
                of: 20 * between(rng, 2, 30),
            }
        }
        (Difficulty::Easy, _) => MathItem::Distance {
            speed: between(rng, 8, 24),
            hours: between(rng, 2, 6),
            name: pick(rng, NAMES).to_string(),
        },
        (Difficulty::Medium, 1) => {
            if coin(rng) {
                MathItem::PercentOf {
                    percent: *pick(rng, &[15, 35, 45, 60, 12, 8]),
                    of: 50 * between(rng, 2, 24),
                }
            } else {
                let whole = *pick(rng, &[20, 25, 40, 50, 80, 125, 200]);
                MathItem::WhatPercent {
                    part: between(rng, 1, whole - 1),
                    whole,
                }
            }
        }
        (Difficulty::Medium, 2) => {
            let older_by = between(rng, 2, 12);
            let years = between(rng, 2, 10);
            let young = between(rng, 4, 30);
            MathItem::AgesSum {
                older_by,
                years,
                total: 2 * young + older_by + 2 * years,
                names: two_names(rng),
            }
        }
        (Difficulty::Medium, _) => {
            if coin(rng) {
                let speeds = [5 * between(rng, 6, 18), 5 * between(rng, 6, 18)];
                let hours = *pick(rng, &[2, 3, 4, 5]);
                MathItem::Meeting {
                    distance: (speeds[0] + speeds[1]) * hours / if coin(rng) { 2 } else { 1 },
                    speeds,
                }
            } else {
                let (a, b) = *pick(
                    rng,
                    &[
                        (3, 6),
                        (4, 12),
                        (6, 12),
                        (10, 15),
                        (12, 24),
                        (20, 30),
                        (6, 30),
                        (12, 36),
                    ],
                );
                MathItem::Work {
                    hours: [a, b],
                    names: two_names(rng),
                }
            }
        }
        (Difficulty::Hard, 1) => MathItem::PercentChange {
            start: 20 * between(rng, 2, 20),
            up: *pick(rng, &[10, 20, 25, 50]),
            down: *pick(rng, &[10, 20, 25, 40, 50]),
        },
        (Difficulty::Hard, 2) => {
            let now = between(rng, 3, 6);
            let later = between(rng, 2, now - 1);
            let years = between(rng, 2, 24);
            MathItem::AgesRatio {
                now,
                later,
                years,
                names: two_names(rng),
            }
        }
        (Difficulty::Hard, _) => match below(rng, 3) {
            0 => MathItem::Mixture {
                litres: [between(rng, 1, 9), between(rng, 1, 9)],
                percents: [5 * between(rng, 1, 8), 5 * between(rng, 4, 16)],
            },
            1 => MathItem::Dilution {
                litres: between(rng, 2, 20),
                from: 10 * between(rng, 4, 9),
                to: 5 * between(rng, 2, 7),
            },
            _ => {
                let (a, b) = *pick(
                    rng,
                    &[
                        (2, 3),
                        (3, 7),
                        (4, 6),
                        (4, 16),
                        (6, 9),
                        (8, 12),
                        (5, 20),
                        (9, 18),
                        (10, 40),
                        (12, 18),
                        (14, 6),
                        (15, 35),
                    ],
                );
                MathItem::Work {
                    hours: [a, b],
                    names: two_names(rng),
                }
            }
        },
    }
}

pub(super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let item = draw(difficulty, rng);
    let ((num, den), unit) = item.value()?;
    let correct = item.answer()?;
    // Whole-number answers where the story needs them (ages, litres, money in cents).
    let ages = matches!(item, MathItem::AgesSum { .. } | MathItem::AgesRatio { .. });
    if ages && (num % den != 0 || num / den > 90) {
        return None;
    }
    if num <= 0 || matches!(item, MathItem::Work { hours, .. } if hours[0] == hours[1]) {
        return None;
    }
    if let MathItem::Mixture { percents, .. } = &item
        && percents[0] == percents[1]
    {
        return None;
    }
    let step = if num % den == 0 && num / den >= 20 {
        10
    } else {
        1
    };
    let mut near: Vec<Q> = item.mistakes();
    near.extend([
        (num + den, den),
        (num - den, den),
        (num + step * den, den),
        (num - step * den, den),
        (num + 2 * den, den),
        (num * 2, den),
    ]);
    let distractors = near
        .into_iter()
        .filter(|(n, d)| *d > 0 && *n > 0 && (!ages || n % d == 0))
        .filter_map(|(n, d)| decimal(n, d).map(|s| format!("{s}{unit}")))
        .collect();
    Some(Draft {
        text: item.text(),
        stimulus: None,
        explanation: item.explain(&correct),
        correct,
        distractors,
        metadata: to_meta(&item),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hand_checked_answers() {
        let m = json!({"family": "arithmetic", "form": "sum_product", "nums": [3, 4, 5]});
        assert_eq!(recompute(&m).as_deref(), Some("23"));
        let m = json!({"family": "percent_change", "start": 200, "up": 10, "down": 10});
        assert_eq!(recompute(&m).as_deref(), Some("198"));
        let m = json!({"family": "work", "hours": [3, 6], "names": ["A", "B"]});
        assert_eq!(recompute(&m).as_deref(), Some("2"));
        let m = json!({"family": "work", "hours": [2, 3], "names": ["A", "B"]});
        assert_eq!(recompute(&m).as_deref(), Some("1.2"));
        let m =
            json!({"family": "ages_ratio", "now": 3, "later": 2, "years": 10, "names": ["A", "B"]});
        assert_eq!(recompute(&m).as_deref(), Some("30")); // 30 = 3 × 10; in 10 years 40 = 2 × 20
        let m = json!({"family": "mixture", "litres": [2, 3], "percents": [10, 20]});
        assert_eq!(recompute(&m).as_deref(), Some("16%"));
        let m = json!({"family": "dilution", "litres": 10, "from": 60, "to": 40});
        assert_eq!(recompute(&m).as_deref(), Some("5"));
    }

    #[test]
    fn changing_a_parameter_changes_the_answer() {
        let m = json!({"family": "meeting", "distance": 300, "speeds": [60, 40]});
        assert_eq!(recompute(&m).as_deref(), Some("3"));
        let m = json!({"family": "meeting", "distance": 300, "speeds": [60, 90]});
        assert_eq!(recompute(&m).as_deref(), Some("2"));
        let m = json!({"family": "work", "hours": [1, 2, 3]});
        assert_eq!(recompute(&m), None);
    }
}
