//! Logic items: syllogisms (checked over every Venn-diagram model), orderings, truth-teller and
//! liar puzzles, and conditionals — each solved by brute force, so an item is kept only when
//! exactly one option is right.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params;
use super::words::PROPOSITIONS;

mod draw;

pub(super) use self::draw::generate;

/// The option for "no conclusion follows".
const NONE_FOLLOWS: &str = "None of these follows";

/// A categorical statement about terms `s` and `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Statement {
    q: Quant,
    s: usize,
    p: usize,
}

/// The four categorical forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Quant {
    All,
    No,
    Some,
    SomeNot,
}

/// A literal over the propositions: `v` holds or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Lit {
    v: usize,
    holds: bool,
}

/// A premise of a conditional item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Premise {
    If { a: Lit, b: Lit },
    Or { a: Lit, b: Lit },
    Fact { a: Lit },
}

/// What a truth-teller/liar puzzle's speaker claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Claim {
    Truthful { who: usize },
    Liar { who: usize },
    Same { a: usize, b: usize },
    Different { a: usize, b: usize },
    ExactlyTruthful { count: usize },
}

/// A logic item's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
enum LogicItem {
    /// Premises over `terms`; `choices` are the offered conclusions (`None` = none follows).
    Syllogism {
        terms: Vec<String>,
        premises: Vec<Statement>,
        choices: Vec<Option<Statement>>,
    },
    /// `facts` are (above, below) pairs in `relation`'s order; who is at `position` (1 = top)?
    Ordering {
        names: Vec<String>,
        relation: usize,
        facts: Vec<[usize; 2]>,
        position: usize,
    },
    /// `claims[i]` is what `names[i]` says; each always tells the truth or always lies.
    TruthLiar {
        names: Vec<String>,
        claims: Vec<Claim>,
    },
    /// Premises over `PROPOSITIONS[props[v]]`; which of `choices` must be true?
    Conditional {
        props: Vec<usize>,
        premises: Vec<Premise>,
        choices: Vec<Lit>,
    },
}

/// (comparative, reverse comparative, top word) for orderings.
const RELATIONS: &[(&str, &str, &str)] = &[
    ("taller than", "shorter than", "tallest"),
    ("older than", "younger than", "oldest"),
    ("faster than", "slower than", "fastest"),
    ("heavier than", "lighter than", "heaviest"),
    ("richer than", "poorer than", "richest"),
];

fn holds(st: Statement, model: u32, regions: usize) -> bool {
    let occupied = (0..regions).filter(|r| model >> r & 1 == 1);
    let (s, p) = (1 << st.s, 1 << st.p);
    match st.q {
        Quant::All => occupied.clone().all(|r| r & s == 0 || r & p != 0),
        Quant::No => occupied.clone().all(|r| r & s == 0 || r & p == 0),
        Quant::Some => occupied.clone().any(|r| r & s != 0 && r & p != 0),
        Quant::SomeNot => occupied.clone().any(|r| r & s != 0 && r & p == 0),
    }
}

/// The Venn-diagram models (bit r = region r is occupied) where every term exists and every
/// premise holds.
fn models(terms: usize, premises: &[Statement]) -> Vec<u32> {
    let regions = 1usize << terms;
    (0..1u32 << regions)
        .filter(|m| (0..terms).all(|t| (0..regions).any(|r| m >> r & 1 == 1 && r >> t & 1 == 1)))
        .filter(|m| premises.iter().all(|p| holds(*p, *m, regions)))
        .collect()
}

/// Whether `conclusion` holds in every one of `models` over `terms` terms.
fn follows(terms: usize, models: &[u32], conclusion: Statement) -> bool {
    models.iter().all(|m| holds(conclusion, *m, 1 << terms))
}

fn say(st: Statement, terms: &[String]) -> String {
    let (s, p) = (&terms[st.s], &terms[st.p]);
    match st.q {
        Quant::All => format!("All {s} are {p}"),
        Quant::No => format!("No {s} are {p}"),
        Quant::Some => format!("Some {s} are {p}"),
        Quant::SomeNot => format!("Some {s} are not {p}"),
    }
}

fn lit_text(lit: Lit, props: &[usize]) -> &'static str {
    let (yes, no) = PROPOSITIONS[props[lit.v]];
    if lit.holds { yes } else { no }
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn lit_true(lit: Lit, world: u32) -> bool {
    (world >> lit.v & 1 == 1) == lit.holds
}

