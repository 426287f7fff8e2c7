//! The shipped starter bank: reproducible from its seed, valid row by row, answers recomputable
//! from the generator's parameters, and enough distinct items in every cell.
//!
//! To rewrite `data/starter-bank.jsonl` after changing the generator:
//! `AIQ_WRITE_STARTER_BANK=1 cargo test -p aiq-core --test starter_bank -- --ignored write`

use std::collections::{HashMap, HashSet};

use aiq_core::questions::generate::{
    STARTER_PER_CELL, STARTER_SEED, generate_bank, recompute_answer,
};
use aiq_core::questions::{
    Difficulty, Domain, NewQuestion, STARTER_BANK_JSONL, answers_match, parse_bank, starter_bank,
};

fn serialise(bank: &[NewQuestion]) -> String {
    let mut out = String::new();
    for q in bank {
        out.push_str(&serde_json::to_string(q).expect("a question serialises"));
        out.push('\n');
    }
    out
}

#[test]
#[ignore = "rewrites data/starter-bank.jsonl; run with AIQ_WRITE_STARTER_BANK=1"]
fn write() {
    if std::env::var("AIQ_WRITE_STARTER_BANK").as_deref() != Ok("1") {
        return;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/starter-bank.jsonl");
    std::fs::write(
        path,
        serialise(&generate_bank(STARTER_SEED, STARTER_PER_CELL)),
    )
    .expect("write the bank");
}

#[test]
fn the_shipped_file_is_the_seeded_bank() {
    let expected = serialise(&generate_bank(STARTER_SEED, STARTER_PER_CELL));
    assert!(
        STARTER_BANK_JSONL == expected,
        "data/starter-bank.jsonl is stale: rerun with AIQ_WRITE_STARTER_BANK=1 (see data/README.md)"
    );
}

#[test]
fn every_row_is_valid_with_one_matching_option() {
    let lines = parse_bank(STARTER_BANK_JSONL);
    for line in &lines {
        let q = line
            .row
            .as_ref()
            .unwrap_or_else(|e| panic!("line {}: {e}", line.line));
        let matching = q
            .answer_options
            .iter()
            .filter(|o| answers_match(o, &q.correct_answer))
            .count();
        assert_eq!(matching, 1, "line {}", line.line);
        assert_eq!(q.source_model.as_deref(), Some("aiq-generator/1"));
        assert_eq!(
            q.metadata["family"].as_str(),
            q.sub_type.as_deref(),
            "line {}",
            line.line
        );
        assert!(q.explanation.is_some());
    }
    assert_eq!(lines.len(), starter_bank().len());
}

#[test]
fn cells_are_full_and_items_distinct() {
    let bank = starter_bank();
    assert!(bank.len() >= 900, "{}", bank.len());
    let mut cells: HashMap<(Domain, Difficulty), usize> = HashMap::new();
    for q in &bank {
        *cells
            .entry((q.question_type, q.difficulty_level))
            .or_default() += 1;
    }
    for domain in Domain::ALL {
        for difficulty in Difficulty::ALL {
            let n = cells.get(&(domain, difficulty)).copied().unwrap_or(0);
            assert!(n >= 50, "{domain:?}/{difficulty:?} has {n}");
        }
    }
    let ids: HashSet<_> = bank
        .iter()
        .map(|q| (q.question_text.as_str(), q.stimulus.as_deref()))
        .collect();
    assert_eq!(
        ids.len(),
        bank.len(),
        "two items share a question text and stimulus"
    );
}

#[test]
fn anchors_cover_several_tests_per_domain() {
    let bank = starter_bank();
    for domain in Domain::ALL {
        let anchors: Vec<_> = bank
            .iter()
            .filter(|q| q.is_anchor && q.question_type == domain)
            .collect();
        assert_eq!(anchors.len(), 5, "{domain:?}");
        let levels: HashSet<_> = anchors.iter().map(|q| q.difficulty_level).collect();
        assert_eq!(levels.len(), 3, "{domain:?} anchors span every level");
    }
}

#[test]
fn answers_recompute_from_metadata() {
    let bank = starter_bank();
    let mut recomputed: HashMap<Domain, usize> = HashMap::new();
    for q in &bank {
        if let Some(answer) = recompute_answer(q) {
            assert_eq!(answer, q.correct_answer, "{}", q.question_text);
            *recomputed.entry(q.question_type).or_default() += 1;
        } else {
            assert_eq!(
                q.question_type,
                Domain::Verbal,
                "no recomputation for {}",
                q.question_text
            );
        }
    }
    for domain in Domain::ALL {
        let total = bank.iter().filter(|q| q.question_type == domain).count();
        assert_eq!(
            recomputed.get(&domain).copied().unwrap_or(0),
            total,
            "{domain:?}"
        );
    }
}

#[test]
fn mutated_metadata_changes_or_loses_the_answer() {
    // For every item, change one number in its parameters: the recomputed answer must then differ
    // from the stored one (or be impossible), for most items — proof the metadata carries the answer.
    let bank = starter_bank();
    let mut changed = 0;
    let mut tried = 0;
    for q in &bank {
        let mut mutated = q.clone();
        if !bump_first_number(&mut mutated.metadata) {
            continue;
        }
        tried += 1;
        if recompute_answer(&mutated).as_deref() != Some(q.correct_answer.as_str()) {
            changed += 1;
        }
    }
    assert!(tried > 500, "{tried}");
    assert!(
        changed * 10 >= tried * 7,
        "only {changed} of {tried} mutations changed the answer"
    );
}

/// Adds 1 to the first number found in the JSON (depth first, fields in order).
fn bump_first_number(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                *value = serde_json::json!(i + 1);
                return true;
            }
            false
        }
        serde_json::Value::Array(items) => items.iter_mut().any(bump_first_number),
        serde_json::Value::Object(map) => map.values_mut().any(bump_first_number),
        _ => false,
    }
}

