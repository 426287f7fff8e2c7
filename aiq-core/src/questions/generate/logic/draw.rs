//! Drawing logic items: premises, facts and claims at random, kept only when the solvers in
//! the parent module find exactly one right option.

use rand::rngs::StdRng;

use super::super::words::{NAMES, NONSENSE};
use super::super::{Difficulty, Draft, below, coin, ordinal, pick, sample, shuffle, to_meta};
use super::*;

pub(in super::super) fn generate(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    match below(rng, 4) {
        0 => syllogism(difficulty, rng),
        1 => ordering(difficulty, rng),
        2 => truth_liar(difficulty, rng),
        _ => conditional(difficulty, rng),
    }
}

fn draft(
    item: LogicItem,
    text: String,
    distractors: Vec<String>,
    explanation: String,
) -> Option<Draft> {
    let correct = item.answer()?;
    Some(Draft {
        text,
        stimulus: None,
        correct,
        distractors,
        explanation,
        metadata: to_meta(&item),
    })
}

fn syllogism(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let n = if difficulty == Difficulty::Hard { 4 } else { 3 };
    let terms: Vec<String> = sample(rng, NONSENSE.len(), n)
        .into_iter()
        .map(|i| NONSENSE[i].to_owned())
        .collect();
    let quants: &[Quant] = match difficulty {
        Difficulty::Easy => &[Quant::All, Quant::All, Quant::No],
        _ => &[Quant::All, Quant::No, Quant::Some, Quant::SomeNot],
    };
    let mut premises: Vec<Statement> = (0..n - 1)
        .map(|i| {
            let (s, p) = if coin(rng) || difficulty == Difficulty::Easy {
                (i, i + 1)
            } else {
                (i + 1, i)
            };
            Statement {
                q: *pick(rng, quants),
                s,
                p,
            }
        })
        .collect();
    if difficulty == Difficulty::Easy && premises.iter().all(|p| p.q == Quant::No) {
        return None;
    }
    shuffle(rng, &mut premises);
    let ms = models(n, &premises);
    let candidates: Vec<Statement> = [Quant::All, Quant::No, Quant::Some, Quant::SomeNot]
        .into_iter()
        .flat_map(|q| {
            [
                Statement { q, s: 0, p: n - 1 },
                Statement { q, s: n - 1, p: 0 },
            ]
        })
        .collect();
    let (valid, invalid): (Vec<Statement>, Vec<Statement>) =
        candidates.into_iter().partition(|c| follows(n, &ms, *c));
    let correct = valid.first().copied();
    if correct.is_none() && difficulty == Difficulty::Easy {
        return None;
    }
    let mut wrong = invalid;
    shuffle(rng, &mut wrong);
    wrong.truncate(4);
    let mut choices: Vec<Option<Statement>> = vec![correct];
    if correct.is_some() {
        wrong.truncate(3);
        choices.push(None);
    }
    choices.extend(wrong.iter().map(|w| Some(*w)));
    let show =
        |c: &Option<Statement>| c.map_or_else(|| NONE_FOLLOWS.to_owned(), |s| say(s, &terms));
    let distractors = choices[1..].iter().map(show).collect();
    let listed: Vec<String> = premises
        .iter()
        .map(|p| format!("{}.", say(*p, &terms)))
        .collect();
    let text = format!(
        "Assume there is at least one of each kind of thing mentioned, and that these statements are true: {} Which conclusion must then be true?",
        listed.join(" ")
    );
    let explanation = match correct {
        Some(c) => format!(
            "In every situation where the premises hold, \"{}\" holds; each other option fails in at least one.",
            say(c, &terms)
        ),
        None => {
            "Each offered conclusion fails in at least one situation where all the premises hold."
                .to_owned()
        }
    };
    draft(
        LogicItem::Syllogism {
            terms,
            premises,
            choices,
        },
        text,
        distractors,
        explanation,
    )
}