fn premise_true(p: Premise, world: u32) -> bool {
    match p {
        Premise::If { a, b } => !lit_true(a, world) || lit_true(b, world),
        Premise::Or { a, b } => lit_true(a, world) || lit_true(b, world),
        Premise::Fact { a } => lit_true(a, world),
    }
}

fn worlds(vars: usize, premises: &[Premise]) -> Vec<u32> {
    (0..1u32 << vars)
        .filter(|w| premises.iter().all(|p| premise_true(*p, *w)))
        .collect()
}

fn claim_true(claim: Claim, truthful: u32, people: usize) -> bool {
    let t = |i: usize| truthful >> i & 1 == 1;
    match claim {
        Claim::Truthful { who } => t(who),
        Claim::Liar { who } => !t(who),
        Claim::Same { a, b } => t(a) == t(b),
        Claim::Different { a, b } => t(a) != t(b),
        Claim::ExactlyTruthful { count } => {
            (truthful & ((1 << people) - 1)).count_ones() as usize == count
        }
    }
}

/// Every assignment (bit i = person i tells the truth) under which truth-tellers' claims are
/// true and liars' claims false.
fn solutions(claims: &[Claim]) -> Vec<u32> {
    let n = claims.len();
    (0..1u32 << n)
        .filter(|a| (0..n).all(|i| claim_true(claims[i], *a, n) == (a >> i & 1 == 1)))
        .collect()
}

fn assignment_text(a: u32, names: &[String]) -> String {
    let parts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "{n} {}",
                if a >> i & 1 == 1 {
                    "tells the truth"
                } else {
                    "lies"
                }
            )
        })
        .collect();
    parts.join("; ")
}

fn claim_text(c: Claim, names: &[String], speaker: usize) -> String {
    let who = |i: usize| {
        if i == speaker {
            "I".to_owned()
        } else {
            names[i].clone()
        }
    };
    let be = |i: usize| if i == speaker { "am" } else { "is" };
    match c {
        Claim::Truthful { who: w } => format!("{} {} a truth-teller.", who(w), be(w)),
        Claim::Liar { who: w } => format!("{} {} a liar.", who(w), be(w)),
        Claim::Same { a, b } => format!(
            "{} and {} are the same kind.",
            names[if a == speaker { b } else { a }],
            who(if a == speaker { a } else { b })
        ),
        Claim::Different { a, b } => format!(
            "{} and {} are different kinds.",
            names[if a == speaker { b } else { a }],
            who(if a == speaker { a } else { b })
        ),
        Claim::ExactlyTruthful { count } => match count {
            0 => "None of us tells the truth.".to_owned(),
            c if c == names.len() => "All of us tell the truth.".to_owned(),
            1 => "Exactly one of us tells the truth.".to_owned(),
            2 => "Exactly two of us tell the truth.".to_owned(),
            c => format!("Exactly {c} of us tell the truth."),
        },
    }
}

/// The people possible at `position` (1 = top) over all orders consistent with `facts`.
fn at_position(n: usize, facts: &[[usize; 2]], position: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    permute(&mut order, 0, &mut |o| {
        let rank = |p: usize| o.iter().position(|x| *x == p).unwrap_or(n);
        if facts.iter().all(|[a, b]| rank(*a) < rank(*b)) && !found.contains(&o[position - 1]) {
            found.push(o[position - 1]);
        }
    });
    found
}

fn permute(items: &mut Vec<usize>, k: usize, visit: &mut dyn FnMut(&[usize])) {
    if k == items.len() {
        visit(items);
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permute(items, k + 1, visit);
        items.swap(k, i);
    }
}