#[test]
fn hand_checked_items() {
    let find = |family: &str, meta: serde_json::Value| {
        let mut q: NewQuestion = serde_json::from_str(
            r#"{"question_text":"q","question_type":"pattern","difficulty_level":"easy","correct_answer":"x","answer_options":["x","y","z","w"]}"#,
        )
        .unwrap();
        q.question_type = match family {
            "pattern" => Domain::Pattern,
            "spatial" => Domain::Spatial,
            "math" => Domain::Math,
            "memory" => Domain::Memory,
            "verbal" => Domain::Verbal,
            _ => Domain::Logic,
        };
        q.metadata = meta;
        recompute_answer(&q)
    };
    use serde_json::json;
    assert_eq!(
        find(
            "pattern",
            json!({"family": "arithmetic_series", "start": 5, "step": 3, "shown": 5})
        )
        .as_deref(),
        Some("20")
    );
    assert_eq!(
        find(
            "spatial",
            json!({"family": "grid_transform", "grid": ["#..", ".#.", "##."], "steps": ["rot90"]})
        )
        .as_deref(),
        Some("#.#|##.|...")
    );
    assert_eq!(
        find(
            "math",
            json!({"family": "percent_of", "percent": 25, "of": 80})
        )
        .as_deref(),
        Some("20")
    );
    assert_eq!(
        find(
            "memory",
            json!({"family": "digit_sum", "digits": [4, 1, 8, 6]})
        )
        .as_deref(),
        Some("10")
    );
    assert_eq!(
        find("verbal", json!({"family": "antonym", "cue": "early"})).as_deref(),
        Some("late")
    );
    assert_eq!(find("logic", json!({"family": "ordering", "names": ["A", "B", "C"], "relation": 1, "facts": [[2, 0], [0, 1]], "position": 1})).as_deref(), Some("C"));
}