fn ordering(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let n = match difficulty {
        Difficulty::Easy => 4,
        Difficulty::Medium => 5,
        Difficulty::Hard => 6,
    };
    let names: Vec<String> = sample(rng, NAMES.len(), n)
        .into_iter()
        .map(|i| NAMES[i].to_owned())
        .collect();
    let order = sample(rng, n, n); // order[0] is at the top
    let relation = below(rng, RELATIONS.len());
    let position = 1 + below(rng, n);
    let mut facts: Vec<[usize; 2]> = if difficulty == Difficulty::Hard {
        // Non-adjacent facts too: add true pairs until the asked position is settled.
        let mut pairs: Vec<[usize; 2]> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| [i, j]))
            .collect();
        shuffle(rng, &mut pairs);
        let mut facts = Vec::new();
        for [i, j] in pairs {
            if at_position(n, &facts, position).len() == 1 {
                break;
            }
            facts.push([order[i], order[j]]);
        }
        // Then drop every fact the answer does not need, so no statement is redundant.
        for k in (0..facts.len()).rev() {
            let fact = facts.remove(k);
            if at_position(n, &facts, position).len() != 1 {
                facts.insert(k, fact);
            }
        }
        facts
    } else {
        (0..n - 1).map(|i| [order[i], order[i + 1]]).collect()
    };
    if facts.len() < n - 1 {
        return None;
    }
    shuffle(rng, &mut facts);
    let (more, less, top) = RELATIONS[relation];
    let reverse_share = if difficulty == Difficulty::Easy { 0 } else { 2 };
    let sentences: Vec<String> = facts
        .iter()
        .map(|[a, b]| {
            if below(rng, 4) < reverse_share {
                format!("{} is {less} {}.", names[*b], names[*a])
            } else {
                format!("{} is {more} {}.", names[*a], names[*b])
            }
        })
        .collect();
    let asked = if position == 1 {
        format!("the {top}")
    } else {
        format!("the {} {top}", ordinal(position))
    };
    let text = format!("{} Who is {asked}?", sentences.join(" "));
    // Near misses first: whoever stands next to the asked position.
    let mut others: Vec<usize> = (0..n).filter(|r| *r != position - 1).collect();
    others.sort_by_key(|r| r.abs_diff(position - 1));
    let distractors = others.iter().map(|r| names[order[*r]].clone()).collect();
    let ranking: Vec<&str> = order.iter().map(|i| names[*i].as_str()).collect();
    let explanation = if difficulty == Difficulty::Hard {
        format!(
            "Every order the statements allow puts {} in position {position}, counting from the {top}; one order that fits, from the {top} down: {}.",
            names[order[position - 1]],
            ranking.join(", ")
        )
    } else {
        format!("From the {top} down the order is {}.", ranking.join(", "))
    };
    draft(
        LogicItem::Ordering {
            names,
            relation,
            facts,
            position,
        },
        text,
        distractors,
        explanation,
    )
}

fn truth_liar(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let n = if difficulty == Difficulty::Easy { 2 } else { 3 };
    let names: Vec<String> = sample(rng, NAMES.len(), n)
        .into_iter()
        .map(|i| NAMES[i].to_owned())
        .collect();
    let claims: Vec<Claim> = (0..n)
        .map(|speaker| {
            let other = (speaker + 1 + below(rng, n - 1)) % n;
            let kinds = if difficulty == Difficulty::Hard { 5 } else { 4 };
            match below(rng, kinds) {
                0 => Claim::Truthful { who: other },
                1 => Claim::Liar { who: other },
                2 => Claim::Same {
                    a: speaker,
                    b: other,
                },
                3 => Claim::Different {
                    a: speaker,
                    b: other,
                },
                _ => Claim::ExactlyTruthful {
                    count: below(rng, n + 1),
                },
            }
        })
        .collect();
    let sols = solutions(&claims);
    let [solution] = sols.as_slice() else {
        return None;
    };
    if difficulty == Difficulty::Hard
        && !claims
            .iter()
            .any(|c| matches!(c, Claim::ExactlyTruthful { .. }))
    {
        return None;
    }
    let mut others: Vec<u32> = (0..1u32 << n).filter(|a| a != solution).collect();
    shuffle(rng, &mut others);
    others.sort_by_key(|a| (a ^ solution).count_ones());
    let distractors = others.iter().map(|a| assignment_text(*a, &names)).collect();
    let said: Vec<String> = claims
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} says: \"{}\"", names[i], claim_text(*c, &names, i)))
        .collect();
    let text = format!(
        "Each of these people either always tells the truth or always lies. {} Which is true?",
        said.join(" ")
    );
    let explanation = format!(
        "Trying every combination, only this one makes every truth-teller's statement true and every liar's statement false: {}.",
        assignment_text(*solution, &names)
    );
    draft(
        LogicItem::TruthLiar { names, claims },
        text,
        distractors,
        explanation,
    )
}