impl LogicItem {
    fn answer(&self) -> Option<String> {
        match self {
            Self::Syllogism {
                terms,
                premises,
                choices,
            } => {
                if terms.len() > 4
                    || premises
                        .iter()
                        .chain(choices.iter().flatten())
                        .any(|s| s.s >= terms.len() || s.p >= terms.len())
                {
                    return None;
                }
                let ms = models(terms.len(), premises);
                let valid: Vec<&Statement> = choices
                    .iter()
                    .flatten()
                    .filter(|c| follows(terms.len(), &ms, **c))
                    .collect();
                match valid.as_slice() {
                    [] if choices.contains(&None) => Some(NONE_FOLLOWS.to_owned()),
                    [one] => Some(say(**one, terms)),
                    _ => None,
                }
            }
            Self::Ordering {
                names,
                facts,
                position,
                ..
            } => {
                if names.len() > 7
                    || *position == 0
                    || *position > names.len()
                    || facts.iter().flatten().any(|i| *i >= names.len())
                {
                    return None;
                }
                match at_position(names.len(), facts, *position).as_slice() {
                    [one] => Some(names[*one].clone()),
                    _ => None,
                }
            }
            Self::TruthLiar { names, claims } => {
                let n = names.len();
                let in_range = claims.iter().all(|c| match *c {
                    Claim::Truthful { who } | Claim::Liar { who } => who < n,
                    Claim::Same { a, b } | Claim::Different { a, b } => a < n && b < n,
                    Claim::ExactlyTruthful { count } => count <= n,
                });
                if n != claims.len() || n > 5 || !in_range {
                    return None;
                }
                match solutions(claims).as_slice() {
                    [one] => Some(assignment_text(*one, names)),
                    _ => None,
                }
            }
            Self::Conditional {
                props,
                premises,
                choices,
            } => {
                let lits = premises
                    .iter()
                    .flat_map(|p| match *p {
                        Premise::If { a, b } | Premise::Or { a, b } => vec![a, b],
                        Premise::Fact { a } => vec![a],
                    })
                    .chain(choices.iter().copied());
                if props.iter().any(|p| *p >= PROPOSITIONS.len())
                    || props.len() > 6
                    || lits.into_iter().any(|l| l.v >= props.len())
                {
                    return None;
                }
                let ws = worlds(props.len(), premises);
                let must: Vec<&Lit> = choices
                    .iter()
                    .filter(|c| !ws.is_empty() && ws.iter().all(|w| lit_true(**c, *w)))
                    .collect();
                match must.as_slice() {
                    [one] => Some(format!("{}.", capital(lit_text(**one, props)))),
                    _ => None,
                }
            }
        }
    }
}

pub(super) fn recompute(meta: &Value) -> Option<String> {
    params::<LogicItem>(meta)?.answer()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn barbara_follows_and_its_converse_does_not() {
        let all = |s, p| Statement {
            q: Quant::All,
            s,
            p,
        };
        let ms = models(3, &[all(0, 1), all(1, 2)]);
        assert!(follows(3, &ms, all(0, 2)));
        assert!(!follows(3, &ms, all(2, 0)));
        // With existence assumed, "some A are C" follows too.
        assert!(follows(
            3,
            &ms,
            Statement {
                q: Quant::Some,
                s: 0,
                p: 2
            }
        ));
    }

    #[test]
    fn hand_checked_ordering_and_mutation() {
        let meta = json!({"family": "ordering", "names": ["A", "B", "C", "D"], "relation": 0,
            "facts": [[0, 1], [1, 2], [2, 3]], "position": 2});
        assert_eq!(recompute(&meta).as_deref(), Some("B"));
        let meta = json!({"family": "ordering", "names": ["A", "B", "C", "D"], "relation": 0,
            "facts": [[0, 1], [2, 1], [2, 3]], "position": 2});
        assert_eq!(recompute(&meta), None); // A or C could be 2nd
    }

    #[test]
    fn hand_checked_knights_and_knaves() {
        // A: "B is a liar."  B: "A and I are the same kind." -> A truthful, B liar.
        let meta = json!({"family": "truth_liar", "names": ["A", "B"], "claims": [
            {"kind": "liar", "who": 1}, {"kind": "same", "a": 1, "b": 0}]});
        assert_eq!(
            recompute(&meta).as_deref(),
            Some("A tells the truth; B lies")
        );
    }

    #[test]
    fn modus_tollens() {
        // If P then Q. Not Q. -> not P.
        let meta = json!({"family": "conditional", "props": [0, 1, 2], "premises": [
            {"kind": "if", "a": {"v": 0, "holds": true}, "b": {"v": 1, "holds": true}},
            {"kind": "fact", "a": {"v": 1, "holds": false}}],
            "choices": [{"v": 0, "holds": false}, {"v": 2, "holds": true}, {"v": 2, "holds": false}]});
        assert_eq!(
            recompute(&meta).as_deref(),
            Some("The alarm does not ring.")
        );
        let meta = json!({"family": "conditional", "props": [0, 1, 2], "premises": [
            {"kind": "if", "a": {"v": 0, "holds": true}, "b": {"v": 1, "holds": true}},
            {"kind": "fact", "a": {"v": 1, "holds": true}}],
            "choices": [{"v": 0, "holds": true}, {"v": 2, "holds": true}, {"v": 2, "holds": false}]});
        assert_eq!(recompute(&meta), None); // affirming the consequent proves nothing
    }
}