fn random_lit(rng: &mut StdRng, vars: usize) -> Lit {
    Lit {
        v: below(rng, vars),
        holds: below(rng, 3) > 0,
    }
}

fn conditional(difficulty: Difficulty, rng: &mut StdRng) -> Option<Draft> {
    let vars = if difficulty == Difficulty::Hard { 4 } else { 3 };
    let props = sample(rng, PROPOSITIONS.len(), vars);
    let rules = match difficulty {
        Difficulty::Easy => 2,
        Difficulty::Medium => 2,
        Difficulty::Hard => 3,
    };
    let mut premises: Vec<Premise> = (0..rules)
        .map(|_| {
            let a = random_lit(rng, vars);
            let b = Lit {
                v: (a.v + 1 + below(rng, vars - 1)) % vars,
                holds: below(rng, 3) > 0,
            };
            if difficulty == Difficulty::Hard && below(rng, 3) == 0 {
                Premise::Or { a, b }
            } else {
                Premise::If { a, b }
            }
        })
        .collect();
    let fact = match (difficulty, premises[0]) {
        // Easy items are modus ponens: the fact is the first rule's condition.
        (Difficulty::Easy, Premise::If { a, .. }) => a,
        _ => random_lit(rng, vars),
    };
    premises.push(Premise::Fact { a: fact });
    let mentioned = |v: usize| {
        premises.iter().any(|p| match *p {
            Premise::If { a, b } | Premise::Or { a, b } => a.v == v || b.v == v,
            Premise::Fact { a } => a.v == v,
        })
    };
    let repeated = (0..premises.len()).any(|i| premises[i + 1..].contains(&premises[i]));
    if repeated || !(0..vars).all(mentioned) {
        return None; // a repeated rule reads oddly; an unmentioned proposition is a giveaway
    }
    let ws = worlds(vars, &premises);
    if ws.is_empty() {
        return None;
    }
    let all: Vec<Lit> = (0..vars)
        .flat_map(|v| [Lit { v, holds: true }, Lit { v, holds: false }])
        .collect();
    let entailed: Vec<Lit> = all
        .iter()
        .copied()
        .filter(|l| l.v != fact.v && ws.iter().all(|w| lit_true(*l, *w)))
        .collect();
    let correct = *entailed.first()?;
    if difficulty == Difficulty::Easy
        && !matches!(premises[..], [Premise::If { a, .. }, ..] if a == fact)
    {
        // Easy items are modus ponens: the fact is the first rule's condition.
        return None;
    }
    let mut wrong: Vec<Lit> = all
        .into_iter()
        .filter(|l| l.v != fact.v && !ws.iter().all(|w| lit_true(*l, *w)))
        .collect();
    shuffle(rng, &mut wrong);
    let mut choices = vec![correct];
    choices.extend(wrong.iter().take(4));
    let show = |l: &Lit| format!("{}.", capital(lit_text(*l, &props)));
    let distractors = choices[1..].iter().map(show).collect();
    let sentences: Vec<String> = premises
        .iter()
        .map(|p| match p {
            Premise::If { a, b } => format!(
                "If {}, then {}.",
                lit_text(*a, &props),
                lit_text(*b, &props)
            ),
            Premise::Or { a, b } => format!(
                "{} or {} (or both).",
                capital(lit_text(*a, &props)),
                lit_text(*b, &props)
            ),
            Premise::Fact { a } => format!("In fact, {}.", lit_text(*a, &props)),
        })
        .collect();
    let text = format!("{} Which of these must be true?", sentences.join(" "));
    let explanation = format!(
        "In every case where all the statements hold, {}; each other option can be false.",
        lit_text(correct, &props)
    );
    let item = LogicItem::Conditional {
        props,
        premises,
        choices,
    };
    draft(item, text, distractors, explanation)
}
